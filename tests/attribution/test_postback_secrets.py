"""No postback secret or token is kept in the postback log, however the request carried it
(attribution.views, through attribution.redaction); the rest of the row is kept as sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from attribution.models import PostbackLog
from tests.helpers import make_offer_and_secret, tracking

pytestmark = pytest.mark.django_db


def stored(secret: str) -> PostbackLog:
    log = PostbackLog.objects.get()
    for value in PostbackLog.objects.values().get().values():
        assert secret not in str(value)
    return log


# Names Django reads as `secret`: the request is accepted, and the secret still not kept.
@pytest.mark.parametrize("name", ["secret", "secre%74", "%73%65cret"])
def test_an_offer_secret_in_the_query_is_accepted_and_never_stored(owner: Any, name: str) -> None:
    offer, secret = make_offer_and_secret(owner)
    response = tracking(owner).get(f"/conv/offer?offer_id={offer.pk}&{name}={secret}&revenue=2")
    assert response.status_code == 200, response.content
    log = stored(secret)
    assert log.query == f"offer_id={offer.pk}&{name}=[redacted]&revenue=2"


# Names Django does not read as `secret` (so 403), which a network still meant as one.
@pytest.mark.parametrize("name", ["SECRET", "Secret", "secre%2574"])
def test_a_secret_under_another_spelling_is_not_stored_either(owner: Any, name: str) -> None:
    offer, secret = make_offer_and_secret(owner)
    response = tracking(owner).get(f"/conv/offer?offer_id={offer.pk}&{name}={secret}")
    assert response.status_code == 403
    assert stored(secret).query == f"offer_id={offer.pk}&{name}=[redacted]"


def test_a_secret_in_an_urlencoded_form_with_an_encoded_name_is_not_stored(owner: Any) -> None:
    offer, secret = make_offer_and_secret(owner)
    body = f"offer_id={offer.pk}&secre%74={secret}&revenue=3"
    response = tracking(owner).post(
        "/conv/offer", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    assert stored(secret).body == f"offer_id={offer.pk}&secre%74=[redacted]&revenue=3"


def test_a_secret_in_a_multipart_form_is_accepted_and_not_stored(owner: Any) -> None:
    offer, secret = make_offer_and_secret(owner)
    # The test client sends a dict as multipart/form-data.
    response = tracking(owner).post(
        "/conv/offer", {"offer_id": str(offer.pk), "secret": secret, "revenue": "3"}
    )
    assert response.status_code == 200, response.content
    log = stored(secret)
    assert 'name="secret"\r\n\r\n[redacted]\r\n' in log.body
    assert 'name="revenue"\r\n\r\n3\r\n' in log.body  # the rest kept as sent


def test_a_secret_in_a_json_body_is_not_stored(owner: Any) -> None:
    offer, secret = make_offer_and_secret(owner)
    body = json.dumps({"offer_id": offer.pk, "secret": secret, "revenue": "3"})
    tracking(owner).post("/conv/offer", body, content_type="application/json")
    assert json.loads(stored(secret).body) == {
        "offer_id": offer.pk,
        "secret": "[redacted]",
        "revenue": "3",
    }


def test_a_secret_in_a_body_django_cannot_parse_is_not_stored(owner: Any) -> None:
    offer, secret = make_offer_and_secret(owner)
    response = tracking(owner).post(
        "/conv/offer", f"offer_id={offer.pk}&secret={secret}", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert stored(secret).body == f"offer_id={offer.pk}&secret=[redacted]"


@pytest.mark.parametrize("where", ["query", "form"])
def test_the_postback_token_is_not_stored(owner: Any, where: str) -> None:
    token = owner.postback_token
    if where == "query":
        response = tracking(owner).get(f"/conv?link_id=Abcdefg&token={token}")
    else:
        response = tracking(owner).post(
            "/conv", f"link_id=Abcdefg&token={token}", "application/x-www-form-urlencoded"
        )
    assert response.status_code == 404  # the token was right; there is no such link
    log = stored(token)
    assert (log.query or log.body) == "link_id=Abcdefg&token=[redacted]"


def test_a_wrong_token_is_not_stored_and_its_refusal_is_logged(owner: Any) -> None:
    response = tracking(owner).get("/conv?link_id=Abcdefg&token=pbt_guess")
    assert response.status_code == 403
    log = stored("pbt_guess")
    assert (log.outcome, log.http_status) == ("rejected", 403)
    assert "token" in log.reason


def test_a_token_in_a_pixel_url_is_not_stored(owner: Any) -> None:
    tracking(owner).get(f"/pixel/Abcdefg.gif?token={owner.postback_token}")
    assert stored(owner.postback_token).query == "token=[redacted]"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{{=1&offer_id={offer}&secret={secret}&revenue=1", id="looks-like-json"),
        pytest.param(
            "a=1\ncontent-disposition: x&offer_id={offer}&secret={secret}",
            id="looks-like-multipart",
        ),  # fmt: skip
    ],
)
def test_a_form_shaped_to_look_like_another_body_keeps_no_secret(owner: Any, body: str) -> None:
    offer, secret = make_offer_and_secret(owner)
    tracking(owner).post(
        "/conv/offer", body.format(offer=offer.pk, secret=secret),
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    stored(secret)


def test_a_multipart_part_header_with_leading_space_keeps_no_secret(owner: Any) -> None:
    offer, secret = make_offer_and_secret(owner)
    body = (
        f'--B\r\nContent-Disposition: form-data; name="offer_id"\r\n\r\n{offer.pk}\r\n'
        f'--B\r\n Content-Disposition: form-data; name="secret"\r\n\r\n{secret}\r\n--B--\r\n'
    )
    tracking(owner).post("/conv/offer", body, content_type="multipart/form-data; boundary=B")
    stored(secret)


def test_a_form_in_utf_16_keeps_no_secret(owner: Any) -> None:
    offer, secret = make_offer_and_secret(owner)
    body = f"offer_id={offer.pk}&secret={secret}&revenue=1".encode("utf-16-le")
    response = tracking(owner).post(
        "/conv/offer", body, content_type="application/x-www-form-urlencoded; charset=utf-16-le"
    )
    assert response.status_code in (400, 403)
    stored(secret)


def test_a_declared_utf_7_cannot_spell_the_token_past_the_log(owner: Any) -> None:
    # Read as UTF-7, `+AHQ-oken` is `token`; a tracking request is read as UTF-8 only.
    link_id = owner.mint(body="https://a.example/")["links"][0]["link_id"]
    response = tracking(owner).get(
        f"/conv?link_id={link_id}&+AHQ-oken={owner.postback_token}",
        CONTENT_TYPE="text/plain; charset=utf-7",
    )
    assert response.status_code == 403
    assert response.json()["field"] == "token"


def test_any_method_a_client_sends_is_logged_then_refused(owner: Any) -> None:
    response = tracking(owner).generic("MKCALENDAR", "/conv?link_id=Ab3xK9q")
    assert response.status_code == 405
    log = PostbackLog.objects.get()
    assert (log.method, log.outcome, log.http_status) == ("MKCALEND", "rejected", 405)
