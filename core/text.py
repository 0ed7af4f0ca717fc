"""Text no column can store (a NUL character, a lone surrogate), found and named where it enters.

PostgreSQL refuses both (a NUL in any text, a lone surrogate in UTF-8), and a lone surrogate
breaks json.dumps for many consumers, so either is a 400 naming its field, never a 500 at
the INSERT. JSON bodies under /api/v1/ are checked by core.api_input.JSONParser, query
parameters of the app hosts by trackly.middleware; forms refuse a NUL by themselves
(Django's ProhibitNullCharactersValidator) and cannot carry a lone surrogate (Django decodes
form bodies and query strings with errors="replace"). Pure: no Django imports.
"""

from __future__ import annotations

import re
from typing import Any

Errors = dict[str, list[str]]

_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")
# In raw JSON either can only arrive escaped (a raw NUL or an encoded surrogate is not valid
# JSON or not valid UTF-8), so a body without such an escape needs no walk at all.
# (An escaped backslash before "u0000" matches too; the walk then finds nothing.)
_ESCAPE_RE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")
# A body in UTF-16 or UTF-32 (a client may say charset=utf-16) spells its escapes with NUL
# bytes between, so the pattern above would miss them: such a body is always walked.


def problem(value: str) -> str | None:
    """What makes `value` unstorable, or None."""
    match = _UNSTORABLE_RE.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "Contains a NUL character (U+0000), which is not allowed."
    return f"Contains a lone surrogate (U+{ord(match.group()):04X}), which is not Unicode text."


def printable(value: str) -> str:
    """`value` with NULs and lone surrogates written as \\uXXXX, safe to echo in an answer
    or a log line (a field name, say)."""
    return _UNSTORABLE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


def may_hold_unstorable(raw_json: bytes) -> bool:
    return b"\x00" in raw_json or _ESCAPE_RE.search(raw_json) is not None


def json_errors(value: Any, path: str = "") -> Errors:
    """Every string (object keys included) in a parsed JSON value that cannot be stored,
    by dotted path (`contact.phone`, `tags[2]`); the whole value is `non_field_errors`."""
    errors: Errors = {}
    _walk(value, path, errors)
    return errors


def _walk(value: Any, path: str, errors: Errors) -> None:
    if isinstance(value, str):
        message = problem(value)
        if message is not None:
            errors.setdefault(path or "non_field_errors", []).append(message)
    elif isinstance(value, dict):
        for key, item in value.items():
            field = f"{path}.{printable(key)}" if path else printable(key)
            message = problem(key)
            if message is not None:
                errors.setdefault(field, []).append(f"Field name: {message}")
            _walk(item, field, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", errors)
