from django.urls import path

from accounts import company_views

app_name = "companies"

urlpatterns = [
    path("", company_views.company_list, name="company_list"),
    path("new/", company_views.company_create, name="company_create"),
    path("<int:pk>/edit/", company_views.company_update, name="company_update"),
    path("<int:pk>/delete/", company_views.company_delete, name="company_delete"),
]
