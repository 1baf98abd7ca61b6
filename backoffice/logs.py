"""Logging pieces the settings wire in."""

import json
import logging
import threading
import time
from datetime import UTC, datetime


class ClientErrorsBrief(logging.Filter):
    """One line, without the traceback, for a request refused with a 4xx (a 403 for a page a role may
    not open is an everyday answer, not a fault); 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class OncePerInterval(logging.Filter):
    """Lets each message of a logger through once per interval, without its traceback (the exception's
    one line instead). During a Redis outage every request reports it (the cache and sessions through
    django-redis, each order's ready-queue push, each readiness probe): one line an interval says as much
    as a thousand tracebacks. The line that opens an interval counts the ones the last one held back."""

    def __init__(self, seconds: float = 60):
        super().__init__()
        self.seconds = float(seconds)
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, object], list] = {}  # (logger, message) -> [monotonic time let through, held back]

    def forget(self) -> None:
        with self._lock:
            self._seen.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = (record.name, record.msg), time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.seconds:
                seen[1] += 1
                return False
            held_back = seen[1] if seen is not None else 0
            self._seen[key] = [now, 0]
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message = f"{message}: {error.__class__.__name__}: {error}"
            record.exc_info = record.exc_text = None
        if held_back:
            message = f"{message} ({held_back} more like it in the last {now - seen[0]:.0f} s)"
        record.msg, record.args = message, None
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line (LOG_FORMAT=json): time (UTC, ISO 8601), level, logger,
    message, and exc with the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
