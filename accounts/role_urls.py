from django.urls import path

from accounts import role_views

app_name = "roles"

urlpatterns = [
    path("", role_views.role_list, name="role_list"),
    path("new/", role_views.role_create, name="role_create"),
    path("<int:pk>/edit/", role_views.role_update, name="role_update"),
    path("<int:pk>/delete/", role_views.role_delete, name="role_delete"),
]
