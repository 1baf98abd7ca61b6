"""Login codes through Alibaba Cloud SMS, against a stand-in for its endpoint: a real HTTP server on this
machine that answers as Dysmsapi does (never the internet)."""

import json
import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.rbac.conftest import MOBILE

URL = reverse("sms_login")
NOT_SENT = "验证码发送失败，请重试"


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.reply = (200, {"Code": "OK", "Message": "OK", "BizId": "900", "RequestId": "r-1"})
        self.delay = threading.Event()  # while clear, the reply waits (until released)
        self.delay.set()
        self.replied = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = {name: values[0] for name, values in parse_qs(urlsplit(self.path).query).items()}
        self.server.requests.append({"action": self.headers.get("x-acs-action"), **query})
        self.server.delay.wait(10)
        status, reply = self.server.reply
        body = json.dumps(reply).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up waiting
            pass
        self.server.replied.set()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def provider(settings):
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "aliyun"
    settings.ALIYUN_SMS_ENDPOINT = f"http://127.0.0.1:{server.server_port}"
    settings.ALIYUN_SMS_SIGN_NAME = "订单平台"
    settings.ALIYUN_SMS_TEMPLATE_CODE = "SMS_123456789"
    settings.ALIBABA_CLOUD_ACCESS_KEY_ID = "test-key-id"
    settings.ALIBABA_CLOUD_ACCESS_KEY_SECRET = "test-key-secret"
    settings.SMS_TIMEOUT_SECONDS = 1
    yield server
    server.delay.set()
    server.shutdown()
    server.server_close()


def code_ask(client, caplog):
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rbac.sms"):
        response = client.post(URL, {"mobile": MOBILE, "send": "1"})
    assert response.status_code == 200
    return response.content.decode()


def wait_seconds(page: str) -> int:
    return int(re.search(r'id="sms-send"\s+data-wait-seconds="(\d+)"', page).group(1))


def test_the_code_goes_through_the_provider_and_logs_in(client, alice, provider, caplog):
    page = code_ask(client, caplog)
    assert NOT_SENT not in page and wait_seconds(page) == 60
    [sent] = provider.requests
    assert sent["action"] == "SendSms" and sent["PhoneNumbers"] == MOBILE
    assert sent["SignName"] == "订单平台" and sent["TemplateCode"] == "SMS_123456789"
    code = json.loads(sent["TemplateParam"])["code"]
    assert re.fullmatch(r"\d{6}", code) and code not in caplog.text  # the log says it was sent, not what
    assert f"SMS to {MOBILE} sent by aliyun" in caplog.text

    response = client.post(URL, {"mobile": MOBILE, "code": code, "login": "1"})
    assert response.status_code == 302 and client.get(reverse("admin:index")).context["user"] == alice


@pytest.mark.parametrize(
    "reply",
    [
        (400, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "mobile illegal", "RequestId": "r-2"}),
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "limited", "RequestId": "r-3"}),
        (503, {"Code": "ServiceUnavailable", "Message": "down", "RequestId": "r-4"}),
    ],
    ids=["refused", "refused-with-200", "server-error"],
)
def test_a_refusal_is_logged_and_shown_and_the_minute_is_not_spent(client, alice, provider, caplog, reply):
    provider.reply = reply
    page = code_ask(client, caplog)
    assert NOT_SENT in page and wait_seconds(page) == 0
    assert reply[1]["Code"] in caplog.text and "not sent" in caplog.text
    code = json.loads(provider.requests[0]["TemplateParam"])["code"]
    assert code not in caplog.text
    # The code that never arrived does not log in.
    response = client.post(URL, {"mobile": MOBILE, "code": code, "login": "1"})
    assert not response.wsgi_request.user.is_authenticated

    provider.reply = (200, {"Code": "OK", "Message": "OK", "BizId": "901", "RequestId": "r-5"})
    page = code_ask(client, caplog)  # at once: the minute was not spent
    assert NOT_SENT not in page and wait_seconds(page) == 60 and len(provider.requests) == 2


def test_a_provider_that_does_not_answer_in_time_is_given_up(client, alice, provider, caplog):
    provider.delay.clear()  # the stand-in holds its reply until released
    page = code_ask(client, caplog)
    assert not provider.replied.is_set()  # the page answered before the provider did
    assert NOT_SENT in page and wait_seconds(page) == 0 and "timed out" in caplog.text
    provider.delay.set()


def test_an_unreachable_provider_never_logs_the_code(client, alice, provider, settings, caplog):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        settings.ALIYUN_SMS_ENDPOINT = f"http://127.0.0.1:{unused.getsockname()[1]}"  # bound, not listening
        page = code_ask(client, caplog)
    assert NOT_SENT in page
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "not sent" in warning.getMessage()
    assert not re.search(r"(?<!\d)\d{6}(?!\d)", warning.getMessage().replace(MOBILE, ""))
