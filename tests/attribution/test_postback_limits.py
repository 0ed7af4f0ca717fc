"""What a postback may carry: at most MAX_TRACKING_REQUEST_BYTES of query and body (413),
and a body Django cannot read is a 400; both logged as rejected, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from attribution.models import Conversion, PostbackLog
from attribution.views import PIXEL
from core import bounds
from core.models import Offer

pytestmark = pytest.mark.django_db
LIMIT = bounds.MAX_TRACKING_REQUEST_BYTES


def tracking(account: Any) -> Client:
    return Client(HTTP_HOST=account.domain.host)


def rejected(status: int) -> PostbackLog:
    log = PostbackLog.objects.get()
    assert (log.outcome, log.http_status) == ("rejected", status)
    assert not Conversion.objects.exists()
    return log


class TestSize:
    @pytest.mark.parametrize("path", ["/conv", "/conv/offer"])
    def test_a_query_past_the_limit_is_a_413_logged_and_stored_cut_to_the_limit(
        self, owner: Any, path: str
    ) -> None:
        query = f"token={owner.postback_token}&pad=" + "x" * LIMIT
        response = tracking(owner).get(f"{path}?{query}")
        assert response.status_code == 413
        assert "too large" in response.json()["error"]
        log = rejected(413)
        assert "too large" in log.reason
        assert len(log.query) == LIMIT and log.query.startswith("token=[redacted]&pad=xxx")

    def test_a_body_past_the_limit_is_a_413_and_is_not_read(self, owner: Any) -> None:
        body = "click_id=abc&pad=" + "x" * LIMIT
        response = tracking(owner).post("/conv", body, "application/x-www-form-urlencoded")
        assert response.status_code == 413
        assert rejected(413).body == ""

    def test_query_and_body_count_together(self, owner: Any) -> None:
        half = "x" * (LIMIT // 2)
        response = tracking(owner).post(
            f"/conv?a={half}", f"b={half}", "application/x-www-form-urlencoded"
        )
        assert response.status_code == 413

    def test_a_postback_just_within_the_limit_is_read(self, owner: Any) -> None:
        query = f"token={owner.postback_token}&link_id=Abcdefg&pad="
        response = tracking(owner).get(f"/conv?{query}" + "x" * (LIMIT - len(query)))
        assert response.status_code == 404  # read, checked, and the link is not there

    def test_the_pixel_answers_its_gif_with_a_413(self, owner: Any) -> None:
        response = tracking(owner).get("/pixel/Abcdefg.gif?pad=" + "x" * LIMIT)
        assert response.status_code == 413 and response.content == PIXEL
        assert response["Content-Type"] == "image/gif"
        rejected(413)


class TestUnreadableBodies:
    @pytest.mark.parametrize("path", ["/conv", "/conv/offer"])
    def test_multipart_without_a_boundary_is_a_400_logged_as_rejected(
        self, owner: Any, path: str
    ) -> None:
        response = tracking(owner).post(
            path, "--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n",
            content_type="multipart/form-data",
        )  # fmt: skip
        assert response.status_code == 400
        assert "multipart/form-data" in response.json()["error"]
        log = rejected(400)
        assert "could not be read" in log.reason
        assert "name=a\r\n\r\n1" in log.body  # kept as sent

    def test_a_pixel_with_such_a_body_still_gets_the_gif(self, owner: Any) -> None:
        response = tracking(owner).post(
            "/pixel/Abcdefg.gif", "x", content_type="multipart/form-data; boundary="
        )
        assert response.status_code == 200 and response.content == PIXEL
        rejected(400)

    def test_more_fields_than_django_reads_is_a_400(self, owner: Any) -> None:
        response = tracking(owner).get("/conv?" + "&".join(f"f{n}=1" for n in range(1200)))
        assert response.status_code == 400
        assert "could not be read" in response.json()["error"]
        rejected(400)

    def test_a_well_formed_multipart_postback_is_accepted(self, owner: Any) -> None:
        offer = Offer(account=owner.account, name="O", destination_url="https://a.example/")
        secret = offer.rotate_postback_secret()
        offer.save()
        response = tracking(owner).post(
            "/conv/offer", {"offer_id": str(offer.pk), "secret": secret, "revenue": "2"}
        )
        assert response.status_code == 200 and response.json()["status"] == "accepted"
