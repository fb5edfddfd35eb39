from django.apps import AppConfig


class OrganisationConfig(AppConfig):
    name = "organisation"
    verbose_name = "Organisation"

    def ready(self):
        from core import audit, navigation
        from organisation import scope

        audit.set_event_scope(scope.visible_events)
        navigation.register(
            navigation.NavItem(
                label="Companies", url_name="companies:company_list", permission="organisation.view_company", order=20
            )
        )
        navigation.register(
            navigation.NavItem(label="Roles", url_name="roles:role_list", permission="auth.view_group", order=30)
        )
