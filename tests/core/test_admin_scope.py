"""Django admin is tenant-scoped for staff who are not superusers: they see, change and pick
only objects of accounts where they are admin or owner, and add members only where owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Permission
from django.test import Client

from core.admin_scope import SuperuserOnlyAdmin, TenantScopedAdmin
from core.models import ApiKey, Membership, Offer
from tests.conftest import AccountFixture

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def offer_of(account: AccountFixture, name: str) -> Offer:
    return Offer.objects.create(
        account=account.account, name=name, destination_url="https://adv.example/"
    )


@pytest.fixture
def mine(make_account: Any) -> AccountFixture:
    """An account the staff user owns."""
    return make_account("Staff Own Co", host="go.staffown.example")


@pytest.fixture
def staff(owner: AccountFixture, mine: AccountFixture) -> AbstractUser:
    """Staff with every model permission: admin of `owner`, owner of `mine`, nothing of
    `outsider`."""
    user = get_user_model().objects.create_user("sam", password=PASSWORD, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["core", "links", "attribution", "auth", "axes"]
        )
    )
    Membership.objects.create(user=user, account=owner.account, role="admin")
    Membership.objects.create(user=user, account=mine.account, role="owner")
    return user


@pytest.fixture
def browser(staff: AbstractUser) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    return client


def test_every_model_admin_is_scoped_or_for_superusers_only() -> None:
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, TenantScopedAdmin | SuperuserOnlyAdmin), model


def test_lists_show_only_the_staff_users_accounts(
    browser: Client, owner: AccountFixture, outsider: AccountFixture
) -> None:
    offer_of(owner, "Ours-Offer")
    offer_of(outsider, "Theirs-Offer")
    ours = owner.mint(body="Go {{l}}", links={"l": {"url": "https://a.example/"}})
    theirs = outsider.mint(body="Go {{l}}", links={"l": {"url": "https://b.example/"}})
    our_link, their_link = ours["links"][0]["link_id"], theirs["links"][0]["link_id"]
    pages = {
        "/admin/core/account/": ("Owner Co", "Outsider Inc"),
        "/admin/core/offer/": ("Ours-Offer", "Theirs-Offer"),
        "/admin/core/apikey/": (
            ApiKey.objects.get(account=owner.account).prefix,
            ApiKey.objects.get(account=outsider.account).prefix,
        ),
        "/admin/core/trackingdomain/": ("go.owner.example", "go.outsider.example"),
        "/admin/links/messageshortlink/": (our_link, their_link),
        "/admin/core/message/": (f">{ours['id']}<", f">{theirs['id']}<"),
    }  # fmt: skip
    for path, (shown, hidden) in pages.items():
        response = browser.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        assert shown in page, path
        assert hidden not in page, path


def test_the_account_filter_names_only_the_staff_users_accounts(
    browser: Client, owner: AccountFixture, outsider: AccountFixture
) -> None:
    offer_of(owner, "Ours-Offer")
    page = browser.get("/admin/core/offer/").content.decode()
    assert "Owner Co" in page
    assert "Outsider Inc" not in page


def test_another_accounts_object_cannot_be_seen_or_changed(
    browser: Client, outsider: AccountFixture
) -> None:
    theirs = offer_of(outsider, "Theirs-Offer")
    url = f"/admin/core/offer/{theirs.pk}/change/"
    response = browser.get(url)
    assert response.status_code in (302, 404)  # Django admin: "does not exist", to the index
    assert b"Theirs-Offer" not in response.content
    browser.post(url, {"name": "Hijacked"})
    theirs.refresh_from_db()
    assert theirs.name == "Theirs-Offer"
    account_page = browser.get(f"/admin/core/account/{outsider.account.pk}/change/")
    assert account_page.status_code in (302, 404)


def new_offer(account_id: int, name: str) -> dict[str, Any]:
    return {
        "account": account_id, "name": name, "status": "active",
        "destination_url": "https://adv.example/", "click_param": "click_id",
        "interstitial_mode": "none", "default_payout": "0",
    }  # fmt: skip


def test_objects_are_added_only_to_the_staff_users_accounts(
    browser: Client, owner: AccountFixture, outsider: AccountFixture
) -> None:
    refused = browser.post("/admin/core/offer/add/", new_offer(outsider.account.pk, "Planted"))
    assert refused.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in refused.content.decode()
    assert not Offer.objects.filter(name="Planted").exists()
    added = browser.post("/admin/core/offer/add/", new_offer(owner.account.pk, "Fine"))
    assert added.status_code == 302
    assert Offer.objects.get(name="Fine").account == owner.account


def test_the_add_form_offers_only_the_staff_users_accounts(
    browser: Client, outsider: AccountFixture
) -> None:
    page = browser.get("/admin/core/offer/add/").content.decode()
    assert "Owner Co" in page
    assert "Outsider Inc" not in page


def test_no_account_is_added_or_deleted_by_staff(browser: Client, owner: AccountFixture) -> None:
    assert browser.get("/admin/core/account/add/").status_code == 403
    assert browser.get(f"/admin/core/account/{owner.account.pk}/delete/").status_code == 403


class TestMemberships:
    def test_none_is_added_where_the_staff_user_is_not_owner(
        self, browser: Client, staff: AbstractUser, owner: AccountFixture, outsider: AccountFixture,
        mine: AccountFixture,
    ) -> None:  # fmt: skip
        newcomer = get_user_model().objects.create_user("newcomer", password=PASSWORD)
        Membership.objects.create(user=newcomer, account=mine.account, role="viewer")
        for account in (outsider, owner):  # nothing there; admin there, not owner
            response = browser.post(
                "/admin/core/membership/add/",
                {"user": staff.pk, "account": account.account.pk, "role": "owner"},
            )
            assert response.status_code == 200, account
            assert "Select a valid choice" in response.content.decode()
        assert not Membership.objects.filter(account=outsider.account).exists()
        assert not Membership.objects.filter(account=owner.account, role="owner").exists()

    def test_an_owner_adds_members_to_their_account(
        self, browser: Client, owner: AccountFixture, mine: AccountFixture
    ) -> None:
        # A member of one of the staff user's accounts can be added to another.
        colleague = get_user_model().objects.create_user("colleague", password=PASSWORD)
        Membership.objects.create(user=colleague, account=owner.account, role="viewer")
        response = browser.post(
            "/admin/core/membership/add/",
            {"user": colleague.pk, "account": mine.account.pk, "role": "admin"},
        )
        assert response.status_code == 302
        assert Membership.objects.get(user=colleague, account=mine.account).role == "admin"

    def test_members_of_an_account_the_staff_user_only_administers_are_read_only(
        self, browser: Client, owner: AccountFixture
    ) -> None:
        viewer = get_user_model().objects.create_user("val", password=PASSWORD)
        membership = Membership.objects.create(user=viewer, account=owner.account, role="viewer")
        url = f"/admin/core/membership/{membership.pk}/change/"
        assert browser.get(url).status_code == 200  # seen
        assert browser.post(url, {"role": "owner"}).status_code == 403
        membership.refresh_from_db()
        assert membership.role == "viewer"

    def test_the_last_owner_is_neither_demoted_nor_deleted(
        self, browser: Client, staff: AbstractUser, mine: AccountFixture
    ) -> None:
        membership = Membership.objects.get(user=staff, account=mine.account)
        url = f"/admin/core/membership/{membership.pk}/change/"
        response = browser.post(url, {"role": "admin"})
        assert response.status_code == 200
        assert "last owner" in response.content.decode()
        assert browser.get(f"/admin/core/membership/{membership.pk}/delete/").status_code == 403
        membership.refresh_from_db()
        assert membership.role == "owner"

    def test_users_are_seen_only_as_members_of_the_staff_users_accounts(
        self, browser: Client, outsider: AccountFixture
    ) -> None:
        stranger = get_user_model().objects.create_user("stranger-zed", password=PASSWORD)
        Membership.objects.create(user=stranger, account=outsider.account, role="owner")
        page = browser.get("/admin/auth/user/").content.decode()
        assert "sam" in page
        assert "stranger-zed" not in page
        own = get_user_model().objects.get(username="sam")
        assert (
            browser.post(f"/admin/auth/user/{own.pk}/change/", {"is_superuser": "on"}).status_code
            == 403
        )
        own.refresh_from_db()
        assert not own.is_superuser


@pytest.mark.parametrize(
    "path", ["/admin/auth/group/", "/admin/axes/accessattempt/", "/admin/axes/accesslog/"]
)
def test_what_belongs_to_no_account_is_for_superusers_only(browser: Client, path: str) -> None:
    assert browser.get(path).status_code == 403


def test_a_superuser_sees_every_account(owner: AccountFixture, outsider: AccountFixture) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    offer_of(outsider, "Theirs-Offer")
    client = Client(HTTP_HOST="localhost")
    client.force_login(root)
    page = client.get("/admin/core/offer/").content.decode()
    assert "Theirs-Offer" in page
    assert client.get("/admin/auth/group/").status_code == 200


class TestApiKeys:
    def test_staff_revoke_their_accounts_keys_and_a_revoked_key_stays_revoked(
        self, browser: Client, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        ours = ApiKey.objects.get(account=owner.account)
        theirs = ApiKey.objects.get(account=outsider.account)
        response = browser.post(
            "/admin/core/apikey/",
            {"action": "revoke", "_selected_action": [ours.pk, theirs.pk]},
        )
        assert response.status_code == 302
        ours.refresh_from_db()
        theirs.refresh_from_db()
        assert ours.revoked_at is not None
        assert theirs.revoked_at is None  # not in the staff user's list, so not selected
        # The date is not a field to clear: un-revoking a key that may have leaked is not
        # an edit.
        browser.post(f"/admin/core/apikey/{ours.pk}/change/", {"name": "x", "revoked_at": ""})
        ours.refresh_from_db()
        assert ours.revoked_at is not None

    def test_the_issue_action_makes_a_key_with_every_scope(
        self, browser: Client, owner: AccountFixture
    ) -> None:
        response = browser.post(
            "/admin/core/account/",
            {"action": "issue_api_key", "_selected_action": [owner.account.pk]},
            follow=True,
        )
        assert "copy it now" in response.content.decode()
        newest = ApiKey.objects.filter(account=owner.account).latest("created_at")
        assert sorted(newest.scopes) == ["config", "mint", "read"]
