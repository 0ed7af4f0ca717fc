"""The scale data's conversions (attribution_conversion) and their postback-log entries
(attribution_postbacklog): click-attributed, view-through, offer-level and unattributed ones
as their postbacks reported them, then credited by the product's rule in one statement
(attribution.rules.conversions_attribute)."""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal
from typing import Any

from attribution.redaction import REDACTED
from attribution.rules import conversions_attribute
from devdata.scale.catalogue import DAY, HOUR, MINUTE, SECOND, AccountPlan, OfferPlan
from devdata.scale.clicks import FirstClick
from devdata.scale.draw import cumulative, total_split
from devdata.scale.pg import copy_rows, next_id

# Conversions: click-attributed, view-through, offer-level (no contact), unattributed.
CONVERSION_MIX = (0.82, 0.08, 0.04, 0.06)
# Their approval by the network: mostly approved, some pending, a few rejected or reversed.
APPROVAL_MIX = (("approved", 0.88), ("pending", 0.08), ("rejected", 0.03), ("reversed", 0.01))
_APPROVALS = [name for name, _ in APPROVAL_MIX]
_APPROVAL_WEIGHTS = cumulative([share for _, share in APPROVAL_MIX])


class ConversionsStep:
    """Part of ScaleFill: reads the messages (MessagesStep) and the clicks (ClicksStep);
    sets conversion_ids, the first and last conversion loaded."""

    def _conversions(self, cursor: Any) -> None:
        rng, total = self.rng, self.size.conversions
        clicked, view_through, offer_level, _ = total_split(total, CONVERSION_MIX)
        rows = self._attributed(clicked) + self._view_through(view_through)
        # Too few clicks, or no message left unclicked: the rest arrive without a contact.
        offer_level += clicked + view_through - len(rows)
        rows += self._unattributed(offer_level, contact_level=False)
        rows += self._unattributed(total - len(rows), contact_level=True)
        rows.sort(key=lambda r: r["received_at"])

        conversion_pk = next_id(cursor, "attribution_conversion")
        log_pk = next_id(cursor, "attribution_postbacklog")
        logs: list[tuple[Any, ...]] = []
        for row in rows:
            row["id"], conversion_pk = conversion_pk, conversion_pk + 1
            row["txn_id"] = f"T{self.size.seed}-{row['id']}"
            row["postback_log_id"] = log_pk
            logs.append(self._postback_log(row, log_pk, "accepted"))
            log_pk += 1
            if rng.random() < 0.03:  # the network sent it again
                logs.append(self._postback_log(row, log_pk, "duplicate"))
                log_pk += 1

        columns = ("id", "account_id", "endpoint", "method", "host", "query", "body", "ip",
                   "user_agent", "received_at", "outcome", "reason", "http_status")  # fmt: skip
        with copy_rows(cursor, "attribution_postbacklog", columns) as write:
            for log in logs:
                write(log)
        columns = ("id", "account_id", "txn_id", "event", "revenue", "payout", "approval",
                   "revenue_reported", "currency", "occurred_at", "received_at", "status",
                   "attribution_type", "unattributed_reason", "reported_click_id",
                   "reported_link_id", "message_click_id", "raw_click_id", "message_id",
                   "contact_id", "offer_id", "campaign_id", "creative_id",
                   "postback_log_id")  # fmt: skip
        with copy_rows(cursor, "attribution_conversion", columns) as write:
            for row in rows:
                write([row[c] for c in columns])
        self.counts["conversions"] = len(rows)
        self.counts["postback_logs"] = len(logs)
        self.conversion_ids = (rows[0]["id"], rows[-1]["id"]) if rows else None

    def _conversions_attribute(self, cursor: Any) -> None:
        """Credit the contacts' conversions by the product's rule, in one statement, once
        the indexes it looks up are built."""
        kinds = dict.fromkeys(("direct", "click_through", "view_through", "offer", "none"), 0)
        if self.conversion_ids is not None:
            first, last = self.conversion_ids
            conversions_attribute(cursor, first_id=first, last_id=last)
            cursor.execute(
                "SELECT attribution_type, count(*) FROM attribution_conversion"
                " WHERE id BETWEEN %s AND %s GROUP BY attribution_type",
                [first, last],
            )
            kinds.update(cursor.fetchall())
        for kind, count in kinds.items():
            self.counts[f"conversions_{kind}"] = count

    def _attributed(self, count: int) -> list[dict[str, Any]]:
        """Postbacks naming a person's click (`click_id`) on an offer, some at once, most
        within the window; attribution.rules credits them (`conversions_attribute`), maybe
        to an earlier message's click than the one named."""
        rng = self.rng
        candidates = [c for c in self.first_clicks if c.offer_id is not None]
        if not candidates:
            return []
        out = []
        for _ in range(count):
            named = rng.choice(candidates)
            plan, offer = self._offer_of(named.message)
            window = offer.window_days * DAY
            if rng.random() < 0.45:  # bought at once; a few too soon to be true (injection)
                soonest = 3 * SECOND if rng.random() < 0.01 else 12 * SECOND
                delay = min(soonest + int(rng.expovariate(1 / (6 * MINUTE))), 29 * MINUTE)
            else:
                delay = min(int(rng.expovariate(1 / (30 * HOUR))), window - SECOND)
            out.append(
                self._conversion(
                    plan=plan,
                    offer=offer,
                    occurred=min(named.clicked_at + delay, self.span),
                    contact=self.msg_contact[named.message],
                    reported_click_id=named.click_id,
                    reported_link=self._link_of(named),
                )  # fmt: skip
            )
        return out

    def _view_through(self, count: int) -> list[dict[str, Any]]:
        """Postbacks naming the link of a contact who received the offer and never clicked
        it (no message of that contact on that offer has any raw click): view-through, by
        attribution.rules."""
        rng, msg_sent = self.rng, self.msg_sent
        unclicked = [m for m in range(len(msg_sent)) if not self.clicked[m]]
        if not unclicked or not count:
            return []
        wanted = {
            self._key_of_message(m) for m in rng.sample(unclicked, min(len(unclicked), 3 * count))
        }
        by_key: dict[tuple[int, int], list[int]] = {}
        for m in range(len(msg_sent)):
            key = self._key_of_message(m)
            if key in wanted:
                by_key.setdefault(key, []).append(m)
        never_clicked = [ms for ms in by_key.values() if not any(self.clicked[m] for m in ms)]
        if not never_clicked:
            return []
        out = []
        for _ in range(count):
            named = rng.choice(rng.choice(never_clicked))
            plan, offer = self._offer_of(named)
            delay = min(MINUTE + int(rng.expovariate(1 / (20 * HOUR))), offer.window_days * DAY)
            out.append(
                self._conversion(
                    plan=plan,
                    offer=offer,
                    occurred=min(msg_sent[named] + delay, self.span),
                    contact=self.msg_contact[named],
                    reported_link=self.msg_link1[named],
                )  # fmt: skip
            )
        return out

    def _unattributed(self, count: int, *, contact_level: bool) -> list[dict[str, Any]]:
        """Offer-level postbacks (no contact named), or a contact's conversion on the
        partner offer, which no message carried."""
        rng, out = self.rng, []
        weights = cumulative([p.messages for p in self.accounts])
        for _ in range(count):
            plan = self.accounts[bisect.bisect(weights, rng.random() * weights[-1])]
            occurred = int(self.span * rng.uniform(0.02, 1))
            if contact_level:
                offer = plan.partner_offer
                assert offer is not None
                row = self._conversion(
                    plan=plan, offer=offer, occurred=occurred,
                    contact=plan.first_contact_id + rng.randrange(plan.contacts),
                )  # fmt: skip
            else:
                offer = rng.choice(plan.offers)
                row = self._conversion(
                    plan=plan, offer=offer, occurred=occurred, attribution_type="offer",
                    reason="offer-level conversion: no contact named",
                )  # fmt: skip
            out.append(row)
        return out

    def _conversion(
        self, *, plan: AccountPlan, offer: OfferPlan, occurred: int, attribution_type: str = "none",
        reason: str = "", contact: int | None = None, reported_click_id: str = "",
        reported_link: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A conversion as its postback reported it; a contact's is credited (or not) by
        attribution.rules once the load is in (ScaleFill._conversions_attribute)."""
        rng = self.rng
        cents = max(100, int(offer.payout_cents * rng.lognormvariate(0, 0.35)))
        share = Decimal(str(offer.payout_share))
        payout = (Decimal(cents) * share / 100).quantize(Decimal("0.01"))
        drawn = rng.random() * _APPROVAL_WEIGHTS[-1]
        approval = _APPROVALS[min(bisect.bisect(_APPROVAL_WEIGHTS, drawn), len(_APPROVALS) - 1)]
        late = rng.expovariate(1 / 20) if rng.random() < 0.97 else rng.uniform(600, 7200)
        occurred_at = self.start + dt.timedelta(microseconds=occurred)
        return {
            "account_id": plan.account.pk,
            "event": offer.event,
            "revenue": Decimal(cents) / 100,
            "payout": payout,
            "approval": approval,
            "revenue_reported": True,
            "currency": plan.account.currency,
            "occurred_at": occurred_at,
            "received_at": min(occurred_at + dt.timedelta(seconds=1 + late), self.end),
            "status": "accepted",
            "attribution_type": attribution_type,
            "unattributed_reason": reason,
            "reported_click_id": reported_click_id,
            "reported_link_id": reported_link,
            "message_click_id": None,
            "raw_click_id": None,
            "message_id": None,
            "contact_id": contact,
            "offer_id": offer.id,
            "campaign_id": None,
            "creative_id": None,
            "plan": plan,
        }

    def _postback_log(self, row: dict[str, Any], pk: int, outcome: str) -> tuple[Any, ...]:
        plan: AccountPlan = row["plan"]
        extra = f"txn_id={row['txn_id']}&revenue={row['revenue']}&event={row['event']}"
        # As the log keeps them: the network's token (/conv) and the offer's secret redacted.
        token = f"token={REDACTED}"
        if row["reported_click_id"]:
            endpoint, query = "conv", f"click_id={row['reported_click_id']}&{token}&{extra}"
        elif row["reported_link_id"]:
            endpoint, query = "conv", f"link_id={row['reported_link_id']}&{token}&{extra}"
        else:
            contact = f"contact={row['contact_id']}&" if row["contact_id"] else ""
            endpoint = "conv/offer"
            query = f"offer_id={row['offer_id']}&secret={REDACTED}&{contact}{extra}"
        received = row["received_at"]
        if outcome == "duplicate":
            received = min(received + dt.timedelta(seconds=self.rng.uniform(1, 300)), self.end)
        ip = self.clickers.ips[self.rng.choice(self.clickers.other_ips)]
        host = plan.base_url.removeprefix("https://")
        return (pk, plan.account.pk, endpoint, "GET", host, query, "", ip, "PostbackClient/1.0",
                received, outcome, "", 200)  # fmt: skip

    def _key_of_message(self, m: int) -> tuple[int, int]:
        return self.msg_contact[m], self._offer_of(m)[1].id

    def _link_of(self, first_click: FirstClick) -> int:
        m = first_click.message
        return self.msg_link1[m] if first_click.offer_id is not None else self.msg_link2[m]
