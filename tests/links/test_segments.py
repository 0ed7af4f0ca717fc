from __future__ import annotations

from links.segments import is_gsm7, sms_segments

CYRILLIC = "ж"  # outside GSM-7, inside the BMP: one UCS-2 unit
EMOJI = "😀"  # outside the BMP: two UTF-16 units


class TestGsm7:
    def test_it_fits_160_characters_in_one_segment(self) -> None:
        assert sms_segments("a" * 160) == 1

    def test_it_needs_two_segments_for_161_characters(self) -> None:
        assert sms_segments("a" * 161) == 2

    def test_it_fits_153_characters_per_segment_once_split(self) -> None:
        assert sms_segments("a" * 306) == 2
        assert sms_segments("a" * 307) == 3
        assert sms_segments("a" * 459) == 3
        assert sms_segments("a" * 460) == 4

    def test_it_counts_the_whole_gsm_alphabet_as_gsm7(self) -> None:
        text = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà"
        assert is_gsm7(text)
        assert sms_segments(text.ljust(160, "x")) == 1

    def test_it_counts_an_extension_character_as_two(self) -> None:
        assert is_gsm7("€[]{}|^~\\\f")
        assert sms_segments("€" * 80) == 1
        assert sms_segments("€" * 81) == 2
        assert sms_segments("a" * 159 + "€") == 2
        assert sms_segments("a" * 158 + "{") == 1

    def test_it_never_splits_an_extension_character_across_segments(self) -> None:
        # 306 units would fill two segments, but the escape and its character cannot be
        # separated: the euro starting at unit 153 moves whole to the second segment.
        assert sms_segments("a" * 152 + "€" + "a" * 152) == 3
        assert sms_segments("a" * 151 + "€" + "a" * 153) == 2


class TestUcs2:
    def test_one_character_outside_gsm7_makes_the_whole_message_ucs2(self) -> None:
        assert not is_gsm7("a" * 10 + CYRILLIC)
        assert sms_segments("a" * 69 + CYRILLIC) == 1
        assert sms_segments("a" * 70 + CYRILLIC) == 2

    def test_it_fits_70_characters_in_one_segment(self) -> None:
        assert sms_segments(CYRILLIC * 70) == 1

    def test_it_needs_two_segments_for_71_characters(self) -> None:
        assert sms_segments(CYRILLIC * 71) == 2

    def test_it_fits_67_characters_per_segment_once_split(self) -> None:
        assert sms_segments(CYRILLIC * 134) == 2
        assert sms_segments(CYRILLIC * 135) == 3

    def test_it_counts_an_emoji_as_two_units(self) -> None:
        assert sms_segments(EMOJI * 35) == 1
        assert sms_segments(EMOJI * 36) == 2
        assert sms_segments("a" * 68 + EMOJI) == 1
        assert sms_segments("a" * 69 + EMOJI) == 2

    def test_it_never_splits_an_emoji_across_segments(self) -> None:
        assert sms_segments(CYRILLIC * 66 + EMOJI + CYRILLIC * 66) == 3
        assert sms_segments(CYRILLIC * 65 + EMOJI + CYRILLIC * 67) == 2

    def test_a_lower_case_c_cedilla_is_not_gsm7(self) -> None:
        # GSM 03.38 has only the capital Ç; a message with ç goes out as UCS-2.
        assert sms_segments("ç" + "a" * 70) == 2


def test_an_empty_message_is_one_segment() -> None:
    assert sms_segments("") == 1
