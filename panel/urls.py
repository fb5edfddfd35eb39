from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views as account_views
from panel import views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("login/", account_views.PanelLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", account_views.account, name="account"),
    path("users/", include("accounts.urls")),
    path("audit/", views.audit_log, name="audit_log"),
    path("healthz", views.healthz, name="healthz"),
]
