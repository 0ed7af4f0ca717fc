"""Test and internal traffic: a contact or list marked `is_test`, or a click from one of the
account's `internal_ips`, is stored with reason `internal` and never counts."""

from __future__ import annotations

from django.db import transaction

from core.models import Contact
from links.resolve import link_config_changed


def contact_is_test_set(*, contact_id: int, is_test: bool) -> None:
    """Mark a contact as a tester (or not). The redirect reads the flag from its cached
    link info, so the change bumps the config version (now and again on commit)."""
    Contact.objects.filter(pk=contact_id).update(is_test=is_test)
    link_config_changed()
    transaction.on_commit(link_config_changed)
