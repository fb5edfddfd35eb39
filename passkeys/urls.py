from django.urls import path

from passkeys import views

app_name = "passkeys"

urlpatterns = [
    path("users/<int:user_id>/passkeys/", views.passkey_list, name="passkey_list"),
    path("users/<int:user_id>/passkeys/new/", views.passkey_register_page, name="passkey_register_page"),
    path("users/<int:user_id>/passkeys/<int:passkey_id>/delete/", views.passkey_delete, name="passkey_delete"),
    path("passkeys/register/options/", views.register_options, name="register_options"),
    path("passkeys/register/", views.register_finish, name="register_finish"),
    path("login/passkey/options/", views.login_options, name="login_options"),
    path("login/passkey/", views.login_finish, name="login_finish"),
    path("passkeys/reauth/", views.reauth_finish, name="reauth_finish"),
]
