"""The emails telling a user that their account's email address or password changed.

Their text is translated when the notification is rendered, in its recipient's language (core.notify),
not in that of whoever made the change.
"""

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy

from core.notify import notify

CHANGE = "core/notifications/change.txt"


def _in_recipients_language(message, params):
    """``message`` % ``params``, translated when the notification is rendered (in its recipient's language)."""
    return lazy(lambda: str(message) % params, str)()


def email_changed(origin, user, change):
    """Tell the old address, which is the one an intruder who changed it cannot read."""
    what = _in_recipients_language(
        gettext_lazy(
            "The email address of your account %(name)s was changed from %(old)s to %(new)s. "
            "Emails from the panel now go to the new address."
        ),
        {"name": user.get_username(), "old": change["from"], "new": change["to"]},
    )
    notify(
        user,
        subject=gettext_lazy("Your email address was changed"),
        template=CHANGE,
        context={"what": what},
        to=change["from"],
        origin=origin,
    )


def password_changed(origin, user, *, by_reset):
    if by_reset:
        what = gettext_lazy(
            "The password of your account %(name)s was reset through an emailed link. Your other sessions were ended."
        )
    else:
        what = gettext_lazy("The password of your account %(name)s was changed. Your other sessions were ended.")
    what = _in_recipients_language(what, {"name": user.get_username()})
    notify(
        user, subject=gettext_lazy("Your password was changed"), template=CHANGE, context={"what": what}, origin=origin
    )
