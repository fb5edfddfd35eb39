from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class Company(models.Model):
    """A company in the organisation's tree. A user's company is their data scope: it and every subsidiary."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="subsidiaries")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"

    def __str__(self):
        return self.name


class Role(models.Model):
    """A role is a Django group; this row says which company owns it (none: a role of the whole panel)."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, primary_key=True, related_name="role")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="roles")

    def __str__(self):
        return self.group.name
