"""The cached user total follows every way of adding or removing a user through the ORM
(services, createsuperuser, factories), which all send post_save/post_delete."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts import selectors
from accounts.models import User


@receiver(post_save, sender=User)
def _on_user_saved(sender, created, **kwargs):
    if created:
        transaction.on_commit(selectors.forget_user_total)


@receiver(post_delete, sender=User)
def _on_user_deleted(sender, **kwargs):
    transaction.on_commit(selectors.forget_user_total)
