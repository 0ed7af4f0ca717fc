"""Cache invalidation when configuration changes, from the API, services or admin alike."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from core.models import (
    Account,
    Campaign,
    Contact,
    Creative,
    InterstitialTemplate,
    Message,
    Offer,
    SendingList,
    TrackingDomain,
)
from links.models import MessageShortLink
from links.resolve import link_config_changed


def _changed(sender: type, instance: Any, **kwargs: Any) -> None:
    if kwargs.get("created") and sender in (MessageShortLink, Message, Contact, Campaign, Creative):
        # A new link was never cached, except as unknown for a minute at most; a new
        # campaign or creative has no cached link yet (minting makes them).
        return
    # Now, and again once the change is committed: a redirect that read the old row
    # between the save and the commit must not keep it cached under the new version.
    link_config_changed()
    transaction.on_commit(link_config_changed)


def connect() -> None:
    for model in (
        Account,
        Offer,
        SendingList,
        InterstitialTemplate,
        TrackingDomain,
        MessageShortLink,
        Message,
        # Their names and the campaign's UTM template reach the links' UTM parameters
        # (links.resolve.LinkInfo.utm_pairs).
        Campaign,
        Creative,
    ):
        post_save.connect(_changed, sender=model, dispatch_uid=f"linkcfg-save-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"linkcfg-delete-{model.__name__}")
    # A contact saved one at a time (the admin; the API and minting change `is_test` through
    # links.internal): its link info carries the tester flag. Bulk writes send no signal.
    post_save.connect(_changed, sender=Contact, dispatch_uid="linkcfg-save-Contact")
