from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog, set_language

from core import views as core_views
from organisation import urls as organisation_urls
from panel import password_reset, session_views, views
from panel.api import api

session_urls = [
    path("<int:pk>/session-policy/", session_views.user_session_policy, name="user_session_policy"),
    path("<int:user_id>/sessions/", session_views.session_list, name="session_list"),
    path("<int:user_id>/sessions/end-all/", session_views.sessions_end_all, name="sessions_end_all"),
    path("<int:user_id>/sessions/<int:session_id>/end/", session_views.session_end, name="session_end"),
]


def _public(urls):
    """The API answers 401 itself: keep the login redirect away from its views."""
    patterns, app_name, namespace = urls
    for pattern in patterns:
        login_not_required(pattern.callback)
    return patterns, app_name, namespace


# The JavaScript's words in the request's language (static/js: gettext, ngettext, interpolate); base.html
# loads it before the panel's scripts, the login page too. Cached per language (cache_page's key names it).
javascript_catalog = login_not_required(cache_page(3600)(JavaScriptCatalog.as_view(packages=["panel"])))

# JSON under /api/, Django's pages elsewhere; a database or cache fault answers 503 (core.errors).
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PanelLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", password_reset.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", password_reset.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", password_reset.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("account/", views.account, name="account"),
    path("account/notifications/", views.account_notifications, name="account_notifications"),
    path("account/preferences/", views.account_preferences, name="account_preferences"),
    # The language switcher of the pages before login (Django's view: a POST with CSRF, back to ``next``).
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("", include("mfa.urls")),
    path("", include("passkeys.urls")),
    # Before accounts.urls, whose "<pk>/<field>/" would otherwise take "<pk>/tokens/".
    path("users/<int:user_id>/tokens/", include("tokens.urls")),
    path("users/<int:pk>/access/", include(organisation_urls.access)),
    path("users/", include((session_urls, "sessions"))),
    path("users/", include("accounts.urls")),
    path("companies/", include(organisation_urls.companies)),
    path("roles/", include(organisation_urls.roles)),
    path("api/", _public(api.urls)),
    path("audit/", core_views.audit_log, name="audit_log"),
    path("audit/export.csv", core_views.audit_export, {"file_format": "csv"}, name="audit_export_csv"),
    path("audit/export.jsonl", core_views.audit_export, {"file_format": "jsonl"}, name="audit_export_jsonl"),
    path("locks/", core_views.locks, name="locks"),
    path("healthz", core_views.healthz, name="healthz"),
    path("jsi18n/", javascript_catalog, name="javascript-catalog"),
]
