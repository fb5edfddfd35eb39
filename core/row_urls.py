"""URLs that differ only in a row's ID, for lists that render their rows in Python: reversed once, not per row.

A list of 20 users shows about 300 URLs that differ only in the user's ID; ``reverse()`` walks the URL
patterns for each (a third of the page's time when the rows were templates). ``row_url`` reverses a name
once per process, with a stand-in for the ID, and gives a function that puts a row's ID in its place:
the same text as ``reverse(name, args=(id, *args))``, already escaped for an HTML attribute.
"""

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString

# Digits, which every converter of the panel's row URLs accepts, and which no other part of them holds.
_STAND_IN = "918273645501"
_shapes = {}


def row_url(name, *args):
    """``reverse(name, args=(id, *args))`` as a function of ``id`` (a whole number), HTML-escaped.

    ``args`` are the parts that are the same on every row (a field's name); the script prefix and URLconf
    in force are part of the key, so a process serving under two prefixes keeps a shape for each.
    """
    key = (settings.ROOT_URLCONF, get_urlconf(), get_script_prefix(), name, args)
    shape = _shapes.get(key)
    if shape is None:
        url = escape(reverse(name, args=(_STAND_IN, *args)))
        if url.count(_STAND_IN) != 1:
            raise ValueError(f"the URL {name} does not hold its row's ID exactly once: {url}")
        shape = _shapes[key] = tuple(url.split(_STAND_IN))
    before, after = shape
    return lambda pk: SafeString(f"{before}{int(pk)}{after}")
