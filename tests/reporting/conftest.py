"""The dashboard's cast (a marketer of the owner account, a user of the outsider account,
anonymous) and a small dataset made through the real flows: minting, clicks, postbacks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.utils import timezone

from attribution.fraud import flag_raise
from attribution.models import FraudFlag
from core.models import Membership, Offer
from reporting.services import rollups_build
from tests.helpers import BROWSER, tap

CURL = "curl/8.4.0"
PASSWORD = "a-long-test-password"


def member(account: Any, username: str) -> AbstractUser:
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Membership.objects.create(user=user, account=account.account)
    return user


def logged_in(user: AbstractUser) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Each test makes users; the production hasher costs half a second a password. It
    # stays second, so passwords hashed outside a test (module-wide data) still verify.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture
def marketer(owner: Any) -> AbstractUser:
    return member(owner, "marketer")


@pytest.fixture
def dashboard(marketer: AbstractUser) -> Client:
    """A browser logged in as a member of the owner account."""
    return logged_in(marketer)


@pytest.fixture
def anonymous() -> Client:
    return Client(HTTP_HOST="localhost")


@dataclass
class Dataset:
    account: Any
    offer: Offer
    spring: dict  # a message of the Spring campaign: a person and curl clicked, one sale
    summer: dict  # a message of the Summer campaign: only a bot clicked
    old: dict  # a Spring message sent 40 days ago (outside the default 30 days)
    human_click_id: str
    flag: FraudFlag

    @property
    def contact_id(self) -> int:
        return self.spring["contact"]["id"]


def dataset_build(account: Any) -> Dataset:
    now = timezone.now()
    offer = Offer(account=account.account, name="Sale", destination_url="https://adv.example/sale")
    offer.rotate_postback_secret()
    offer.save()

    def send(contact: str, campaign: str, sent_at: dt.datetime) -> dict:
        return account.mint(
            contact={"external_id": contact, "phone": "+14155550100"},
            body="Deal {{l}}",
            campaign=campaign,
            creative=f"{campaign} A",
            list="Newsletter",
            sent_at=sent_at.isoformat(),
            links={"l": {"offer": offer.pk}},
        )

    spring = send("ann", "Spring", now - dt.timedelta(days=2))
    summer = send("bob", "Summer", now - dt.timedelta(days=1))
    old = send("cat", "Spring", now - dt.timedelta(days=40))
    human = tap(account, spring, BROWSER, at=now - dt.timedelta(days=2, hours=-1))
    tap(account, spring, CURL)
    tap(account, summer, CURL)
    tap(account, old, BROWSER, at=now - dt.timedelta(days=39))
    tracking = Client(HTTP_HOST=account.domain.host)
    token = account.postback_token
    accepted = tracking.get(
        "/conv", {"click_id": human, "revenue": "20.50", "txn_id": "t-1", "token": token}
    )
    assert accepted.status_code == 200, accepted.content
    # a 400
    tracking.get("/conv", {"click_id": human, "revenue": "lots", "txn_id": "t-2", "token": token})
    flag = flag_raise(
        account_id=account.account.pk,
        kind=FraudFlag.Kind.CLICK_FLOOD,
        key="ip:203.0.113.9",
        evidence={"contacts": 7, "seconds": 60},
        ip="203.0.113.9",
    )
    rollups_build()
    return Dataset(account, offer, spring, summer, old, human, flag)


@pytest.fixture
def data(owner: Any) -> Dataset:
    return dataset_build(owner)
