"""The counted click: which raw click of a (contact, message) is its MessageClick.

    The first click (ORDER) of the (contact, message) that counts (COUNTS): a click that is
    not a bot, or any click when the message's list has bot detection off; never a test or
    internal click (reason `internal`, links.bots.INTERNAL), whatever the list's switch.

This module is the rule's one home. Both halves are SQL fragments, read each time a
statement is built (so a test can swap them: tests/links/test_counted_click_rule.py), and
every writer of MessageClick runs SQL built here:

- the direct write, a click at a time (`message_click_offer`, from links.clicks.click_record):
  portable, SQLite and PostgreSQL;
- the click consumer's one statement per batch (`counted_upsert_sql`, in links.click_writer);
- the recompute of a (contact, message) after a verdict change or a list's switch
  (`message_click_recompute`, `sending_list_bot_detection_set`), which tells
  links.hooks.counted_click_moved when the counted click moved (attribution re-attributes);
- the benchmark generator's build of an account's counted clicks (`message_clicks_build`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

from core.models import Message, SendingList
from links import hooks
from links.bots import INTERNAL_REASON
from links.click_events import click_events_reconcile
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick

# Whether a raw click counts. {click}: the raw click; {sending_list}: its message's list,
# LEFT JOINed (a message with no list detects bots, as the list's default does). Internal
# traffic never counts, even with bot detection off.
COUNTS = (
    f"({{click}}.bot_reason <> '{INTERNAL_REASON}'"
    " AND (NOT {click}.is_bot OR {sending_list}.bot_detection_enabled IS FALSE))"
)

# Which counting click wins: the first by time, then by id (ids follow arrival). Columns of
# the raw click with their direction; only columns a MessageClick keeps (KEPT_AS), so a
# stored counted click can be compared with a new one.
ORDER: tuple[tuple[str, str], ...] = (("clicked_at", "ASC"), ("id", "ASC"))
KEPT_AS = {"clicked_at": "clicked_at", "id": "raw_click_id"}

# The raw click's traits a counted click keeps (the same columns on both models): what
# reports cut counted clicks and conversions by, after retention has pruned the raw click.
KEPT_TRAITS = ("device", "os", "country", "variant")

# MessageClick's columns, and what each is made of (c: the raw click, l: its short link).
# click_id: the raw click's public id, kept on the counted click (raw clicks are pruned by
# retention; MessageClick.raw_click has no database foreign key); likewise its traits.
_COLUMNS = (
    "account_id, contact_id, message_id, short_link_id, raw_click_id, offer_id, clicked_at,"
    " click_id, " + ", ".join(KEPT_TRAITS)
)
_MADE_OF = (
    "c.account_id, c.contact_id, c.message_id, c.short_link_id, c.id, l.offer_id, c.clicked_at,"
    " c.click_id, " + ", ".join(f"c.{column}" for column in KEPT_TRAITS)
)


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def counts_sql(click: str = "c", sending_list: str = "s") -> str:
    return COUNTS.format(click=click, sending_list=sending_list)


def order_sql(click: str = "c") -> str:
    return ", ".join(f"{click}.{column} {direction}" for column, direction in ORDER)


def beats_sql(new: str, old: str) -> str:
    """True when MessageClick row `new` comes before `old` in ORDER (a strict
    lexicographic comparison, so a tie keeps the stored row)."""
    terms = []
    for i, (column, direction) in enumerate(ORDER):
        kept = KEPT_AS[column]
        less = "<" if direction.upper() == "ASC" else ">"
        equal = [f"{new}.{KEPT_AS[c]} = {old}.{KEPT_AS[c]}" for c, _ in ORDER[:i]]
        terms.append(" AND ".join([*equal, f"{new}.{kept} {less} {old}.{kept}"]))
    return "(" + " OR ".join(f"({t})" for t in terms) + ")"


def _joined(source: str) -> str:
    """Raw clicks `c` from `source` with their link `l`, message `m` and list `s`."""
    return (
        f"FROM {source} c"
        f" JOIN {_table(MessageShortLink)} l ON l.id = c.short_link_id"
        f" JOIN {_table(Message)} m ON m.id = c.message_id"
        f" LEFT JOIN {_table(SendingList)} s ON s.id = m.sending_list_id"
    )


def _upsert() -> str:
    # Race: many taps of one link at once (people double-tap; scanners fan out), and clicks
    # that reach the database out of order, from the redirect and the consumers at once.
    # The unique (contact, message) with ON CONFLICT keeps one row; the WHERE keeps the
    # winner of ORDER in it, whichever statement commits first.
    table = _table(MessageClick)
    return (
        "ON CONFLICT (contact_id, message_id) DO UPDATE SET"
        " short_link_id = EXCLUDED.short_link_id, raw_click_id = EXCLUDED.raw_click_id,"
        " offer_id = EXCLUDED.offer_id, clicked_at = EXCLUDED.clicked_at,"
        " click_id = EXCLUDED.click_id, "
        + ", ".join(f"{column} = EXCLUDED.{column}" for column in KEPT_TRAITS)
        + f" WHERE {beats_sql('EXCLUDED', table)}"
    )


def message_click_offer_sql() -> str:
    """Offer one stored raw click as its pair's counted click, from what the redirect
    already knows (no join to plan: this runs once per click). The WHERE before ON CONFLICT
    is also what SQLite needs to parse an INSERT ... SELECT with an upsert."""
    return (
        f"INSERT INTO {_table(MessageClick)} ({_COLUMNS})"  # noqa: S608 - names from models
        " SELECT c.account_id, c.contact_id, c.message_id, c.short_link_id, c.id, c.offer_id,"
        " c.clicked_at, c.click_id, "
        + ", ".join(f"c.{column}" for column in KEPT_TRAITS)
        + " FROM (SELECT %s AS account_id, %s AS contact_id,"
        " %s AS message_id, %s AS short_link_id, %s AS id, CAST(%s AS bigint) AS offer_id,"
        " %s AS clicked_at, %s AS is_bot, %s AS bot_reason, %s AS bot_detection_enabled,"
        " %s AS click_id, " + ", ".join(f"%s AS {column}" for column in KEPT_TRAITS) + ") c"
        f" WHERE {counts_sql('c', 'c')} {_upsert()}"
    )


def counted_upsert_sql(source: str) -> str:
    """Offer the raw clicks of `source` (a relation with the raw click's columns: a CTE of
    the rows just inserted) as their pairs' counted clicks, the batch's winner of each pair
    against the stored one. PostgreSQL (DISTINCT ON: ON CONFLICT DO UPDATE may touch a row
    once per statement)."""
    return (
        f"INSERT INTO {_table(MessageClick)} ({_COLUMNS})"
        f" SELECT DISTINCT ON (c.contact_id, c.message_id) {_MADE_OF} {_joined(source)}"
        f" WHERE {counts_sql()} ORDER BY c.contact_id, c.message_id, {order_sql()}"
        f" {_upsert()}"
    )


def message_click_offer(
    *, click: MessageShortLinkClick, offer_id: int | None, bot_detection_enabled: bool
) -> None:
    """Make the stored raw click `click` its pair's MessageClick if it counts and beats
    the stored one. One statement, no transaction: it only ever adds to the raw click."""
    with connection.cursor() as cursor:
        cursor.execute(
            message_click_offer_sql(),
            [
                click.account_id, click.contact_id, click.message_id, click.short_link_id, click.pk,
                offer_id, connection.ops.adapt_datetimefield_value(click.clicked_at),
                click.is_bot, click.bot_reason, bot_detection_enabled, click.click_id,
                *(getattr(click, column) for column in KEPT_TRAITS),
            ],
        )  # fmt: skip


def message_clicks_build(cursor: Any, *, account_ids: Sequence[int]) -> int:
    """Make the MessageClick of every (contact, message) of the accounts that has raw clicks
    and none yet: a bulk load's counted clicks, from its raw clicks (ids in the counted
    clicks' time order, as ingestion gives them). Pairs that have one keep it (verdict
    changes go through message_click_recompute). Needs no index: a bulk load builds its
    indexes and constraints after. PostgreSQL. Returns how many it made."""
    table = _table(MessageClick)
    cursor.execute(
        f"INSERT INTO {table} ({_COLUMNS}) SELECT {_COLUMNS} FROM ("  # noqa: S608 - names from models
        f" SELECT DISTINCT ON (c.contact_id, c.message_id) {_MADE_OF}"
        f" {_joined(_table(MessageShortLinkClick))}"
        f" WHERE c.account_id = ANY(%s) AND {counts_sql()}"
        f" AND NOT EXISTS (SELECT 1 FROM {table} e"
        f" WHERE e.contact_id = c.contact_id AND e.message_id = c.message_id)"
        f" ORDER BY c.contact_id, c.message_id, {order_sql()}"
        f") AS first_clicks ({_COLUMNS}) ORDER BY clicked_at, raw_click_id",
        [list(account_ids)],
    )
    return cursor.rowcount


def message_click_recompute(*, contact_id: int, message_id: int, announce: bool = True) -> bool:
    """Make the pair's MessageClick the rule's answer under the clicks' current verdicts
    and its list's switch. When it moved (made, moved to another click, or removed), tell
    links.hooks.counted_click_moved and (unless `announce` is False: the judge reconciles
    its whole batch at once) correct what was told of it (links.click_events), inside this
    transaction. Returns whether it moved."""
    with transaction.atomic():
        # Race: two verdict changes on one (contact, message) at once, or one racing the
        # redirect's insert. Locking the message row serialises the recomputes; the unique
        # (contact, message) constraint still holds the redirect to one row.
        list(Message.objects.select_for_update().filter(pk=message_id).values_list("pk"))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_MADE_OF} {_joined(_table(MessageShortLinkClick))}"
                f" WHERE c.contact_id = %s AND c.message_id = %s AND {counts_sql()}"
                f" ORDER BY {order_sql()} LIMIT 1",
                [contact_id, message_id],
            )
            first = cursor.fetchone()
        current = MessageClick.objects.filter(contact_id=contact_id, message_id=message_id).first()
        if (current and current.raw_click_id) == (first and first[4]):
            return False
        if current is not None and _raw_click_pruned(current):
            # Retention pruned its raw click (the oldest go first, so it still comes first):
            # it can be judged no more, and a verdict or a list's switch applies only to
            # the raw clicks that are kept. It stays.
            return False
        offer_id = current.offer_id if current else first[5]  # type: ignore[index]
        if first is None:
            current.delete()  # type: ignore[union-attr]
        else:
            (
                account_id,
                _,
                _,
                short_link_id,
                click_pk,
                first_offer_id,
                clicked_at,
                click_id,
                *traits,
            ) = first
            MessageClick.objects.update_or_create(
                contact_id=contact_id,
                message_id=message_id,
                defaults={
                    "account_id": account_id, "short_link_id": short_link_id,
                    "raw_click_id": click_pk, "offer_id": first_offer_id,
                    "clicked_at": clicked_at, "click_id": click_id,
                    **dict(zip(KEPT_TRAITS, traits, strict=True)),
                },
            )  # fmt: skip
        hooks.counted_click_moved.send(contact_id, message_id, offer_id)
        if announce:
            click_events_reconcile([(contact_id, message_id)])
        return True


def _raw_click_pruned(counted: MessageClick) -> bool:
    """Whether the counted click's raw click is gone (retention). By id and time: one
    partition of a partitioned raw-click table."""
    return not MessageShortLinkClick.objects.filter(
        pk=counted.raw_click_id, clicked_at=counted.clicked_at
    ).exists()


def sending_list_bot_detection_set(*, list_id: int, enabled: bool) -> int:
    """Switch bot detection on a list and recompute its MessageClicks. Verdicts stay as
    they are, so reports still show the bot share. Returns how many pairs were looked at."""
    SendingList.objects.filter(pk=list_id).update(bot_detection_enabled=enabled)
    pairs = (
        MessageShortLinkClick.objects.filter(message__sending_list_id=list_id)
        .values_list("contact_id", "message_id")
        .distinct()
    )
    count = 0
    for contact_id, message_id in pairs.iterator():
        message_click_recompute(contact_id=contact_id, message_id=message_id)
        count += 1
    return count
