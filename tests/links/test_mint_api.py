from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from links import ids
from links.models import MessageShortLink
from trackly.models import ApiKey, Campaign, Contact, Message, Offer

HTML = (
    "<!doctype html>\r\n<html><head><title>Hi &amp; welcome</title>"
    "<script>var s = '<a href=\"https://in.script.example/\">';</script></head>\n"
    '<body><!-- <a href="https://in.comment.example/">x</a> -->\n'
    "<p>Caf\u00e9 \u2603 <A HREF=https://shop.example.com/a?x=1&amp;y=2 class=btn>Shop</A></p>\n"
    "<a title=\"href=https://evil.example/\" href='https://shop.example.com/b'>B</a>\n"
    '<a href="mailto:hi@example.com">mail</a> <a href="tel:+14155550123">call</a>\n'
    '<a href="https://exa mple.com/">bad</a> <a href="http://">empty</a>\n'
    '<a data-trackly-no-track href="https://keep.example.com/">keep</a>\n'
    '<a href="https://brand.example/unsubscribe?u=1">unsubscribe</a>\n'
    '<a href="{{link1}}">bound</a></body></html>'
)


def mint(account: Any, **fields: Any) -> Any:
    payload = {"contact": {"external_id": "c1"}, "body": "Hi"} | fields
    return account.post("/api/v1/messages", payload)


@pytest.mark.django_db
class TestMinting:
    def test_it_rewrites_placeholders_and_bare_urls_into_short_links(self, owner: Any) -> None:
        response = mint(
            owner,
            body="Deal {{link1}}! More: https://shop.example.com/more.",
            links={"link1": {"url": "https://shop.example.com/deal"}},
        )
        assert response.status_code == 201
        data = response.json()
        first, second = data["links"]
        assert first["name"] == "link1" and first["destination"] == "https://shop.example.com/deal"
        assert second["destination"] == "https://shop.example.com/more"
        for link in data["links"]:
            assert ids.is_link_id(link["link_id"])
            assert link["short_url"] == f"https://go.owner.example/{link['link_id']}"
        assert data["body"] == f"Deal {first['short_url']}! More: {second['short_url']}."
        assert data["segments"] == 1
        assert MessageShortLink.objects.filter(message_id=data["id"]).count() == 2

    def test_html_is_unchanged_outside_the_rewritten_hrefs(self, owner: Any) -> None:
        response = mint(
            owner,
            channel="email",
            body=HTML,
            links={"link1": {"url": "https://shop.example.com/bound"}},
        )
        assert response.status_code == 201, response.content
        data = response.json()
        by_destination = {link["destination"]: link["short_url"] for link in data["links"]}
        assert set(by_destination) == {
            "https://shop.example.com/a?x=1&y=2",
            "https://shop.example.com/b",
            "https://shop.example.com/bound",
        }
        expected = (
            HTML.replace(
                "https://shop.example.com/a?x=1&amp;y=2",
                by_destination["https://shop.example.com/a?x=1&y=2"],
            )
            .replace(
                "'https://shop.example.com/b'", f"'{by_destination['https://shop.example.com/b']}'"
            )
            .replace("{{link1}}", by_destination["https://shop.example.com/bound"])
        )
        assert data["body"] == expected
        assert "segments" not in data

    def test_opt_out_links_are_never_rewritten(self, owner: Any) -> None:
        data = mint(
            owner,
            body="Hi {{link1}} stop: https://brand.example/unsubscribe?u=1 {{optout}}",
            links={
                "link1": {"url": "https://shop.example.com/"},
                "optout": {"url": "https://brand.example/prefs", "track": False},
            },
        ).json()
        assert [link["name"] for link in data["links"]] == ["link1"]
        assert data["body"].endswith(
            " stop: https://brand.example/unsubscribe?u=1 https://brand.example/prefs"
        )

    def test_the_same_external_id_returns_the_same_message_and_links(self, owner: Any) -> None:
        fields = {
            "contact": {"external_id": "c1"},
            "external_id": "m-1",
            "body": "{{link1}}",
            "links": {"link1": "https://a.example/"},
        }
        first = mint(owner, **fields).json()
        again = mint(owner, **fields).json()
        bulk = owner.post("/api/v1/messages/bulk", [fields, fields]).json()
        assert again == first
        assert bulk == [first, first]
        assert Message.objects.count() == 1
        assert MessageShortLink.objects.count() == 1

    def test_a_forced_link_id_collision_is_retried_not_surfaced(
        self, owner: Any, monkeypatch: Any
    ) -> None:
        taken = mint(owner, body="{{link1}}", links={"link1": "https://a.example/"}).json()
        taken_id = taken["links"][0]["link_id"]
        real = ids.new_link_id
        draws = iter([taken_id, taken_id])
        monkeypatch.setattr(ids, "new_link_id", lambda: next(draws, None) or real())
        response = mint(owner, body="{{link1}}", links={"link1": "https://b.example/"})
        assert response.status_code == 201
        assert response.json()["links"][0]["link_id"] != taken_id
        assert MessageShortLink.objects.count() == 2

    def test_contacts_lists_campaigns_and_creatives_are_made_on_first_use(self, owner: Any) -> None:
        Campaign.objects.create(account=owner.account, name="Spring", external_id="cmp-7")
        a = mint(
            owner, contact={"phone": "+1 (415) 555-0123"}, campaign="cmp-7", creative="A"
        ).json()
        b = mint(owner, contact={"phone": "+14155550123"}, campaign="Spring", list="VIP").json()
        contact = Contact.objects.get()
        assert contact.phone == "+14155550123" and a["contact"]["id"] == b["contact"]["id"]
        messages = Message.objects.order_by("id")
        assert messages[0].campaign_id == messages[1].campaign_id
        assert messages[0].creative.name == "A" and messages[1].sending_list.name == "VIP"

    def test_a_link_can_be_bound_to_an_offer_by_id_or_external_id(self, owner: Any) -> None:
        offer = Offer(
            account=owner.account,
            name="O",
            external_id="spring",
            destination_url="https://adv.example/",
        )
        offer.rotate_postback_secret()
        offer.save()
        data = mint(
            owner,
            body="{{a}} {{b}}",
            links={"a": {"offer": offer.pk}, "b": {"offer": "spring", "url": "https://x.example/"}},
        ).json()
        assert [link["offer"] for link in data["links"]] == [offer.pk, offer.pk]
        assert data["links"][0]["destination"] == "https://adv.example/"


@pytest.mark.django_db
class TestBadInput:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"links": {"link1": {"offer": 999999}}, "body": "{{link1}}"}, "links.link1.offer"),
            (
                {"links": {"link1": {"url": "ftp://a.example/"}}, "body": "{{link1}}"},
                "links.link1.url",
            ),
            (
                {"links": {"link1": {"url": "javascript:alert(1)"}}, "body": "{{link1}}"},
                "links.link1.url",
            ),
            ({"body": "x" * 10_001}, "body"),
            ({"body": "Hi {{link9}}"}, "body"),
            ({"body": ""}, "body"),
            ({"contact": {"phone": "not a phone"}}, "contact.phone"),
            ({"contact": {"email": "nope"}}, "contact.email"),
            ({"contact": {}}, "contact"),
            ({"channel": "fax"}, "channel"),
            ({"sent_at": "yesterday"}, "sent_at"),
        ],
    )
    def test_each_bad_field_is_named(self, owner: Any, fields: dict, field: str) -> None:
        response = mint(owner, **fields)
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert not Message.objects.exists()

    def test_every_bad_field_is_named_at_once(self, owner: Any) -> None:
        response = mint(owner, channel="fax", body="{{x}}", contact={"phone": "12"})
        assert set(response.json()["errors"]) == {"channel", "body", "contact.phone"}

    def test_a_bulk_with_one_bad_item_creates_nothing(self, owner: Any) -> None:
        good = {"contact": {"external_id": "a"}, "body": "https://a.example/"}
        bad = {"contact": {"external_id": "b"}, "body": "{{nope}}"}
        response = owner.post("/api/v1/messages/bulk", [good, bad, good])
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"index": 1, "errors": {"body": ["Placeholder {{nope}} has no binding in links."]}}
        ]
        assert not Message.objects.exists() and not Contact.objects.exists()

    def test_more_than_ten_thousand_items_is_refused(self, owner: Any) -> None:
        response = owner.post("/api/v1/messages/bulk", [{}] * 10_001)
        assert response.status_code == 400
        assert "10,000" in response.json()["detail"]

    def test_an_account_without_an_active_tracking_domain_gets_409(self, owner: Any) -> None:
        owner.domain.is_active = False
        owner.domain.save()
        response = mint(owner, body="https://a.example/")
        assert response.status_code == 409
        assert "tracking domain" in response.json()["detail"]


@pytest.mark.django_db
class TestAccess:
    def test_a_request_without_a_key_gets_401(self, owner: Any) -> None:
        owner.client.credentials()
        assert mint(owner).status_code == 401

    @pytest.mark.parametrize("key", ["nope", "trk_00000000_wrong", "Basic abc"])
    def test_a_wrong_key_gets_401(self, owner: Any, key: str) -> None:
        owner.client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert mint(owner).status_code == 401

    def test_a_revoked_key_gets_401(self, owner: Any) -> None:
        ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")
        assert mint(owner).status_code == 401

    def test_keys_are_stored_hashed(self, owner: Any) -> None:
        stored = ApiKey.objects.values_list("prefix", "key_hash").get()
        assert owner.api_key not in "".join(stored)

    def test_one_account_cannot_read_anothers_message(self, owner: Any, outsider: Any) -> None:
        message = mint(owner).json()
        assert owner.get(f"/api/v1/messages/{message['id']}").status_code == 200
        assert outsider.get(f"/api/v1/messages/{message['id']}").status_code == 404

    def test_one_account_cannot_bind_anothers_offer(self, owner: Any, outsider: Any) -> None:
        offer = Offer(account=owner.account, name="O", destination_url="https://adv.example/")
        offer.rotate_postback_secret()
        offer.save()
        response = mint(outsider, body="{{l}}", links={"l": {"offer": offer.pk}})
        assert response.status_code == 400 and "links.l.offer" in response.json()["errors"]


@pytest.mark.django_db
def test_create_account_prints_one_json_object_with_a_working_key() -> None:
    out = io.StringIO()
    call_command("create_account", "Acme", "--domain", "go.acme.example", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"account_id", "api_key"} and isinstance(data["account_id"], int)
    key = ApiKey.objects.get(account_id=data["account_id"])
    assert key.matches(data["api_key"]) and data["api_key"] not in key.key_hash
    with pytest.raises(CommandError):
        call_command("create_account", "Other", "--domain", "go.acme.example", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_schema_describes_the_api(owner: Any) -> None:
    response = owner.client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/messages/bulk" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost", "go.owner.example", "unknown.example"])
def test_healthz_answers_on_every_host(owner: Any, host: str) -> None:
    assert owner.client.get("/healthz", HTTP_HOST=host).status_code == 200


@pytest.mark.django_db
def test_the_api_answers_only_on_app_hosts(owner: Any) -> None:
    assert owner.client.get("/api/v1/offers", HTTP_HOST="go.owner.example").status_code == 404
    assert owner.client.get("/admin/", HTTP_HOST="unknown.example").status_code == 404
