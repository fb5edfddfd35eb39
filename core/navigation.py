"""The navigation registry: each app registers its modules in AppConfig.ready().

A module is shown only to users holding its permission; the views enforce the
same permission on the server regardless of what the navigation shows.
"""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    order: int = 50

    @property
    def url(self):
        return reverse(self.url_name)


_items: dict[str, NavItem] = {}


def register(item: NavItem):
    _items[item.url_name] = item


def items_for(user):
    """The modules ``user`` may open, in display order."""
    if not user.is_authenticated:
        return []
    return sorted((item for item in _items.values() if user.has_perm(item.permission)), key=lambda item: item.order)
