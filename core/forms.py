import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.validators import clean_moment

# How a moment is typed, as every list shows it: 24-hour, in UTC (the field's label names the zone).
MOMENT_INPUT = "%Y-%m-%d %H:%M"
# Translators: the format hint of a date-and-time input; keep the letters unless your readers expect others.
MOMENT_PLACEHOLDER = gettext_lazy("YYYY-MM-DD HH:MM")


def moment_field(label, *, help_text="", required=False):
    """A date and time typed as ``YYYY-MM-DD HH:MM`` in UTC (a bare date, or the ISO ``T`` form, too).

    A text input, not ``datetime-local``: the browser shows that one in its locale's format
    (mm/dd/yyyy, AM/PM), unlike every list of the panel.
    """
    return forms.DateTimeField(
        label=label,
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
    """A day (``2025-03-01``: its first or last microsecond in UTC) or an ISO 8601 date-time
    (``2025-03-01T12:00+02:00``; without an offset it is UTC), cleaned to an aware UTC datetime.

    The page's filter takes either, typed (no locale-dependent date picker); so does ``audit_export --since``.
    """

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
        moment = clean_moment(moment if timezone.is_aware(moment) else moment.replace(tzinfo=datetime.UTC))
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

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Any action")), *((action, action) for action in sorted(actions))]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end date must not be before the start date."))
        return data
