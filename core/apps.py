from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from core import checks, navigation, signals  # noqa: F401  (registers the system checks and the login guard)

        navigation.register(
            navigation.NavItem(label="Audit log", url_name="audit_log", permission="core.view_auditevent", order=90)
        )
