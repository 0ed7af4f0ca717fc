"""Login throttling (django-axes): 10 failures for a username, or from an IP, lock further
logins for 15 minutes, on the dashboard's login and the admin's alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate, get_user_model
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
DASHBOARD_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Axes' clock (the time it stamps an attempt with and counts back from)."""

    class Clock:
        now = timezone.now()

    monkeypatch.setattr("axes.handlers.proxy.now", lambda: Clock.now)
    return Clock


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True)


def login(username: str, password: str, ip: str, path: str = DASHBOARD_LOGIN, **extra: Any) -> Any:
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR=ip, **extra)
    response = client.post(path, {"username": username, "password": password})
    response.logged_in = "_auth_user_id" in client.session
    return response


def test_ten_failures_for_a_username_from_many_ips_lock_it(alice: Any, clock: Any) -> None:
    statuses = [login("alice", "wrong", f"10.0.0.{n}").status_code for n in range(10)]
    assert statuses[:9] == [200] * 9  # the form again, with its error
    assert statuses[9] == 429
    # The right password, from an address never seen: still locked.
    response = login("alice", PASSWORD, "10.0.1.1")
    assert response.status_code == 429
    assert not response.logged_in
    page = response.content.decode()
    assert "Too many login attempts" in page
    assert "15 minutes" in page
    assert response["Retry-After"] == "900"


def test_ten_failures_from_one_ip_lock_that_ip(alice: Any, clock: Any) -> None:
    statuses = [login(f"guess{n}", "wrong", "10.0.0.7").status_code for n in range(10)]
    assert statuses[-1] == 429
    response = login("alice", PASSWORD, "10.0.0.7")
    assert response.status_code == 429
    assert not response.logged_in
    # Alice from elsewhere is not locked: her username failed nowhere.
    assert login("alice", PASSWORD, "10.0.0.8").logged_in


def test_nine_failures_do_not_lock(alice: Any, clock: Any) -> None:
    for n in range(9):
        login("alice", "wrong", f"10.0.0.{n}")
    response = login("alice", PASSWORD, "10.0.0.99")
    assert response.status_code == 302
    assert response.logged_in


def test_the_lock_ends_fifteen_minutes_after_the_failure_that_set_it(
    alice: Any, clock: Any
) -> None:
    for _ in range(10):
        login("alice", "wrong", "10.0.2.1")
    locked_at = clock.now
    clock.now = locked_at + dt.timedelta(minutes=14, seconds=59)
    assert login("alice", "wrong", "10.0.2.1").status_code == 429
    assert login("alice", PASSWORD, "10.0.2.1").status_code == 429
    # Retrying while locked did not extend it.
    clock.now = locked_at + dt.timedelta(minutes=15, seconds=1)
    response = login("alice", PASSWORD, "10.0.2.1")
    assert response.status_code == 302
    assert response.logged_in


def test_the_admin_login_is_throttled_too(alice: Any, clock: Any) -> None:
    statuses = [login("alice", "wrong", f"10.0.3.{n}", ADMIN_LOGIN).status_code for n in range(10)]
    assert statuses[-1] == 429
    response = login("alice", PASSWORD, "10.0.4.1", ADMIN_LOGIN)
    assert response.status_code == 429
    assert not response.logged_in
    assert "Too many login attempts" in response.content.decode()
    # One count for both doors: the dashboard's login is locked for alice as well.
    assert login("alice", PASSWORD, "10.0.4.2").status_code == 429


def test_the_client_ip_is_trackly_own_proxy_aware_one(
    alice: Any, clock: Any, settings: Any
) -> None:
    # Behind one trusted proxy every request comes from the proxy's address; the client
    # is the address it appended. Ten failures from ten clients lock none of them.
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(10):
        login(f"guess{n}", "wrong", "10.9.9.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        f"203.0.113.{n}" for n in range(10)
    }
    assert login("alice", PASSWORD, "10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.50").logged_in
    # ... while one client failing ten times behind it is locked.
    for n in range(10):
        login(f"other{n}", "wrong", "10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.60")
    response = login("alice", PASSWORD, "10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.60")
    assert response.status_code == 429


def test_code_that_authenticates_without_a_request_is_not_refused(alice: Any) -> None:
    assert authenticate(username="alice", password=PASSWORD) == alice


def test_failures_older_than_fifteen_minutes_are_forgotten(alice: Any, clock: Any) -> None:
    for n in range(9):
        login("alice", "wrong", f"10.0.5.{n}")
    clock.now += dt.timedelta(minutes=16)
    assert login("alice", "wrong", "10.0.5.9").status_code == 200  # the first of a new count
    assert login("alice", PASSWORD, "10.0.5.10").logged_in


def test_a_failed_attempt_is_stored_without_its_secrets(alice: Any, clock: Any) -> None:
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR="10.0.6.1")
    client.post(
        DASHBOARD_LOGIN,
        {"username": "alice", "password": "hunter2-guess", "csrfmiddlewaretoken": "tok3n-value"},
    )
    attempt = AccessAttempt.objects.get()
    assert attempt.username == "alice"
    assert "hunter2-guess" not in attempt.post_data
    assert "tok3n-value" not in attempt.post_data
