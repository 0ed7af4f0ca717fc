"""What a message cost to send, the one definition: an SMS is its segments times the rate of
the contact's phone's country (the account's `sms_rates`, by ISO region, else its
`sms_segment_cost`); an email the account's `email_cost`. Fixed at mint (links.services);
the mint API may give a message's `cost` instead. Pure, but for reading the phone's region
with phonenumbers (bundled metadata, no network)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import phonenumbers

from core import bounds

COST_PLACES = Decimal(10) ** -bounds.MONEY_DECIMAL_PLACES
_REGION_RE = re.compile(r"^[A-Z]{2}$")
_DECIMAL_RE = re.compile(r"^\d+(\.\d+)?$")


def phone_region(phone: str) -> str | None:
    """The ISO 3166 region of an E.164 phone number ("+14155550100" -> "US"), or None.

    Minting asks once per message, and a full parse costs about 50 us: a country calling
    code that belongs to one region answers from phonenumbers' own table; in the North
    American plan (+1) the area code decides, so its answer is kept per area code; any
    other shared code (+44, +7, ...) is parsed in full, kept per number."""
    if not phone or not phone.startswith("+"):
        return _parsed_region(phone) if phone else None
    for length in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(_int(phone[1 : 1 + length]))
        if regions is None:
            continue
        if len(regions) == 1 and regions[0] != "001":  # 001: non-geographic numbers
            return regions[0]
        if phone[1 : 1 + length] == "1":
            # phonenumbers tells the plan's regions apart by area code: the first number
            # of an area code that parses to a region answers for the others.
            area = phone[:5]
            region = _NANP_REGIONS.get(area)
            if region is None:
                region = _parsed_region(phone)
                if region is not None:
                    _NANP_REGIONS[area] = region
            return region
        return _parsed_region(phone)
    return None


# "+1415" -> "US": at most the plan's 1,000 area codes (a race between threads writes the
# same value twice, harmlessly).
_NANP_REGIONS: dict[str, str] = {}


def _int(digits: str) -> int:
    return int(digits) if digits.isdigit() else -1


@functools.lru_cache(maxsize=65536)
def _parsed_region(phone: str) -> str | None:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


def message_cost(
    *,
    channel: str,
    segments: int | None,
    phone: str,
    sms_segment_cost: Decimal,
    sms_rates: Mapping[str, str],
    email_cost: Decimal,
) -> Decimal:
    """The cost of one message (channel "sms" or "email")."""
    if channel == "email":
        return Decimal(email_cost).quantize(COST_PLACES, ROUND_HALF_UP)
    # No rate per country: no need to know the phone's.
    region = phone_region(phone) if sms_rates else None
    rate = Decimal(sms_rates[region]) if region in sms_rates else Decimal(sms_segment_cost)
    return (rate * (segments or 1)).quantize(COST_PLACES, ROUND_HALF_UP)


def amount_parse(field: str, value: Any) -> Decimal:
    """A non-negative amount ("0.0079", 0.0079 refused as a float: money is a string or an
    integer) at most bounds.MONEY_MAX, to four places; raises bounds.OutOfBounds naming
    `field`."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise bounds.OutOfBounds(field, 'Must be a decimal string such as "0.0079".')
    text = str(value).strip()
    if not _DECIMAL_RE.match(text):
        raise bounds.OutOfBounds(field, f"{text[:40]!r} is not a non-negative decimal.")
    try:
        amount = Decimal(text).quantize(COST_PLACES, ROUND_HALF_UP)
    except InvalidOperation:
        raise bounds.OutOfBounds(field, f"{text[:40]!r} is not a decimal.") from None
    if amount > bounds.MONEY_MAX:
        raise bounds.OutOfBounds(field, f"Must be at most {bounds.MONEY_MAX}.")
    return amount


def sms_rates_parse(value: Any) -> dict[str, str]:
    """`sms_rates` checked: an object of ISO regions ("US") to amounts, at most
    bounds.MAX_SMS_RATES of them; returned with the amounts as four-place strings."""
    if not isinstance(value, dict):
        raise bounds.OutOfBounds("sms_rates", 'Must be an object such as {"US": "0.0079"}.')
    if len(value) > bounds.MAX_SMS_RATES:
        raise bounds.OutOfBounds("sms_rates", f"At most {bounds.MAX_SMS_RATES} countries.")
    rates = {}
    for region, amount in value.items():
        if not isinstance(region, str) or not _REGION_RE.match(region):
            raise bounds.OutOfBounds(
                "sms_rates", f"{str(region)[:10]!r} is not an ISO country code such as US."
            )
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise bounds.OutOfBounds("sms_rates", f"{region} is not a country with phone numbers.")
        rates[region] = str(amount_parse(f"sms_rates.{region}", amount))
    return rates
