from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self):
        # Registers the system checks, the login guard, and the device cookies' and the language's login hooks.
        from core import checks, device_cookies, localisation, navigation, signals  # noqa: F401

        navigation.register(
            navigation.NavItem(label=_("Audit log"), url_name="audit_log", permission="core.view_auditevent", order=90)
        )
        navigation.register(
            navigation.NavItem(label=_("Locks"), url_name="locks", permission="core.unlock_accounts", order=95)
        )
