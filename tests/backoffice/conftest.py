"""Fresh processes started the way production starts them, away from the test run's own modes."""

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings


def environment_outside_tests() -> dict:
    """This process's environment without the embedded-demo, debug and service settings (pytest sets
    PYTEST_VERSION), for a process to start in whatever mode its own variables say."""
    return {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"PYTEST_VERSION", "EMBEDDED_DEMO", "DEBUG", "SECRET_KEY", "DATABASE_URL", "REPLICA_DATABASE_URLS", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not key.startswith(("SECURE_", "BEHIND_"))
    } | {"DJANGO_SETTINGS_MODULE": "backoffice.settings"}


def django_run(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` after django.setup() in a fresh process, with `env` over environment_outside_tests()."""
    program = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", program],
        env={**environment_outside_tests(), **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**extra: str) -> dict:
    return {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), **extra}


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """A STATIC_ROOT as the serve command leaves it (hashed, compressed, with the manifest): in production
    mode a page is made from the manifest, so none renders before collectstatic has run."""
    static_root = tmp_path_factory.mktemp("collected") / "static"
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        env={**environment_outside_tests(), **production_env(STATIC_ROOT=str(static_root))},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return static_root


def gunicorn_start(environment: dict, log: Path) -> subprocess.Popen:
    """gunicorn as the serve command starts it (backoffice/gunicorn.conf.py) with `environment` (BIND
    included), its output in `log`; returned once it answers /healthz, stopped if it never does."""
    with open(log, "wb") as output:
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "backoffice/gunicorn.conf.py"],
            env=environment, cwd=settings.BASE_DIR, stdout=output, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        assert gunicorn.poll() is None, f"gunicorn exited:\n{log.read_text()}"
        try:
            urllib.request.urlopen(f"http://{environment['BIND']}/healthz", timeout=10).close()
            return gunicorn
        except urllib.error.HTTPError:  # an answer all the same
            return gunicorn
        except OSError:  # not listening yet
            if time.monotonic() > deadline:
                gunicorn_stop(gunicorn)
                raise AssertionError(f"gunicorn did not answer within 60 s:\n{log.read_text()}") from None
            time.sleep(0.2)


def gunicorn_stop(gunicorn: subprocess.Popen) -> int:
    """SIGTERM, as a supervisor stops it: requests under way finish, then it exits (0 when graceful).
    Killed if it has not exited after 40 s."""
    if gunicorn.poll() is None:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=40)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
            gunicorn.wait()
    return gunicorn.returncode
