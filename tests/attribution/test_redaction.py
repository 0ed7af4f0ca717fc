"""attribution.redaction: a secret or token is redacted however it is encoded; nothing else
in the text changes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import redaction
from attribution.redaction import redact_body, redact_json, redact_multipart, redact_query

SECRET = "S3cr3t-Value_x"


@pytest.mark.parametrize(
    "name",
    [
        "secret",
        "token",
        "secre%74",  # percent-encoded, as Django decodes it
        "%73%65%63%72%65%74",
        "secre%2574",  # encoded twice
        "SECRET",
        "Token",
        "secret+",  # `+` is a space, and spaces around a name are dropped
        "%20token",
        "%EF%BD%93ecret",  # a fullwidth s
        "ｓecret",
    ],
)
def test_a_credential_in_a_query_is_redacted_however_its_name_is_encoded(name: str) -> None:
    redacted = redact_query(f"offer_id=12&{name}={SECRET}&revenue=4")
    assert redacted == f"offer_id=12&{name}=[redacted]&revenue=4"


def test_every_occurrence_and_a_semicolon_separated_one_is_redacted() -> None:
    text = f"secret={SECRET}&token={SECRET}&secret=again;token={SECRET}"
    assert SECRET not in redact_query(text) and "again" not in redact_query(text)


def test_a_value_containing_an_equals_sign_is_redacted_whole() -> None:
    assert redact_query(f"token={SECRET}==&a=1") == "token=[redacted]&a=1"


@pytest.mark.parametrize(
    "text",
    ["click_id=abc&revenue=4&txn_id=t1", "txn_id=secret&note=token", "secretary=1&tokens=2", ""],
)
def test_other_parameters_are_kept_exactly(text: str) -> None:
    assert redact_query(text) == text


def test_an_empty_secret_stays_empty_so_the_log_shows_it_was_missing() -> None:
    assert redact_query("offer_id=1&secret=") == "offer_id=1&secret="


def test_json_keys_are_redacted_nested_escaped_and_repeated() -> None:
    text = (
        f'{{"click_id": "abc", "token": "{SECRET}", "extra": {{"Secret": ["{SECRET}", 1]}},'
        f' "secr\\u0065t": {{"deep": "{SECRET}"}}, "token": 123}}'
    )
    redacted = redact_json(text)
    assert SECRET not in redacted and "123" not in redacted
    assert redacted == (
        '{"click_id": "abc", "token": "[redacted]", "extra": {"Secret": "[redacted]"},'
        ' "secr\\u0065t": "[redacted]", "token": "[redacted]"}'
    )


def test_json_cut_short_is_still_redacted() -> None:
    assert SECRET not in redact_json(f'{{"a": 1, "secret": "{SECRET}')
    assert SECRET not in redact_json(f'{{"a": 1, "secret": {{"b": "{SECRET}", "c": ')


def test_json_without_a_credential_is_kept_character_for_character() -> None:
    text = '{ "click_id" :"abc",\n "note": "the \\"secret\\": 1" }'
    assert redact_json(text) == text


def _multipart(boundary: str, fields: list[tuple[str, str]], newline: str = "\r\n") -> str:
    parts = [
        f"--{boundary}{newline}Content-Disposition: form-data; {header}{newline}{newline}{value}"
        for header, value in fields
    ]
    return newline.join([*parts, f"--{boundary}--", ""])


@pytest.mark.parametrize(
    "header",
    [
        'name="secret"',
        "name=token",
        "name*=UTF-8''secre%74",  # RFC 2231, as Django reads it
        'name="SECRET"',
        'name="secre%74"',
    ],
)
def test_a_multipart_part_is_redacted_however_its_name_is_written(header: str) -> None:
    body = _multipart("XyZ", [('name="click_id"', "abc"), (header, SECRET), ('name="a"', "1")])
    redacted = redact_body(body, "multipart/form-data; boundary=XyZ")
    assert redacted == body.replace(SECRET, "[redacted]")


def test_a_multipart_body_without_its_boundary_is_still_redacted() -> None:
    body = _multipart("b0und", [('name="secret"', SECRET), ('name="a"', "1")], newline="\n")
    assert redact_body(body, "multipart/form-data") == body.replace(SECRET, "[redacted]")
    assert redact_multipart(body, None) == body.replace(SECRET, "[redacted]")


def test_a_body_is_read_by_its_shape_whatever_its_content_type_says() -> None:
    assert redact_body(f"a=1&secret={SECRET}", "multipart/form-data") == "a=1&secret=[redacted]"
    assert SECRET not in redact_body(f'\ufeff {{"token": "{SECRET}"}}', "text/plain")
    assert redact_body(f"token={SECRET}", "application/json") == "token=[redacted]"


_NAMES = st.lists(
    st.sampled_from(
        ["secret", "token", "SECRET", "Token", "to", "ken", "x", " ", "+", "\t", "\x1c", "s"]
    ),
    max_size=4,
).map("".join)
_VALUES = st.sampled_from(["", "v", "=", "a=b", "+", " x "])
_PAIRS = st.lists(
    st.tuples(_NAMES, st.sampled_from(["=", ""]), _VALUES, st.sampled_from(["&", ";", ""])),
    max_size=5,
).map(lambda pairs: "".join(n + eq + v + sep for n, eq, v, sep in pairs))  # fmt: skip


@given(_PAIRS)
def test_the_plain_text_shortcut_redacts_exactly_what_the_pairs_would(text: str) -> None:
    # ASCII without percent-encoding (every postback's query, nearly) takes one expression;
    # it must decide exactly as reading the pairs one by one does.
    assert redaction.redact_query(text) == redaction.redact_pairs(text)


def test_the_shortcut_agrees_with_the_pairs_on_every_spelling_of_a_name() -> None:
    names = ["secret", "+secret", "secret+", " token ", "to ken", "to+ken", "\x1csecret",
             "SECRET", "Token\t", "x", "secretx", "xtoken", ""]  # fmt: skip
    values = ["", "v", "a=b", "+", "v;w", ";x", ";token=y"]
    for before, name, value in itertools.product(["", "a=1&", "a=1;", "&"], names, values):
        text = f"{before}{name}={value}&z=2"
        assert redaction.redact_query(text) == redaction.redact_pairs(text), text
