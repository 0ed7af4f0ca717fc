"""Test and internal traffic: a contact or list marked `is_test`, or a click from one of the
account's `internal_ips`, is stored with reason `internal` and never counts.

The verdict is made at the click (links.bots.is_internal, from the link info links.resolve
caches); this module is how a contact's flag changes, so the redirect hears of it (a
config version bump, as links.signals does for accounts and lists). Forward only: clicks
already stored keep the verdict they had.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction

from core.models import Contact
from links.resolve import link_config_changed


def contact_is_test_set(*, contact_id: int, is_test: bool) -> bool:
    """Mark a contact as a tester (or not). The redirect reads the flag from its cached
    link info, so a change bumps the config version (now and again on commit). Returns
    whether the flag changed."""
    return contacts_is_test_set(contact_ids=[contact_id], is_test=is_test) > 0


def contacts_is_test_set(*, contact_ids: Collection[int], is_test: bool) -> int:
    """The same for many contacts (minting's `contact.is_test`); bumps the config version
    only when a flag changed. Returns how many changed."""
    if not contact_ids:
        return 0
    changed = (
        Contact.objects.filter(pk__in=list(contact_ids))
        .exclude(is_test=is_test)
        .update(is_test=is_test)
    )
    if changed:
        config_changed()
    return changed


def config_changed() -> None:
    """Now, and again once committed: a redirect that read the old row between the update
    and the commit must not keep it cached under the new version."""
    link_config_changed()
    transaction.on_commit(link_config_changed)
