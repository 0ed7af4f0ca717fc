"""The scale data's contacts (trackly_contact): each account's, numbered from the account's
first contact id, which the messages then address."""

from __future__ import annotations

import datetime as dt
from typing import Any

from devdata.scale.pg import copy_rows, next_id


class ContactsStep:
    """Part of ScaleFill: reads its accounts, start and rng; sets each account's
    first_contact_id."""

    def _contacts(self, cursor: Any) -> None:
        columns = ("id", "account_id", "external_id", "phone", "email", "created_at")
        rng, pk = self.rng, next_id(cursor, "trackly_contact")
        with copy_rows(cursor, "trackly_contact", columns) as write:
            for plan in self.accounts:
                plan.first_contact_id = pk
                for seq in range(plan.contacts):
                    external_id = f"sc-{plan.slug}-{seq}"
                    email = f"{external_id}@example.com" if seq % 5 < 2 else ""
                    phone = f"{plan.phone_prefix}{5_000_000 + seq:07d}"
                    joined = self.start - dt.timedelta(days=rng.uniform(0, 400))
                    write((pk, plan.account.pk, external_id, phone, email, joined))
                    pk += 1
        self.counts["contacts"] = sum(p.contacts for p in self.accounts)
