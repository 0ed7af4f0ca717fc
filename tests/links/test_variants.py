"""A/B destinations (links.routing.variant_pick at mint, links.decision at the tap): each
link's variant drawn by a stable hash of (contact, message) over the weights of that
moment, repeat taps on the same page, changed weights only for later messages, a removed
variant falling back to the offer's destination, the variant stored on the click."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.test import Client

from core.models import Offer
from links.models import MessageShortLink, MessageShortLinkClick
from links.routing import variant_pick
from tests.helpers import make_offer

A, B = "https://a.example.com/land", "https://b.example.com/land"
HALVES = [{"name": "a", "url": A, "weight": 50}, {"name": "b", "url": B, "weight": 50}]


def mint_many(account: Any, offer: Offer, count: int, prefix: str) -> list[dict[str, Any]]:
    """`count` messages to as many contacts, in one bulk mint; their links."""
    items = [
        {
            "contact": {"external_id": f"{prefix}{i}"},
            "body": "{{l}}",
            "links": {"l": {"offer": offer.pk}},
        }
        for i in range(count)
    ]
    response = account.post("/api/v1/messages/bulk", items)
    assert response.status_code == 201, response.content
    body = response.json()
    messages = body["messages"] if isinstance(body, dict) else body
    return [m["links"][0] for m in messages]


def destination(account: Any, link_id: str) -> str:
    response = Client(HTTP_HOST=account.domain.host).get(f"/{link_id}")
    assert response.status_code == 302
    return response["Location"].split("?")[0]


@pytest.mark.django_db
class TestVariants:
    def test_four_hundred_contacts_split_about_evenly_and_each_repeat_tap_lands_alike(
        self, owner: Any
    ) -> None:
        offer = make_offer(owner, variants=HALVES)
        links = mint_many(owner, offer, 400, "split")
        stored = dict(
            MessageShortLink.objects.filter(offer=offer).values_list("link_id", "variant")
        )
        counts = Counter(stored.values())
        assert set(counts) == {"a", "b"}
        assert 160 <= counts["a"] <= 240, counts  # within 40-60%
        for link in links:
            expected = A if stored[link["link_id"]] == "a" else B
            assert destination(owner, link["link_id"]) == expected
            assert destination(owner, link["link_id"]) == expected  # the repeat tap
        variants = dict(
            MessageShortLinkClick.objects.filter(short_link__offer=offer)
            .values_list("short_link__link_id", "variant")
            .distinct()
        )
        assert variants == stored  # each click stores the variant it was sent to

    def test_the_draw_is_the_stable_hash_of_contact_and_message(self, owner: Any) -> None:
        offer = make_offer(owner, variants=HALVES)
        for link in mint_many(owner, offer, 20, "stable"):
            row = MessageShortLink.objects.get(link_id=link["link_id"])
            assert row.variant == variant_pick(HALVES, row.contact_id, row.message_id)

    def test_weights_need_not_sum_to_a_hundred_and_zero_pauses_a_variant(self) -> None:
        variants = [
            {"name": "a", "url": A, "weight": 3},
            {"name": "off", "url": B, "weight": 0},
            {"name": "b", "url": B, "weight": 1},
        ]
        drawn = Counter(variant_pick(variants, contact, 7) for contact in range(4000))
        assert set(drawn) == {"a", "b"}
        assert 2700 <= drawn["a"] <= 3300, drawn  # three quarters

    def test_changed_weights_affect_only_later_messages(self, owner: Any) -> None:
        offer = make_offer(
            owner,
            variants=[{"name": "a", "url": A, "weight": 1}, {"name": "b", "url": B, "weight": 0}],
        )
        earlier = mint_many(owner, offer, 10, "before")
        offer.variants = [
            {"name": "a", "url": A, "weight": 0},
            {"name": "b", "url": B, "weight": 1},
        ]
        offer.save()
        later = mint_many(owner, offer, 10, "after")
        assert {destination(owner, link["link_id"]) for link in earlier} == {A}
        assert {destination(owner, link["link_id"]) for link in later} == {B}

    def test_a_variants_url_changed_reaches_its_links(self, owner: Any) -> None:
        offer = make_offer(owner, variants=[{"name": "a", "url": A, "weight": 1}])
        [link] = mint_many(owner, offer, 1, "moved")
        assert destination(owner, link["link_id"]) == A  # now cached
        offer.variants = [{"name": "a", "url": "https://new.example.com/", "weight": 1}]
        offer.save()
        assert destination(owner, link["link_id"]) == "https://new.example.com/"

    def test_a_removed_variant_falls_back_to_the_destination_with_no_variant(
        self, owner: Any
    ) -> None:
        offer = make_offer(owner, variants=[{"name": "b", "url": B, "weight": 1}])
        [link] = mint_many(owner, offer, 1, "removed")
        assert destination(owner, link["link_id"]) == B
        offer.variants = [{"name": "a", "url": A, "weight": 1}]
        offer.save()
        assert destination(owner, link["link_id"]) == "https://adv.example.com/land"
        latest = MessageShortLinkClick.objects.filter(short_link__link_id=link["link_id"])
        assert list(latest.order_by("id").values_list("variant", flat=True)) == ["b", ""]
        # The link keeps its drawn name: the reports count it a "b" send.
        assert MessageShortLink.objects.get(link_id=link["link_id"]).variant == "b"

    def test_a_link_of_an_offer_without_variants_has_none(self, owner: Any) -> None:
        offer = make_offer(owner)
        [link] = mint_many(owner, offer, 1, "plain")
        assert MessageShortLink.objects.get(link_id=link["link_id"]).variant == ""
        assert destination(owner, link["link_id"]) == "https://adv.example.com/land"

    def test_a_rule_beats_the_variant_and_the_click_has_none(self, owner: Any) -> None:
        offer = make_offer(
            owner,
            variants=[{"name": "a", "url": A, "weight": 1}],
            rules=[{"device": "desktop", "url": "https://desk.example.com/"}],
        )
        [link] = mint_many(owner, offer, 1, "ruled")
        desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36"
        response = Client(HTTP_HOST=owner.domain.host).get(
            f"/{link['link_id']}", HTTP_USER_AGENT=desktop
        )
        assert response["Location"].startswith("https://desk.example.com/?click_id=")
        assert MessageShortLinkClick.objects.get(short_link__link_id=link["link_id"]).variant == ""


@pytest.mark.django_db
class TestVariantsInput:
    def post(self, owner: Any, **fields: Any) -> Any:
        return owner.post(
            "/api/v1/offers",
            {"name": "Split", "destination_url": "https://adv.example.com/", **fields},
        )

    def test_valid_variants_are_stored_as_uris_and_answered(self, owner: Any) -> None:
        response = self.post(
            owner,
            variants=[*HALVES, {"name": "c", "url": "https://例え.jp/{click_id}", "weight": 0}],
        )
        assert response.status_code == 201, response.content
        stored = response.json()["variants"]
        assert stored[:2] == HALVES
        assert stored[2]["url"] == "https://xn--r8jz45g.jp/{click_id}"

    def test_a_patch_changes_the_variants(self, owner: Any) -> None:
        offer_id = self.post(owner, variants=HALVES).json()["id"]
        response = owner.client.patch(f"/api/v1/offers/{offer_id}", {"variants": []}, format="json")
        assert response.status_code == 200, response.content
        assert Offer.objects.get(pk=offer_id).variants == []

    @pytest.mark.parametrize(
        ("variants", "says"),
        [
            ("a", "must be a list"),
            ([{"name": "a", "url": A}], "weight required"),
            ([{"name": "", "url": A, "weight": 1}], "name: must be text of 1 to 64"),
            ([{"name": "x" * 65, "url": A, "weight": 1}], "name: must be text of 1 to 64"),
            ([HALVES[0], HALVES[0]], "name of an earlier variant"),
            ([{"name": "a", "url": A, "weight": -1}], "weight: must be a whole number"),
            ([{"name": "a", "url": A, "weight": 1.5}], "weight: must be a whole number"),
            ([{"name": "a", "url": A, "weight": True}], "weight: must be a whole number"),
            ([{"name": "a", "url": A, "weight": 0}], "at least one variant needs a weight"),
            ([{"name": "a", "url": "javascript:alert(1)", "weight": 1}], "http or https"),
            ([{"name": "a", "url": A, "weight": 1, "share": 2}], "unknown key(s) 'share'"),
            ([{"name": f"v{i}", "url": A, "weight": 1} for i in range(21)], "at most 20"),
        ],
    )
    def test_bad_variants_are_a_400_naming_the_field(
        self, owner: Any, variants: Any, says: str
    ) -> None:
        response = self.post(owner, variants=variants)
        assert response.status_code == 400
        [message] = response.json()["errors"]["variants"]
        assert says in message
        assert not Offer.objects.filter(name="Split").exists()
