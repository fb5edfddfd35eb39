from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts import signals  # noqa: F401  (keeps the cached user total right)
        from core import navigation

        navigation.register(
            navigation.NavItem(label="Users", url_name="accounts:user_list", permission="accounts.view_user", order=10)
        )
