"""The function permissions an admin can grant, grouped by module (seed 002's "function permissions").

Web modules are the navigation's entries, each shown to users holding its view permission;
the API module is ``accounts.use_api``: without it a user's access tokens are refused. Every
page and endpoint checks its own permission on the server, whatever the navigation shows.
"""

GRANTABLE = (
    (
        "Users",
        (
            ("accounts.view_user", "See users (the Users module)"),
            ("accounts.add_user", "Create users and sub-users"),
            ("accounts.change_user", "Change users: details, passwords, expiry, session policy, sessions, access"),
            ("accounts.delete_user", "Delete users"),
        ),
    ),
    (
        "Companies",
        (
            ("organisation.view_company", "See companies (the Companies module)"),
            ("organisation.add_company", "Create companies"),
            ("organisation.change_company", "Rename and move companies"),
            ("organisation.delete_company", "Delete companies"),
        ),
    ),
    (
        "Roles",
        (
            ("auth.view_group", "See roles (the Roles module)"),
            ("auth.add_group", "Create roles"),
            ("auth.change_group", "Change roles"),
            ("auth.delete_group", "Delete roles"),
        ),
    ),
    (
        "Security of others",
        (
            ("tokens.manage_others_tokens", "Manage other users' access tokens"),
            ("tokens.create_others_tokens", "Create access tokens for other users (the owner is emailed)"),
            ("mfa.reset_two_factor", "Reset other users' two-factor authentication"),
            ("passkeys.manage_others_passkeys", "See and delete other users' passkeys"),
        ),
    ),
    ("Audit log", (("core.view_auditevent", "Read the audit log (the Audit log module)"),)),
    ("Locks", (("core.unlock_accounts", "See and lift login locks of accounts and addresses (the Locks module)"),)),
    ("API", (("accounts.use_api", "Call the JSON API with access tokens (the API module)"),)),
)

LABELS = {perm: label for _module, perms in GRANTABLE for perm, label in perms}


def perm_name(permission) -> str:
    """ "app_label.codename" of a Permission row."""
    return f"{permission.content_type.app_label}.{permission.codename}"


def grantable_by(actor) -> set[str]:
    """The permissions ``actor`` may hand out: the ones they hold (anyone can never grant more than they have)."""
    return {perm for perm in LABELS if actor is None or actor.has_perm(perm)}
