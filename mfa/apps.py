from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Two-factor authentication"

    def ready(self):
        from mfa import login_step  # noqa: F401  (a completed login ends a half-way one)
