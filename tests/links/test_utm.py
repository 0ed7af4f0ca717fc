"""UTM templates (links.routing.utm_expand, utm_merge): the account's, or the campaign's in
its place, expanded with the link's names (URL-encoded) and merged into every target; a
parameter the destination already has wins. Renamed names reach cached links."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from core.models import Campaign, Creative
from links.routing import utm_append, utm_expand, utm_merge, utm_missing
from tests.helpers import make_offer

TEMPLATE = "utm_source=sms&utm_medium={channel}&utm_campaign={campaign}&utm_content={creative}"


def tap_query(account: Any, link_id: str, **extra: Any) -> tuple[str, dict[str, list[str]]]:
    response = Client(HTTP_HOST=account.domain.host).get(f"/{link_id}", **extra)
    assert response.status_code == 302, response
    parts = urlsplit(response["Location"])
    return response["Location"], parse_qs(parts.query, keep_blank_values=True)


def mint(account: Any, url: str = "https://shop.example.com/p", **fields: Any) -> str:
    message = account.mint(body="{{l}}", links={"l": {"url": url}}, **fields)
    return message["links"][0]["link_id"]


@pytest.mark.django_db
class TestUtmTemplates:
    def test_the_accounts_template_is_appended_with_the_names(self, owner: Any) -> None:
        owner.account.utm_template = TEMPLATE + "&utm_term={list}&o={offer}"
        owner.account.save()
        offer = make_offer(owner, name="Summer Offer")
        message = owner.mint(
            body="{{l}}",
            links={"l": {"offer": offer.pk}},
            campaign="Spring Sale",
            creative="Blue banner",
            list="VIPs",
        )
        location, query = tap_query(owner, message["links"][0]["link_id"])
        assert query["utm_source"] == ["sms"]
        assert query["utm_medium"] == ["sms"]
        assert query["utm_campaign"] == ["Spring Sale"]
        assert query["utm_content"] == ["Blue banner"]
        assert query["utm_term"] == ["VIPs"]
        assert query["o"] == ["Summer Offer"]
        assert len(query["click_id"]) == 1
        assert "utm_campaign=Spring%20Sale" in location  # URL-encoded

    def test_names_are_url_encoded_so_they_cannot_add_parameters(self, owner: Any) -> None:
        owner.account.utm_template = "utm_campaign={campaign}"
        owner.account.save()
        link_id = mint(owner, campaign="A&B=c #1/2?")
        location, query = tap_query(owner, link_id)
        assert query["utm_campaign"] == ["A&B=c #1/2?"]
        assert "B" not in query
        assert "utm_campaign=A%26B%3Dc%20%231%2F2%3F" in location

    def test_a_link_without_a_campaign_gets_an_empty_value(self, owner: Any) -> None:
        owner.account.utm_template = "utm_source=sms&utm_campaign={campaign}"
        owner.account.save()
        _, query = tap_query(owner, mint(owner))
        assert query["utm_campaign"] == [""] and query["utm_source"] == ["sms"]

    def test_a_campaigns_template_replaces_the_accounts(self, owner: Any) -> None:
        owner.account.utm_template = "utm_source=sms&utm_medium=text"
        owner.account.save()
        campaign = Campaign.objects.create(
            account=owner.account, name="Own", utm_template="utm_source=partner"
        )
        _, query = tap_query(owner, mint(owner, campaign=campaign.name))
        assert query["utm_source"] == ["partner"]
        assert "utm_medium" not in query
        _, query = tap_query(owner, mint(owner, campaign="Other"))  # no template of its own
        assert query["utm_source"] == ["sms"] and query["utm_medium"] == ["text"]

    def test_a_parameter_the_destination_has_wins(self, owner: Any) -> None:
        owner.account.utm_template = "utm_source=sms&utm_medium=text"
        owner.account.save()
        location, query = tap_query(
            owner, mint(owner, url="https://shop.example.com/p?utm_source=mail#top")
        )
        assert query["utm_source"] == ["mail"]
        assert query["utm_medium"] == ["text"]
        assert location.endswith("#top")

    def test_it_applies_to_a_variant_and_a_rule_target(self, owner: Any) -> None:
        owner.account.utm_template = "utm_source=sms"
        owner.account.save()
        offer = make_offer(
            owner,
            variants=[{"name": "a", "url": "https://a.example.com/", "weight": 1}],
            rules=[{"device": "desktop", "url": "https://desk.example.com/?utm_source=desk"}],
        )
        message = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}})
        link_id = message["links"][0]["link_id"]
        location, query = tap_query(owner, link_id, HTTP_USER_AGENT="")
        assert location.startswith("https://a.example.com/?click_id=")
        assert query["utm_source"] == ["sms"]
        desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36"
        location, query = tap_query(owner, link_id, HTTP_USER_AGENT=desktop)
        assert location.startswith("https://desk.example.com/")
        assert query["utm_source"] == ["desk"]

    def test_a_renamed_campaign_or_creative_reaches_a_cached_link(self, owner: Any) -> None:
        owner.account.utm_template = "c={campaign}&k={creative}"
        owner.account.save()
        link_id = mint(owner, campaign="Before", creative="Old")
        assert tap_query(owner, link_id)[1]["c"] == ["Before"]  # now cached
        campaign = Campaign.objects.get(account=owner.account, name="Before")
        campaign.name = "After"
        campaign.save()
        assert tap_query(owner, link_id)[1]["c"] == ["After"]
        creative = Creative.objects.get(account=owner.account, name="Old")
        creative.name = "New"
        creative.save()
        assert tap_query(owner, link_id)[1]["k"] == ["New"]

    def test_a_campaigns_template_changed_reaches_a_cached_link(self, owner: Any) -> None:
        link_id = mint(owner, campaign="Later")
        assert "utm_source" not in tap_query(owner, link_id)[1]
        response = owner.client.patch(
            f"/api/v1/campaigns/{Campaign.objects.get(name='Later').pk}",
            {"utm_template": "utm_source=x"},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert tap_query(owner, link_id)[1]["utm_source"] == ["x"]


def test_expansion_and_merge_alone() -> None:
    query = utm_expand("a={campaign}&b={list}", {"campaign": "é x", "list": None})
    assert query == "a=%C3%A9%20x&b="
    assert utm_merge("https://x.example/p?a=1", query) == "https://x.example/p?a=1&b="
    assert utm_merge("https://x.example/p", "") == "https://x.example/p"
    assert utm_merge("https://x.example/p#f", "z=1") == "https://x.example/p?z=1#f"
    assert utm_merge("https://x.example/p?#f", "z=1") == "https://x.example/p?z=1#f"
    # Worked out at load for a template, appended at the tap: the same answer.
    template = "https://x.example/p?c={contact_id}&utm_source=own#top"
    missing = utm_missing(template, "utm_source=sms&utm_medium=x")
    assert missing == "utm_medium=x"
    assert utm_append("https://x.example/p?c=7&utm_source=own#top", missing) == utm_merge(
        "https://x.example/p?c=7&utm_source=own#top", "utm_source=sms&utm_medium=x"
    )


@pytest.mark.django_db
def test_a_template_naming_the_click_param_never_doubles_it(owner: Any) -> None:
    """The click id is appended after the template's own query: a UTM pair of the same
    name is one the target has."""
    owner.client.patch(
        "/api/v1/account", {"utm_template": "click_id=x&utm_source=sms"}, format="json"
    )
    offer = make_offer(owner, destination_url="https://adv.example/land")
    message = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}})
    location, query = tap_query(owner, message["links"][0]["link_id"])
    assert len(query["click_id"]) == 1 and query["click_id"][0] != "x"
    assert query["utm_source"] == ["sms"]


@pytest.mark.django_db
class TestUtmInput:
    def test_the_account_takes_a_template(self, owner: Any) -> None:
        response = owner.client.patch(
            "/api/v1/account", {"utm_template": "?" + TEMPLATE}, format="json"
        )
        assert response.status_code == 200, response.content
        assert response.json()["utm_template"] == TEMPLATE
        owner.account.refresh_from_db()
        assert owner.account.utm_template == TEMPLATE

    def test_a_campaign_takes_a_template(self, owner: Any) -> None:
        response = owner.post(
            "/api/v1/campaigns", {"name": "C", "utm_template": "utm_campaign={campaign}"}
        )
        assert response.status_code == 201, response.content
        assert response.json()["utm_template"] == "utm_campaign={campaign}"

    @pytest.mark.parametrize(
        ("template", "says"),
        [
            ("utm_source={source}", "Unknown macro {source}"),
            ("utm_source=a b", "printable ASCII"),
            ("utm_source=café", "printable ASCII"),
            ("utm_source=x#y", "no '#'"),
            ("=x", "needs a name"),
            ("a=1&&b=2", "needs a name"),
            ("{campaign}=x", "not names"),
            ("a={campaign", "outside a macro"),
            ("a=" + "x" * 600, "500"),
        ],
    )
    def test_bad_templates_are_a_400_naming_the_field(
        self, owner: Any, template: str, says: str
    ) -> None:
        for response in (
            owner.client.patch("/api/v1/account", {"utm_template": template}, format="json"),
            owner.post("/api/v1/campaigns", {"name": "Bad", "utm_template": template}),
        ):
            assert response.status_code == 400
            [message] = response.json()["errors"]["utm_template"]
            assert says in message, message
        owner.account.refresh_from_db()
        assert owner.account.utm_template == ""
        assert not Campaign.objects.filter(name="Bad").exists()
