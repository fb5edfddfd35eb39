"""Forms only collect input; organisation.services checks every rule and reports per field."""

from django import forms
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from organisation import scope, selectors
from organisation.models import Company
from organisation.validators import COMPANY_NAME_MAX_LENGTH, clean_company_name


class CompanyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=COMPANY_NAME_MAX_LENGTH)
    parent = forms.ModelChoiceField(
        queryset=Company.objects.none(),
        required=False,
        label=_("Parent company"),
        empty_label=_("— None: a company at the top of the tree —"),
    )

    def __init__(self, *args, actor, company=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = scope.visible_companies(actor)
        if company is not None:  # never under itself or its own subsidiaries
            choices = choices.exclude(pk__in=scope.subtree_ids(company.pk))
        self.fields["parent"].queryset = choices
        if not scope.is_unrestricted(actor):
            self.fields["parent"].required = True
            self.fields["parent"].empty_label = None
        if company is not None and not scope.may_place_in(actor, company.parent):
            del self.fields["parent"]  # the top of your own scope: renamed, never moved out of it

    def clean_name(self):
        return clean_company_name(self.cleaned_data["name"])


class CompanyDeleteForm(forms.Form):
    cascade = forms.BooleanField(required=False, label=_("Also delete everything listed above"))


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    company = forms.ModelChoiceField(
        queryset=Company.objects.none(),
        required=False,
        label=_("Owned by company"),
        empty_label=_("— No company: a role of the whole panel —"),
    )
    permissions = forms.MultipleChoiceField(
        label=_("Function permissions"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = scope.visible_companies(actor)
        if not scope.is_unrestricted(actor):
            self.fields["company"].required = True
            self.fields["company"].empty_label = None
        self.fields["permissions"].choices = selectors.grantable_by_module(actor)


class _RoleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses IDs no database column holds before querying (SQLite raises OverflowError on them)."""

    def _check_values(self, value):
        for pk in value:
            if not str(pk).isdecimal() or int(pk) >= 2**63:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class AccessForm(forms.Form):
    roles = _RoleChoiceField(
        queryset=Group.objects.none(), required=False, label=_("Roles"), widget=forms.CheckboxSelectMultiple
    )
    permissions = forms.MultipleChoiceField(
        label=_("Direct function permissions"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Added to what the roles give: the user has the sum of the two."),
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].queryset = selectors.visible_roles(actor)
        self.fields["permissions"].choices = selectors.grantable_by_module(actor)
