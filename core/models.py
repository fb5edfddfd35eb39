from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One thing that happened: who did what to whom, from where, and how it ended.

    Written by ``core.audit.record`` in the same transaction as the change it
    records. Names are copied at write time so the log still reads after the
    actor or the target is deleted. Never holds a secret.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")

    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_name = models.CharField(max_length=128, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    details = models.JSONField(default=dict, blank=True)
    # The company (an ID: core knows nothing of companies) the actor, and the target user, were in when the
    # event was written, so that a company admin's scope is a test of two columns, not a list of user IDs.
    # Filled by the hook organisation registers (core.audit.set_event_companies); None: no company, or not a user.
    actor_company_id = models.BigIntegerField(null=True, blank=True)
    target_company_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Every list reads newest first by (created_at, id) and pages by seeking that key (core.audit_pages):
        # each filter has an index that ends in that order, so a page reads its rows and stops.
        indexes = [
            models.Index(fields=["action", "-created_at", "-id"], name="core_audit_action_time_idx"),
            models.Index(F("created_at").desc(), F("id").desc(), name="core_audit_time_idx"),
            # The actor filter folds case as the database does (UPPER), as the old iexact did.
            models.Index(Upper("actor_name"), F("created_at").desc(), F("id").desc(), name="core_audit_actor_idx"),
            # A company admin's scope: a page of each company's events, by actor and by target (core.audit_pages).
            models.Index(fields=["actor_company_id", "-created_at", "-id"], name="core_audit_actor_company_idx"),
            models.Index(fields=["target_company_id", "-created_at", "-id"], name="core_audit_target_company_idx"),
        ]
        # Not about audit events: the login guard's locks live in the cache, and no other model of core fits.
        permissions = [("unlock_accounts", "Can see and lift login locks of accounts and addresses")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action} {self.target_name}"


class Mutex(models.Model):
    """A named row that transactions take in turn (core.locks.hold_mutex), to serialise changes no single
    row stands for.

    One row is a lock of constant cost: what it guards (say, "some user can still manage users")
    spans every user, and locking every user row instead would block all user writes.
    """

    name = models.CharField(primary_key=True, max_length=32)

    def __str__(self):
        return self.name
