from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class OrganisationConfig(AppConfig):
    name = "organisation"
    verbose_name = gettext_lazy("Organisation")

    def ready(self):
        from core import audit, navigation
        from organisation import scope

        audit.set_event_scope(scope.visible_events, scope.visible_event_parts)
        audit.set_event_companies(scope.event_companies)
        navigation.register(
            navigation.NavItem(
                label=gettext_lazy("Companies"),
                url_name="companies:company_list",
                permission="organisation.view_company",
                order=20,
            )
        )
        navigation.register(
            navigation.NavItem(
                label=gettext_lazy("Roles"), url_name="roles:role_list", permission="auth.view_group", order=30
            )
        )
