"""What was told of a counted click: `message.clicked` and `message.click_revoked` kept equal
to the judged counted click of each (contact, message), by construction.

Each pair has an announced state (MessageClickAnnouncement: the raw click its outstanding
`message.clicked` named, or none). `click_events_reconcile(pairs)` compares it with the
pair's counted click now (its MessageClick, once the behavioural judge has judged that raw
click, never an internal one) and, when they differ, writes in one transaction the new
state and the events that correct the difference:

- a click was announced and another counts now: `message.click_revoked` (reason `moved`)
  for the announced one, then `message.clicked` for the new one;
- a click was announced and none counts now: `message.click_revoked` with the announced
  click's bot reason (e.g. `behaviour:ip-fanout`, `internal`);
- none was announced and one counts now: `message.clicked`.

So for every pair, clicked minus revoked is 1 exactly when a judged counted click exists.
Callers: the judge (attribution.bot_checks, after each batch, for the batch's pairs and
those whose verdicts it changed) and links.counting.message_click_recompute (when the
counted click moved). A pair whose counted click is not judged yet keeps what was told
until the judge reaches it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.events import NewEvent, events_emit
from core.models import Message
from links.bots import INTERNAL_REASON
from links.event_data import click_data, clicks_load
from links.models import MessageClick, MessageClickAnnouncement, MessageShortLinkClick

MOVED = "moved"
CHUNK = 1000


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def click_events_reconcile(pairs: Iterable[tuple[int, int]]) -> int:
    """Make what was told of each (contact_id, message_id) its judged counted click now, in
    the caller's transaction (or one of its own). Returns how many events it wrote."""
    # A message has one contact, so the message names the pair.
    message_ids = sorted({message_id for _, message_id in pairs})
    written = 0
    with transaction.atomic():
        for start in range(0, len(message_ids), CHUNK):
            written += _reconcile(message_ids[start : start + CHUNK])
    return written


def _reconcile(message_ids: list[int]) -> int:
    marks = ", ".join(["%s"] * len(message_ids))
    with connection.cursor() as cursor:
        # Race: two reconciles of one pair at once (two judge workers, a judge and a list's
        # recompute). Each first makes sure the pair's state row exists (ON CONFLICT: one
        # row, the second insert waits for the first to commit), then locks it: the second
        # waits, and reads the counted click only after the first committed, so it sees
        # what the first announced and announces nothing twice. Rows are made and locked
        # in message order (chunks too), so two batches cannot deadlock on them.
        cursor.execute(
            f"INSERT INTO {_table(MessageClickAnnouncement)}"  # noqa: S608 - names from models
            " (account_id, contact_id, message_id, click_id)"
            f" SELECT m.account_id, m.contact_id, m.id, '' FROM {_table(Message)} m"
            f" WHERE m.id IN ({marks}) ORDER BY m.id"
            " ON CONFLICT (contact_id, message_id) DO NOTHING",
            message_ids,
        )
    states = list(
        MessageClickAnnouncement.objects.select_for_update()
        .filter(message_id__in=message_ids)
        .order_by("message_id")
    )
    # Whether each counted click is announceable, as anti-joins to its raw click: a raw
    # click pruned by retention (MessageClick.raw_click has no database foreign key) was
    # judged long ago, and a counted click is never internal, so it reads as announced.
    raw = MessageShortLinkClick.objects.filter(pk=OuterRef("raw_click_id"))
    counted = {
        row["message_id"]: row
        for row in MessageClick.objects.filter(message_id__in=message_ids)
        .annotate(
            unjudged=Exists(raw.filter(judged_at__isnull=True)),
            internal=Exists(raw.filter(bot_reason=INTERNAL_REASON)),
        )
        .values("message_id", "raw_click_id", "unjudged", "internal")
    }
    changes = []
    for state in states:
        row = counted.get(state.message_id)
        now = (
            row["raw_click_id"]
            if row is not None and not row["unjudged"] and not row["internal"]
            else None
        )
        told = state.raw_click_id if state.click_id else None
        if state.click_id and told is None or told != now:
            changes.append((state, now, row is not None and row["raw_click_id"] != told))
    if not changes:
        return 0
    clicks = clicks_load(
        [c for state, now, _ in changes for c in (state.raw_click_id, now) if c is not None]
    )
    # A counted click whose raw click is gone (pruned by retention before it was ever
    # announced) cannot be told of: its payload is the raw click's. Left as it stands.
    changes = [change for change in changes if change[1] is None or change[1] in clicks]
    moment = timezone.now()
    events: list[NewEvent] = []
    for state, now, any_counted in changes:
        if state.click_id:
            events.append(_revoked(state, clicks.get(state.raw_click_id), any_counted, moment))
        if now is not None:
            click = clicks[now]
            events.append(
                NewEvent(
                    account_id=state.account_id,
                    type="message.clicked",
                    data=click_data(click),
                    occurred_at=click.clicked_at,
                )
            )
            state.raw_click_id, state.click_id = click.pk, click.click_id
            state.clicked_at, state.announced_at = click.clicked_at, moment
        else:
            state.raw_click_id, state.click_id = None, ""
            state.clicked_at, state.announced_at = None, moment
    events_emit(events)
    _states_save([state for state, _, _ in changes])
    return len(events)


def _states_save(states: list[MessageClickAnnouncement]) -> None:
    """Write the states' new announced clicks: one UPDATE from arrays on PostgreSQL (Django's
    bulk_update builds a CASE per row and field, seconds for a burst); the ORM elsewhere."""
    if connection.vendor != "postgresql":
        fields = ["raw_click", "click_id", "clicked_at", "announced_at"]
        MessageClickAnnouncement.objects.bulk_update(states, fields, batch_size=CHUNK)
        return
    table = _table(MessageClickAnnouncement)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET raw_click_id = v.raw_click_id, click_id = v.click_id,"  # noqa: S608 - names from models
            " clicked_at = v.clicked_at, announced_at = v.announced_at"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[],"
            " %s::timestamptz[]) AS v(id, raw_click_id, click_id, clicked_at, announced_at)"
            f" WHERE {table}.id = v.id",
            [
                [s.pk for s in states], [s.raw_click_id for s in states],
                [s.click_id for s in states], [s.clicked_at for s in states],
                [s.announced_at for s in states],
            ],
        )  # fmt: skip


def _revoked(
    state: MessageClickAnnouncement, click: Any, any_counted: bool, moment: Any
) -> NewEvent:
    """message.click_revoked for the click `state` announced: `moved` when another click
    counts now (judged or not yet), else the click's own bot reason."""
    if click is not None:
        data = click_data(click)
        reason = MOVED if any_counted or not click.bot_reason else click.bot_reason
    else:
        # The raw click was purged: what the state kept of it.
        data = {"click": {"id": state.click_id, "clicked_at": None}}
        reason = MOVED if any_counted else "removed"
    return NewEvent(
        account_id=state.account_id,
        type="message.click_revoked",
        data={**data, "reason": reason},
        occurred_at=moment,
    )
