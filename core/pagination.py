"""How the panel's lists page their querysets (core.view_helpers.paging reads ``?page=`` and ``?size=``)."""

from django.core.paginator import Paginator


class NearerEndPaginator(Paginator):
    """A paginator that reads a page from the nearer end of the list, optionally told its total.

    A page in the second half is read in the opposite order with a small OFFSET, then turned round:
    the database skips at most half the list, and the last page costs what the first does at any size
    (with OFFSET from the front, the last of 100,000 users' pages read and dropped all 99,980 before
    it). Page numbers, jumps and rows are the same either way; the middle pages cost the most.
    """

    def __init__(self, object_list, per_page, *, count=None):
        super().__init__(object_list, per_page)
        if count is not None:
            self.__dict__["count"] = count  # Paginator.count is a cached_property: pre-fill it.

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count - top or not self.object_list.ordered:
            return self._get_page(self.object_list[bottom:top], number, self)
        rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
        return self._get_page(rows[::-1], number, self)
