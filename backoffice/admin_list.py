"""Change-list helpers for tables with millions of rows."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 rows, so a list never runs a full COUNT(*) on a big table;
    past the limit it offers the first COUNT_LIMIT rows' pages (narrow the list with a filter)."""

    COUNT_LIMIT = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.COUNT_LIMIT + 1].count()

    @cached_property
    def is_bounded(self) -> bool:
        return self.count > self.COUNT_LIMIT
