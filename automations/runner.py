"""Due runs: claimed, their trigger checked again (the verdict has had the delay to settle),
then fired (the action done) or skipped with the reason, the status and the action's writes
in one transaction, so each run acts exactly once."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from attribution.models import Conversion
from audiences.labels import contact_labels_change
from automations.membership import contact_in_audience
from automations.models import AutomationRun
from automations.rules import AUDIENCE_ENTERED, CLICKED, CONVERSION_RECORDED
from core.events import contact_data, event_emit
from core.models import WebhookEndpoint
from links.bots import INTERNAL_REASON
from links.event_data import message_data
from links.models import MessageClick, MessageShortLinkClick

logger = logging.getLogger(__name__)

BATCH = 200


@dataclass
class RunCounts:
    fired: int = 0
    skipped: int = 0


def runs_due(*, now: dt.datetime | None = None, limit: int = BATCH) -> RunCounts:
    """Fire or skip the runs due by `now` (at most `limit`)."""
    now = now or timezone.now()
    counts = RunCounts()
    with transaction.atomic():
        # Race: two runners at once. Each claims the rows it locks and passes over those
        # the other holds (SKIP LOCKED); a row it waited on would be re-read, and the
        # status condition keeps a run fired once. SQLite runs one writer at a time.
        runs = list(
            AutomationRun.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("automation", "contact", "message")
            .filter(status=AutomationRun.Status.SCHEDULED, due_at__lte=now)
            .order_by("due_at", "id")[:limit]
        )
        for run in runs:
            try:
                with transaction.atomic():
                    fired = _run(run, now)
            except Exception:
                # A run that fails is skipped with the reason, not retried forever.
                logger.exception("automation run %s failed", run.pk)
                _skip(run, "failed: see the worker's log")
                fired = False
            if fired:
                counts.fired += 1
            else:
                counts.skipped += 1
    return counts


def _run(run: AutomationRun, now: dt.datetime) -> bool:
    reason = trigger_refusal(run)
    if reason is None:
        reason = _act(run, now)
    if reason is not None:
        _skip(run, reason)
        return False
    run.status, run.fired_at = AutomationRun.Status.FIRED, now
    run.save(update_fields=["status", "fired_at"])
    return True


def _skip(run: AutomationRun, reason: str) -> None:
    run.status, run.skipped_reason = AutomationRun.Status.SKIPPED, reason[:200]
    run.save(update_fields=["status", "skipped_reason"])


def trigger_refusal(run: AutomationRun) -> str | None:
    """Why the run's trigger no longer holds at its due time, or None if it does."""
    automation, contact = run.automation, run.contact
    trigger = automation.trigger
    if not automation.is_enabled:
        return "The automation was disabled."
    if contact.is_test:
        return "A test contact."
    if run.trigger_event == CLICKED:
        if run.message_id is None:
            return "The message was deleted."
        # Not a bot nor internal, as an anti-join: a raw click pruned by retention leaves
        # its counted click (no database foreign key), which counted a person.
        not_a_person = MessageShortLinkClick.objects.filter(
            Q(is_bot=True) | Q(bot_reason=INTERNAL_REASON), pk=OuterRef("raw_click_id")
        )
        clicks = MessageClick.objects.filter(
            ~Exists(not_a_person), contact_id=run.contact_id, message_id=run.message_id
        )
        if "link" in trigger:
            clicks = clicks.filter(short_link__name=trigger["link"])
        if "offer" in trigger:
            clicks = clicks.filter(offer_id=trigger["offer"])
        if not clicks.exists():
            return "No counted click any more (judged a bot, or revoked)."
    elif run.trigger_event == AUDIENCE_ENTERED:
        if run.audience_id is None or not contact_in_audience(
            audience_id=run.audience_id, contact_id=run.contact_id
        ):
            return "No longer in the audience."
    elif run.trigger_event == CONVERSION_RECORDED:
        if run.conversion_id is None:
            return "The conversion was deleted."
        approved = Conversion.objects.filter(Conversion.approved_q(), pk=run.conversion_id).exists()
        if not approved:
            return "The conversion is not approved."
    else:
        return f"Unknown trigger {run.trigger_event!r}."
    # The audience filter of a click or conversion trigger: the contact is in it now.
    in_audience = trigger.get("audience") if run.trigger_event != AUDIENCE_ENTERED else None
    if in_audience is not None and not contact_in_audience(
        audience_id=in_audience, contact_id=run.contact_id
    ):
        return "Not in the trigger's audience."
    return None


def _act(run: AutomationRun, now: dt.datetime) -> str | None:
    """Do the automation's action; a reason if it cannot be done."""
    action = run.automation.action
    if action.get("type") == "label":
        contact_labels_change(
            contact_id=run.contact_id,
            add=[action["add"]] if "add" in action else [],
            remove=[action["remove"]] if "remove" in action else [],
        )
        return None
    if action.get("type") == "webhook":
        automation = run.automation
        # Race: the endpoint deleted meanwhile. Checked here; a deletion committing after
        # this check fails the event's foreign key at commit, and the run stays scheduled.
        if not WebhookEndpoint.objects.filter(
            pk=action["webhook"], account_id=automation.account_id
        ).exists():
            return "The webhook was deleted."
        event_emit(
            account_id=automation.account_id,
            type="automation.fired",
            data=fired_data(run),
            occurred_at=now,
            endpoint_id=action["webhook"],
        )
        return None
    return f"Unknown action {action.get('type')!r}."


def fired_data(run: AutomationRun) -> dict:
    """The automation.fired payload (docs/automations.md)."""
    automation = run.automation
    return {
        "automation": {"id": automation.pk, "name": automation.name},
        "journey": automation.action.get("journey"),
        "contact": contact_data(run.contact),
        "message": message_data(run.message),
        "trigger": {"event": run.trigger_event, "sequence": run.trigger_sequence},
    }
