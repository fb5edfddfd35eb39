from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path("", views.token_list, name="token_list"),
    path("new/", views.token_create, name="token_create"),
    path("<int:token_id>/edit/", views.token_update, name="token_update"),
    path("<int:token_id>/delete/", views.token_delete, name="token_delete"),
]
