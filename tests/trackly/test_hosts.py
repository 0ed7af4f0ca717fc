from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from core.models import Message, TrackingDomain
from tests.conftest import AccountFixture

UNKNOWN = "unknown.example"


def get(host: str, path: str, **extra: Any) -> Any:
    return Client(HTTP_HOST=host).get(path, **extra)


def assert_plain_404(response: Any) -> None:
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"Not found\n"


class TestHealthz:
    @pytest.mark.parametrize("host", ["localhost", "go.owner.example", UNKNOWN, "10.0.0.7"])
    def test_it_answers_on_every_host(self, owner: AccountFixture, host: str) -> None:
        response = get(host, "/healthz")
        assert response.status_code == 200
        assert response.content == b"ok\n"

    def test_it_answers_without_a_host_header(self, db: Any) -> None:
        response = Client().get("/healthz", HTTP_HOST="")
        assert response.status_code == 200


class TestUnknownHosts:
    @pytest.mark.parametrize("path", ["/", "/admin/", "/admin/login/", "/api/v1/schema/"])
    def test_an_unknown_host_gets_a_plain_404(self, db: Any, path: str) -> None:
        assert_plain_404(get(UNKNOWN, path))

    def test_an_unknown_host_cannot_mint(self, owner: AccountFixture) -> None:
        response = owner.client.post(
            "/api/v1/messages",
            {"contact": {"external_id": "c"}, "body": "x"},
            format="json",
            HTTP_HOST=UNKNOWN,
        )
        assert_plain_404(response)
        assert not Message.objects.exists()

    def test_an_inactive_tracking_domain_is_unknown(self, owner: AccountFixture) -> None:
        TrackingDomain.objects.filter(pk=owner.domain.pk).update(is_active=False)
        assert_plain_404(get("go.owner.example", "/AAAAAAA"))

    def test_the_domain_of_a_deactivated_account_is_unknown(self, owner: AccountFixture) -> None:
        owner.account.is_active = False
        owner.account.save()
        assert_plain_404(get("go.owner.example", "/AAAAAAA"))


class TestTrackingHosts:
    @pytest.mark.parametrize("path", ["/api/v1/messages", "/api/v1/schema/", "/admin/"])
    def test_a_tracking_host_does_not_serve_the_app(self, owner: AccountFixture, path: str) -> None:
        response = get("go.owner.example", path, HTTP_AUTHORIZATION=f"Bearer {owner.api_key}")
        assert response.status_code == 404
        assert b"openapi" not in response.content
        assert b"csrfmiddlewaretoken" not in response.content

    def test_a_tracking_host_cannot_mint(self, owner: AccountFixture) -> None:
        response = owner.client.post(
            "/api/v1/messages",
            {"contact": {"external_id": "c"}, "body": "x"},
            format="json",
            HTTP_HOST="go.owner.example",
        )
        assert response.status_code in (404, 405)
        assert not Message.objects.exists()

    def test_it_serves_the_short_links(self, owner: AccountFixture) -> None:
        link = owner.mint(body="https://shop.example/p")["links"][0]
        response = get("go.owner.example", f"/{link['link_id']}")
        assert response.status_code == 302
        assert response["Location"].startswith("https://shop.example/p?click_id=")

    @pytest.mark.parametrize(
        "host", ["GO.OWNER.EXAMPLE:8443", "Go.Owner.Example", "go.owner.example:80"]
    )
    def test_host_matching_ignores_port_and_case(self, owner: AccountFixture, host: str) -> None:
        link = owner.mint(body="https://shop.example/p")["links"][0]
        response = get(host, f"/{link['link_id']}")
        assert response.status_code == 302
        assert response["Location"].startswith("https://shop.example/p")

    def test_a_link_on_another_accounts_domain_is_not_followed(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        link = owner.mint(body="https://shop.example/p")["links"][0]
        response = get("go.outsider.example", f"/{link['link_id']}")
        assert response.status_code == 404


class TestAppHosts:
    def test_the_schema_is_served_on_the_app_host(self, db: Any) -> None:
        response = get("localhost", "/api/v1/schema/")
        assert response.status_code == 200
        assert b"/api/v1/messages" in response.content
        assert b"/api/v1/messages/bulk" in response.content

    def test_app_host_matching_ignores_port_and_case(self, owner: AccountFixture) -> None:
        response = owner.client.post(
            "/api/v1/messages",
            {"contact": {"external_id": "c"}, "body": "x"},
            format="json",
            HTTP_HOST="LOCALHOST:8000",
        )
        assert response.status_code == 201
        assert get("LocalHost:8000", "/api/v1/schema/").status_code == 200

    def test_the_admin_is_served_on_the_app_host(self, db: Any) -> None:
        response = get("localhost", "/admin/login/")
        assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_domain_switched_off_stops_answering_once_committed(
    make_account: Callable[..., AccountFixture],
) -> None:
    # Race: the cache is invalidated when the row is saved, before the transaction commits.
    # A request in between reads the old row and caches it under the new version, so the
    # domain keeps answering after the change is committed.
    account = make_account(host="go.race.example")
    assert get("go.race.example", "/healthz").status_code == 200
    assert get("go.race.example", "/AAAAAAA").status_code == 404  # known host, unknown link

    def request_meanwhile() -> None:
        try:
            get("go.race.example", "/AAAAAAA")
        finally:
            connection.close()

    with transaction.atomic():
        account.domain.is_active = False
        account.domain.save()
        thread = threading.Thread(target=request_meanwhile)
        thread.start()
        thread.join()

    assert_plain_404(get("go.race.example", "/AAAAAAA"))


@pytest.mark.django_db
class TestDatabaseOutOfReach:
    """PostgreSQL down and the answer needs it: a 503 asking to retry, never a 500.
    (With the real server stopped: tests/links/test_click_faults.py.)"""

    @pytest.fixture
    def down(self, monkeypatch: Any) -> Callable[[str], None]:
        from django.core.cache import cache
        from django.db import OperationalError

        from links import resolve

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise OperationalError("connection refused")

        def make_down(what: str) -> None:
            cache.clear()
            resolve.local.clear()
            if what == "link":
                monkeypatch.setattr(resolve.prepared, "fetchone", fail)
            elif what == "domain":
                monkeypatch.setattr(TrackingDomain.objects, "filter", fail)
            else:
                monkeypatch.setattr("attribution.views.postback_log_open", fail)

        return make_down

    @pytest.mark.parametrize("what", ["link", "domain"])
    def test_a_tap_that_no_cache_can_answer_gets_a_page_that_retries(
        self, owner: AccountFixture, down: Callable[[str], None], what: str, caplog: Any
    ) -> None:
        link_id = owner.mint(body="{{l}}", links={"l": {"url": "https://a.example/"}})["links"][0][
            "link_id"
        ]
        down(what)
        response = get(owner.domain.host, f"/{link_id}")
        assert response.status_code == 503
        assert response["Retry-After"] == "5" and response["Cache-Control"] == "no-store"
        assert b'http-equiv="refresh" content="5"' in response.content
        assert "database unavailable" in caplog.text

    def test_a_postback_is_asked_to_retry_in_json(
        self, owner: AccountFixture, down: Callable[[str], None]
    ) -> None:
        down("log")
        response = get(owner.domain.host, "/conv", QUERY_STRING="click_id=abc&revenue=1")
        assert response.status_code == 503 and response["Retry-After"] == "5"
        assert "nothing was recorded" in response.json()["error"]
        pixel = get(owner.domain.host, "/pixel/Abcdefg.gif")
        assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"  # always

    def test_the_pixel_answers_its_gif_even_when_the_domain_cannot_be_read(
        self, owner: AccountFixture, down: Callable[[str], None]
    ) -> None:
        down("domain")
        pixel = get(owner.domain.host, "/pixel/Abcdefg.gif")
        assert pixel.status_code == 200 and len(pixel.content) == 43
        assert get(owner.domain.host, "/conv").status_code == 503

    def test_a_link_id_that_starts_like_a_postback_path_gets_the_page(
        self, owner: AccountFixture, down: Callable[[str], None]
    ) -> None:
        down("link")
        response = get(owner.domain.host, "/convAb1")
        assert response.status_code == 503
        assert response["Content-Type"].startswith("text/html")

    def test_a_failure_after_the_postback_was_recorded_is_not_a_503(
        self, owner: AccountFixture, monkeypatch: Any
    ) -> None:
        """A 503 says "nothing recorded, retry"; once the log row is written, a database
        error is a 500, so a network does not send again what may have been counted."""
        from django.db import OperationalError

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise OperationalError("deadlock detected")

        monkeypatch.setattr("attribution.views._conv", fail)
        with pytest.raises(OperationalError):
            get(owner.domain.host, "/conv", QUERY_STRING="click_id=abc&revenue=1")
