from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = gettext_lazy("Accounts")

    def ready(self):
        from accounts import signals  # noqa: F401  (keeps the cached user total right)
        from core import navigation

        navigation.register(
            navigation.NavItem(
                label=gettext_lazy("Users"), url_name="accounts:user_list", permission="accounts.view_user", order=10
            )
        )
