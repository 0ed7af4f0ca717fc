"""Roles in the dashboard: every role reads and exports; admins and owners manage API keys;
owners manage members; other roles get 403, other accounts 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.test import Client

from core.models import ApiKey, Membership, hash_secret
from tests.conftest import AccountFixture
from tests.reporting.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db

ROLES = ["viewer", "member", "admin", "owner"]


def with_role(account: AccountFixture, username: str, role: str) -> AbstractUser:
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Membership.objects.create(user=user, account=account.account, role=role)
    return user


@pytest.fixture
def cast(owner: AccountFixture, outsider: AccountFixture) -> dict[str, Client]:
    """One browser per role in the owner account, and one of the outsider account."""
    clients = {role: logged_in(with_role(owner, role, role)) for role in ROLES}
    clients["outsider"] = logged_in(with_role(outsider, "stranger", "owner"))
    return clients


def url(account: AccountFixture, path: str = "") -> str:
    return f"/dashboard/{account.account.pk}/{path}"


def a_key(account: AccountFixture) -> ApiKey:
    return ApiKey.objects.filter(account=account.account).first()


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_reports_and_exports_them(
    cast: dict[str, Client], owner: AccountFixture, role: str
) -> None:
    for path in ("", "campaigns/", "messages/", "conversions/"):
        assert cast[role].get(url(owner, path)).status_code == 200, path
    assert cast[role].get(url(owner, "campaigns/"), {"format": "csv"}).status_code == 200


class TestApiKeysPage:
    @pytest.mark.parametrize("role", ["admin", "owner"])
    def test_admins_and_owners_see_the_keys(
        self, cast: dict[str, Client], owner: AccountFixture, role: str
    ) -> None:
        response = cast[role].get(url(owner, "api-keys/"))
        assert response.status_code == 200
        page = response.content.decode()
        key = a_key(owner)
        assert f"trk_{key.prefix}_" in page
        assert ", ".join(key.scopes) in page

    @pytest.mark.parametrize("role", ["viewer", "member"])
    def test_other_roles_get_403_on_the_page_and_its_forms(
        self, cast: dict[str, Client], owner: AccountFixture, role: str
    ) -> None:
        key = a_key(owner)
        client = cast[role]
        assert client.get(url(owner, "api-keys/")).status_code == 403
        created = client.post(url(owner, "api-keys/"), {"name": "Sneaky", "scopes": ["mint"]})
        assert created.status_code == 403
        revoked = client.post(url(owner, f"api-keys/{key.pk}/revoke/"))
        assert revoked.status_code == 403
        assert not ApiKey.objects.filter(name="Sneaky").exists()
        key.refresh_from_db()
        assert key.revoked_at is None

    def test_another_account_is_404(self, cast: dict[str, Client], owner: AccountFixture) -> None:
        key = a_key(owner)
        stranger = cast["outsider"]
        assert stranger.get(url(owner, "api-keys/")).status_code == 404
        assert stranger.post(url(owner, f"api-keys/{key.pk}/revoke/")).status_code == 404

    def test_a_key_of_another_account_under_ones_own_is_404(
        self, cast: dict[str, Client], owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        # The outsider's owner guesses the owner account's key id under their own account.
        key = a_key(owner)
        response = cast["outsider"].post(url(outsider, f"api-keys/{key.pk}/revoke/"))
        assert response.status_code == 404
        key.refresh_from_db()
        assert key.revoked_at is None

    def test_creating_a_key_shows_it_once(
        self, cast: dict[str, Client], owner: AccountFixture
    ) -> None:
        client = cast["admin"]
        response = client.post(url(owner, "api-keys/"), {"name": "CRM", "scopes": ["read"]})
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        key = ApiKey.objects.get(account=owner.account, name="CRM")
        assert key.scopes == ["read"]
        page = response.content.decode()
        raw = re.search(r'<code class="secret">([^<]+)</code>', page).group(1)
        assert key.key_hash == hash_secret(raw)
        assert raw not in client.get(url(owner, "api-keys/")).content.decode()

    @pytest.mark.parametrize(
        ("form", "field"),
        [({"name": "CRM"}, "scopes"), ({"name": " ", "scopes": ["read"]}, "name"),
         ({"name": "CRM", "scopes": ["root"]}, "scopes")],
    )  # fmt: skip
    def test_a_bad_form_is_a_400_naming_the_field(
        self, cast: dict[str, Client], owner: AccountFixture, form: dict, field: str
    ) -> None:
        before = ApiKey.objects.count()
        response = cast["owner"].post(url(owner, "api-keys/"), form)
        assert response.status_code == 400
        assert f"{field}:" in response.content.decode()
        assert ApiKey.objects.count() == before

    def test_revoking_a_key_refuses_it_at_once(
        self, cast: dict[str, Client], owner: AccountFixture
    ) -> None:
        key = a_key(owner)
        response = cast["admin"].post(url(owner, f"api-keys/{key.pk}/revoke/"))
        assert response.status_code == 302
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert owner.get("/api/v1/reports/campaigns").status_code == 401

    def test_revoking_needs_the_csrf_token(self, owner: AccountFixture) -> None:
        browser = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
        browser.force_login(with_role(owner, "careful", "admin"))
        key = a_key(owner)
        assert browser.post(url(owner, f"api-keys/{key.pk}/revoke/")).status_code == 403
        key.refresh_from_db()
        assert key.revoked_at is None


class TestMembersPage:
    @pytest.mark.parametrize("role", ["viewer", "member", "admin"])
    def test_only_owners_manage_members(
        self, cast: dict[str, Client], owner: AccountFixture, role: str
    ) -> None:
        client = cast[role]
        viewer = Membership.objects.get(account=owner.account, user__username="viewer")
        assert client.get(url(owner, "members/")).status_code == 403
        added = client.post(url(owner, "members/"), {"username": "stranger", "role": "owner"})
        assert added.status_code == 403
        promoted = client.post(url(owner, f"members/{viewer.pk}/role/"), {"role": "owner"})
        assert promoted.status_code == 403
        assert client.post(url(owner, f"members/{viewer.pk}/remove/")).status_code == 403
        viewer.refresh_from_db()
        assert viewer.role == "viewer"
        assert not Membership.objects.filter(account=owner.account, user__username="stranger")

    def test_another_account_is_404(self, cast: dict[str, Client], owner: AccountFixture) -> None:
        viewer = Membership.objects.get(account=owner.account, user__username="viewer")
        stranger = cast["outsider"]
        assert stranger.get(url(owner, "members/")).status_code == 404
        assert stranger.post(url(owner, f"members/{viewer.pk}/remove/")).status_code == 404
        assert Membership.objects.filter(pk=viewer.pk).exists()

    def test_a_membership_of_another_account_under_ones_own_is_404(
        self, cast: dict[str, Client], owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        viewer = Membership.objects.get(account=owner.account, user__username="viewer")
        response = cast["outsider"].post(url(outsider, f"members/{viewer.pk}/remove/"))
        assert response.status_code == 404
        assert Membership.objects.filter(pk=viewer.pk).exists()

    def test_an_owner_adds_a_user_by_username_with_a_role(
        self, cast: dict[str, Client], owner: AccountFixture
    ) -> None:
        get_user_model().objects.create_user("newcomer", password=PASSWORD)
        response = cast["owner"].post(
            url(owner, "members/"), {"username": "newcomer", "role": "admin"}
        )
        assert response.status_code == 302
        added = Membership.objects.get(account=owner.account, user__username="newcomer")
        assert added.role == "admin"
        assert logged_in(added.user).get(url(owner, "api-keys/")).status_code == 200

    @pytest.mark.parametrize(
        ("form", "field", "message"),
        [
            ({"username": "nobody", "role": "viewer"}, "username", "No user is called"),
            ({"username": "viewer", "role": "viewer"}, "username", "already a member"),
            ({"username": "viewer", "role": "god"}, "role", "role:"),
        ],
    )
    def test_a_bad_addition_is_a_400_naming_it(
        self, cast: dict[str, Client], owner: AccountFixture, form: dict, field: str, message: str
    ) -> None:
        before = Membership.objects.count()
        response = cast["owner"].post(url(owner, "members/"), form)
        assert response.status_code == 400
        page = response.content.decode()
        assert f"{field}:" in page
        assert message in page
        assert Membership.objects.count() == before

    def test_an_owner_changes_a_role_and_removes_a_member(
        self, cast: dict[str, Client], owner: AccountFixture
    ) -> None:
        viewer = Membership.objects.get(account=owner.account, user__username="viewer")
        client = cast["owner"]
        assert (
            client.post(url(owner, f"members/{viewer.pk}/role/"), {"role": "admin"}).status_code
            == 302
        )
        viewer.refresh_from_db()
        assert viewer.role == "admin"
        assert client.post(url(owner, f"members/{viewer.pk}/remove/")).status_code == 302
        assert not Membership.objects.filter(pk=viewer.pk).exists()
        assert cast["viewer"].get(url(owner)).status_code == 404

    def test_the_last_owner_can_be_neither_demoted_nor_removed(
        self, cast: dict[str, Client], owner: AccountFixture
    ) -> None:
        mine = Membership.objects.get(account=owner.account, user__username="owner")
        client = cast["owner"]
        demoted = client.post(url(owner, f"members/{mine.pk}/role/"), {"role": "admin"})
        assert demoted.status_code == 400
        assert "last owner" in demoted.content.decode()
        removed = client.post(url(owner, f"members/{mine.pk}/remove/"))
        assert removed.status_code == 400
        assert "last owner" in removed.content.decode()
        mine.refresh_from_db()
        assert mine.role == "owner"

    def test_with_another_owner_an_owner_may_step_down(
        self, cast: dict[str, Client], owner: AccountFixture
    ) -> None:
        Membership.objects.filter(account=owner.account, user__username="admin").update(
            role="owner"
        )
        mine = Membership.objects.get(account=owner.account, user__username="owner")
        response = cast["owner"].post(url(owner, f"members/{mine.pk}/role/"), {"role": "viewer"})
        assert response.status_code == 302
        assert response["Location"] == url(owner)  # no longer allowed on the Members page
        mine.refresh_from_db()
        assert mine.role == "viewer"


@pytest.mark.parametrize(
    ("role", "api_keys", "members"),
    [("viewer", False, False), ("member", False, False), ("admin", True, False),
     ("owner", True, True)],
)  # fmt: skip
def test_the_nav_links_only_what_the_role_may_use(
    cast: dict[str, Client], owner: AccountFixture, role: str, api_keys: bool, members: bool
) -> None:
    page = cast[role].get(url(owner)).content.decode()
    assert (f'href="{url(owner, "api-keys/")}"' in page) is api_keys
    assert (f'href="{url(owner, "members/")}"' in page) is members


def test_roles_are_decided_by_the_membership_rules(db: Any) -> None:
    rules = {
        role: (
            Membership(role=role).can_manage_config(),
            Membership(role=role).can_manage_members(),
        )
        for role in ROLES
    }
    assert rules == {
        "viewer": (False, False),
        "member": (False, False),
        "admin": (True, False),
        "owner": (True, True),
    }
