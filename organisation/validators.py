"""One validator per company rule, shared by the forms and the services."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.validators import clean_name
from organisation.models import Company

COMPANY_NAME_MAX_LENGTH = 100


def clean_company_name(value) -> str:
    """A company's name, trimmed: required, at most 100 characters, printable."""
    return clean_name(
        value, max_length=COMPANY_NAME_MAX_LENGTH, required_message=gettext_lazy("Enter the company's name.")
    )


def validate_company_name_free(name, *, parent, exclude_pk=None):
    """Companies under one parent have different names (ignoring case), so that the tree reads unambiguously."""
    siblings = Company.objects.filter(parent=parent, name__iexact=name)
    if exclude_pk is not None:
        siblings = siblings.exclude(pk=exclude_pk)
    if siblings.exists():
        if parent:
            message = _("A company named “%(name)s” already exists under %(parent)s.")
        else:
            message = _("A company named “%(name)s” already exists at the top level.")
        raise ValidationError(message % {"name": name, "parent": parent and parent.name}, code="name_taken")


def validate_company_parent(company, parent, *, subtree_ids):
    """A company moves anywhere but into its own subtree (``subtree_ids``: it and everything below it)."""
    if parent is not None and parent.pk in subtree_ids:
        raise ValidationError(
            _("%(company)s cannot move under %(parent)s: that is %(company)s itself or one of its subsidiaries.")
            % {"company": company.name, "parent": parent.name},
            code="own_subtree",
        )
