"""The examples in deploy/ agree with what they start."""

import re

from django.conf import settings

from agent.management.commands.runagent import Command as RunAgent

DEPLOY = settings.BASE_DIR / "deploy"


def unit_value(unit: str, key: str) -> str:
    return re.search(rf"^{key}=(.+)$", (DEPLOY / unit).read_text(), re.MULTILINE).group(1)


def example_environment() -> dict[str, str]:
    lines = (DEPLOY / "backoffice.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_systemd_waits_longer_than_each_grace_period_before_it_kills():
    agent_start = unit_value("backoffice-agent@.service", "ExecStart")
    grace = float(re.search(r"--grace-seconds (\S+)", agent_start).group(1))
    parser = RunAgent().create_parser("manage.py", "runagent")
    assert grace == parser.get_default("grace_seconds")  # the documented default, stated
    assert int(unit_value("backoffice-agent@.service", "TimeoutStopSec")) >= grace + 10
    assert unit_value("backoffice-agent@.service", "KillSignal") == "SIGTERM"

    web_grace = int(example_environment()["WEB_GRACEFUL_SECONDS"])
    assert int(unit_value("backoffice-web.service", "TimeoutStopSec")) >= web_grace + 10
    assert unit_value("backoffice-web.service", "KillSignal") == "SIGTERM"


def test_nginx_sets_the_headers_the_example_environment_trusts():
    site = (DEPLOY / "nginx-backoffice.conf").read_text()
    environment = example_environment()
    assert environment["BEHIND_TLS_PROXY"] == "1"
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert environment["AXES_IPWARE_META_PRECEDENCE_ORDER"] == "HTTP_X_REAL_IP,REMOTE_ADDR"
    assert "proxy_set_header X-Real-IP $remote_addr;" in site
    # gunicorn listens where nginx sends, on loopback only.
    assert environment["BIND"].startswith("127.0.0.1:")
    assert f"server {environment['BIND']};" in site
