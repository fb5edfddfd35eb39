from django.urls import path

from mfa import views

app_name = "mfa"

urlpatterns = [
    path("login/verify/", views.login_verify, name="login_verify"),
    path("login/verify/cancel/", views.login_cancel, name="login_cancel"),
    path("users/<int:user_id>/two-factor/", views.two_factor, name="two_factor"),
    path("users/<int:user_id>/two-factor/app/enable/", views.totp_enable, name="totp_enable"),
    path("users/<int:user_id>/two-factor/app/confirm/", views.totp_confirm, name="totp_confirm"),
    path("users/<int:user_id>/two-factor/email/enable/", views.email_enable, name="email_enable"),
    path("users/<int:user_id>/two-factor/email/confirm/", views.email_confirm, name="email_confirm"),
    path("users/<int:user_id>/two-factor/email/disable/", views.email_disable, name="email_disable"),
    path("users/<int:user_id>/two-factor/recovery-codes/", views.recovery_regenerate, name="recovery_regenerate"),
    path("users/<int:user_id>/two-factor/recovery-codes/new/", views.recovery_codes_new, name="recovery_codes_new"),
    path("users/<int:user_id>/two-factor/disable/", views.disable, name="disable"),
]
