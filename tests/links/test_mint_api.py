from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import (
    ApiKey,
    Campaign,
    Contact,
    Creative,
    Message,
    SendingList,
    TrackingDomain,
)
from links import ids
from links.models import MessageShortLink
from links.segments import sms_segments
from tests.conftest import AccountFixture
from tests.helpers import make_offer

LINK_ID_RE = re.compile(r"^[A-Za-z0-9]{7}$")
URL = "https://shop.example/spring?utm=sms"


def message(**fields: Any) -> dict[str, Any]:
    return {"contact": {"external_id": "c-1"}, "body": "Hi {{link1}}", "links": link1()} | fields


def link1(url: str = URL, **spec: Any) -> dict[str, Any]:
    return {"link1": {"url": url, **spec}}


def nothing_created() -> bool:
    return not (
        Message.objects.exists()
        or MessageShortLink.objects.exists()
        or Contact.objects.exists()
        or SendingList.objects.exists()
        or Campaign.objects.exists()
        or Creative.objects.exists()
    )


class TestMint:
    def test_it_rewrites_the_body_and_returns_its_links(self, owner: AccountFixture) -> None:
        response = owner.post(
            "/api/v1/messages",
            message(body="Hi {{link1}} or https://b.example/x.", links=link1()),
        )
        assert response.status_code == 201, response.content
        data = response.json()
        first, second = data["links"]
        assert first == {
            "name": "link1",
            "link_id": first["link_id"],
            "short_url": f"https://go.owner.example/{first['link_id']}",
            "destination": URL,
            "offer": None,
        }
        assert second == {
            "name": "url1",
            "link_id": second["link_id"],
            "short_url": f"https://go.owner.example/{second['link_id']}",
            "destination": "https://b.example/x",
            "offer": None,
        }
        assert LINK_ID_RE.match(first["link_id"]) and LINK_ID_RE.match(second["link_id"])
        assert first["link_id"] != second["link_id"]
        assert data["body"] == f"Hi {first['short_url']} or {second['short_url']}."
        assert data["segments"] == 1
        assert data["channel"] == "sms"
        assert data["external_id"] is None
        assert data["contact"]["external_id"] == "c-1"

    def test_it_stores_the_message_its_links_and_the_contact(self, owner: AccountFixture) -> None:
        data = owner.mint(
            contact={"phone": "+1 (415) 555-0123", "email": "Ann@Example.com"},
            body="Hi {{link1}}",
            links=link1(),
            external_id="m-1",
        )
        stored = Message.objects.get()
        assert stored.pk == data["id"]
        assert stored.account == owner.account
        assert stored.external_id == "m-1"
        assert stored.body == "Hi {{link1}}"
        assert stored.rewritten_body == data["body"]
        assert stored.segments == 1
        contact = Contact.objects.get()
        assert (contact.external_id, contact.phone) == ("+14155550123", "+14155550123")
        assert contact.email == "Ann@Example.com"
        assert contact.account == owner.account
        assert data["contact"] == {"id": contact.pk, "external_id": "+14155550123"}
        link = MessageShortLink.objects.get()
        assert link.link_id == data["links"][0]["link_id"]
        assert (link.message, link.contact, link.account) == (stored, contact, owner.account)
        assert (link.name, link.destination_url, link.offer) == ("link1", URL, None)

    def test_it_counts_the_segments_of_the_rewritten_body(self, owner: AccountFixture) -> None:
        body = "a" * 140 + " {{link1}}"  # 150 characters as sent in, 173 once rewritten
        data = owner.mint(body=body, links=link1())
        assert len(data["body"]) == 141 + len("https://go.owner.example/") + 7
        assert data["segments"] == 2 == sms_segments(data["body"])

    def test_it_uses_the_primary_tracking_domain(self, owner: AccountFixture) -> None:
        TrackingDomain.objects.filter(pk=owner.domain.pk).update(is_primary=False)
        TrackingDomain.objects.create(
            account=owner.account, host="go2.owner.example", is_primary=True
        )
        data = owner.mint(body="Hi {{link1}}", links=link1())
        assert data["links"][0]["short_url"].startswith("https://go2.owner.example/")

    def test_it_keeps_an_untracked_link_as_it_is(self, owner: AccountFixture) -> None:
        data = owner.mint(body="Hi {{link1}}", links=link1(track=False))
        assert data["body"] == f"Hi {URL}"
        assert data["links"] == []
        assert not MessageShortLink.objects.exists()

    def test_it_keeps_opt_out_links_as_they_are(self, owner: AccountFixture) -> None:
        stop = "https://shop.example/Unsubscribe?c=1"
        data = owner.mint(
            body="Hi {{link1}}. Stop: {{stop}} or https://shop.example/optout.",
            links=link1() | {"stop": {"url": stop}},
        )
        short = data["links"][0]["short_url"]
        assert data["body"] == f"Hi {short}. Stop: {stop} or https://shop.example/optout."
        assert [link["name"] for link in data["links"]] == ["link1"]
        assert MessageShortLink.objects.get().name == "link1"

    def test_it_follows_the_accounts_own_opt_out_patterns(self, owner: AccountFixture) -> None:
        owner.account.opt_out_patterns = "https://prefs.example/*"
        owner.account.save()
        data = owner.mint(body="https://prefs.example/me https://shop.example/unsubscribe")
        assert data["body"].startswith("https://prefs.example/me https://go.owner.example/")
        assert [link["destination"] for link in data["links"]] == [
            "https://shop.example/unsubscribe"
        ]

    def test_it_accepts_a_sent_at_in_iso_8601_or_unix_seconds(self, owner: AccountFixture) -> None:
        iso = owner.mint(sent_at="2025-03-01T12:00:00+02:00", body="a")
        unix = owner.mint(sent_at=1740830400, body="b")
        expected = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
        assert Message.objects.get(pk=iso["id"]).sent_at == expected
        assert Message.objects.get(pk=unix["id"]).sent_at == dt.datetime(
            2025, 3, 1, 12, 0, tzinfo=dt.UTC
        )
        assert unix["sent_at"] == "2025-03-01T12:00:00Z"

    def test_it_sends_a_message_without_sent_at_now(self, owner: AccountFixture) -> None:
        before = timezone.now()
        data = owner.mint(body="a")
        assert before <= Message.objects.get(pk=data["id"]).sent_at <= timezone.now()


class TestEmail:
    def test_it_changes_nothing_but_the_hrefs(self, owner: AccountFixture) -> None:
        template = (
            "<!DOCTYPE html>\r\n<html><body>\r\n"
            '<!-- <a href="http://x.com">old</a> -->\r\n'
            "<script>var s = \"<a href='https://script.example/'>\";</script>\r\n"
            "<p class=intro>Été 😀 &amp; https://text.example/ stays</p>\r\n"
            '<a title="href=http://evil.com" href="{A}">A</a>\r\n'
            "<A HREF='{B}'>B</A> <a href={C}>C</a>\r\n"
            '<a href="mailto:x@example.com">m</a> <a href="tel:+14155550123">t</a>\r\n'
            '<a data-trackly-no-track href="https://keep.example/">k</a>\r\n'
            '<a href="https://shop.example/unsubscribe">u</a>\r\n'
            '<a href="http://[bad">bad</a> <a href="{{link1}}">p</a>\r\n'
            "</body></html>\r\n"
        )
        hrefs = {
            "A": ("https://a.example/?x=1&amp;y=2", "https://a.example/?x=1&y=2"),
            "B": ("https://b.example/b", "https://b.example/b"),
            "C": ("https://c.example/c", "https://c.example/c"),
        }
        body = template
        for key, (raw, _) in hrefs.items():
            body = body.replace("{" + key + "}", raw)
        data = owner.mint(channel="email", body=body, links=link1())

        short_by_destination = {link["destination"]: link["short_url"] for link in data["links"]}
        assert set(short_by_destination) == {url for _, url in hrefs.values()} | {URL}
        expected = template.replace("{{link1}}", short_by_destination[URL])
        for key, (_, url) in hrefs.items():
            expected = expected.replace("{" + key + "}", short_by_destination[url])
        assert data["body"] == expected
        assert "segments" not in data
        stored = Message.objects.get()
        assert (stored.channel, stored.segments, stored.body) == ("email", None, body)

    @pytest.mark.parametrize(
        "markup", ["<![foo[ x ]]>", "<![if !mso]><p>x</p><![endif]>", "<![>", "<![ 1 ]>"]
    )
    def test_markup_the_parser_chokes_on_is_minted_with_every_byte_kept(
        self, owner: AccountFixture, markup: str
    ) -> None:
        body = f'<p>Hi</p>{markup}<a href="https://a.example/x">go</a> {markup}'
        data = owner.mint(channel="email", body=body)
        (link,) = data["links"]
        assert link["destination"] == "https://a.example/x"
        assert data["body"] == body.replace("https://a.example/x", link["short_url"])


class TestIdempotency:
    def test_the_same_external_id_returns_the_same_message(self, owner: AccountFixture) -> None:
        first = owner.mint(external_id="m-1", body="Hi {{link1}}", links=link1())
        again = owner.post(
            "/api/v1/messages",
            message(
                external_id="m-1",
                body="Other https://other.example/",
                contact={"external_id": "c-2"},
            ),
        )
        assert again.status_code == 201
        assert again.json() == first
        assert Message.objects.count() == 1
        assert MessageShortLink.objects.count() == 1
        assert Contact.objects.count() == 1

    def test_a_bulk_replays_a_message_minted_before(self, owner: AccountFixture) -> None:
        item = message(external_id="m-1", links=link1())
        first = owner.mint(**item)
        response = owner.post("/api/v1/messages/bulk", [item, message(body="new")])
        assert response.status_code == 201
        assert response.json()[0] == first
        assert Message.objects.count() == 2

    def test_it_mints_an_external_id_once_within_a_bulk(self, owner: AccountFixture) -> None:
        item = message(external_id="m-1", links=link1())
        response = owner.post("/api/v1/messages/bulk", [item, item])
        assert response.status_code == 201
        first, second = response.json()
        assert first == second
        assert Message.objects.count() == 1

    def test_external_ids_are_per_account(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        mine = owner.mint(external_id="m-1", body="{{link1}}", links=link1())
        theirs = outsider.mint(external_id="m-1", body="{{link1}}", links=link1())
        assert mine["id"] != theirs["id"]
        assert theirs["links"][0]["short_url"].startswith("https://go.outsider.example/")


class TestContacts:
    def test_it_reuses_the_contact_with_the_same_external_id(self, owner: AccountFixture) -> None:
        first = owner.mint(contact={"external_id": "c-1"}, body="a")
        second = owner.mint(contact={"external_id": "c-1", "phone": "+14155550123"}, body="b")
        contact = Contact.objects.get()
        assert first["contact"]["id"] == second["contact"]["id"] == contact.pk
        assert contact.phone == "+14155550123"

    def test_it_keeps_a_known_phone_when_a_later_message_sends_none(
        self, owner: AccountFixture
    ) -> None:
        owner.mint(contact={"external_id": "c-1", "phone": "+14155550123"}, body="a")
        owner.mint(contact={"external_id": "c-1"}, body="b")
        assert Contact.objects.get().phone == "+14155550123"

    def test_one_phone_is_one_contact_without_an_external_id(self, owner: AccountFixture) -> None:
        owner.mint(contact={"phone": "+1 415 555 0123"}, body="a")
        owner.mint(contact={"phone": "+14155550123"}, body="b")
        assert Contact.objects.get().external_id == "+14155550123"

    def test_contacts_are_per_account(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        owner.mint(contact={"external_id": "c-1"}, body="a")
        outsider.mint(contact={"external_id": "c-1"}, body="a")
        assert Contact.objects.filter(external_id="c-1").count() == 2


DIMENSIONS = [("list", SendingList, "sending_list"), ("campaign", Campaign, "campaign")]
DIMENSIONS += [("creative", Creative, "creative")]


class TestDimensions:
    def test_it_creates_list_campaign_and_creative_on_first_use(
        self, owner: AccountFixture
    ) -> None:
        owner.mint(list="Spring", campaign="Launch", creative="Banner A", body="a")
        stored = Message.objects.get()
        assert stored.sending_list == SendingList.objects.get(account=owner.account, name="Spring")
        assert stored.campaign == Campaign.objects.get(account=owner.account, name="Launch")
        assert stored.creative == Creative.objects.get(account=owner.account, name="Banner A")
        assert stored.creative.campaign == stored.campaign

    @pytest.mark.parametrize(("field", "model", "attr"), DIMENSIONS)
    def test_it_finds_an_existing_one_by_name_or_external_id(
        self, owner: AccountFixture, field: str, model: Any, attr: str
    ) -> None:
        existing = model.objects.create(account=owner.account, name="VIP", external_id="X-1")
        by_name = owner.mint(**{field: "VIP"}, body="a")
        by_external_id = owner.mint(**{field: "X-1"}, body="b")
        for data in (by_name, by_external_id):
            assert getattr(Message.objects.get(pk=data["id"]), attr) == existing
        assert model.objects.count() == 1

    @pytest.mark.parametrize(("field", "model", "attr"), DIMENSIONS)
    def test_an_external_id_beats_a_name(
        self, owner: AccountFixture, field: str, model: Any, attr: str
    ) -> None:
        model.objects.create(account=owner.account, name="X-1")
        wanted = model.objects.create(account=owner.account, name="Other", external_id="X-1")
        data = owner.mint(**{field: "X-1"}, body="a")
        assert getattr(Message.objects.get(pk=data["id"]), attr) == wanted

    def test_it_makes_one_list_for_many_first_uses_in_a_bulk(self, owner: AccountFixture) -> None:
        items = [message(list="New", body=f"m{i}") for i in range(3)]
        assert owner.post("/api/v1/messages/bulk", items).status_code == 201
        new = SendingList.objects.get()
        assert set(Message.objects.values_list("sending_list", flat=True)) == {new.pk}

    def test_it_does_not_use_another_accounts_list(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        theirs = SendingList.objects.create(account=outsider.account, name="VIP")
        owner.mint(list="VIP", body="a")
        mine = Message.objects.get().sending_list
        assert mine != theirs
        assert mine.account == owner.account


class TestOffers:
    def test_it_binds_an_offer_by_id(self, owner: AccountFixture) -> None:
        offer = make_offer(owner, destination_url="https://adv.example/land?o=1")
        data = owner.mint(body="Hi {{link1}}", links={"link1": {"offer": offer.pk}})
        assert data["links"][0]["offer"] == offer.pk
        assert data["links"][0]["destination"] == "https://adv.example/land?o=1"
        assert MessageShortLink.objects.get().offer == offer

    def test_it_binds_an_offer_by_external_id(self, owner: AccountFixture) -> None:
        offer = make_offer(owner, external_id="OFF-1")
        data = owner.mint(body="Hi {{link1}}", links=link1(offer="OFF-1"))
        assert data["links"][0]["offer"] == offer.pk
        assert data["links"][0]["destination"] == URL  # the body's own URL is kept
        assert MessageShortLink.objects.get().offer == offer

    def test_a_numeric_external_id_beats_an_offer_id(self, owner: AccountFixture) -> None:
        by_id = make_offer(owner, name="By id")
        by_external_id = make_offer(owner, name="By external id", external_id=str(by_id.pk))
        data = owner.mint(body="{{link1}}", links={"link1": {"offer": str(by_id.pk)}})
        assert data["links"][0]["offer"] == by_external_id.pk

    def test_it_cannot_bind_another_accounts_offer(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        theirs = make_offer(owner, external_id="OFF-1")
        for ref in (theirs.pk, "OFF-1"):
            response = outsider.post("/api/v1/messages", message(links={"link1": {"offer": ref}}))
            assert response.status_code == 400
            assert "links.link1.offer" in response.json()["errors"]
        assert nothing_created()

    def test_an_untracked_offer_link_needs_its_own_url(self, owner: AccountFixture) -> None:
        offer = make_offer(owner, destination_url="https://net.example/c?aff_sub={click_id}")
        response = owner.post(
            "/api/v1/messages",
            message(body="{{l}}", links={"l": {"offer": offer.pk, "track": False}}),
        )
        assert response.status_code == 400 and "links.l.url" in response.json()["errors"]

    def test_link_names_with_spaces_are_refused(self, owner: AccountFixture) -> None:
        response = owner.post(
            "/api/v1/messages", message(body="x", links={" l ": "https://a.example/"})
        )
        assert response.status_code == 400 and "links. l " in response.json()["errors"]


class TestLinkIds:
    def test_it_draws_again_when_a_link_id_is_taken(
        self, owner: AccountFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        taken = owner.mint(body="{{link1}}", links=link1())["links"][0]["link_id"]
        draws = iter([taken, "Fresh01", "Fresh02"])
        monkeypatch.setattr(ids, "new_link_id", lambda: next(draws))
        data = owner.mint(body="{{link1}} https://b.example/", links=link1())
        drawn = {link["link_id"] for link in data["links"]}
        assert drawn == {"Fresh01", "Fresh02"}
        assert set(MessageShortLink.objects.values_list("link_id", flat=True)) == drawn | {taken}

    def test_it_draws_again_when_one_batch_draws_an_id_twice(
        self, owner: AccountFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        draws = iter(["Same001", "Same001", "Other01"])
        monkeypatch.setattr(ids, "new_link_id", lambda: next(draws))
        data = owner.mint(body="{{link1}} https://b.example/", links=link1())
        assert [link["link_id"] for link in data["links"]] == ["Same001", "Other01"]

    def test_it_retries_when_the_database_catches_a_clash(
        self, owner: AccountFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A concurrent request stores the same id between our check and our insert: the
        # check sees nothing, the unique constraint fails, and the whole batch runs again.
        taken = owner.mint(body="{{link1}}", links=link1())["links"][0]["link_id"]
        monkeypatch.setattr("links.services._stored_link_ids", lambda candidates: set())
        draws: Iterator[str] = iter([taken, "Fresh01"])
        monkeypatch.setattr(ids, "new_link_id", lambda: next(draws))
        data = owner.mint(
            contact={"external_id": "c-new"}, list="New list", body="{{link1}}", links=link1()
        )
        assert data["links"][0]["link_id"] == "Fresh01"
        assert Message.objects.count() == 2
        assert Contact.objects.filter(external_id="c-new").count() == 1
        assert SendingList.objects.count() == 1
        assert Message.objects.get(pk=data["id"]).links.get().link_id == "Fresh01"


class TestBulk:
    def test_it_returns_results_in_the_order_given(self, owner: AccountFixture) -> None:
        items = [
            message(external_id=f"m-{i}", body=f"#{i} https://shop.example/{i}") for i in range(5)
        ]
        response = owner.post("/api/v1/messages/bulk", items)
        assert response.status_code == 201, response.content
        results = response.json()
        assert [r["external_id"] for r in results] == [f"m-{i}" for i in range(5)]
        for i, result in enumerate(results):
            assert result["links"][0]["destination"] == f"https://shop.example/{i}"
            assert result["body"] == f"#{i} {result['links'][0]['short_url']}"
        assert len({r["links"][0]["link_id"] for r in results}) == 5
        assert Message.objects.count() == 5

    def test_it_accepts_an_object_with_a_messages_list(self, owner: AccountFixture) -> None:
        response = owner.post("/api/v1/messages/bulk", {"messages": [message(body="a")]})
        assert response.status_code == 201
        assert len(response.json()) == 1

    def test_one_bad_item_fails_the_whole_bulk(self, owner: AccountFixture) -> None:
        items = [
            message(body="ok", list="L", campaign="C"),
            message(body=""),
            message(body="ok"),
            message(contact={"phone": "12"}),
        ]
        response = owner.post("/api/v1/messages/bulk", items)
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert [e["index"] for e in errors] == [1, 3]
        assert list(errors[0]["errors"]) == ["body"]
        assert list(errors[1]["errors"]) == ["contact.phone"]
        assert nothing_created()

    def test_an_unknown_offer_in_one_item_fails_the_whole_bulk(self, owner: AccountFixture) -> None:
        items = [message(body="ok"), message(links={"link1": {"offer": "nope"}})]
        response = owner.post("/api/v1/messages/bulk", items)
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"index": 1, "errors": {"links.link1.offer": ["Unknown offer 'nope'."]}}
        ]
        assert nothing_created()

    def test_it_refuses_more_items_than_the_limit(
        self, owner: AccountFixture, settings: Any
    ) -> None:
        settings.MINT_MAX_BULK_ITEMS = 3
        response = owner.post("/api/v1/messages/bulk", [message(body="a")] * 4)
        assert response.status_code == 400
        assert "items" in response.json()["errors"]
        assert nothing_created()
        assert owner.post("/api/v1/messages/bulk", [message(body="a")] * 3).status_code == 201

    def test_it_refuses_10001_items(self, owner: AccountFixture) -> None:
        response = owner.post("/api/v1/messages/bulk", [{}] * 10_001)
        assert response.status_code == 400
        assert "10,000" in response.json()["errors"]["items"][0]

    @pytest.mark.parametrize("payload", [[], {}, "x", {"messages": []}])
    def test_it_refuses_what_is_not_a_list_of_messages(
        self, owner: AccountFixture, payload: Any
    ) -> None:
        response = owner.post("/api/v1/messages/bulk", payload)
        assert response.status_code == 400
        assert "items" in response.json()["errors"]

    def test_the_single_endpoint_refuses_a_list(self, owner: AccountFixture) -> None:
        response = owner.post("/api/v1/messages", [message(body="a")])
        assert response.status_code == 400
        assert nothing_created()


BAD_INPUTS = [
    pytest.param({"links": {"link1": {"offer": 999999}}}, "links.link1.offer", id="unknown-offer"),
    # str.isdigit() is true for "²", int() refuses it
    pytest.param(
        {"links": {"link1": {"offer": "²"}}}, "links.link1.offer", id="offer-superscript-2"
    ),
    pytest.param({"links": link1("ftp://a.example/f")}, "links.link1.url", id="ftp-url"),
    pytest.param({"links": link1("javascript:alert(1)")}, "links.link1.url", id="js-url"),
    pytest.param({"links": link1("https://exa mple.com")}, "links.link1.url", id="bad-url"),
    pytest.param({"links": {"link1": {}}}, "links.link1.url", id="no-url-no-offer"),
    pytest.param({"links": link1(track="no")}, "links.link1.track", id="bad-track"),
    pytest.param({"body": "a" * 10_001}, "body", id="body-10001-bytes"),
    pytest.param({"body": "é" * 5_001}, "body", id="body-10002-utf8-bytes"),
    pytest.param({"body": ""}, "body", id="empty-body"),
    pytest.param({"body": "Hi {{link2}}", "links": link1()}, "body", id="unbound-placeholder"),
    pytest.param({"contact": {"phone": "555"}}, "contact.phone", id="short-phone"),
    pytest.param({"contact": {"phone": "4155550123"}}, "contact.phone", id="no-country-code"),
    pytest.param({"contact": {"email": "not-an-email"}}, "contact.email", id="bad-email"),
    pytest.param({"contact": {}}, "contact", id="empty-contact"),
    pytest.param({"contact": None}, "contact", id="no-contact"),
    pytest.param({"channel": "fax"}, "channel", id="bad-channel"),
    pytest.param({"sent_at": "yesterday"}, "sent_at", id="bad-sent-at"),
    pytest.param({"sent_at": True}, "sent_at", id="boolean-sent-at"),
    pytest.param({"list": {"name": "x"}}, "list", id="list-not-a-string"),
    pytest.param({"campaign": "c" * 201}, "campaign", id="long-campaign"),
    pytest.param({"external_id": ["x"]}, "external_id", id="bad-external-id"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_INPUTS)
def test_it_names_the_bad_field(owner: AccountFixture, fields: dict[str, Any], field: str) -> None:
    response = owner.post("/api/v1/messages", message(links=link1()) | fields)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert nothing_created()


LONG_PATH = "p" * 2_000  # a URL longer than MessageShortLink.destination_url's 2,000


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(
            {"contact": {"email": "a" * 230 + "@example.com"}}, id="email-longer-than-an-id"
        ),
        pytest.param(
            {"contact": {"external_id": "c", "email": "a" * 250 + "@example.com"}},
            id="email-longer-than-254",
        ),
        pytest.param({"body": f"Go https://a.example/{LONG_PATH}"}, id="long-bare-url"),
        pytest.param(
            {"channel": "email", "body": f'<a href="https://a.example/{LONG_PATH}">x</a>'},
            id="long-href",
        ),
    ],
)
def test_input_the_database_cannot_store_is_a_400_not_a_500(
    owner: AccountFixture, fields: dict[str, Any]
) -> None:
    owner.client.raise_request_exception = False
    response = owner.post("/api/v1/messages", message(contact={"external_id": "c"}) | fields)
    assert response.status_code in (201, 400), response.content[:200]
    if response.status_code == 400:
        assert response.json()["errors"]
        assert nothing_created()
    else:
        assert Message.objects.count() == 1


def test_it_names_every_bad_field_at_once(owner: AccountFixture) -> None:
    response = owner.post(
        "/api/v1/messages", message(channel="fax", body="{{x}}", contact={"phone": "12"})
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"channel", "body", "contact.phone"}


def test_a_body_of_exactly_10000_bytes_is_accepted(owner: AccountFixture) -> None:
    assert owner.post("/api/v1/messages", message(body="é" * 5_000)).status_code == 201


class TestAuthentication:
    def test_it_refuses_a_request_without_a_key(self, db: Any) -> None:
        response = APIClient(HTTP_HOST="localhost").post(
            "/api/v1/messages", message(), format="json"
        )
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "header", ["Bearer trk_00000000_nope", "Bearer nonsense", "Bearer ", "Basic abc"]
    )
    def test_it_refuses_a_wrong_key(self, owner: AccountFixture, header: str) -> None:
        owner.client.credentials(HTTP_AUTHORIZATION=header)
        assert owner.post("/api/v1/messages", message()).status_code == 401

    def test_it_refuses_the_right_prefix_with_the_wrong_secret(self, owner: AccountFixture) -> None:
        owner.client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.api_key[:-1]}x")
        assert owner.post("/api/v1/messages", message()).status_code == 401
        assert nothing_created()

    def test_it_refuses_a_revoked_key(self, owner: AccountFixture) -> None:
        ApiKey.objects.filter(account=owner.account).update(revoked_at=timezone.now())
        assert owner.post("/api/v1/messages", message()).status_code == 401
        assert nothing_created()

    def test_it_refuses_the_key_of_a_deactivated_account(self, owner: AccountFixture) -> None:
        owner.account.is_active = False
        owner.account.save()
        assert owner.post("/api/v1/messages", message()).status_code == 401

    def test_it_records_when_a_key_was_last_used(self, owner: AccountFixture) -> None:
        owner.mint(body="a")
        assert ApiKey.objects.get(account=owner.account).last_used_at is not None


class TestTrackingDomain:
    def test_it_answers_409_without_an_active_tracking_domain(self, owner: AccountFixture) -> None:
        TrackingDomain.objects.filter(account=owner.account).update(is_active=False)
        response = owner.post("/api/v1/messages", message(links=link1()))
        assert response.status_code == 409
        assert "tracking domain" in response.json()["detail"]
        assert nothing_created()

    def test_it_falls_back_to_another_active_domain(self, owner: AccountFixture) -> None:
        TrackingDomain.objects.filter(account=owner.account).update(is_active=False)
        TrackingDomain.objects.create(account=owner.account, host="spare.owner.example")
        data = owner.mint(body="{{link1}}", links=link1())
        assert data["links"][0]["short_url"].startswith("https://spare.owner.example/")


class TestRetrieve:
    def test_it_returns_a_message_as_it_was_minted(self, owner: AccountFixture) -> None:
        minted = owner.mint(external_id="m-1", body="Hi {{link1}}", links=link1())
        response = owner.get(f"/api/v1/messages/{minted['id']}")
        assert response.status_code == 200
        data = response.json()
        assert {key: data[key] for key in minted if key != "links"} == {
            key: value for key, value in minted.items() if key != "links"
        }
        assert data["links"] == [link | {"raw_clicks": 0} for link in minted["links"]]
        assert (data["clicked"], data["raw_clicks"], data["first_click_at"]) == (False, 0, None)

    def test_another_account_cannot_read_it(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        minted = owner.mint(body="Hi {{link1}}", links=link1())
        response = outsider.get(f"/api/v1/messages/{minted['id']}")
        assert response.status_code == 404
        assert URL not in response.content.decode()

    def test_an_unknown_id_is_404(self, owner: AccountFixture) -> None:
        assert owner.get("/api/v1/messages/999999999").status_code == 404


@pytest.mark.django_db
def test_bulk_results_match_their_items_with_and_without_external_ids(owner: Any) -> None:
    items = [
        {"external_id": "a", "contact": {"external_id": "c1"}, "body": "one https://one.example/"},
        {"contact": {"external_id": "c2"}, "body": "two https://two.example/"},
        {"external_id": "a", "contact": {"external_id": "c1"}, "body": "one https://one.example/"},
        {"contact": {"external_id": "c3"}, "body": "three https://three.example/"},
    ]
    results = owner.post("/api/v1/messages/bulk", items).json()
    assert [r["contact"]["external_id"] for r in results] == ["c1", "c2", "c1", "c3"]
    assert [r["links"][0]["destination"] for r in results] == [
        "https://one.example/",
        "https://two.example/",
        "https://one.example/",
        "https://three.example/",
    ]
    assert results[0] == results[2] and len({r["id"] for r in results}) == 3
