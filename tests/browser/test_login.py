import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_staff_signs_in_and_sees_the_chinese_admin(page, login, screenshot):
    UserFactory(username="boss", is_staff=True, is_superuser=True)

    login("boss", "pass-word-123")

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "boss" in page.content()
    screenshot()
