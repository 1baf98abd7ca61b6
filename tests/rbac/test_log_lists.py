"""The logs are read-only lists: no action checkboxes or selection counter; the login log's outcome in
green or red, and only a lockout's refusal marked as locked."""

import pytest
from django.urls import reverse

from rbac.models import LoginLog
from tests.roles import role_user


@pytest.fixture
def admin_client(client, db):
    client.force_login(role_user("Administrators", username="root"))
    return client


@pytest.mark.parametrize("name", ["rbac_loginlog", "rbac_operationlog"])
def test_log_lists_have_no_actions(admin_client, name):
    response = admin_client.get(reverse(f"admin:{name}_changelist"))
    page = response.content.decode()
    assert 'class="action-checkbox"' not in page and "action-counter" not in page
    assert "导出" in page  # the export stays


def test_the_login_log_marks_outcomes_in_green_and_red(admin_client):
    LoginLog.objects.create(username="alice", method="password", succeeded=False, locked_out=True)
    page = admin_client.get(reverse("admin:rbac_loginlog_changelist")).content.decode()
    assert '<span class="log-ok">✓ 成功</span>' in page  # the administrator's own sign-in
    assert '<span class="log-refused">✗ 失败</span>' in page
    assert page.count('<span class="log-refused">已锁定</span>') == 1
