"""Text messages. The platform sends only login codes, through the backend SMS_BACKEND names:

- `console` (the default): writes each message to the log, as Django's console e-mail backend does;
- `aliyun`: Alibaba Cloud SMS (Dysmsapi SendSms), the template ALIYUN_SMS_TEMPLATE_CODE under the sign
  ALIYUN_SMS_SIGN_NAME filled with the message's parameters, at ALIYUN_SMS_ENDPOINT.

A provider that fails, refuses or does not answer within SMS_TIMEOUT_SECONDS raises SmsNotSent; why is
logged (without the parameters: they carry the code).
"""

import functools
import json
import logging
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)


class SmsNotSent(Exception):
    """The provider did not accept the message."""


# The SDK is imported only with its backend: it pulls in aiohttp, cryptography and more.
@functools.cache
def _aliyun_client(endpoint: str, access_key_id: str, access_key_secret: str, timeout_ms: int):
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    url = urlsplit(endpoint if "//" in endpoint else f"https://{endpoint}")
    return Client(
        Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            endpoint=url.netloc,
            protocol=url.scheme.upper(),
            connect_timeout=timeout_ms,
            read_timeout=timeout_ms,
        )
    )


def _aliyun_send(*, mobile: str, params: dict[str, str]) -> None:
    from alibabacloud_dysmsapi20170525.models import SendSmsRequest

    client = _aliyun_client(
        settings.ALIYUN_SMS_ENDPOINT,
        settings.ALIBABA_CLOUD_ACCESS_KEY_ID,
        settings.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
        int(settings.SMS_TIMEOUT_SECONDS * 1000),
    )
    request = SendSmsRequest(
        phone_numbers=mobile,
        sign_name=settings.ALIYUN_SMS_SIGN_NAME,
        template_code=settings.ALIYUN_SMS_TEMPLATE_CODE,
        template_param=json.dumps(params),
    )
    try:
        reply = client.send_sms(request).body
    except Exception as exc:  # noqa: BLE001 - the SDK raises its own errors and requests' alike
        raise SmsNotSent(f"{exc.__class__.__name__}: {exc}") from exc
    if reply.code != "OK":  # a refusal answered 200: a sign, template or rate limit the provider rejects
        raise SmsNotSent(f"{reply.code}: {reply.message} (request {reply.request_id})")


def sms_send(*, mobile: str, text: str, params: dict[str, str]) -> None:
    """Send a message: `text` is what the console writes; a provider fills its template with `params`."""
    if settings.SMS_BACKEND == "console":
        logger.info("SMS to %s: %s", mobile, text)
        return
    try:
        _aliyun_send(mobile=mobile, params=params)
    except SmsNotSent as exc:
        reason = str(exc)
        for value in params.values():  # an error may quote the request (a refused connection quotes its URL)
            reason = reason.replace(value, "***")
        logger.warning("SMS to %s not sent by %s: %s", mobile, settings.SMS_BACKEND, reason)
        raise SmsNotSent(reason) from None
    logger.info("SMS to %s sent by %s", mobile, settings.SMS_BACKEND)
