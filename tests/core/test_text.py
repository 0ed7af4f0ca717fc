"""Text no column can store, found and named (core.text). Pure functions."""

from __future__ import annotations

from core import text


def test_a_nul_and_a_lone_surrogate_are_problems_and_a_surrogate_pair_is_not() -> None:
    assert "NUL" in (text.problem("a\x00b") or "")
    assert "U+D800" in (text.problem("hi \ud800") or "")
    assert "U+DFFF" in (text.problem("\udfff") or "")
    assert text.problem("😀 \U0001f600 日本 é") is None


def test_every_bad_string_is_named_by_its_dotted_path() -> None:
    body = {
        "body": "hi \ud800",
        "contact": {"external_id": "ok", "phone": "\x00"},
        "links": {"link1": {"url": "https://a.example/\udc00"}},
        "tags": ["fine", "bad\ud800"],
        "fine": 3,
    }
    assert set(text.json_errors(body)) == {
        "body",
        "contact.phone",
        "links.link1.url",
        "tags[1]",
    }


def test_a_bad_key_is_named_printably() -> None:
    errors = text.json_errors({"bo\ud800dy": "x", "ok": {"n\x00": 1}})
    assert set(errors) == {"bo\\ud800dy", "ok.n\\u0000"}
    assert all(text.problem(name) is None for name in errors)  # safe to answer and log


def test_a_bad_string_alone_is_a_non_field_error() -> None:
    assert set(text.json_errors("\ud800")) == {"non_field_errors"}


def test_raw_json_without_such_an_escape_needs_no_walk() -> None:
    assert not text.may_hold_unstorable('{"a": "日本 😀 \\n \\u00e9"}'.encode())
    assert text.may_hold_unstorable(b'{"a": "\\ud800"}')
    assert text.may_hold_unstorable(b'{"a": "\\uDBFF\\uDFFF"}')  # a pair too: then walked
    assert text.may_hold_unstorable(b'{"a": "\\u0000"}')


def test_a_body_in_utf_16_is_always_walked() -> None:
    assert text.may_hold_unstorable('{"a": "\\ud800"}'.encode("utf-16"))
