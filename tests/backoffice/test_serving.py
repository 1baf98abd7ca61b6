"""The serve command's pieces on this machine, as production runs them: collectstatic into a temporary
STATIC_ROOT (tests/backoffice/conftest.py), migrate, then gunicorn (backoffice/gunicorn.conf.py) in production mode against the test
database (and Redis when the pass has it), reached the way nginx reaches it."""

import gzip
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.template.utils import get_app_template_dirs
from playwright.sync_api import sync_playwright

from tests.agent.conftest import subprocess_database_url
from tests.backoffice.conftest import environment_outside_tests, gunicorn_start, gunicorn_stop, production_env
from tests.backoffice.test_health import unused_port
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import UserFactory

FROM_NGINX = {"X-Forwarded-Proto": "https"}  # what the nginx site in deploy/ sends with every request
STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]""")
HASHED_CSS = re.compile(r"/static/(admin/simpleui-x/[^\"'?]+\.[0-9a-f]{12}\.css)")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Served:
    def __init__(self, url: str, static_root: Path, log: Path):
        self.url, self.static_root, self.log = url, static_root, log
        self.opener = urllib.request.build_opener(NoRedirects)  # a redirect is an answer to check

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as refused:
            return refused.code, dict(refused.headers), refused.read()


@pytest.fixture(scope="module")
def served(django_db_setup, collected_static, tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    port = unused_port()
    environment = {
        **environment_outside_tests(),
        **production_env(
            DATABASE_URL=subprocess_database_url(),
            REDIS_URL=settings.REDIS_URL,
            STATIC_ROOT=str(collected_static),
            BIND=f"127.0.0.1:{port}",
            WEB_WORKERS="1",
            WEB_THREADS="4",
            BEHIND_TLS_PROXY="1",
            LOG_FORMAT="json",
            GUNICORN_CMD_ARGS="--access-logfile -",
            # The browser speaks plain HTTP to this server while FROM_NGINX says it came over HTTPS, so its
            # sign-in's Origin is http://; behind the real nginx it is https:// and needs no entry here.
            CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{port}",
            PYTHONUNBUFFERED="1",
        ),
    }
    # collectstatic has run (collected_static); migrate finds the test database up to date, as a restart does.
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        env=environment, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0 and "No migrations to apply" in done.stdout, done.stdout + done.stderr
    log = folder / "gunicorn.log"
    gunicorn = gunicorn_start(environment, log)
    yield Served(f"http://127.0.0.1:{port}", collected_static, log)
    assert gunicorn_stop(gunicorn) == 0, log.read_text()  # a graceful stop


def test_the_login_page_and_the_hashed_compressed_static_files_it_refers_to_are_served(served):
    status, _, page = served.get("/admin/login/", FROM_NGINX)
    assert status == 200
    stylesheet = HASHED_CSS.search(page.decode()).group(1)

    status, headers, body = served.get(f"/static/{stylesheet}", FROM_NGINX | {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "immutable" in headers["Cache-Control"]  # hashed: cached for good
    assert gzip.decompress(body) == (served.static_root / stylesheet).read_bytes()

    status, headers, body = served.get(f"/static/{stylesheet}", FROM_NGINX)
    assert status == 200 and "Content-Encoding" not in headers
    assert body == (served.static_root / stylesheet).read_bytes()


def test_the_probes_answer_a_balancer_over_plain_http_by_address(served):
    balancer = {"Host": "10.0.0.7:8000"}
    assert served.get("/healthz", balancer)[::2] == (200, b"ok")
    assert served.get("/readyz", balancer)[::2] == (200, b"ok")  # the database, and Redis in that pass
    # Everything else over plain HTTP is sent to HTTPS.
    assert served.get("/admin/login/")[0] == 301


def test_gunicorn_and_django_log_json_lines(served):
    assert served.get("/no-such-page/", FROM_NGINX)[0] == 404  # django.request's warning
    time.sleep(0.5)
    lines = [json.loads(line) for line in served.log.read_text().splitlines()]
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "gunicorn.access", "django.request"} <= loggers
    assert any(line["message"] == "Not Found: /no-such-page/" for line in lines)


def test_every_static_file_a_template_names_is_collected_and_hashed(served):
    """A name missing from the manifest would fail its page in production (manifest_strict); a folder
    (simpleui's themes and locales, whose files its scripts name) is served as collected."""
    manifest = json.loads((served.static_root / "staticfiles.json").read_text())["paths"]
    folders = [*settings.TEMPLATES[0]["DIRS"], *get_app_template_dirs("templates")]
    names = {
        name
        for folder in folders
        for template in Path(folder).rglob("*.html")
        for name in STATIC_TAG.findall(template.read_text(errors="replace"))
    }
    assert len(names) > 50  # simpleui's, silk's, import-export's, the admin's and ours
    assert [name for name in names if not name.endswith("/") and name not in manifest] == []
    assert [name for name in names if name.endswith("/") and not (served.static_root / name).is_dir()] == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)  # the server reads the account from the database
def test_the_admin_served_this_way_renders_in_chromium_with_every_file_found(served, output_dir):
    UserFactory(username="root-user", is_staff=True, is_superuser=True)
    failures = []
    shots = Path(output_dir) / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=served.url, locale="zh-CN", viewport={"width": 1440, "height": 900}, extra_http_headers=FROM_NGINX
        )
        page = context.new_page()
        page.on("response", lambda response: response.status >= 400 and failures.append(f"{response.status} {response.url}"))
        page.on("requestfailed", lambda request: failures.append(f"failed {request.url}"))
        page.goto("/admin/login/", wait_until="networkidle")
        page.screenshot(path=str(shots / "login-served-by-gunicorn.png"), full_page=True)
        page.fill("input[name=username]", "root-user")
        page.fill("input[name=password]", "pass-word-123")
        page.press("input[name=password]", "Enter")
        page.wait_for_url(re.compile(r"/admin/(?!login)"))
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / "index-served-by-gunicorn.png"), full_page=True)
        page.goto("/admin/orders/order/", wait_until="networkidle")  # a list with import-export's export
        page.screenshot(path=str(shots / "orders-served-by-gunicorn.png"), full_page=True)
        browser.close()
    assert failures == []
