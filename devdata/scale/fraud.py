"""The scale data's fraud flags (attribution_fraudflag), raised from what was loaded as the
behaviour checks raise them: scanner bursts and conversions seconds after their click."""

from __future__ import annotations

from typing import Any

from django.conf import settings


class FraudFlagsStep:
    """Part of ScaleFill: reads its accounts, after the clicks and conversions are in."""

    def _fraud_flags(self, cursor: Any) -> None:
        """The flags the behaviour checks raise: scanner IPs opening many contacts' links in
        a minute (the busiest 50 per account), conversions seconds after their click."""
        account_ids = [p.account.pk for p in self.accounts]
        cursor.execute(
            """
            INSERT INTO attribution_fraudflag
                (account_id, kind, key, evidence, ip, raw_click_id, created_at, updated_at)
            SELECT account_id, 'click_flood',
                   host(ip) || '@' || to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI'),
                   jsonb_build_object('ip', host(ip), 'contacts', contacts, 'clicks', clicks,
                                      'window_seconds', 60, 'around', minute),
                   ip, first_click, minute, minute
            FROM (
                SELECT account_id, ip, date_trunc('minute', clicked_at) AS minute,
                       count(DISTINCT contact_id) AS contacts, count(*) AS clicks,
                       min(id) AS first_click,
                       row_number() OVER (PARTITION BY account_id ORDER BY count(*) DESC) AS rank
                FROM links_messageshortlinkclick
                WHERE account_id = ANY(%s) AND bot_reason = 'behaviour:ip-fanout'
                GROUP BY account_id, ip, date_trunc('minute', clicked_at)
            ) AS bursts
            WHERE rank <= 50 AND contacts >= 5
            ON CONFLICT DO NOTHING
            """,
            [account_ids],
        )
        floods = cursor.rowcount
        cursor.execute(
            """
            INSERT INTO attribution_fraudflag
                (account_id, kind, key, evidence, conversion_id, raw_click_id, created_at,
                 updated_at)
            SELECT c.account_id, 'click_injection', 'conversion:' || c.id,
                   jsonb_build_object(
                       'seconds_after_click',
                       round(extract(epoch FROM c.occurred_at - mc.clicked_at)::numeric, 3),
                       'threshold_seconds', %s, 'txn_id', c.txn_id),
                   c.id, c.raw_click_id, c.received_at, c.received_at
            FROM attribution_conversion AS c
            JOIN links_messageclick AS mc ON mc.id = c.message_click_id
            WHERE c.account_id = ANY(%s)
              AND c.occurred_at - mc.clicked_at < make_interval(secs => %s)
            ON CONFLICT DO NOTHING
            """,
            [settings.FRAUD_CLICK_INJECTION_SECONDS, account_ids,
             settings.FRAUD_CLICK_INJECTION_SECONDS],
        )  # fmt: skip
        self.counts["fraud_flags"] = floods + cursor.rowcount
