"""Playwright driving Debian's Chromium against pytest-django's live server."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def page(live_server, monkeypatch):
    """A fresh Chromium page on the live server. Playwright's sync API keeps an event loop running in
    this thread, so Django's async-context guard is lifted for the test (its ORM calls stay plain
    synchronous code); the browser starts after, and stops before, the test database work."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN", viewport={"width": 1440, "height": 900}
        )
        context.set_default_timeout(15_000)
        yield context.new_page()
        browser.close()


@pytest.fixture
def login(page):
    def sign_in(username: str, password: str) -> None:
        page.goto("/admin/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(re.compile(r"/admin/(?!login)"))

    return sign_in


@pytest.fixture
def screenshot(page, output_dir, request):
    """Save the current page (or one element of it: simpleui scrolls its content inside the window, so a
    full-page picture stops at the window's bottom) as <output_dir>/browser/<test name>[-<suffix>].png."""

    def save(suffix: str = "", element=None) -> Path:
        path = Path(output_dir) / "browser" / f"{request.node.name}{'-' + suffix if suffix else ''}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if element is None:
            page.screenshot(path=str(path), full_page=True)
        else:
            element.screenshot(path=str(path))
        return path

    return save
