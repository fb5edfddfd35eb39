"""Reads of users for pages, commands and the API."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404

from accounts.models import User


def user_list(*, search="", page=1, per_page=None):
    """A page of users, newest first, optionally filtered by a search term.

    The search matches the start of the username or the email, ignoring case,
    so that it can use an index and stays fast on large panels.
    """
    users = users_newest_first()
    search = search.strip()
    if search:
        users = users.filter(Q(username__istartswith=search) | Q(email__istartswith=search))
    paginator = Paginator(users, per_page or settings.PANEL_USERS_PER_PAGE)
    return paginator.get_page(page)


def users_newest_first():
    return User.objects.only("id", "username", "email", "date_joined", "is_active").order_by("-date_joined", "-id")


def user_get(*, pk):
    """One user by primary key, or 404."""
    return get_object_or_404(User, pk=pk)


def user_count():
    return User.objects.count()
