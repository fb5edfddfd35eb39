"""Benchmark-only URLs: the panel's, plus Django admin's user changelist under /django-admin/."""

from django.contrib import admin
from django.urls import path

from accounts.models import User
from panel.urls import handler404, handler500  # noqa: F401 (re-exported)
from panel.urls import urlpatterns as panel_urlpatterns


class BenchUserAdmin(admin.ModelAdmin):
    """The changelist the issue compares with: username, email and date joined, searchable, newest first.

    20 rows a page, the panel's default page size, so that both pages show the same rows.
    """

    list_display = ("username", "email", "date_joined")
    search_fields = ("username", "email")
    ordering = ("-date_joined", "-id")
    list_per_page = 20


class BenchAdminSite(admin.AdminSite):
    """The panel's users have no ``is_staff``: its superusers may use this benchmark's admin."""

    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser


site = BenchAdminSite(name="admin")
site.register(User, BenchUserAdmin)

urlpatterns = [path("django-admin/", site.urls), *panel_urlpatterns]
