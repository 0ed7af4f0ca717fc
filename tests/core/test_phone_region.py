"""core.costs.phone_region's shortcuts (a country code of one region, the North American
plan's area codes) answer what a full phonenumbers parse answers."""

from __future__ import annotations

import phonenumbers
import pytest

from core import costs

# Single-region codes, the plan's territories and the US itself, and codes shared by
# several regions (GB and its Crown dependencies, RU and KZ, AU and its islands).
NUMBERS = [
    "+14155550123", "+12125550199", "+18005550100", "+19075550111", "+16135550123",
    "+14165550123", "+18095550123", "+13405550123", "+16715550123", "+17875550123",
    "+18765550123", "+12425550123", "+442079460000", "+447781123456", "+447924123456",
    "+447624123456", "+79161234567", "+77012345678", "+61412345678", "+33612345678",
    "+4915123456789", "+8613812345678", "+35312345678", "+5511912345678", "+9999",
]  # fmt: skip


def full_parse(phone: str) -> str | None:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


@pytest.mark.parametrize("phone", NUMBERS)
def test_it_answers_as_a_full_parse(phone: str) -> None:
    costs._NANP_REGIONS.clear()
    assert costs.phone_region(phone) == full_parse(phone)


def test_an_area_code_answers_for_its_numbers_once_known() -> None:
    costs._NANP_REGIONS.clear()
    assert costs.phone_region("+18765550123") == "JM"
    assert costs._NANP_REGIONS == {"+1876": "JM"}
    assert costs.phone_region("+18762223333") == "JM"
