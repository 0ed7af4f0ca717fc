"""Access workflows: API keys issued and revoked, members added, given a role and removed.

Who may call each is the caller's check (Membership's rules, a key's `config` scope); what
every path must respect whoever calls is here: a key grants (and revokes) only scopes it
holds, and an account keeps at least one owner.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import Account, ApiKey, ApiScope, Membership


class AccessError(Exception):
    """A request the rules refuse: `field` names what is wrong; `status` is 400 for bad
    input, 403 for authority the caller lacks."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length


def api_key_name_clean(name: str) -> str:
    name = name.strip()
    if not name:
        raise AccessError("name", "Give the key a name, such as the system that will use it.")
    if len(name) > NAME_MAX_LENGTH:
        raise AccessError("name", f"At most {NAME_MAX_LENGTH} characters.")
    return name


def api_key_scopes_clean(scopes: Iterable[str], *, granted_by: ApiKey | None) -> list[str]:
    """The scopes, known and at least one; a key (`granted_by`) grants only its own."""
    scopes = sorted(set(scopes))
    known = set(ApiScope.values)
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise AccessError(
            "scopes", f"Unknown scope {unknown[0]!r}: use {', '.join(sorted(known))}."
        )
    if not scopes:
        raise AccessError("scopes", f"Give at least one scope: {', '.join(sorted(known))}.")
    _within_scopes_of(granted_by, scopes, "grant")
    return scopes


def _within_scopes_of(key: ApiKey | None, scopes: Iterable[str], verb: str) -> None:
    if key is None:  # a person with the right role (dashboard, admin) holds every scope
        return
    missing = [s for s in sorted(scopes) if not key.has_scope(s)]
    if missing:
        raise AccessError(
            "scopes",
            f"This API key does not hold the {missing[0]!r} scope, so it cannot {verb} it.",
            status=403,
        )


def api_key_issue(
    *, account: Account, name: str, scopes: Iterable[str], granted_by: ApiKey | None = None
) -> tuple[ApiKey, str]:
    """A new key of the account; the key itself is returned this once (only its hash is
    kept)."""
    name = api_key_name_clean(name)
    scopes = api_key_scopes_clean(scopes, granted_by=granted_by)
    return ApiKey.generate(account=account, name=name, scopes=scopes)


def api_key_revoke(*, key: ApiKey, revoked_by: ApiKey | None = None) -> ApiKey:
    """Revoke the key (it may be the key asking: a leaked key can end itself); again is a
    no-op. A key revokes only keys whose scopes it holds all of, so a `config` key cannot
    cut off the sending platform's `mint` key."""
    _within_scopes_of(revoked_by, key.scopes, "revoke a key holding")
    # Conditional, so the first revocation's time stays whoever revokes it again.
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db(fields=["revoked_at"])
    return key


def _role_clean(role: str) -> str:
    if role not in Membership.Role.values:
        raise AccessError(
            "role", f"Unknown role {role!r}: use {', '.join(Membership.Role.values)}."
        )
    return role


def membership_add(*, account: Account, username: str, role: str) -> Membership:
    role = _role_clean(role)
    user_model = get_user_model()
    try:
        user = user_model.objects.get(**{user_model.USERNAME_FIELD: username.strip()})
    except user_model.DoesNotExist:
        raise AccessError("username", f"No user is called {username.strip()!r}.") from None
    try:
        # The unique (user, account) constraint decides under a race, not an exists().
        with transaction.atomic():
            return Membership.objects.create(user=user, account=account, role=role)
    except IntegrityError:
        raise AccessError("username", f"{user} is already a member of this account.") from None


def membership_role_change(*, membership: Membership, role: str) -> Membership:
    role = _role_clean(role)
    with transaction.atomic():
        current = _locked(membership)
        if role != Membership.Role.OWNER:
            _keep_an_owner(current, "role")
        current.role = role
        current.save(update_fields=["role"])
    return current


def membership_remove(*, membership: Membership) -> None:
    with transaction.atomic():
        current = _locked(membership)
        _keep_an_owner(current, "membership")
        current.delete()


def _locked(membership: Membership) -> Membership:
    # The account's row is locked for every change of its members: two owners demoting
    # (or removing) each other at once would otherwise each see the other still owner and
    # leave the account with none.
    Account.objects.select_for_update().filter(pk=membership.account_id).first()
    current = Membership.objects.select_related("user").filter(pk=membership.pk).first()
    if current is None:  # removed by someone else a moment ago
        raise AccessError("membership", "This member was removed meanwhile.", status=404)
    return current


def membership_is_last_owner(membership: Membership) -> bool:
    """The account's only owner, whom no change may demote or remove."""
    return (
        membership.role == Membership.Role.OWNER
        and not Membership.objects.filter(
            account_id=membership.account_id, role=Membership.Role.OWNER
        )
        .exclude(pk=membership.pk)
        .exists()
    )


def _keep_an_owner(membership: Membership, field: str) -> None:
    if membership_is_last_owner(membership):
        raise AccessError(
            field,
            f"{membership.user} is the account's last owner: make another member owner first.",
        )
