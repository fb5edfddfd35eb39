"""The organisation's pages: companies at /companies/, roles at /roles/, a user's access at /users/<pk>/access/."""

from django.urls import path

from organisation import company_views, role_views

companies = (
    [
        path("", company_views.company_list, name="company_list"),
        path("new/", company_views.company_create, name="company_create"),
        path("<int:pk>/edit/", company_views.company_update, name="company_update"),
        path("<int:pk>/delete/", company_views.company_delete, name="company_delete"),
    ],
    "companies",
)

roles = (
    [
        path("", role_views.role_list, name="role_list"),
        path("new/", role_views.role_create, name="role_create"),
        path("<int:pk>/edit/", role_views.role_update, name="role_update"),
        path("<int:pk>/delete/", role_views.role_delete, name="role_delete"),
    ],
    "roles",
)

access = ([path("", role_views.user_access, name="user_access")], "access")
