"""The Simplified Chinese catalogue is complete and compiled, Chinese is the default, English works via the
language setting, and times show in Asia/Shanghai."""

import ast
import gettext
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from customers.services import balance_recharge
from orders.models import Order
from orders.services import order_place
from tests.factories import UserFactory

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
OUR_APPS = ("backoffice", "customers", "orders", "rbac", "agent")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
ORDER_LIST = reverse("admin:orders_order_changelist")


def po_entries(path: Path) -> list[dict]:
    """The entries of a gettext-written .po file (blank-line separated; the header first; obsolete "#~"
    entries left out), each with its flags, msgctxt, msgid, msgid_plural and msgstr (a list: one per form)."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry, key = {"flags": set(), "msgstr": []}, None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if key == "msgstr":
                    entry["msgstr"][-1] += ast.literal_eval(line)
                else:
                    entry[key] += ast.literal_eval(line)
            else:
                key, _space, value = line.partition(" ")
                if key.startswith("msgstr"):
                    key = "msgstr"
                    entry["msgstr"].append(ast.literal_eval(value))
                else:
                    entry[key] = ast.literal_eval(value)
        if "msgid" in entry:
            entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[dict]:
    entries = po_entries(CATALOGUE / "django.po")
    assert entries[0]["msgid"] == "" and len(entries) > 100
    return entries[1:]


def test_every_entry_is_translated_and_none_is_fuzzy(catalogue):
    assert [e["msgid"] for e in catalogue if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in catalogue if not all(s.strip() for s in e["msgstr"])] == []


def test_translations_keep_the_placeholders(catalogue):
    broken = [
        e["msgid"]
        for e in catalogue
        for s in e["msgstr"]
        if Counter(PLACEHOLDER.findall(e["msgid"])) != Counter(PLACEHOLDER.findall(s))
    ]
    assert broken == []


def test_the_committed_mo_is_compiled_from_the_po(catalogue):
    with open(CATALOGUE / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    for e in catalogue:
        key = f"{e['msgctxt']}\x04{e['msgid']}" if "msgctxt" in e else e["msgid"]
        if "msgid_plural" in e:
            assert [compiled.get((key, n)) for n in range(len(e["msgstr"]))] == e["msgstr"], e["msgid"]
        else:
            assert compiled.get(key) == e["msgstr"][0], e["msgid"]


def our_labels():
    """The names our apps give things on screen: app, model and field names, help texts, choices, and the
    admin's fieldset titles, action descriptions and search help. An unmarked one is missing from the
    catalogue, and so is an auto-generated name (a field without a verbose_name)."""
    for config in apps.get_app_configs():
        if config.name not in OUR_APPS:
            continue
        yield config.verbose_name
        for model in config.get_models():
            opts = model._meta
            yield from (opts.verbose_name, opts.verbose_name_plural)
            for field in opts.fields + opts.many_to_many:
                if field.auto_created:
                    continue
                yield field.verbose_name
                if field.help_text:
                    yield field.help_text
                yield from (label for _value, label in field.flatchoices if _value != "")
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        for attribute in ("change_fieldsets", "fieldsets"):
            yield from (title for title, _options in getattr(model_admin, attribute, None) or () if title)
        if model_admin.search_help_text:
            yield model_admin.search_help_text
        for func, _name, description in model_admin._get_base_actions():
            if getattr(func, "__module__", "").split(".")[0] in OUR_APPS:
                yield description
        for inline in model_admin.inlines:
            if inline.verbose_name_plural and inline.__module__.split(".")[0] in OUR_APPS:
                yield inline.verbose_name_plural


@pytest.mark.django_db
def test_every_label_of_ours_is_in_the_catalogue(catalogue):
    translated = {e["msgid"] for e in catalogue}
    with translation.override("en"):
        missing = sorted({str(label) for label in our_labels()} - translated)
    assert missing == []


# --- pages ---------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def pending_order(customer, product):
    """A pending order placed at 2024-01-31 17:30 UTC, which is 2024-02-01 01:30 in Shanghai."""
    balance_recharge(customer_id=customer.pk, amount="100", actor=None)
    order = order_place(customer_id=customer.pk, product_id=product.pk, quantity=1, target="t-1", actor=None)
    Order.objects.filter(pk=order.pk).update(created_at=datetime(2024, 1, 31, 17, 30, tzinfo=UTC))
    return order


def page(client, url, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_order_list_is_chinese_by_default(superuser_client, pending_order):
    html = page(superuser_client, ORDER_LIST)
    assert 'lang="zh-hans"' in html
    for text in ("订单号", "客户", "产品", "金额", "待执行", "创建时间", "撤单：撤销所选订单（待执行的订单将退款）"):
        assert text in html, text
    assert "Order number" not in html and ">pending<" not in html


def test_order_list_is_english_with_the_language_cookie(superuser_client, pending_order):
    superuser_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = page(superuser_client, ORDER_LIST)
    assert 'lang="en"' in html
    for text in ("Order number", ">pending<", "Created at", "Cancel selected orders (pending ones are refunded)"):
        assert text in html, text
    assert "订单号" not in html and "待执行" not in html


def test_the_set_language_view_switches_to_english(superuser_client, pending_order):
    response = superuser_client.post(reverse("set_language"), {"language": "en", "next": ORDER_LIST})
    assert response.status_code == 302
    assert "Order number" in page(superuser_client, ORDER_LIST)
    superuser_client.post(reverse("set_language"), {"language": "zh-hans", "next": ORDER_LIST})
    assert "订单号" in page(superuser_client, ORDER_LIST)


def menu_names(html: str) -> set[str]:
    """The group and item names of simpleui's left menu, which the page carries as JSON."""
    menus, _end = json.JSONDecoder().raw_decode(html, html.index("var menus=") + len("var menus="))
    return {menu["name"] for menu in menus} | {item["name"] for menu in menus for item in menu.get("models", ())}


def test_the_menu_shows_our_app_and_model_names_in_chinese(superuser_client):
    names = menu_names(page(superuser_client, reverse("admin:index")))
    assert {"订单", "客户", "客户级别", "财务", "充值", "扣款", "交易记录", "运维", "执行代理"} <= names
    superuser_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert {"Orders", "Customers", "Finance", "Recharges", "Ledger entries", "Operations", "Agents"} <= menu_names(
        page(superuser_client, reverse("admin:index"))
    )


def test_the_agents_page_and_its_queue_summary_are_chinese(superuser_client, pending_order):
    html = page(superuser_client, reverse("admin:agent_agent_changelist"))
    for text in ("执行代理", "最后心跳时间", "待执行", "执行中", "最早的待执行订单", "秒前", "在线执行代理"):
        assert text in html, text


def test_login_page_is_chinese_by_default_and_english_on_request(client, db):
    chinese = page(client, reverse("admin:login"))
    assert 'lang="zh-hans"' in chinese and "-登录</title>" in chinese and "用户名" in chinese
    english = page(client, reverse("admin:login"), accept_language="en")
    assert 'lang="en"' in english and "-Log in</title>" in english and "用户名" not in english


def test_a_refused_amount_is_a_chinese_form_error(superuser_client, customer):
    response = superuser_client.post(
        reverse("admin:customers_recharge_add"),
        {"customer": str(customer), "amount": "abc", "memo": "", "idempotency_token": "tok-i18n"},
    )
    assert response.status_code == 200
    assert "“abc”不是有效的金额：请输入数字，最多一个小数点" in response.content.decode()


def test_the_price_preview_explains_itself_in_the_page_language(superuser_client, product):
    url = reverse("admin:orders_order_quote") + f"?customer=&product={product.pk}&quantity=1"
    assert superuser_client.get(url).json()["error"] == "请从建议中选择客户。"
    superuser_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert superuser_client.get(url).json()["error"] == "Pick a customer from the suggestions."


# --- time zone -----------------------------------------------------------------------------------


def test_order_times_show_in_shanghai_time(superuser_client, pending_order):
    listing = page(superuser_client, ORDER_LIST)
    assert "2024年2月1日 01:30" in listing and "2024年1月31日" not in listing
    change = page(superuser_client, reverse("admin:orders_order_change", args=[pending_order.pk]))
    assert "2024年2月1日 01:30" in change
    superuser_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Feb. 1, 2024, 1:30 a.m." in page(superuser_client, ORDER_LIST)


def test_the_two_box_selector_of_the_account_form_is_chinese(superuser_client):
    catalogue = superuser_client.get("/admin/jsi18n/").content.decode()
    assert "\\u9009\\u4e2d\\u8981\\u6dfb\\u52a0\\u7684" in catalogue or "选中要添加的" in catalogue
