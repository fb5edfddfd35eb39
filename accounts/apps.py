from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts import scope, signals  # noqa: F401  (signals connects the login signal receivers)
        from panel import audit, navigation

        audit.set_event_scope(scope.visible_events)

        navigation.register(
            navigation.NavItem(label="Users", url_name="accounts:user_list", permission="accounts.view_user", order=10)
        )
        navigation.register(
            navigation.NavItem(
                label="Companies", url_name="companies:company_list", permission="accounts.view_company", order=20
            )
        )
        navigation.register(
            navigation.NavItem(label="Roles", url_name="roles:role_list", permission="auth.view_group", order=30)
        )
