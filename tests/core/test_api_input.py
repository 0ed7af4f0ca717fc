"""JSON bodies under /api/v1/: text no column can store is a 400 naming its field, and so
is a field the endpoint does not take (core.api_input)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers
from rest_framework.views import APIView

from core.api_errors import dotted
from core.api_input import JSONParser, RefuseUnknownFields
from core.models import (
    Campaign,
    Contact,
    Creative,
    InterstitialTemplate,
    Message,
    Offer,
    SendingList,
)
from links.models import MessageShortLink
from tests.conftest import AccountFixture

pytestmark = pytest.mark.django_db

MESSAGE = {"contact": {"external_id": "c-1"}, "body": "Hi {{link1}}",
           "links": {"link1": {"url": "https://shop.example/a"}}}  # fmt: skip
LONE = "\ud800"

# path, model, a valid new object
RESOURCES = [
    ("offers", Offer, {"name": "Spring", "destination_url": "https://adv.example/land"}),
    ("interstitials", InterstitialTemplate, {"name": "Gate", "title": "Are you 21?"}),
    ("lists", SendingList, {"name": "VIP"}),
    ("campaigns", Campaign, {"name": "Launch"}),
    ("creatives", Creative, {"name": "Banner"}),
]


def send(account: AccountFixture, path: str, body: Any, method: str = "post") -> Any:
    """The body as a client would write it: json.dumps escapes a lone surrogate as \\ud800."""
    account.client.raise_request_exception = False
    return getattr(account.client, method)(
        path, data=json.dumps(body), content_type="application/json"
    )


def nothing_minted() -> bool:
    return not (Message.objects.exists() or MessageShortLink.objects.exists()
                or Contact.objects.exists())  # fmt: skip


class TestText:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"body": f"hi {LONE}"}, "body"),
            ({"contact": {"external_id": f"c{LONE}"}}, "contact.external_id"),
            ({"links": {"link1": {"url": f"https://a.example/{LONE}"}}}, "links.link1.url"),
            ({"campaign": f"Spring {LONE}"}, "campaign"),
            ({"external_id": "a\x00b"}, "external_id"),
            ({f"note{LONE}": "x"}, "note\\ud800"),
        ],
    )
    def test_a_lone_surrogate_or_a_nul_in_any_field_of_a_message_is_a_400_naming_it(
        self, owner: AccountFixture, fields: dict[str, Any], field: str
    ) -> None:
        response = send(owner, "/api/v1/messages", MESSAGE | fields)
        assert response.status_code == 400, response.content
        assert list(response.json()["errors"]) == [field]
        assert nothing_minted()

    def test_nuls_in_two_fields_are_a_400_naming_both(self, owner: AccountFixture) -> None:
        response = owner.post(
            "/api/v1/messages", {"contact": {"external_id": "c\x00"}, "body": "hi\x00"}
        )
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"contact.external_id", "body"}

    def test_a_bulk_reports_the_bad_item_by_its_index(self, owner: AccountFixture) -> None:
        items = [MESSAGE, MESSAGE | {"body": f"{LONE} {{{{link1}}}}"}, MESSAGE]
        for body in (items, {"messages": items}):
            response = send(owner, "/api/v1/messages/bulk", body)
            assert response.status_code == 400, response.content
            assert response.json()["errors"] == [
                {
                    "index": 1,
                    "errors": {"body": [response.json()["errors"][0]["errors"]["body"][0]]},
                }
            ]
            assert "U+D800" in response.json()["errors"][0]["errors"]["body"][0]
        assert nothing_minted()

    @pytest.mark.parametrize(("path", "model", "valid"), RESOURCES)
    def test_every_resource_refuses_it_on_create_and_on_update(
        self, owner: AccountFixture, path: str, model: type, valid: dict[str, Any]
    ) -> None:
        response = send(owner, f"/api/v1/{path}", valid | {"name": f"x{LONE}"})
        assert response.status_code == 400, response.content
        assert list(response.json()["errors"]) == ["name"]
        assert not model.objects.exists()
        created = send(owner, f"/api/v1/{path}", valid).json()
        response = send(owner, f"/api/v1/{path}/{created['id']}", {"name": LONE}, "patch")
        assert response.status_code == 400 and list(response.json()["errors"]) == ["name"]
        assert model.objects.get().name == valid["name"]

    def test_a_body_in_utf_16_is_checked_too(self, owner: AccountFixture) -> None:
        owner.client.raise_request_exception = False
        body = json.dumps(MESSAGE | {"body": f"hi {LONE} {{{{link1}}}}"}).encode("utf-16")
        response = owner.client.post(
            "/api/v1/messages", data=body, content_type="application/json; charset=utf-16"
        )
        assert response.status_code == 400, response.content
        assert list(response.json()["errors"]) == ["body"]
        assert nothing_minted()

    def test_a_surrogate_pair_is_text(self, owner: AccountFixture) -> None:
        # json.dumps writes 😀 as the pair \ud83d\ude00, which JSON reads back as 😀.
        response = send(owner, "/api/v1/messages", MESSAGE | {"body": "😀 {{link1}}"})
        assert response.status_code == 201, response.content
        assert Message.objects.get().body == "😀 {{link1}}"

    def test_every_api_view_parses_with_the_checking_parser(self) -> None:
        # Endpoints added later get the check without doing anything, unless they replace
        # the parser: then this names them.
        for view in api_views():
            assert all(issubclass(p, JSONParser) for p in view.parser_classes), view


class TestUnknownFields:
    def test_a_list_with_a_misspelt_field_is_refused_not_made_with_the_default(
        self, owner: AccountFixture
    ) -> None:
        response = send(owner, "/api/v1/lists", {"name": "x", "bot_detection": False})
        assert response.status_code == 400
        assert response.json() == {
            "detail": "Invalid request: see errors.",
            "errors": {"bot_detection": ["Unknown field."]},
        }
        assert not SendingList.objects.exists()

    @pytest.mark.parametrize(("path", "model", "valid"), RESOURCES)
    def test_every_resource_names_each_unknown_field_on_create_and_on_update(
        self, owner: AccountFixture, path: str, model: type, valid: dict[str, Any]
    ) -> None:
        response = send(owner, f"/api/v1/{path}", valid | {"colour": "red", "size": 3})
        assert response.status_code == 400, response.content
        assert response.json()["errors"] == {
            "colour": ["Unknown field."],
            "size": ["Unknown field."],
        }
        assert not model.objects.exists()
        created = send(owner, f"/api/v1/{path}", valid).json()
        response = send(
            owner, f"/api/v1/{path}/{created['id']}", {"name": "New", "colour": "red"}, "patch"
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {"colour": ["Unknown field."]}
        assert model.objects.get().name == valid["name"]

    @pytest.mark.parametrize("field", ["id", "created_at"])
    def test_a_read_only_field_sent_back_is_refused(
        self, owner: AccountFixture, field: str
    ) -> None:
        created = send(owner, "/api/v1/campaigns", {"name": "Launch"}).json()
        response = send(
            owner, f"/api/v1/campaigns/{created['id']}", created | {"name": "New"}, "patch"
        )
        assert response.status_code == 400
        assert response.json()["errors"][field] == ["Read-only field: it cannot be set."]
        assert Campaign.objects.get().name == "Launch"

    def test_unknown_fields_come_with_every_other_bad_field(self, owner: AccountFixture) -> None:
        response = send(owner, "/api/v1/lists", {"name": "x", "scanner_window_seconds": "soon",
                                                 "bot_detection": False})  # fmt: skip
        assert set(response.json()["errors"]) == {"scanner_window_seconds", "bot_detection"}

    def test_a_message_names_unknown_fields_by_dotted_path(self, owner: AccountFixture) -> None:
        response = send(
            owner,
            "/api/v1/messages",
            MESSAGE
            | {
                "contact": {"external_id": "c-1", "phon": "+14155550123"},
                "links": {"link1": {"url": "https://shop.example/a", "trak": False}},
                "sent": "now",
            },
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {
            "sent": ["Unknown field."],
            "contact.phon": ["Unknown field."],
            "links.link1.trak": ["Unknown field."],
        }
        assert nothing_minted()

    def test_a_bulk_names_them_per_item(self, owner: AccountFixture) -> None:
        items = [
            MESSAGE,
            MESSAGE | {"contact": {"external_id": "c-2", "phon": "+14155550123"}},
            MESSAGE | {"links": {"link1": {"url": "https://shop.example/a", "trak": False}}},
        ]
        response = send(owner, "/api/v1/messages/bulk", items)
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"index": 1, "errors": {"contact.phon": ["Unknown field."]}},
            {"index": 2, "errors": {"links.link1.trak": ["Unknown field."]}},
        ]
        assert nothing_minted()

    def test_the_bulk_wrapper_takes_only_messages(self, owner: AccountFixture) -> None:
        response = send(owner, "/api/v1/messages/bulk", {"messages": [MESSAGE], "dry_run": True})
        assert response.status_code == 400
        assert response.json()["errors"] == {"dry_run": ["Unknown field."]}
        assert nothing_minted()

    def test_rotating_a_secret_takes_no_fields(self, owner: AccountFixture) -> None:
        offer = send(owner, "/api/v1/offers", RESOURCES[0][2]).json()
        response = send(owner, f"/api/v1/offers/{offer['id']}/rotate-secret",
                        {"postback_secret": "mine"})  # fmt: skip
        assert response.status_code == 400
        assert response.json()["errors"] == {"postback_secret": ["Unknown field."]}
        assert Offer.objects.get().postback_secret_matches(offer["postback_secret"])
        assert send(owner, f"/api/v1/offers/{offer['id']}/rotate-secret", {}).status_code == 200

    @pytest.mark.parametrize(
        "path", ["/api/v1/offers", "/api/v1/reports/campaigns", "/api/v1/conversions"]
    )
    def test_unknown_query_parameters_are_never_refused(
        self, owner: AccountFixture, path: str
    ) -> None:
        assert owner.get(path, utm_source="x", colour="red").status_code == 200

    def test_a_nested_serializer_that_adopts_it_names_the_dotted_path(self) -> None:
        # As an endpoint added later would nest one: each level refuses its own fields.
        class ContactIn(RefuseUnknownFields):
            phone = serializers.CharField()

        class MessageIn(RefuseUnknownFields):
            body = serializers.CharField()
            contact = ContactIn()

        data = {"body": "x", "contact": {"phon": "+14155550123"}, "sent": 1}
        serializer = MessageIn(data=data)
        assert not serializer.is_valid()
        assert dotted(serializer.errors) == {
            "contact.phon": ["Unknown field."],
            "contact.phone": ["This field is required."],
            "sent": ["Unknown field."],
        }

    def test_every_api_serializer_refuses_unknown_fields(self) -> None:
        # A serializer-backed endpoint added later adopts the rule by inheriting
        # AccountModelSerializer (or RefuseUnknownFields); this names one that does not.
        for view in api_views():
            serializer = getattr(view, "serializer_class", None)
            if serializer is not None:
                assert issubclass(serializer, RefuseUnknownFields), view


def api_views() -> list[type[APIView]]:
    views = list(_views(get_resolver()))
    assert len(views) > 5  # the enumeration found the API
    return views


def _views(resolver: URLResolver) -> list[type[APIView]]:
    found: list[type[APIView]] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _views(entry)
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "cls", None)
            if isinstance(view, type) and issubclass(view, APIView):
                found.append(view)
    return found
