"""/api/v1/webhooks: endpoints (create, list, read, change, delete), the secret (shown once,
sealed at rest, rotated with an overlap), the test event, the delivery log and replay;
`config` keys only, another account's endpoint a 404 on every route."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from core import bounds
from core.models import ApiKey, Event, WebhookEndpoint
from core.sealing import sealed_open
from tests.conftest import AccountFixture
from tests.webhooks.endpoints import URL, delivery_make, endpoint_make, event_make
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import webhook_secret_rotate, webhook_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_allowed(settings: Any) -> None:
    # The production rule (tests/webhooks/conftest.py allows private addresses for the
    # receiver on loopback): http and private URLs are refused unless a test allows them.
    settings.WEBHOOK_ALLOW_PRIVATE = False


FIELDS = {
    "id", "url", "events", "description", "is_enabled", "disabled_at", "disabled_reason",
    "failing_since", "previous_secret_expires_at", "failures", "created_at", "updated_at",
}  # fmt: skip


def keyed(account: AccountFixture, scopes: list[str]) -> APIClient:
    _, raw = ApiKey.generate(account=account.account, name="scoped", scopes=scopes)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def create(account: AccountFixture, **body: Any) -> Any:
    body = {"url": URL, "events": ["message.clicked"]} | body
    return account.post("/api/v1/webhooks", body)


def patch(account: AccountFixture, pk: int, **body: Any) -> Any:
    return account.client.patch(f"/api/v1/webhooks/{pk}", body, format="json")


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


class TestCreate:
    def test_it_answers_the_endpoint_and_its_secret_once_and_stores_it_sealed(
        self, owner: AccountFixture
    ) -> None:
        response = create(
            owner, events=["message.clicked", "contact.audience_left"], description="CRM"
        )
        assert response.status_code == 201, response.content
        data = response.json()
        assert set(data) == FIELDS | {"secret"}
        assert data["url"] == URL
        assert data["events"] == ["message.clicked", "contact.audience_left"]
        assert data["description"] == "CRM"
        assert data["is_enabled"] is True
        assert response["Cache-Control"] == "no-store"
        secret = data["secret"]
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32

        row = WebhookEndpoint.objects.filter(pk=data["id"])
        assert row.get().account == owner.account
        stored = str(row.values().get())
        assert secret not in stored and secret.removeprefix("whsec_") not in stored
        assert sealed_open(row.get().secret_sealed) == secret
        assert row.get().signing_secrets() == [secret]

        # Never shown again.
        shown = owner.get(f"/api/v1/webhooks/{data['id']}")
        listed = owner.get("/api/v1/webhooks").json()["results"]
        assert set(shown.json()) == FIELDS and set(listed[0]) == FIELDS
        assert secret not in shown.content.decode()

    def test_each_endpoint_has_its_own_secret(self, owner: AccountFixture) -> None:
        assert create(owner).json()["secret"] != create(owner).json()["secret"]

    @pytest.mark.parametrize(
        ("url", "why"),
        [
            ("http://hooks.example.com/x", "must be https"),
            ("https://127.0.0.1/x", "private"),
            ("https://10.0.0.8/x", "private"),
            ("https://[::1]:8443/x", "private"),
            ("https://localhost/x", "private"),
            ("ftp://hooks.example.com/", "https"),
            ("https://user:pw@hooks.example.com/", "user name"),
            ("hooks.example.com", "https"),
            ("", "blank"),
        ],
    )
    def test_a_url_that_cannot_be_sent_to_is_refused_saying_why(
        self, owner: AccountFixture, url: str, why: str
    ) -> None:
        refused = errors(create(owner, url=url))
        assert list(refused) == ["url"]
        assert why in refused["url"][0]
        assert not WebhookEndpoint.objects.exists()

    @override_settings(WEBHOOK_ALLOW_PRIVATE=True)
    def test_private_and_http_urls_are_taken_with_webhook_allow_private(
        self, owner: AccountFixture
    ) -> None:
        for url in ("http://127.0.0.1:8080/hook", "https://localhost/hook"):
            response = create(owner, url=url)
            assert response.status_code == 201, response.content
            assert response.json()["url"] == url

    def test_a_url_past_its_bound_is_refused(self, owner: AccountFixture) -> None:
        long = "https://hooks.example.com/" + "a" * bounds.MAX_WEBHOOK_URL_LENGTH
        assert "url" in errors(create(owner, url=long))

    def test_an_iri_is_stored_as_its_uri(self, owner: AccountFixture) -> None:
        response = create(owner, url="https://hooks.example.com/déjà")
        assert response.json()["url"] == "https://hooks.example.com/d%C3%A9j%C3%A0"

    @pytest.mark.parametrize(
        ("events", "why"),
        [
            ([], "at least one"),
            (["message.opened"], "'message.opened'"),
            (["message.clicked", "nope"], "'nope'"),
            (["webhook.test"], "'webhook.test'"),  # sent to one endpoint, never subscribed
            (["automation.fired"], "'automation.fired'"),
            ("message.clicked", "list"),
        ],
    )
    def test_events_must_name_subscribable_types(
        self, owner: AccountFixture, events: Any, why: str
    ) -> None:
        refused = errors(create(owner, events=events))
        assert why in " ".join(refused["events"])

    def test_an_event_named_twice_is_kept_once(self, owner: AccountFixture) -> None:
        response = create(owner, events=["message.clicked", "click.recorded", "message.clicked"])
        assert response.json()["events"] == ["message.clicked", "click.recorded"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"is_enabled": False}, "is_enabled"),
            ({"secret": "whsec_mine"}, "secret"),
            ({"id": 5}, "id"),
            ({"description": "d" * (bounds.MAX_WEBHOOK_DESCRIPTION_LENGTH + 1)}, "description"),
        ],
    )
    def test_unknown_and_oversized_fields_are_refused_by_name(
        self, owner: AccountFixture, body: dict, field: str
    ) -> None:
        assert field in errors(create(owner, **body))

    def test_url_and_events_are_required(self, owner: AccountFixture) -> None:
        refused = errors(owner.post("/api/v1/webhooks", {}))
        assert set(refused) == {"url", "events"}

    def test_an_account_has_at_most_its_bound_of_endpoints(
        self, owner: AccountFixture, outsider: AccountFixture, monkeypatch: Any
    ) -> None:
        monkeypatch.setattr(bounds, "MAX_WEBHOOKS_PER_ACCOUNT", 2)
        assert create(owner).status_code == 201
        assert create(owner).status_code == 201
        refused = errors(create(owner))
        assert "at most 2" in refused["non_field_errors"][0]
        assert create(outsider).status_code == 201  # per account


class TestScopes:
    @pytest.mark.parametrize("scopes", [["read"], ["mint"], ["mint", "read"]])
    def test_only_a_config_key_manages_webhooks(
        self, owner: AccountFixture, scopes: list[str]
    ) -> None:
        endpoint, _ = endpoint_make(owner)
        client = keyed(owner, scopes)
        created = client.post("/api/v1/webhooks", {"url": URL, "events": ["message.clicked"]})
        assert created.status_code == 403
        assert "'config'" in created.json()["detail"]
        assert client.get("/api/v1/webhooks").status_code == 403
        assert client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries").status_code == 403
        assert client.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret").status_code == 403
        assert client.delete(f"/api/v1/webhooks/{endpoint.pk}").status_code == 403
        assert WebhookEndpoint.objects.filter(account=owner.account).count() == 1

    def test_a_config_key_does_everything(self, owner: AccountFixture) -> None:
        client = keyed(owner, ["config"])
        created = client.post(
            "/api/v1/webhooks", {"url": URL, "events": ["message.clicked"]}, format="json"
        )
        assert created.status_code == 201
        assert client.get("/api/v1/webhooks").json()["count"] == 1

    def test_no_key_is_a_401(self, owner: AccountFixture) -> None:
        assert APIClient(HTTP_HOST="localhost").get("/api/v1/webhooks").status_code == 401


@pytest.mark.parametrize("path", ["", "/{pk}", "/{pk}/replay", "/{pk}/rotate-secret", "/{pk}/test"])
def test_options_describes_each_route(owner: AccountFixture, path: str) -> None:
    endpoint, _ = endpoint_make(owner)
    response = owner.client.options("/api/v1/webhooks" + path.format(pk=endpoint.pk))
    assert response.status_code == 200
    assert response.json()["name"]


class TestIsolation:
    def test_another_accounts_endpoint_is_a_404_on_every_route(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        theirs, secret = endpoint_make(outsider)
        delivery_make(theirs, event_make(outsider))
        base = f"/api/v1/webhooks/{theirs.pk}"
        client = owner.client
        since = {"since": timezone.now().isoformat()}
        answers = {
            "read": client.get(base),
            "patch": client.patch(base, {"is_enabled": False}, format="json"),
            "rotate": client.post(f"{base}/rotate-secret"),
            "test": client.post(f"{base}/test"),
            "deliveries": client.get(f"{base}/deliveries"),
            "replay": client.post(f"{base}/replay", since, format="json"),
            "delete": client.delete(base),
        }
        assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 404)
        assert all(r.json()["detail"] for r in answers.values())
        assert owner.get("/api/v1/webhooks").json()["count"] == 0
        theirs.refresh_from_db()
        assert theirs.is_enabled and theirs.signing_secrets() == [secret]
        assert not Event.objects.filter(type="webhook.test").exists()
        assert WebhookDelivery.objects.get(endpoint=theirs).status == "delivered"


class TestReadAndList:
    def test_the_list_is_paged_and_shows_each_endpoints_recent_failures(
        self, owner: AccountFixture
    ) -> None:
        first, _ = endpoint_make(owner)
        second, _ = endpoint_make(owner, url="https://crm.example.com/in")
        event = event_make(owner)
        delivery_make(first, event, status="pending", codes=(500, None))
        old = timezone.now() - dt.timedelta(days=2)
        delivery_make(second, event, status="failed", codes=(503,), at=old)  # out of the window

        page = owner.get("/api/v1/webhooks", limit=1).json()
        assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
        rows = {r["id"]: r for r in owner.get("/api/v1/webhooks").json()["results"]}
        failures = rows[first.pk]["failures"]
        assert failures["count"] == 2 and failures["window_hours"] == 24
        assert failures["last_status_code"] is None  # the latest: no answer at all
        assert failures["last_error"] == "connection refused"
        assert rows[second.pk]["failures"]["count"] == 0
        assert rows[second.pk]["failures"]["last_at"] is None

    def test_a_disabled_endpoint_says_when_and_why(self, owner: AccountFixture) -> None:
        endpoint, _ = endpoint_make(owner)
        failing = timezone.now() - dt.timedelta(days=3)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_enabled=False,
            disabled_at=timezone.now(),
            disabled_reason="Failing for 3 days.",
            failing_since=failing,
        )
        data = owner.get(f"/api/v1/webhooks/{endpoint.pk}").json()
        assert data["is_enabled"] is False
        assert data["disabled_reason"] == "Failing for 3 days."
        assert data["disabled_at"] and data["failing_since"]

    @pytest.mark.parametrize("path", ["abc", "0x1", "1.5", "99999999999999999999999"])
    def test_a_bad_id_is_a_404(self, owner: AccountFixture, path: str) -> None:
        assert owner.get(f"/api/v1/webhooks/{path}").status_code == 404


class TestUpdate:
    def test_patch_changes_what_it_names(self, owner: AccountFixture) -> None:
        endpoint, secret = endpoint_make(owner, description="old")
        response = patch(
            owner, endpoint.pk, url="https://crm.example.com/in", events=["conversion.recorded"]
        )
        assert response.status_code == 200, response.content
        data = response.json()
        assert data["url"] == "https://crm.example.com/in"
        assert data["events"] == ["conversion.recorded"]
        assert data["description"] == "old"
        assert "secret" not in data
        endpoint.refresh_from_db()
        assert endpoint.events == ["conversion.recorded"]
        assert endpoint.signing_secrets() == [secret]

    def test_disabling_says_so_and_enabling_clears_the_notice_and_the_failures(
        self, owner: AccountFixture
    ) -> None:
        endpoint, _ = endpoint_make(owner)
        disabled = patch(owner, endpoint.pk, is_enabled=False).json()
        assert disabled["is_enabled"] is False
        assert disabled["disabled_at"] and "in the API" in disabled["disabled_reason"]

        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            disabled_reason="Failing for 3 days.", failing_since=timezone.now()
        )
        enabled = patch(owner, endpoint.pk, is_enabled=True).json()
        assert enabled["is_enabled"] is True
        assert enabled["disabled_at"] is None
        assert enabled["disabled_reason"] == ""
        assert enabled["failing_since"] is None

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"url": "http://hooks.example.com/"}, "url"),
            ({"events": []}, "events"),
            ({"events": ["nope"]}, "events"),
            ({"secret": "whsec_x"}, "secret"),
            ({"disabled_reason": "x"}, "disabled_reason"),
            ({"is_enabled": "maybe"}, "is_enabled"),
        ],
    )
    def test_bad_changes_are_refused_by_name_and_change_nothing(
        self, owner: AccountFixture, body: dict, field: str
    ) -> None:
        endpoint, _ = endpoint_make(owner)
        assert field in errors(patch(owner, endpoint.pk, **body))
        endpoint.refresh_from_db()
        assert endpoint.url == URL and endpoint.events == ["message.clicked"]

    def test_put_is_not_offered(self, owner: AccountFixture) -> None:
        endpoint, _ = endpoint_make(owner)
        response = owner.client.put(
            f"/api/v1/webhooks/{endpoint.pk}", {"url": URL, "events": ["message.clicked"]}
        )
        assert response.status_code == 405


class TestDelete:
    def test_it_deletes_the_endpoint_and_its_log(self, owner: AccountFixture) -> None:
        endpoint, _ = endpoint_make(owner)
        delivery_make(endpoint, event_make(owner))
        assert owner.client.delete(f"/api/v1/webhooks/{endpoint.pk}").status_code == 204
        assert not WebhookEndpoint.objects.exists()
        assert not WebhookDelivery.objects.exists() and not WebhookAttempt.objects.exists()
        assert owner.get(f"/api/v1/webhooks/{endpoint.pk}").status_code == 404


class TestRotate:
    def test_it_answers_a_new_secret_once_and_keeps_the_old_one_for_the_overlap(
        self, owner: AccountFixture, settings: Any
    ) -> None:
        endpoint, old = endpoint_make(owner)
        response = owner.client.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret")
        assert response.status_code == 200, response.content
        assert response["Cache-Control"] == "no-store"
        data = response.json()
        new = data["secret"]
        assert new.startswith("whsec_") and new != old
        expires = dt.datetime.fromisoformat(data["previous_secret_expires_at"])
        overlap = dt.timedelta(seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS)
        assert abs(expires - (timezone.now() + overlap)) < dt.timedelta(minutes=1)

        endpoint.refresh_from_db()
        stored = str(WebhookEndpoint.objects.filter(pk=endpoint.pk).values().get())
        assert new not in stored and old not in stored
        assert endpoint.signing_secrets() == [new, old]
        assert "secret" not in owner.get(f"/api/v1/webhooks/{endpoint.pk}").json()

    def test_the_previous_secret_is_signed_with_until_the_overlap_ends(
        self, owner: AccountFixture, settings: Any
    ) -> None:
        settings.WEBHOOK_SECRET_OVERLAP_SECONDS = 3600
        endpoint, old = endpoint_make(owner)
        now = timezone.now()
        endpoint, new = webhook_secret_rotate(endpoint=endpoint, now=now)
        assert endpoint.previous_secret_until == now + dt.timedelta(hours=1)
        assert endpoint.signing_secrets(now + dt.timedelta(minutes=59)) == [new, old]
        assert endpoint.signing_secrets(now + dt.timedelta(hours=1)) == [new]
        # Its expiry shows while it lasts, then not.
        data = owner.get(f"/api/v1/webhooks/{endpoint.pk}").json()
        assert data["previous_secret_expires_at"] is not None
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_until=now - dt.timedelta(seconds=1)
        )
        assert (
            owner.get(f"/api/v1/webhooks/{endpoint.pk}").json()["previous_secret_expires_at"]
            is None
        )

    def test_a_second_rotation_keeps_only_the_secret_it_replaces(
        self, owner: AccountFixture
    ) -> None:
        endpoint, first = endpoint_make(owner)
        endpoint, second = webhook_secret_rotate(endpoint=endpoint)
        endpoint, third = webhook_secret_rotate(endpoint=endpoint)
        assert endpoint.signing_secrets() == [third, second]

    def test_a_body_is_refused(self, owner: AccountFixture) -> None:
        endpoint, old = endpoint_make(owner)
        response = owner.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret", {"secret": "x"})
        assert "secret" in errors(response)
        endpoint.refresh_from_db()
        assert endpoint.signing_secrets() == [old]


class TestTestEvent:
    def test_it_queues_a_webhook_test_event_for_that_endpoint_only(
        self, owner: AccountFixture
    ) -> None:
        endpoint, _ = endpoint_make(owner, events=["conversion.recorded"])
        response = owner.client.post(f"/api/v1/webhooks/{endpoint.pk}/test")
        assert response.status_code == 202, response.content
        event = Event.objects.get(pk=response.json()["event_id"])
        assert response.json()["type"] == "webhook.test"
        assert event.type == "webhook.test"
        assert event.account == owner.account
        assert event.endpoint_id == endpoint.pk
        assert event.data == {"webhook": {"id": endpoint.pk}, "note": "A test event from Trackly."}

    def test_a_disabled_endpoint_is_a_409(self, owner: AccountFixture) -> None:
        endpoint, _ = endpoint_make(owner)
        webhook_update(endpoint=endpoint, is_enabled=False)
        response = owner.client.post(f"/api/v1/webhooks/{endpoint.pk}/test")
        assert response.status_code == 409
        assert "disabled" in response.json()["detail"]
        assert not Event.objects.exists()


class TestDeliveries:
    def test_the_log_shows_each_delivery_with_its_attempts_newest_first(
        self, owner: AccountFixture
    ) -> None:
        endpoint, _ = endpoint_make(owner)
        older = delivery_make(
            endpoint, event_make(owner), codes=(500, 200), at=timezone.now() - dt.timedelta(hours=1)
        )
        newer = delivery_make(endpoint, event_make(owner), status="pending", codes=(None,))
        response = owner.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries")
        assert response.status_code == 200
        page = response.json()
        assert page["count"] == 2
        assert [r["id"] for r in page["results"]] == [newer.pk, older.pk]
        row = page["results"][1]
        assert row["webhook_id"] == older.msg_id and row["webhook_id"].startswith("msg_")
        assert row["event_type"] == "message.clicked"
        assert row["event_sequence"] == older.event.sequence
        assert row["status"] == "delivered" and row["attempts"] == 2
        assert row["last_status_code"] == 200 and row["delivered_at"]
        assert [a["status_code"] for a in row["attempts_log"]] == [200, 500]
        assert set(row["attempts_log"][0]) == {"attempted_at", "status_code", "latency_ms", "error"}
        assert row["attempts_log"][1]["error"] == "HTTP 500"
        assert page["results"][0]["attempts_log"][0]["error"] == "connection refused"

    def test_status_filters_and_limit_pages(self, owner: AccountFixture) -> None:
        endpoint, _ = endpoint_make(owner)
        for status in ("delivered", "failed", "pending", "failed"):
            delivery_make(endpoint, event_make(owner), status=status)
        base = f"/api/v1/webhooks/{endpoint.pk}/deliveries"
        failed = owner.get(base, status="failed").json()
        assert failed["count"] == 2 and {r["status"] for r in failed["results"]} == {"failed"}
        page = owner.get(base, limit=3, offset=2).json()
        assert page["count"] == 4 and len(page["results"]) == 2
        assert "status" in errors(owner.get(base, status="lost"))
        assert "limit" in errors(owner.get(base, limit=5000))
        assert "offset" in errors(owner.get(base, offset="x"))

    def test_the_attempts_shown_per_delivery_are_bounded(
        self, owner: AccountFixture, monkeypatch: Any
    ) -> None:
        monkeypatch.setattr(bounds, "MAX_DELIVERY_ATTEMPTS_SHOWN", 3)
        endpoint, _ = endpoint_make(owner)
        delivery_make(endpoint, event_make(owner), status="pending", codes=(500,) * 5 + (502,))
        row = owner.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries").json()["results"][0]
        assert row["attempts"] == 6
        assert [a["status_code"] for a in row["attempts_log"]] == [502, 500, 500]


class TestReplay:
    def replay(self, account: AccountFixture, endpoint: WebhookEndpoint, since: Any) -> Any:
        return account.post(f"/api/v1/webhooks/{endpoint.pk}/replay", {"since": since})

    def test_it_resets_deliveries_since_then_keeping_their_webhook_id(
        self, owner: AccountFixture
    ) -> None:
        endpoint, _ = endpoint_make(owner)
        since = timezone.now() - dt.timedelta(minutes=30)
        before = event_make(owner)
        Event.objects.filter(pk=before.pk).update(created_at=since - dt.timedelta(minutes=1))
        untouched = delivery_make(endpoint, before)
        delivered = delivery_make(endpoint, event_make(owner), codes=(500, 200))
        failed = delivery_make(endpoint, event_make(owner), status="failed", codes=(500,) * 3)

        response = self.replay(owner, endpoint, since.isoformat())
        assert response.status_code == 202, response.content
        assert response.json() == {"deliveries": 2, "reset": 2, "created": 0}
        for delivery in (delivered, failed):
            msg_id = delivery.msg_id
            delivery.refresh_from_db()
            assert delivery.msg_id == msg_id
            assert delivery.status == "pending" and delivery.attempts == 0
            assert delivery.delivered_at is None
            assert abs(delivery.next_attempt_at - timezone.now()) < dt.timedelta(minutes=1)
            assert delivery.attempt_log.count() > 0  # the history stays
        untouched.refresh_from_db()
        assert untouched.status == "delivered" and untouched.attempts == 1

    def test_it_makes_deliveries_for_subscribed_events_that_had_none(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        endpoint, _ = endpoint_make(owner, events=["message.clicked", "conversion.recorded"])
        other, _ = endpoint_make(owner, url="https://crm.example.com/in")
        since = timezone.now() - dt.timedelta(hours=1)
        wanted = [event_make(owner), event_make(owner, "conversion.recorded")]
        mine = event_make(owner, "automation.fired", endpoint_id=endpoint.pk)
        event_make(owner, "contact.audience_left")  # not subscribed
        event_make(owner, "automation.fired", endpoint_id=other.pk)  # another endpoint's
        event_make(outsider)  # another account's
        old = event_make(owner)
        Event.objects.filter(pk=old.pk).update(created_at=since - dt.timedelta(seconds=1))

        response = self.replay(owner, endpoint, since.isoformat())
        assert response.json() == {"deliveries": 3, "reset": 0, "created": 3}
        made = WebhookDelivery.objects.filter(endpoint=endpoint)
        assert {d.event_id for d in made} == {e.pk for e in [*wanted, mine]}
        assert all(d.status == "pending" and d.msg_id.startswith("msg_") for d in made)
        assert len({d.msg_id for d in made}) == 3
        assert not WebhookDelivery.objects.filter(endpoint=other).exists()
        # They show in the log.
        log = owner.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries").json()
        assert log["count"] == 3

    def test_a_second_replay_makes_no_second_delivery(self, owner: AccountFixture) -> None:
        endpoint, _ = endpoint_make(owner)
        event_make(owner)
        since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
        assert self.replay(owner, endpoint, since).json()["created"] == 1
        assert self.replay(owner, endpoint, since).json() == {
            "deliveries": 1,
            "reset": 1,
            "created": 0,
        }
        assert WebhookDelivery.objects.count() == 1

    @pytest.mark.parametrize(
        ("since", "why"),
        [
            (None, "required"),
            ("yesterday", "ISO 8601"),
            ("2025-01-31T14:00:00", "time zone"),
            ("2999-01-01T00:00:00Z", "future"),
            ("2001-01-01T00:00:00Z", "retention"),
            ("2025-02-30T00:00:00Z", "ISO 8601"),
        ],
    )
    def test_since_must_be_a_zoned_time_within_the_log(
        self, owner: AccountFixture, since: str | None, why: str
    ) -> None:
        endpoint, _ = endpoint_make(owner)
        body = {} if since is None else {"since": since}
        refused = errors(owner.post(f"/api/v1/webhooks/{endpoint.pk}/replay", body))
        assert why in refused["since"][0]

    def test_the_retention_is_the_accounts_when_shorter(
        self, owner: AccountFixture, settings: Any
    ) -> None:
        settings.EVENTS_KEEP_DAYS = 30
        endpoint, _ = endpoint_make(owner)
        ten_days = (timezone.now() - dt.timedelta(days=10)).isoformat()
        assert self.replay(owner, endpoint, ten_days).status_code == 202
        owner.account.data_retention_days = 7
        owner.account.save()
        assert "retention" in errors(self.replay(owner, endpoint, ten_days))["since"][0]

    def test_unknown_fields_are_refused(self, owner: AccountFixture) -> None:
        endpoint, _ = endpoint_make(owner)
        body = {"since": timezone.now().isoformat(), "until": "x"}
        assert "until" in errors(owner.post(f"/api/v1/webhooks/{endpoint.pk}/replay", body))

    def test_a_disabled_endpoint_is_a_409(self, owner: AccountFixture) -> None:
        endpoint, _ = endpoint_make(owner)
        delivery = delivery_make(endpoint, event_make(owner))
        webhook_update(endpoint=endpoint, is_enabled=False)
        response = self.replay(owner, endpoint, timezone.now().isoformat())
        assert response.status_code == 409
        delivery.refresh_from_db()
        assert delivery.status == "delivered"
