"""Text messages. The platform sends only login codes; this writes them to the log (the console on
the embedded default), as Django's console e-mail backend does. A provider's gateway belongs here."""

import logging

logger = logging.getLogger(__name__)


def sms_send(*, mobile: str, text: str) -> None:
    logger.info("SMS to %s: %s", mobile, text)
