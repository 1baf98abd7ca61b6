import pytest


@pytest.mark.django_db
def test_admin_login_page_uses_simpleui_in_chinese(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "simpleui" in html.lower()
    assert 'lang="zh-hans"' in html


@pytest.mark.django_db
def test_demo_is_idempotent_and_reconciles(reconciled):
    from django.core.management import call_command

    from customers.models import Customer, LedgerEntry
    from orders.models import Order

    call_command("demo", password="demo-pass-1", customers=10, orders=40)
    counts = (Customer.objects.count(), Order.objects.count(), LedgerEntry.objects.count())
    call_command("demo", password="demo-pass-1", customers=10, orders=40)
    assert (Customer.objects.count(), Order.objects.count(), LedgerEntry.objects.count()) == counts
    # Nothing is left running under the loader's name, which no agent would ever finish.
    assert set(Order.objects.values_list("status", flat=True)) == {"pending", "succeeded", "failed", "cancelled"}
    reconciled()
