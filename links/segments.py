"""SMS segment counting (GSM 03.38 and UCS-2). No Django here."""

from __future__ import annotations

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _fill(units: list[int], single: int, multi: int) -> int:
    """Segments needed for characters of the given widths; a character never straddles two."""
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for width in units:
        if used + width > multi:
            segments, used = segments + 1, 0
        used += width
    return segments


def sms_segments(text: str) -> int:
    if is_gsm7(text):
        return _fill([2 if c in GSM7_EXTENSION else 1 for c in text], GSM7_SINGLE, GSM7_MULTI)
    # UCS-2 counts UTF-16 code units: characters outside the BMP (most emoji) take two.
    return _fill([2 if ord(c) > 0xFFFF else 1 for c in text], UCS2_SINGLE, UCS2_MULTI)
