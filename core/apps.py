from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        # Registers the system checks, the login guard, and the device cookies' and the language's login hooks.
        from core import checks, device_cookies, localisation, navigation, signals  # noqa: F401

        navigation.register(
            navigation.NavItem(label="Audit log", url_name="audit_log", permission="core.view_auditevent", order=90)
        )
        navigation.register(
            navigation.NavItem(label="Locks", url_name="locks", permission="core.unlock_accounts", order=95)
        )
