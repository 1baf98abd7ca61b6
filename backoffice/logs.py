"""Logging pieces the settings wire in."""

import logging


class ClientErrorsBrief(logging.Filter):
    """One line, without the traceback, for a request refused with a 4xx (a 403 for a page a role may
    not open is an everyday answer, not a fault); 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
