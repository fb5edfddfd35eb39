from django.conf import settings
from django.db import models
from django.utils import timezone


class UserSession(models.Model):
    """A logged-in browser session of a user, so that it can be listed and ended."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # A user's sessions, most recently seen first, a page at a time (usersessions.selectors).
        indexes = [models.Index(fields=["user", "last_seen_at", "id"], name="usersession_owner_seen")]

    def __str__(self):
        return f"{self.user} from {self.ip or 'unknown'}"
