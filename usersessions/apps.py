from django.apps import AppConfig


class UserSessionsConfig(AppConfig):
    name = "usersessions"
    verbose_name = "User sessions"

    def ready(self):
        from usersessions import signals  # noqa: F401  (connects the login and logout receivers)
