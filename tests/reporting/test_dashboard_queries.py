"""Each dashboard page runs a fixed, small number of queries, however many rows it shows
(a query per row would sink the page at ten million clicks)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from reporting.services import rollups_build
from tests.reporting.conftest import BROWSER, CURL, Dataset, tap

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

# page (under /dashboard/<account>/) -> the most queries it may run, session and user
# lookups included. CSV exports stream their rows and run no more than the page.
CAPS = {
    "": 8,
    "campaigns/": 7,
    "creatives/": 7,
    "offers/": 7,
    "lists/": 7,
    "messages/": 11,
    "devices/": 9,
    "os/": 9,
    "countries/": 9,
    "conversions/": 7,
    "postbacks/": 7,
    "bots/": 10,
    "messages/{message}/": 14,
    "contacts/{contact}/": 10,
}


@pytest.fixture
def busy(data: Dataset) -> Dataset:
    """The dataset plus 24 messages over 6 campaigns and creatives, people and bots
    clicking: enough rows that a query per row would show."""
    account = data.account
    for n in range(24):
        message = account.mint(
            contact={"external_id": f"busy-{n}"},
            body="Deal {{l}}",
            campaign=f"Campaign {n % 6}",
            creative=f"Creative {n % 6}",
            list=f"List {n % 3}",
            links={"l": {"offer": data.offer.pk}},
        )
        click_id = tap(account, message, BROWSER)
        tap(account, message, CURL if n % 2 else GOOGLEBOT)
        if n % 3 == 0:
            Client(HTTP_HOST=account.domain.host).get(
                "/conv",
                {"click_id": click_id, "revenue": f"{n}.25", "txn_id": f"busy-{n}"}
                | {"token": account.postback_token},
            )
    contact_message = account.mint(
        contact={"external_id": data.spring["contact"]["external_id"]},
        body="Again {{l}}",
        links={"l": {"offer": data.offer.pk}},
    )
    tap(account, contact_message, BROWSER)
    tap(account, contact_message, CURL)
    rollups_build()
    return data


@pytest.mark.django_db
def test_every_page_runs_a_fixed_number_of_queries(
    dashboard: Client, busy: Dataset, django_assert_max_num_queries: Any
) -> None:
    # One dataset for every page (building it is the slow part).
    for page, cap in CAPS.items():
        path = page.format(message=busy.spring["id"], contact=busy.contact_id)
        url = f"/dashboard/{busy.account.account.pk}/{path}"
        for export in (False, True):
            with django_assert_max_num_queries(cap):
                response = dashboard.get(url, {"format": "csv"} if export else {})
                body = b"".join(response.streaming_content) if export else response.content
            assert response.status_code == 200, url
            # The page really shows many rows (else the cap proves nothing).
            rows = body.count(b"\n") if export else body.count(b"<tr")
            assert rows >= 3, (url, export, rows)
