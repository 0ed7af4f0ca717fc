"""Requests the app hosts cannot use are a 400 naming what is wrong, logged, never a 500:
a NUL in a query parameter (trackly.middleware.QueryTextMiddleware), a form body Django
cannot read (trackly.error_pages)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from attribution.models import PostbackLog
from core.models import Campaign, Membership
from tests.conftest import AccountFixture

pytestmark = pytest.mark.django_db

DASHBOARD_PAGES = ["", "campaigns/", "creatives/", "offers/", "lists/", "messages/",
                   "conversions/", "postbacks/", "bots/"]  # fmt: skip
DASHBOARD_PARAMS = ["start", "end", "sort", "page", "format", "table", "campaign", "creative",
                    "offer", "list", "status", "flags_sort", "links_sort", "q"]  # fmt: skip
API_PARAMS = {
    "/api/v1/conversions": ["start", "end", "offer", "campaign", "status", "attribution",
                            "event", "limit", "offset"],
    "/api/v1/reports/messages": ["start", "end", "campaign", "order", "page", "page_size",
                                 "format"],
    "/api/v1/offers": ["limit", "offset", "anything"],
}  # fmt: skip


def browser(user: Any = None) -> Client:
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def marketer_of(account: AccountFixture) -> Any:
    user = get_user_model().objects.create_user("marketer")
    Membership.objects.create(user=user, account=account.account)
    return user


class TestNulInAQueryParameter:
    def test_a_conversions_filter_is_a_400_naming_it_not_a_500(
        self, owner: AccountFixture, caplog: Any
    ) -> None:
        owner.client.raise_request_exception = False
        with caplog.at_level(logging.INFO):
            response = owner.client.get("/api/v1/conversions?status=%00")
        assert response.status_code == 400
        assert response.json() == {
            "detail": "Invalid request: see errors.",
            "errors": {"status": ["Contains a NUL character (U+0000), which is not allowed."]},
        }
        assert "query parameter 'status' refused" in caplog.text

    @pytest.mark.parametrize(
        ("path", "param"), [(path, p) for path, params in API_PARAMS.items() for p in params]
    )
    def test_every_api_parameter_is_a_400_naming_it(
        self, owner: AccountFixture, path: str, param: str
    ) -> None:
        owner.client.raise_request_exception = False
        response = owner.client.get(f"{path}?{param}=1%00")
        assert response.status_code == 400
        assert list(response.json()["errors"]) == [param]

    def test_every_dashboard_page_answers_a_400_page_naming_it(self, owner: AccountFixture) -> None:
        client = browser(marketer_of(owner))
        for page in DASHBOARD_PAGES:
            for param in DASHBOARD_PARAMS:
                url = f"/dashboard/{owner.account.pk}/{page}?{param}=%00"
                response = client.get(url)
                assert response.status_code == 400, url
                assert f"<code>{param}</code>" in response.content.decode(), url

    def test_the_admin_search_is_a_400(self, owner: AccountFixture) -> None:
        admin = get_user_model().objects.create_superuser("root", "r@example.com", None)
        response = browser(admin).get("/admin/core/offer/?q=a%00b")
        assert response.status_code == 400
        assert b"<code>q</code>" in response.content

    def test_a_parameter_name_is_checked_and_shown_printably(self, owner: AccountFixture) -> None:
        owner.client.raise_request_exception = False
        response = owner.client.get("/api/v1/offers?a%00b=1")
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["a\\u0000b"]

    def test_a_tracking_domains_redirect_is_not_its_business(self, owner: AccountFixture) -> None:
        link = owner.mint(body="{{l}}", links={"l": {"url": "https://shop.example/"}})["links"][0]
        response = Client(HTTP_HOST=owner.domain.host).get(f"/{link['link_id']}?x=%00")
        assert response.status_code == 302


class TestFormBodyWithoutABoundary:
    @pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
    @pytest.mark.parametrize(
        "content_type", ["multipart/form-data", "multipart/form-data; boundary="]
    )
    def test_a_login_post_is_a_400_page_naming_it_and_logged(
        self, db: Any, path: str, content_type: str, caplog: Any
    ) -> None:
        client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
        client.get("/accounts/login/")  # the CSRF cookie, as a browser would have it
        token = client.cookies["csrftoken"].value
        with caplog.at_level(logging.WARNING):
            response = client.post(
                path, data=b"username=a", content_type=content_type, HTTP_X_CSRFTOKEN=token
            )
        assert response.status_code == 400
        assert b"The form data could not be read: Invalid boundary" in response.content
        assert f"Bad request (Unable to parse request body): {path}" in caplog.text

    @pytest.mark.parametrize(
        "content_type", ["multipart/form-data", "application/x-www-form-urlencoded"]
    )
    def test_the_api_answers_a_form_body_with_a_415_in_json(
        self, owner: AccountFixture, content_type: str
    ) -> None:
        response = owner.client.post("/api/v1/messages", data=b"body=x", content_type=content_type)
        assert response.status_code == 415
        assert "Unsupported media type" in response.json()["detail"]


class TestFormPosts:
    def test_a_login_with_bytes_that_are_no_utf_8_is_a_form_error_not_a_500(self, db: Any) -> None:
        # An encoded lone surrogate (ED A0 80): Django decodes form bodies with replacement.
        response = browser().post(
            "/accounts/login/",
            data="username=a%ED%A0%80&password=x",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        assert b"That username and password do not match" in response.content

    def test_an_admin_form_refuses_a_nul_by_itself(self, owner: AccountFixture) -> None:
        admin = get_user_model().objects.create_superuser("root", "r@example.com", None)
        response = browser(admin).post(
            "/admin/core/campaign/add/",
            {"account": owner.account.pk, "name": "a\x00b", "created_at_0": "2026-01-01",
             "created_at_1": "00:00:00"},
        )  # fmt: skip
        assert response.status_code == 200
        assert b"Null characters are not allowed." in response.content
        assert not Campaign.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["%2B2AA-", "%2BAAA-"])  # a lone surrogate, a NUL, in UTF-7
def test_a_query_decoded_in_a_declared_charset_is_checked_too(owner: Any, value: str) -> None:
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {owner.api_key}")
    response = client.get(
        f"/api/v1/conversions?event={value}", CONTENT_TYPE="text/plain; charset=utf-7"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["event"]


@pytest.mark.django_db
def test_a_postback_form_in_a_charset_django_refuses_is_a_logged_400(owner: Any) -> None:
    response = Client(HTTP_HOST=owner.domain.host).post(
        "/conv", b"link_id=Ab3xK9q&token=x",
        content_type="application/x-www-form-urlencoded; charset=latin-1",
    )  # fmt: skip
    assert response.status_code in (400, 403, 404)
    assert response["Content-Type"] == "application/json"
    log = PostbackLog.objects.get()
    assert log.outcome == "rejected" and log.http_status == response.status_code
