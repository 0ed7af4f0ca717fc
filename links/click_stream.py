"""The click pipeline's front half: the redirect appends each click to a Redis Stream.

One round trip per redirect, on this thread's bare connection (core.redis_conn
.round_trip): the config version GET (so this process's link cache is checked on every
request, links.resolve) and the XADD, both on the link's shard (links.shards). `manage.py
consume_clicks` (links.click_writer) writes the stream to PostgreSQL in batches.

What a stream entry holds is what the request said (link id, time, client) and whether the
redirect found the click internal (links.bots.is_internal, from the link info it had: the
one verdict that needs the link's contact, list and account); the consumer joins it to the
link and classifies it, so the redirect stays small.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from core import redis_conn
from links import shards
from links.resolve import local
from links.traits import ClickTraits


# Not frozen: the redirect fills in what its decision found (links.redirect._served) on
# the one object it built for this tap, rather than copying it (a copy cost the hot
# path about 3 us). Slots: cheaper to build and read.
@dataclass(slots=True)
class ClickEvent:
    click_id: str
    link_id: str
    account_id: int  # the tracking domain's account, as the redirect saw it
    clicked_at: dt.datetime
    ip: str | None
    user_agent: str
    referer: str
    accept_language: str
    method: str
    # Test or internal traffic, as the redirect's link info said (links.bots.is_internal).
    internal: bool = False
    # What the click came from, when the redirect worked it out (an offer with routing
    # rules: links.routing); None: the consumer works it out (links.traits).
    traits: ClickTraits | None = None
    # The A/B variant the redirect sent the click to ("" none, or a rule routed it); None:
    # the link's variant (an entry appended before the redirect said).
    variant: str | None = None
    # An app's own report of the tap (links.app_links): not judged as a browser
    # (links.bots.APP_REPORT_EXEMPT).
    app: bool = False

    def flat(self) -> list[str | int]:
        """fields() as XADD's field value field value ..."""
        return [item for pair in self.fields().items() for item in pair]

    def fields(self) -> dict[str, str | int]:
        fields: dict[str, str | int] = {
            "c": self.click_id,
            "l": self.link_id,
            "a": self.account_id,
            "t": int(self.clicked_at.timestamp() * 1_000_000),
            "i": self.ip or "",
            "u": self.user_agent,
            "r": self.referer,
            "g": self.accept_language[:255],
            "m": self.method,
            "n": 1 if self.internal else 0,
        }
        if self.traits is not None:
            t = self.traits  # one field, not five: the append's packing costs per field
            fields["d"] = _SEP.join((t.device, t.os, t.browser, t.country or "", t.network))
        if self.variant is not None:
            fields["v"] = self.variant
        if self.app:
            fields["p"] = 1
        return fields

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> ClickEvent:
        """The inverse of fields(); KeyError/ValueError on a malformed entry. Each value
        decoded where it is read (the consumer's per-click cost: no dictionary of texts)."""
        traits, variant = fields.get(b"d"), fields.get(b"v")
        return cls(
            click_id=fields[b"c"].decode("utf-8", "replace"),
            link_id=fields[b"l"].decode("utf-8", "replace"),
            account_id=int(fields[b"a"]),
            clicked_at=dt.datetime.fromtimestamp(int(fields[b"t"]) / 1_000_000, tz=dt.UTC),
            ip=fields[b"i"].decode("utf-8", "replace") or None,
            user_agent=fields[b"u"].decode("utf-8", "replace"),
            referer=fields[b"r"].decode("utf-8", "replace"),
            accept_language=fields[b"g"].decode("utf-8", "replace"),
            method=fields[b"m"].decode("utf-8", "replace"),
            internal=fields.get(b"n") == b"1",  # absent: appended before the field existed
            traits=None if traits is None else _traits_parse(traits.decode("utf-8", "replace")),
            variant=None if variant is None else variant.decode("utf-8", "replace"),
            app=fields.get(b"p") == b"1",
        )


_SEP = "\x1f"  # the unit separator: in no user agent's families, country or AS name


def _traits_parse(value: str) -> ClickTraits:
    device, os, browser, country, network = value.split(_SEP)
    return ClickTraits(device, os, browser, country or None, network)


def enabled() -> bool:
    return settings.CLICK_STREAM


def publish(event: ClickEvent) -> bool | None:
    """Append the click to the stream. Returns whether the config version changed since
    this process cached its links (the caller then looks them up again), or None when
    the click was not appended (stream off, or Redis down: the caller writes it itself).
    """
    if not redis_conn.available():
        return None
    # The link's shard (links.shards): its stream and its copy of the version share a
    # slot, so on a cluster too this is one round trip, to one node.
    shard = shards.of_link(event.link_id)
    try:
        version, _ = redis_conn.round_trip(
            (("GET", shard.version), ("XADD", shard.stream, "*", *event.flat())), shard.version
        )
    except redis_conn.ROUND_TRIP_ERRORS as exc:
        # Refused, timed out or OOM: the entry may or may not be in the stream. Writing it
        # directly too can, rarely, store one tap as two raw clicks (two click ids; the
        # MessageClick is still one) rather than lose it.
        redis_conn.failed(exc, "clicks written directly to PostgreSQL")
        return None
    return local.version_seen(int(version or 0))
