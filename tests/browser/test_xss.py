"""Script injection through the admin, tried in Chromium: search terms, messages naming a customer,
an order's target and memo, titles and names in simpleui's Vue templates. Every payload sets
`window.__xss` (or opens a dialog) if it runs; each page must show it as the text it is."""

import re
from urllib.parse import urlencode

import pytest
from django.contrib.admin.utils import quote
from django.utils import translation
from django.utils.translation import gettext

from customers.models import Customer
from customers.services import balance_recharge
from orders.models import Order
from orders.services import order_claim, order_fail, order_place
from rbac.roles import CUSTOMERS, OPERATIONS
from tests.factories import CustomerFactory, ProductFactory, UserFactory
from tests.roles import role_user

pytestmark = pytest.mark.browser

PASSWORD = "pass-word-123"  # UserFactory's
PAYLOADS = [
    "'+alert(1)+'",
    "'+(window.__xss=1)+'",
    "';window.__xss=1;'",
    "</script><script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=1">',
    "{{constructor.constructor('window.__xss=1')()}}",  # Vue compiles simpleui's pages as templates
]


@pytest.fixture
def sentinel(page):
    """Fails the test if any payload ran: a dialog opened, or window.__xss was set in the page."""
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    def check() -> None:
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)  # simpleui shows messages after 200 ms
        assert page.evaluate("typeof window.__xss") == "undefined", page.url
        assert dialogs == [], f"a dialog opened on {page.url}: {dialogs}"

    return check


def funded_customer(**fields) -> Customer:
    customer = CustomerFactory(**fields)
    balance_recharge(customer_id=customer.pk, amount="100.00", actor=None)
    return customer


def notifications(page, count: int) -> list[str]:
    page.locator(".el-notification").nth(count - 1).wait_for()
    return [text.strip() for text in page.locator(".el-notification__content").all_text_contents()]


@pytest.mark.parametrize(
    "path", ["/admin/customers/customer/", "/admin/customers/recharge/", "/admin/orders/order/"]
)
def test_a_search_term_stays_text_in_the_staff_lists(db, page, login, sentinel, screenshot, path):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    login("boss", PASSWORD)
    for payload in PAYLOADS:
        page.goto(f"{path}?{urlencode({'q': payload})}")
        sentinel()
        assert page.input_value("#changelist-search input[name=q]") == payload
    screenshot()


def test_a_search_term_stays_text_in_my_orders(db, page, login, sentinel, screenshot):
    role_user(CUSTOMERS, customer=CustomerFactory(), username="cust")
    login("cust", PASSWORD)
    for payload in PAYLOADS:
        page.goto(f"/admin/orders/myorder/?{urlencode({'q': payload})}")
        sentinel()
        assert page.input_value("#changelist-search input[name=q]") == payload
    screenshot()


def failed_order(customer: Customer, product) -> Order:
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t-1", actor=None)
    order_claim(agent="a", limit=1, lease_seconds=60, order_ids=[order.pk])
    return order_fail(order_id=order.pk, agent="a", error="refused", transient=False)


def test_customer_names_in_retry_messages_are_text(db, page, login, sentinel, screenshot):
    """Operations retry failed orders of inactive customers: each refusal names the customer."""
    product = ProductFactory()
    customers = []
    for payload in PAYLOADS:
        customer = funded_customer(name=payload)
        failed_order(customer, product)
        customer.is_active = False
        customer.save(update_fields=["is_active"])
        customers.append(customer)
    role_user(OPERATIONS, username="ops")
    login("ops", PASSWORD)

    page.goto("/admin/orders/order/?status__exact=failed")
    sentinel()
    page.check("#action-toggle")
    page.click(".actions button[data-name=retry_selected]")
    page.wait_for_url(re.compile(r"/admin/orders/order/"))
    shown = notifications(page, len(customers))
    sentinel()
    with translation.override("zh-hans"):
        expected = {gettext("Customer %(customer)s is inactive.") % {"customer": c} for c in customers}
    assert set(shown) == expected
    screenshot()


def test_customer_names_in_djangos_own_messages_read_as_plain_sentences(db, page, login, sentinel, screenshot):
    """Django's "changed successfully" message carries a link around the name; it reads as text."""
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    login("boss", PASSWORD)
    for payload in PAYLOADS:
        customer = CustomerFactory(name=payload)
        page.goto(f"/admin/customers/customer/{customer.pk}/change/")
        sentinel()
        assert page.input_value("#id_name") == payload
        page.click("button[name=_save]")
        page.wait_for_url(re.compile(r"/admin/customers/customer/(\?.*)?$"))
        [shown] = notifications(page, 1)
        sentinel()
        with translation.override("zh-hans"):
            expected = gettext("The {name} “{obj}” was changed successfully.").format(
                name=Customer._meta.verbose_name, obj=customer
            )
        assert shown == expected
        page.locator(".el-notification__closeBtn").click()
        page.locator(".el-notification").wait_for(state="detached")
    screenshot()


def test_an_orders_target_and_memo_stay_text(db, page, login, sentinel, screenshot):
    customer = funded_customer()
    role_user(CUSTOMERS, customer=customer, username="cust")
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    product = ProductFactory()
    orders = [
        order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target=p, memo=p, actor=None)
        for p in PAYLOADS
    ]

    login("boss", PASSWORD)
    for order in orders:
        page.goto(f"/admin/orders/order/{order.pk}/change/")
        sentinel()
        assert page.locator(".field-target .readonly").inner_text() == order.target
        assert page.input_value("#id_memo") == order.memo
    page.click("button[name=_save]")  # the last order, memo unchanged: Django's message names it
    page.wait_for_url(re.compile(r"/admin/orders/order/(\?.*)?$"))
    notifications(page, 1)
    sentinel()
    screenshot("staff")

    page.context.clear_cookies()
    login("cust", PASSWORD)
    page.goto("/admin/orders/myorder/")
    sentinel()
    targets = page.locator("#result_list td.field-target").all_inner_texts()
    assert sorted(targets) == sorted(PAYLOADS)
    page.goto(f"/admin/orders/myorder/{orders[-1].pk}/change/")
    sentinel()
    screenshot("customer")


@pytest.mark.parametrize("line_end", ["\n", "\u2028"])
def test_a_line_break_in_a_name_does_not_end_a_script_comment(db, page, login, sentinel, line_end):
    """The history page's title (the object's name) is written into a commented-out script line, in
    code that runs when simpleui's tabs frame the page (their parent.addEvent, stood in for here)."""
    customer = CustomerFactory(name=f"x{line_end}window.__xss=1//")
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    login("boss", PASSWORD)
    page.add_init_script("window.addEvent = function () {};")
    page.goto(f"/admin/customers/customer/{quote(customer.pk)}/history/")
    sentinel()


def test_the_signed_in_users_name_is_not_compiled_by_vue(db, page, login, sentinel):
    """The index is one Vue template: the header names the user (the home tab frames the dashboard, a page
    outside that template)."""
    name = "{{constructor.constructor('window.__xss=1')()}}"
    UserFactory(username=name, is_staff=True, is_superuser=True)
    login(name, PASSWORD)
    page.frame_locator("iframe").first.locator("#chart-days canvas").first.wait_for()
    sentinel()
    assert name in page.locator(".navbar").inner_text()


def test_simpleui_frames_its_own_pages_but_no_other_site_may(db, page, login, live_server):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    login("boss", PASSWORD)
    page.locator("aside .el-submenu__title").first.click()
    page.locator("aside .el-menu-item:visible").last.click()  # the first is the home page, not framed
    tab = page.frame_locator(".iframe-wrap iframe").first
    tab.locator("#result_list").wait_for()

    # A page of another origin (here about:blank, an opaque origin) framing the admin gets nothing.
    other = page.context.new_page()
    with other.expect_event("requestfailed") as failed:
        other.set_content(f'<iframe id="victim" src="{live_server.url}/admin/login/"></iframe>')
    assert failed.value.url.endswith("/admin/login/")
    assert failed.value.failure == "net::ERR_BLOCKED_BY_RESPONSE"
    [victim] = [frame for frame in other.frames if frame != other.main_frame]
    assert victim.locator("#login-form").count() == 0
