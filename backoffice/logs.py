"""Logging pieces the settings wire in."""

import json
import logging
from datetime import UTC, datetime


class ClientErrorsBrief(logging.Filter):
    """One line, without the traceback, for a request refused with a 4xx (a 403 for a page a role may
    not open is an everyday answer, not a fault); 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = None
            record.exc_text = None
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
