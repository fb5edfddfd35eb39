import datetime

from django import forms

# The value format of <input type="datetime-local">; times are UTC throughout the panel.
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def moment_field(label, *, help_text="", required=False):
    """A date and time picked in the browser's datetime-local input, read as UTC (a bare date too)."""
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        help_text=help_text,
    )


def untouched_moment(value, stored):
    """``value`` from a moment_field, or ``stored`` when the field still shows it (the input drops the seconds)."""
    if value is not None and stored is not None and value == stored.replace(second=0, microsecond=0):
        return stored
    return value


AUDIT_FIRST_DAY, AUDIT_LAST_DAY = datetime.date(1970, 1, 1), datetime.date(9999, 12, 30)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=64, label="Actor")
    action = forms.ChoiceField(required=False, label="Action")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any action"), *((action, action) for action in sorted(actions))]

    def _clean_day(self, name):
        day = self.cleaned_data[name]
        # The filter reaches the next day's midnight: the last day a date-time can hold is 9999-12-30.
        if day is not None and not AUDIT_FIRST_DAY <= day <= AUDIT_LAST_DAY:
            raise forms.ValidationError(f"Choose a date from {AUDIT_FIRST_DAY} to {AUDIT_LAST_DAY}.", code="range")
        return day

    def clean_since(self):
        return self._clean_day("since")

    def clean_until(self):
        return self._clean_day("until")

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date must not be before the start date.")
        return data
