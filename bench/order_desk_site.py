"""URLs of the order desk benchmark's server: the platform's, plus the bare pages it is compared with.

The bare pages pay what any Django page pays (request, session, authentication, CSRF, a small template)
around the same work as the admin's pages, so the difference between the two is the admin's pages:
- /bench/bare/order/: a login-required GET returning a minimal form with the CSRF token and an
  idempotency token, and a POST that reads it, calls `order_place` and redirects;
- /bench/bare/list/<name>/: runs the SQL statements an admin list page ran (recorded by the benchmark
  into BENCH_REPLAY_FILE) and prints their rows, one line each.
Two middlewares: one sends each response's query count in X-Bench-Queries; the other (with
BENCH_PROFILE_DIR) profiles the requests a client labels.
"""

import cProfile
import functools
import json
import os
import signal
import time
import uuid
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.template.base import Template
from django.urls import path

from backoffice.urls import urlpatterns as platform_urlpatterns
from customers.models import Customer
from customers.selectors import customer_of
from orders.services import order_place

ORDER_FORM = engines["django"].from_string(
    """<!doctype html><html><head><meta charset="utf-8"><title>place an order</title></head><body>
<form method="post">{% csrf_token %}
<input type="hidden" name="idempotency_token" value="{{ token }}">
<label>customer <input name="customer"></label> <label>product <input name="product"></label>
<label>quantity <input name="quantity" value="1"></label> <label>target <input name="target"></label>
<button type="submit">place</button></form></body></html>"""
)
ROWS_PAGE = engines["django"].from_string(
    """<!doctype html><html><head><meta charset="utf-8"><title>orders</title></head><body>
{% for rows in results %}<ul>{% for row in rows %}<li>{{ row|join:" | " }}</li>{% endfor %}</ul>
{% endfor %}</body></html>"""
)


@login_required
def bare_order(request):
    if request.method != "POST":
        return HttpResponse(ORDER_FORM.render({"token": uuid.uuid4().hex}, request))
    data = request.POST
    # Customer service names the customer by mobile; a customer orders for itself.
    customer = Customer.objects.get(mobile=data["customer"]) if "customer" in data else customer_of(request.user)
    order_place(
        customer_id=customer.pk,
        product_id=int(data["product"]),
        quantity=data["quantity"],
        target=data["target"],
        actor=request.user,
        address=request.META.get("REMOTE_ADDR"),
        token=data["idempotency_token"],
    )
    return HttpResponseRedirect(request.path)


@functools.cache
def replayed_statements() -> dict[str, list[str]]:
    return json.loads(Path(os.environ["BENCH_REPLAY_FILE"]).read_text())


@login_required
def bare_list(request, name):
    statements = replayed_statements().get(name)
    if statements is None:
        raise Http404
    results = []
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)  # recorded as sent, values in place: no parameters
            results.append(cursor.fetchall() if cursor.description else [])
    return HttpResponse(ROWS_PAGE.render({"results": results}, request))


urlpatterns = [
    path("bench/bare/order/", bare_order),
    path("bench/bare/list/<slug:name>/", bare_list),
    *platform_urlpatterns,
]


def queries_counted(get_response):
    def middleware(request):
        executed = 0

        def count(execute, sql, params, many, context):
            nonlocal executed
            executed += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = get_response(request)
        response["X-Bench-Queries"] = str(executed)
        return response

    return middleware


def requests_profiled(get_response):
    """Profiles the requests a client labels with X-Bench-Page, per label, in this worker, as
    X-Bench-Profile says: "calls" under cProfile (wall time, call counts); "samples" by sampling the
    stack every millisecond of CPU time (SIGPROF), timing each template's own rendering (its included
    and extended templates apart) and the request's CPU time. /bench/profile/dump/ writes them to
    BENCH_PROFILE_DIR and starts afresh."""
    directory = Path(os.environ["BENCH_PROFILE_DIR"])
    calls: dict[str, list] = {}  # label: [profile, requests]
    sampled: dict[str, dict] = {}  # label: {"requests", "cpu_seconds", "stacks": {stack: n}, "templates": {name: [s, n]}}
    current: dict = {}  # the figures of the label being sampled now
    rendering: list[float] = []  # per template being rendered: the time its inner templates took

    def sample(_signal, frame):
        if not current:
            return  # a tick that came due as the request ended
        stack = []
        while frame is not None:
            code = frame.f_code
            stack.append(f"{code.co_filename}:{code.co_firstlineno}({code.co_name})")
            frame = frame.f_back
        key = "\n".join(stack)
        current["stacks"][key] = current["stacks"].get(key, 0) + 1

    signal.signal(signal.SIGPROF, sample)
    signal.siginterrupt(signal.SIGPROF, False)  # the database driver's reads restart, never fail
    template_render = Template._render

    def render_timed(template, context):
        if not current:
            return template_render(template, context)
        rendering.append(0.0)
        started = time.perf_counter()
        try:
            return template_render(template, context)
        finally:
            elapsed = time.perf_counter() - started
            inner = rendering.pop()
            if rendering:
                rendering[-1] += elapsed
            entry = current["templates"].setdefault(template.name or "(from a string)", [0.0, 0])
            entry[0] += elapsed - inner
            entry[1] += 1

    Template._render = render_timed

    def middleware(request):
        if request.path == "/bench/profile/dump/":
            for label, (profile, requests) in calls.items():
                profile.dump_stats(directory / f"{label}.prof")
                (directory / f"{label}.count").write_text(str(requests))
            for label, figures in sampled.items():
                (directory / f"{label}.samples.json").write_text(json.dumps(figures))
            calls.clear()
            sampled.clear()
            return HttpResponse(status=204)
        label = request.headers.get("X-Bench-Page")
        mode = request.headers.get("X-Bench-Profile")
        if not label or mode not in {"calls", "samples"}:
            return get_response(request)
        if mode == "samples":
            figures = sampled.setdefault(label, {"requests": 0, "cpu_seconds": 0.0, "stacks": {}, "templates": {}})
            figures["requests"] += 1
            current.update(figures)
            started = time.process_time()  # one thread per sync worker: the request's own CPU time
            signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)
            try:
                return get_response(request)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
                figures["cpu_seconds"] += time.process_time() - started
                current.clear()
        entry = calls.setdefault(label, [cProfile.Profile(), 0])
        entry[1] += 1
        entry[0].enable()
        try:
            return get_response(request)
        finally:
            entry[0].disable()

    return middleware
