"""What attribution does when a lower layer tells it something: the receivers it registers
on their hooks (core/hooks.py, links/hooks.py) in AttributionConfig.ready."""

from __future__ import annotations

from django.db import connection

from attribution.models import Conversion
from attribution.privacy import postback_log_erase
from attribution.reattribution import conversions_reattribute
from attribution.services import conversions_pending_match
from attribution.tasks import sending_list_bot_detection_task
from core import hooks as core_hooks
from links import hooks as links_hooks


def clicks_stored(click_ids: list[str]) -> None:
    """A postback can name a click before its click is stored (it was still in the
    stream): settle those now rather than at the next periodic sweep.

    One indexed query per batch (conversion_reported_click) finds whether a postback is
    waiting for one of these clicks (rare); only then the match runs. Race: a postback that
    missed the click and a batch that stores it, at the same moment: neither sees the
    other's uncommitted row, and the periodic sweep (attribution.tasks) settles it."""
    if _conversions_waiting_for(click_ids):
        conversions_pending_match(click_ids=click_ids)


def _conversions_waiting_for(click_ids: list[str]) -> bool:
    """Whether a pending conversion names one of these clicks. On PostgreSQL the ids go as
    one comma-joined text the server splits: a batch's 2,000 ids as 2,000 placeholders cost
    the consumer about 8 us a click to build and quote (click ids are letters and digits;
    a batch holding a comma is asked the portable way)."""
    joined = ",".join(click_ids)
    if connection.vendor != "postgresql" or joined.count(",") != len(click_ids) - 1:
        return Conversion.objects.filter(
            status=Conversion.Status.PENDING, reported_click_id__in=click_ids
        ).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {Conversion._meta.db_table}"  # noqa: S608 - a model's name
            " WHERE status = %s AND reported_click_id = ANY(string_to_array(%s, ',')))",
            [Conversion.Status.PENDING.value, joined],
        )
        return cursor.fetchone()[0]


def bot_detection_switched(list_id: int, enabled: bool) -> None:
    """A list's counted clicks are recomputed in the background (a big list has many);
    each that moves comes back through counted_click_moved."""
    sending_list_bot_detection_task.delay(list_id, enabled)


def counted_click_moved(contact_id: int, message_id: int, offer_id: int | None) -> None:
    """The conversions that may rest on that counted click are credited again."""
    conversions_reattribute(contact_id=contact_id, offer_id=offer_id)


def register() -> None:
    links_hooks.clicks_stored.register(clicks_stored)
    links_hooks.counted_click_moved.register(counted_click_moved)
    core_hooks.bot_detection_switched.register(bot_detection_switched)
    core_hooks.contact_erasing.register(postback_log_erase)
