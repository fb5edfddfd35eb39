from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.user_list, name="user_list"),
    path("new/", views.user_create, name="user_create"),
    path("<int:pk>/password/", views.user_password, name="user_password"),
    path("<int:pk>/delete/", views.user_delete, name="user_delete"),
    path("<int:pk>/expiry/", views.user_expiry, name="user_expiry"),
    path("<int:pk>/company/", views.user_move, name="user_move"),
    path("<int:pk>/enabled/", views.user_enabled, name="user_enabled"),  # before the inline fields' <str:field>
    path("<int:pk>/<str:field>/", views.user_field, name="user_field"),
    path("<int:pk>/<str:field>/edit/", views.user_field_edit, name="user_field_edit"),
]
