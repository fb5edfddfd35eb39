import datetime

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.validators import clean_moment, local_moment

# How a moment is typed, as every list shows it: 24-hour, in the active time zone (the user's own, else
# PANEL_TIME_ZONE; the field's label names it).
MOMENT_INPUT = "%Y-%m-%d %H:%M"
# Translators: the format hint of a date-and-time input; keep the letters unless your readers expect others.
MOMENT_PLACEHOLDER = gettext_lazy("YYYY-MM-DD HH:MM")

_zone_name = lazy(timezone.get_current_timezone_name, str)


def with_zone(label):
    """``label`` followed by the active time zone's name, when shown: "Expires at (Asia/Taipei)"."""
    # Translators: a date-time field's label and the time zone it is typed in, e.g. "Expires at (Asia/Taipei)".
    return format_lazy(gettext_lazy("{label} ({zone})"), label=label, zone=_zone_name())


class MomentField(forms.DateTimeField):
    """A date and time typed as ``YYYY-MM-DD HH:MM`` in the active time zone, cleaned to an aware datetime.

    A bare date or the ISO ``T`` form are taken too. A time the zone's clocks skip is a form error, one they
    show twice is the earlier (core.validators.local_moment). A stored value is shown in the active zone.
    """

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value if timezone.is_aware(value) else local_moment(value)
        text = str(value).strip()
        for input_format in self.input_formats:
            try:
                return local_moment(datetime.datetime.strptime(text, input_format))
            except (TypeError, ValueError):
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def prepare_value(self, value):
        try:
            return super().prepare_value(value)
        except OverflowError:  # not representable in this zone (year 9999 east of UTC): shown as it is stored
            return value.astimezone(datetime.UTC).replace(tzinfo=None)


def moment_field(label, *, help_text="", required=False):
    """A MomentField labelled ``label`` and the zone it is typed in.

    A text input, not ``datetime-local``: the browser shows that one in its locale's format
    (mm/dd/yyyy, AM/PM), unlike every list of the panel.
    """
    return MomentField(
        label=with_zone(label),
        required=required,
        input_formats=[MOMENT_INPUT, "%Y-%m-%dT%H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(
            attrs={"placeholder": MOMENT_PLACEHOLDER, "autocomplete": "off", "spellcheck": "false"},
            format=MOMENT_INPUT,
        ),
        help_text=help_text,
    )


def untouched_moment(value, stored):
    """``value`` from a moment_field, or ``stored`` when the field still shows it (the input drops the seconds)."""
    if value is not None and stored is not None and value == stored.replace(second=0, microsecond=0):
        return stored
    return value


AUDIT_FIRST_DAY, AUDIT_LAST_DAY = datetime.date(1970, 1, 1), datetime.date(9999, 12, 30)


class AuditMomentField(forms.Field):
    """A day (``2025-03-01``: its first or last microsecond in UTC, or in the active zone if ``local``) or an
    ISO 8601 date-time (``2025-03-01T12:00+02:00``; without an offset likewise), cleaned to an aware UTC datetime.

    The page's filter takes either, typed (no locale-dependent date picker); so does ``audit_export --since``.
    """

    local = False  # True: a day, or a date-time without an offset, is read in the active time zone, not UTC

    def __init__(self, *, end_of_day, **kwargs):
        self.end_of_day = end_of_day
        # Translators: the format hint of a date input; keep the letters unless your readers expect others.
        attrs = {"placeholder": gettext_lazy("YYYY-MM-DD"), "autocomplete": "off", "spellcheck": "false"}
        super().__init__(required=False, widget=forms.TextInput(attrs=attrs), **kwargs)

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        try:
            if len(text) == 10:
                day = datetime.date.fromisoformat(text)
                moment = datetime.datetime.combine(day, datetime.time.max if self.end_of_day else datetime.time.min)
            else:
                moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(_("Enter a valid date."), code="invalid") from None
        if timezone.is_naive(moment):
            # A whole day's bound is never a skipped time: a midnight the clocks skip starts the day at the hour after.
            zone = timezone.get_current_timezone() if self.local else datetime.UTC
            moment = local_moment(moment) if self.local and len(text) > 10 else moment.replace(tzinfo=zone)
        moment = clean_moment(moment)
        # Each bound is stored and compared as UTC; SQLite and PostgreSQL both hold these years.
        if not AUDIT_FIRST_DAY <= moment.date() <= AUDIT_LAST_DAY:
            message = _("Choose a date from %(first)s to %(last)s.") % {
                "first": AUDIT_FIRST_DAY,
                "last": AUDIT_LAST_DAY,
            }
            raise forms.ValidationError(message, code="range")
        return moment


class AuditFilterForm(forms.Form):
    """The audit log's filters: the page, its downloads and ``audit_export`` all read them through this form."""

    actor = forms.CharField(required=False, max_length=64, label=gettext_lazy("Actor"))
    action = forms.ChoiceField(required=False, label=gettext_lazy("Action"))
    since = AuditMomentField(label=gettext_lazy("From (UTC)"), end_of_day=False)
    until = AuditMomentField(label=gettext_lazy("Until (UTC)"), end_of_day=True)

    def __init__(self, *args, actions=(), local=False, **kwargs):
        """``local``: the page's filter, read in the reader's time zone; the API and ``audit_export`` read UTC."""
        super().__init__(*args, **kwargs)
        if local:
            for name, label in (("since", gettext_lazy("From")), ("until", gettext_lazy("Until"))):
                self.fields[name].local, self.fields[name].label = True, with_zone(label)
        self.fields["action"].choices = [("", _("Any action")), *((action, action) for action in sorted(actions))]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end date must not be before the start date."))
        return data
