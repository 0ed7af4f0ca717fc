"""What raw clicks keep of a person: a contact's clicks scrubbed when it is erased, and
IPs truncated once the behavioural checks are done with them (accounts with
`anonymize_ips`). Both are set-based, a batch at a time, and touch only the columns of the
request (IP, user agent, referer, Accept-Language): country, network, device and the
verdicts are stored columns and stay, so no report figure moves.

Both filter by account and contact or by account and time, so they work on the raw clicks
table whole or partitioned by `clicked_at`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.erasure import batched_update
from core.models import Account
from links.models import MessageShortLinkClick

# After a click's IP fan-out window closes, the judge may still be catching up: this much
# more before its IP is truncated (issue 19).
ANONYMIZE_GRACE = dt.timedelta(minutes=5)
ANONYMIZE_BATCH = 5000
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def clicks_erase(account_id: int, contact_id: int) -> None:
    """core.hooks.contact_erasing: the contact's raw clicks lose IP and request headers."""
    clicks = MessageShortLinkClick.objects.filter(account_id=account_id, contact_id=contact_id)
    batched_update(
        clicks.filter(~Q(ip=None) | ~Q(user_agent="") | ~Q(referer="") | ~Q(accept_language="")),
        ip=None,
        user_agent="",
        referer="",
        accept_language="",
    )


def ip_truncated(ip: str) -> str:
    """An IPv4 address to its /24, an IPv6 one to its /48 (203.0.113.77 -> 203.0.113.0)."""
    address = ipaddress.ip_address(ip)
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def ips_anonymize(*, now: dt.datetime | None = None) -> int:
    """Truncate the IPs of every anonymizing account's clicks that the checks are done
    with. Returns how many clicks it changed."""
    now = now or timezone.now()
    total = 0
    for account_id in Account.objects.filter(anonymize_ips=True).values_list("pk", flat=True):
        total += account_ips_anonymize(account_id, now=now)
    return total


def account_ips_anonymize(account_id: int, *, now: dt.datetime) -> int:
    """One account's clicks since its high-water mark (`Account.ips_anonymized_until`) up
    to the newest click the checks are done with: clicked before now - fan-out window -
    grace, and judged (`judged_at` set: the behavioural checks, attribution.bot_checks,
    have read its IP). The mark never passes an unjudged click, so a click the judge is
    late with is truncated on a later run, and each run reads only the clicks since the
    mark (the index on account and clicked_at), never the whole history again.

    Race: two runs at once. The account row's lock makes the second wait and then start
    from the mark the first moved."""
    changed = 0
    while True:
        with transaction.atomic():
            account = (
                Account.objects.select_for_update()
                .only("pk", "bot_ip_fanout_seconds", "ips_anonymized_until", "anonymize_ips")
                .get(pk=account_id)
            )
            if not account.anonymize_ips:
                return changed
            target = now - dt.timedelta(seconds=account.bot_ip_fanout_seconds) - ANONYMIZE_GRACE
            unjudged = (
                MessageShortLinkClick.objects.filter(
                    account_id=account_id, judged_at__isnull=True, clicked_at__lte=target
                )
                .order_by("clicked_at")
                .values_list("clicked_at", flat=True)
                .first()
            )
            if unjudged is not None:
                # Up to just before the oldest unjudged click.
                target = unjudged - dt.timedelta(microseconds=1)
            since = account.ips_anonymized_until
            if since is not None and since >= target:
                return changed
            clicks = MessageShortLinkClick.objects.filter(
                account_id=account_id, clicked_at__lte=target
            )
            if since is not None:
                clicks = clicks.filter(clicked_at__gt=since)
            # The batch ends at its ANONYMIZE_BATCH-th click (ties at that instant join it).
            end = (
                clicks.order_by("clicked_at")
                .values_list("clicked_at", flat=True)[ANONYMIZE_BATCH - 1 : ANONYMIZE_BATCH]
                .first()
            ) or target
            batch = clicks.filter(clicked_at__lte=end, ip__isnull=False)
            changed += _truncate(batch)
            Account.objects.filter(pk=account_id).update(ips_anonymized_until=end)
            if end >= target:
                return changed


def _truncate(batch) -> int:  # type: ignore[no-untyped-def] - a QuerySet of raw clicks
    if connection.vendor == "postgresql":
        # One statement: inet arithmetic in the database (a /24 or /48 network's address).
        sql, params = batch.values("pk", "clicked_at").query.sql_with_params()
        table = MessageShortLinkClick._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{table}" SET ip = host(network(set_masklen(ip,'  # noqa: S608 - model table
                f" CASE WHEN family(ip) = 4 THEN {IPV4_PREFIX} ELSE {IPV6_PREFIX} END)))::inet"
                # With its time, so a partitioned table reads the batch's partitions only.
                f" WHERE (id, clicked_at) IN ({sql}) AND ip IS NOT NULL",
                params,
            )
            return cursor.rowcount
    # The embedded default (SQLite): the same truncation, row by row.
    changed = 0
    for pk, ip in batch.values_list("pk", "ip").iterator():
        truncated = ip_truncated(ip)
        if truncated != ip:
            changed += MessageShortLinkClick.objects.filter(pk=pk).update(ip=truncated)
    return changed
