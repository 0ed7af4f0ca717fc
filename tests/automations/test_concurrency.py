"""Two runners at once fire each run once (SELECT ... FOR UPDATE SKIP LOCKED). PostgreSQL
only: SQLite runs one writer at a time (its test database refuses a second one)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from automations.models import AutomationRun
from automations.runner import runs_due
from automations.triggers import automations_consume
from core.models import Event
from tests.automations.facts import after, automation, clicked_event, clicked_now, endpoint, sent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's"),
]

RUNS = 12


def scheduled(owner) -> None:
    hook = endpoint(owner)
    automation(
        owner, {"event": "message.clicked"}, {"type": "webhook", "webhook": hook.pk, "journey": "j"}
    )
    for _ in range(RUNS):
        clicked_event(clicked_now(sent(owner)))
    automations_consume()
    assert AutomationRun.objects.filter(status="scheduled").count() == RUNS


def test_two_runners_at_once_fire_each_run_once(owner):
    scheduled(owner)
    barrier = threading.Barrier(2)
    fired: list[int] = []

    def runner() -> None:
        try:
            barrier.wait()
            fired.append(runs_due(now=after(60), limit=5).fired)
            fired.append(runs_due(now=after(60)).fired)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(fired) == RUNS
    assert AutomationRun.objects.filter(status="fired").count() == RUNS
    assert Event.objects.filter(type="automation.fired").count() == RUNS


def test_a_runner_passes_over_runs_another_holds(owner):
    scheduled(owner)
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                list(AutomationRun.objects.select_for_update().order_by("id")[:5])
                held.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(timeout=30)
    try:
        assert runs_due(now=after(60)).fired == RUNS - 5  # no wait on the held rows
    finally:
        release.set()
        thread.join(timeout=30)
    assert runs_due(now=after(60)).fired == 5
    assert Event.objects.filter(type="automation.fired").count() == RUNS
