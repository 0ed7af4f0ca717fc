"""Parsing one item of the minting API into a `MessageInput`, or naming what is wrong.

Hand-written rather than a DRF serializer because the bulk endpoint parses 10,000 items per
request and a serializer costs ~50x more per item; `links.api_docs` describes the same
shape to OpenAPI. Fields the API does not take are refused by name (core.api_input);
text no column can store (NUL, lone surrogates) never gets here: the API's JSON parser
refuses it (core.api_input.JSONParser).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import bounds, costs, uris
from core.api_input import unknown_fields
from links.rewrite import MAX_URL_LENGTH, PLACEHOLDER_RE, is_trackable_url

Errors = dict[str, list[str]]
NAME_MAX = 200
LINK_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")  # what may appear inside {{ }}
# The fields each object of a message may have (links.api_docs.MessageIn); others are refused.
MESSAGE_FIELDS = frozenset(
    ["external_id", "contact", "channel", "body", "sent_at", "list", "campaign", "creative",
     "links", "cost", "holdout"]
)  # fmt: skip
CONTACT_FIELDS = frozenset(["external_id", "phone", "email", "is_test"])
LINK_FIELDS = frozenset(["url", "offer", "track"])


@dataclass(frozen=True)
class ContactInput:
    external_id: str
    phone: str
    email: str
    # A tester (links.internal): True or False sets the contact's flag; None leaves it.
    is_test: bool | None = None


@dataclass(frozen=True)
class LinkInput:
    url: str | None
    offer: int | str | None
    track: bool


@dataclass(frozen=True)
class MessageInput:
    external_id: str | None
    contact: ContactInput
    channel: str
    body: str
    sent_at: dt.datetime
    list_ref: str | None
    campaign_ref: str | None
    creative_ref: str | None
    links: dict[str, LinkInput]
    # What sending it cost, as the platform gives it; None: the account's rule (core.costs).
    cost: Decimal | None = None
    # Withheld from the contact (the campaign's holdout group): recorded, never minted.
    holdout: bool = False


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _optional_ref(data: dict[str, Any], field: str, errors: Errors) -> str | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        _add(errors, field, "Must be a name or an external id (a string).")
        return None
    value = str(value).strip()
    if len(value) > NAME_MAX:
        _add(errors, field, f"Must be at most {NAME_MAX} characters.")
        return None
    return value or None


def normalize_phone(raw: str) -> str:
    """E.164 from anything a person might type, as long as it has its country code."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("Must be a phone number in E.164 form, e.g. +14155550123.") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError("Is not a possible phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_contact(value: Any, errors: Errors) -> ContactInput | None:
    if not isinstance(value, dict):
        _add(errors, "contact", "Required: an object with external_id, phone and/or email.")
        return None
    if not value.keys() <= CONTACT_FIELDS:
        errors.update(unknown_fields(value, CONTACT_FIELDS, "contact"))
    external_id = value.get("external_id")
    phone = value.get("phone")
    email = value.get("email")
    is_test = value.get("is_test")
    if is_test is not None and not isinstance(is_test, bool):
        _add(errors, "contact.is_test", "Must be true or false.")
        is_test = None
    if external_id is not None and not isinstance(external_id, str | int):
        _add(errors, "contact.external_id", "Must be a string.")
        external_id = None
    external_id = str(external_id).strip() if external_id not in (None, "") else ""
    if len(external_id) > NAME_MAX:
        _add(errors, "contact.external_id", f"Must be at most {NAME_MAX} characters.")
    if phone not in (None, ""):
        if not isinstance(phone, str):
            _add(errors, "contact.phone", "Must be a string.")
            phone = ""
        else:
            try:
                phone = normalize_phone(phone)
            except ValueError as exc:
                _add(errors, "contact.phone", str(exc))
                phone = ""
    else:
        phone = ""
    if email not in (None, ""):
        try:
            if not isinstance(email, str):
                raise ValidationError("not a string")
            email = email.strip()
            validate_email(email)
            if len(email) > NAME_MAX:
                raise ValidationError("too long")
        except ValidationError:
            _add(
                errors,
                "contact.email",
                f"Must be an email address of at most {NAME_MAX} characters.",
            )
            email = ""
    else:
        email = ""
    if not (external_id or phone or email) and not any(k.startswith("contact.") for k in errors):
        _add(errors, "contact", "Needs at least one of external_id, phone or email.")
        return None
    # Without an id of the platform's own, the phone (else the email) identifies the contact.
    return ContactInput(
        external_id=external_id or phone or email.lower(), phone=phone, email=email, is_test=is_test
    )


def _parse_links(value: Any, errors: Errors) -> dict[str, LinkInput]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _add(errors, "links", 'Must be an object such as {"link1": {"url": "https://..."}}.')
        return {}
    links: dict[str, LinkInput] = {}
    for name, spec in value.items():
        field = f"links.{name}"
        if not LINK_NAME_RE.fullmatch(str(name)):
            _add(
                errors, field, "Link names may use letters, digits, '_', '-' and '.' (64 at most)."
            )
            continue
        if isinstance(spec, str):
            spec = {"url": spec}
        if not isinstance(spec, dict):
            _add(errors, field, "Must be an object with url, offer and track.")
            continue
        if not spec.keys() <= LINK_FIELDS:
            errors.update(unknown_fields(spec, LINK_FIELDS, field))
        url = spec.get("url")
        offer = spec.get("offer")
        track = spec.get("track", True)
        if not isinstance(track, bool):
            _add(errors, f"{field}.track", "Must be true or false.")
        if offer is not None and (isinstance(offer, bool) or not isinstance(offer, int | str)):
            _add(errors, f"{field}.offer", "Must be an offer id or external id.")
            offer = None
        if url in (None, ""):
            url = None
            if offer is None:
                _add(errors, f"{field}.url", "Required unless the link names an offer.")
            elif track is False:
                # An untracked link goes out as written; an offer URL still has its macros.
                _add(errors, f"{field}.url", "Required when track is false.")
        elif not isinstance(url, str):
            _add(errors, f"{field}.url", "Must be an absolute http or https URL.")
        else:
            url = _link_url(url, f"{field}.url", errors)
        links[name] = LinkInput(url=url, offer=offer, track=track is not False)
    return links


def _link_url(raw: str, field: str, errors: Errors) -> str | None:
    """The URL as written, once its URI (what it is stored and redirected as: the
    rewrite converts it, core.uris) is known to be a good one; else None, with the
    error added. An untracked link goes out as written."""
    url = raw.strip()
    try:
        uri = uris.to_uri(url)
    except ValueError as exc:
        _add(errors, field, str(exc))
        return None
    if len(uri) > MAX_URL_LENGTH:
        _add(errors, field, f"Must be at most {MAX_URL_LENGTH} characters (as a URI).")
        return None
    if not is_trackable_url(uri):
        _add(errors, field, "Must be an absolute http or https URL.")
        return None
    return url


def _parse_sent_at(value: Any, errors: Errors) -> dt.datetime:
    now = timezone.now()
    if value in (None, ""):
        return now
    parsed: dt.datetime | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            parsed = None
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None and timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed is None:
        _add(errors, "sent_at", "Must be an ISO 8601 date-time or unix seconds.")
        return now
    try:
        # A year-1 sent_at once broke every account's rollup build.
        parsed = bounds.moment_check("sent_at", parsed, now=now, ahead=bounds.SENT_AT_MAX_AHEAD)
    except bounds.OutOfBounds as exc:
        _add(errors, exc.field, exc.message)
        return now
    return parsed


def parse_message(data: Any) -> tuple[MessageInput | None, Errors]:
    errors: Errors = {}
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Each message must be a JSON object."]}
    if not data.keys() <= MESSAGE_FIELDS:
        errors.update(unknown_fields(data, MESSAGE_FIELDS))

    external_id = data.get("external_id")
    if external_id is not None and (
        isinstance(external_id, bool) or not isinstance(external_id, str | int)
    ):
        _add(errors, "external_id", "Must be a string.")
        external_id = None
    if external_id is not None:
        external_id = str(external_id).strip() or None
        if external_id and len(external_id) > NAME_MAX:
            _add(errors, "external_id", f"Must be at most {NAME_MAX} characters.")

    contact = _parse_contact(data.get("contact"), errors)

    channel = data.get("channel", "sms")
    if channel not in ("sms", "email"):
        _add(errors, "channel", "Must be 'sms' or 'email'.")

    body = data.get("body")
    if not isinstance(body, str) or not body:
        _add(errors, "body", "Required: the message text (SMS) or HTML (email).")
        body = ""
    elif len(body.encode("utf-8")) > settings.MINT_MAX_BODY_BYTES:
        _add(errors, "body", f"Must be at most {settings.MINT_MAX_BODY_BYTES} bytes (UTF-8).")

    sent_at = _parse_sent_at(data.get("sent_at"), errors)
    list_ref = _optional_ref(data, "list", errors)
    campaign_ref = _optional_ref(data, "campaign", errors)
    creative_ref = _optional_ref(data, "creative", errors)
    links = _parse_links(data.get("links"), errors)
    holdout = data.get("holdout", False)
    if not isinstance(holdout, bool):
        _add(errors, "holdout", "Must be true or false.")
        holdout = False
    cost = _parse_cost(data.get("cost"), holdout, errors)
    if isinstance(data.get("links"), dict | None):
        bound = set(data.get("links") or {})
        for name in dict.fromkeys(PLACEHOLDER_RE.findall(body)):
            if name not in bound:
                _add(errors, "body", f"Placeholder {{{{{name}}}}} has no binding in links.")

    if errors or contact is None:
        return None, errors
    return (
        MessageInput(
            external_id=external_id,
            contact=contact,
            channel=channel,
            body=body,
            sent_at=sent_at,
            list_ref=list_ref,
            campaign_ref=campaign_ref,
            creative_ref=creative_ref,
            links=links,
            cost=cost,
            holdout=holdout,
        ),
        {},
    )


def _parse_cost(value: Any, holdout: bool, errors: Errors) -> Decimal | None:
    if value is None:
        return None
    if holdout:
        _add(errors, "cost", "A holdout message is never sent and costs nothing: leave cost out.")
        return None
    try:
        return costs.amount_parse("cost", value)
    except bounds.OutOfBounds as exc:
        _add(errors, exc.field, exc.message)
        return None
