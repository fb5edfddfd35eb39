"""The function permissions an admin can grant, grouped by module (seed 002's "function permissions").

Web modules are the navigation's entries, each shown to users holding its view permission;
the API module is ``accounts.use_api``: without it a user's access tokens are refused. Every
page and endpoint checks its own permission on the server, whatever the navigation shows.
"""

from django.utils.translation import gettext_lazy as _

# Labels and module names are lazy: shown in the language of whoever reads them.
GRANTABLE = (
    (
        _("Users"),
        (
            ("accounts.view_user", _("See users (the Users module)")),
            ("accounts.add_user", _("Create users and sub-users")),
            ("accounts.change_user", _("Change users: details, passwords, expiry, session policy, sessions, access")),
            ("accounts.delete_user", _("Delete users")),
        ),
    ),
    (
        _("Companies"),
        (
            ("organisation.view_company", _("See companies (the Companies module)")),
            ("organisation.add_company", _("Create companies")),
            ("organisation.change_company", _("Rename and move companies")),
            ("organisation.delete_company", _("Delete companies")),
        ),
    ),
    (
        _("Roles"),
        (
            ("auth.view_group", _("See roles (the Roles module)")),
            ("auth.add_group", _("Create roles")),
            ("auth.change_group", _("Change roles")),
            ("auth.delete_group", _("Delete roles")),
        ),
    ),
    (
        _("Security of others"),
        (
            ("tokens.manage_others_tokens", _("Manage other users' access tokens")),
            ("tokens.create_others_tokens", _("Create access tokens for other users (the owner is emailed)")),
            ("mfa.reset_two_factor", _("Reset other users' two-factor authentication")),
            ("passkeys.manage_others_passkeys", _("See and delete other users' passkeys")),
        ),
    ),
    (_("Audit log"), (("core.view_auditevent", _("Read the audit log (the Audit log module)")),)),
    (
        _("Locks"),
        (("core.unlock_accounts", _("See and lift login locks of accounts and addresses (the Locks module)")),),
    ),
    (_("API"), (("accounts.use_api", _("Call the JSON API with access tokens (the API module)")),)),
)

LABELS = {perm: label for _module, perms in GRANTABLE for perm, label in perms}


def perm_name(permission) -> str:
    """ "app_label.codename" of a Permission row."""
    return f"{permission.content_type.app_label}.{permission.codename}"


def grantable_by(actor) -> set[str]:
    """The permissions ``actor`` may hand out: the ones they hold (anyone can never grant more than they have)."""
    return {perm for perm in LABELS if actor is None or actor.has_perm(perm)}
