"""The platform's days are local days (TIME_ZONE, Asia/Shanghai), not UTC dates.

Day boundaries are worked out here, in Python, and queries use plain ranges of timestamps or the stored
local date of the day summaries: no database time-zone function (MariaDB's CONVERT_TZ answers NULL when
its time-zone tables were never loaded).
"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_of(moment: datetime) -> date:
    """The local day a moment falls on: 23:30 in Shanghai (15:30 UTC) is still that day."""
    return timezone.localtime(moment).date()


def day_start(day: date) -> datetime:
    """The first moment of a local day, aware."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def day_range(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local day, for an indexed range query on a timestamp."""
    return day_start(day), day_start(day + timedelta(days=1))


# Day summaries are kept per day and shard of the customers, so that writes for different customers
# seldom wait for the same row (each holds it until it commits) while a day stays a few rows to read.
SUMMARY_SHARDS = 32


def shard_of(customer_id: int) -> int:
    return customer_id % SUMMARY_SHARDS
