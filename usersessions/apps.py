from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class UserSessionsConfig(AppConfig):
    name = "usersessions"
    verbose_name = gettext_lazy("User sessions")

    def ready(self):
        from usersessions import signals  # noqa: F401  (connects the login and logout receivers)
