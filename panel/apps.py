from django.apps import AppConfig


class PanelConfig(AppConfig):
    name = "panel"
    verbose_name = "Panel"

    def ready(self):
        from panel import navigation

        navigation.register(
            navigation.NavItem(label="Audit log", url_name="audit_log", permission="panel.view_auditevent", order=90)
        )
