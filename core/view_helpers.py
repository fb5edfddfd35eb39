"""Small helpers every app's views share."""

import re
import sys
from dataclasses import dataclass

from django.http import QueryDict


def posted(request):
    """The form data of a POST (even an empty one, so that it gets its errors), else None."""
    return request.POST if request.method == "POST" else None


def is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def apply_service_errors(form, error):
    """Show a service's ValidationError on the form fields it names (the rest above the form)."""
    for field, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def page_query(request):
    """The current query string without ``page``, ready for ``?{{ page_query }}page=N``."""
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""


# Page sizes a paged list offers (``?size=``); a list's own default joins them.
PAGE_SIZES = (20, 50, 100, 200)
# Longer page numbers are past the end of any list (and int() of thousands of digits is refused).
_MAX_PAGE_DIGITS = 18


@dataclass(frozen=True)
class Paging:
    """What a paged list was asked for: ``?size=`` and ``?page=``, forgivingly read.

    A size that is not offered is the list's default; a page number that is not a positive whole
    number is the first page; one past the end is the last page (``context`` tells the template,
    which says so). Never an error: these come from links people edit and share.
    """

    size: int
    default_size: int
    sizes: tuple[int, ...]
    number: int
    query: str  # the query string without ``page``, ready for ``?{{ paging.query }}page=N``
    kept: tuple[tuple[str, str], ...]  # the other parameters, for the hidden fields of the paging forms

    def context(self, page):
        """The template context of ``page`` (got from a paginator with ``number``): the page and how it was asked."""
        return {"page": page, "paging": self, "past_end": page.number < self.number}


def paging(request, *, default_size):
    sizes = tuple(sorted({*PAGE_SIZES, default_size}))
    asked = request.GET.get("size", "")
    size = next((offered for offered in sizes if asked == str(offered)), default_size)
    kept = tuple(
        (name, value) for name, values in request.GET.lists() if name not in ("page", "size") for value in values
    )
    return Paging(
        size=size,
        default_size=default_size,
        sizes=sizes,
        number=_page_number(request.GET.get("page", "")),
        query=page_query(request),
        kept=kept,
    )


def _page_number(raw):
    if not re.fullmatch(r"[0-9]+", raw):
        return 1
    digits = raw.lstrip("0")
    return sys.maxsize if len(digits) > _MAX_PAGE_DIGITS else max(int(digits or 0), 1)


def query_keeping(request, names):
    """Only the parameters ``names`` of the current query string, ready for ``?{{ query }}other=…``."""
    query = QueryDict(mutable=True)
    for name in names:
        if name in request.GET:
            query.setlist(name, request.GET.getlist(name))
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""
