"""What the postback log keeps of a request: all of it, as sent, but for the value of every
`secret` and `token` parameter, however it arrived, which becomes `[redacted]`.

"However it arrived": in the query string or the body; as urlencoded pairs (any body that is
neither of the two below is read this way, whatever its Content-Type says), multipart form
parts or JSON object keys (nested values too); with the name percent-encoded (`secre%74`,
even twice), `+` for a space, any letter case (`SECRET`: Django would not read it as the
secret, but a network that sends it meant it as one), compatibility forms of letters (a
fullwidth `ｓ`) and spaces around it. A value is never redacted for looking like a secret:
only by the name it came under. Pure functions.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import unquote_plus

from django.utils.http import parse_header_parameters

REDACTED = "[redacted]"
# An offer's postback secret (/conv/offer) and the account's postback token (/conv).
SECRET_NAMES = frozenset({"secret", "token"})
# A name percent-encoded once is what servers read; more rounds are a client's bug, and
# still meant as the secret.
_MAX_DECODES = 4

_PAIR_SEPARATOR = re.compile(r"([&;])")
# A pair whose name, after `+` is read as a space and the ends stripped, is a credential,
# with a value: in ASCII text with no percent-encoding (what redact_pairs decides there).
_PLAIN_SECRET = re.compile(
    r"((?:^|(?<=[&;]))[\s+]*(?:" + "|".join(sorted(SECRET_NAMES)) + r")[\s+]*=)[^&]+",
    re.IGNORECASE,
)
_AMPERSAND = re.compile(r"(&)")
_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')
_JSON_CUT_VALUE = re.compile(r'"(?:[^"\\]|\\.)*"?|[^,}\]]*')
# As Django's multipart parser reads a part header: white space around the name is allowed.
_DISPOSITION = re.compile(r"(?im)^[ \t]*content-disposition[ \t]*:([^\r\n]*)")
_HEADERS_END = re.compile(r"\r?\n\r?\n")
_NEXT_BOUNDARY = re.compile(r"\r?\n--")
_json = json.JSONDecoder()


def is_secret_name(raw: str) -> bool:
    if raw.isascii() and "%" not in raw and "+" not in raw:  # the common case, on every postback
        return raw.strip().lower() in SECRET_NAMES
    name = raw
    for _ in range(_MAX_DECODES):
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
    return name.strip().casefold() in SECRET_NAMES


def redact_query(text: str) -> str:
    """A query string or urlencoded body. Pairs are split on `&` as Django splits them, and
    a name after a `;` counts too, as some servers split there (so `a=1;secret=x` is not
    kept either); a credential's value runs to the next `&`, as Django reads it (so
    `token=abc;def` keeps neither part)."""
    if "=" not in text:
        return text
    if text.isascii() and "%" not in text:
        # The common case, on every postback: no name here can be spelt any other way than
        # plainly, so one expression finds them (tests tie it to the pairs it stands for).
        return _PLAIN_SECRET.sub(rf"\g<1>{REDACTED}", text)
    return redact_pairs(text)


def redact_pairs(text: str) -> str:
    return "".join(
        piece if piece == "&" else _redact_pair(piece) for piece in _AMPERSAND.split(text)
    )


def _redact_pair(pair: str) -> str:
    """One `&`-separated pair: from the first `;`-piece naming a credential (with a value
    after its `=`), all of it to the pair's end is the credential's."""
    start = 0
    while True:
        name, sep, _ = pair[start:].partition(";")[0].partition("=")
        # An empty value stays empty: the log then shows the secret was missing.
        if sep and pair[start + len(name) + 1 :] and is_secret_name(name):
            return f"{pair[:start]}{name}={REDACTED}"
        end = pair.find(";", start)
        if end < 0:
            return pair
        start = end + 1


def redact_json(text: str) -> str:
    """JSON, whole or cut short: the value of every object key naming a credential becomes
    the string "[redacted]", whatever it held; all else is kept character for character."""
    if '"' not in text:
        return text
    out: list[str] = []
    last = 0
    for match in _JSON_KEY.finditer(text):
        if match.start() < last or not is_secret_name(_json_string(match.group(1))):
            continue  # (the first: a key inside a value already redacted)
        start = match.end()
        try:
            _, end = _json.raw_decode(text, start)
        except ValueError:
            end = _cut_value_end(text, start)
        out += [text[last:start], f'"{REDACTED}"']
        last = end
    if not out:
        return text
    return "".join(out) + text[last:]


def redact_multipart(text: str, boundary: str | None) -> str:
    """multipart/form-data: the content of every part whose name (`name="..."`, or RFC 2231
    `name*=`) names a credential. Without the boundary (a client that sent none, which
    Django refuses to parse) a part ends at the next line starting with `--`."""
    out: list[str] = []
    last = 0
    for match in _DISPOSITION.finditer(text):
        if match.start() < last:
            continue
        _, params = parse_header_parameters(match.group(1))
        if not is_secret_name(params.get("name", "")):
            continue
        headers_end = _HEADERS_END.search(text, match.end())
        if headers_end is None:
            continue  # cut short before its value began
        start = headers_end.end()
        end = _part_end(text, start, boundary)
        out += [text[last:start], REDACTED]
        last = end
    if not out:
        return text
    return "".join(out) + text[last:]


def redact_body(text: str, content_type: str) -> str:
    """A request body, read as every shape a server might read it as, whatever its
    Content-Type says (a client may get it wrong, or shape a form to look like JSON or
    multipart: the secret would be in the log all the same). Each reading redacts only
    values under a credential's name, and leaves what another has redacted alone."""
    if _DISPOSITION.search(text):
        _, params = parse_header_parameters(content_type)
        text = redact_multipart(text, params.get("boundary") or None)
    if '"' in text:
        text = redact_json(text)
    return redact_query(text)


def _json_string(raw: str) -> str:
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw


def _cut_value_end(text: str, start: int) -> int:
    """Where a value that does not parse (the body was cut short) ends: a string at its
    closing quote, a scalar at the next delimiter; an object or array with the text."""
    if text[start : start + 1] in ("{", "["):
        return len(text)
    match = _JSON_CUT_VALUE.match(text, start)
    return match.end() if match else len(text)


def _part_end(text: str, start: int, boundary: str | None) -> int:
    if boundary:
        # The line break before the delimiter belongs to it (RFC 7578), LF-only or CRLF.
        found = text.find(f"\n--{boundary}", start)
        if found == -1:
            return len(text)
        return found - 1 if text[found - 1 : found] == "\r" and found - 1 >= start else found
    found = _NEXT_BOUNDARY.search(text, start)
    return found.start() if found else len(text)


ERASED = "[erased]"
_JSON_STRING_VALUE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def erase_values(text: str, name: str, matches: Callable[[str], bool]) -> str:
    """The value of every `name` parameter that `matches` (a contact's external id or
    phone, decoded) becomes `[erased]`: in urlencoded pairs (the query or a form body) and
    as a JSON object key's string value. Names are read as is_secret_name reads them
    (decoded, any case). All else is kept character for character."""
    pieces = []
    for piece in _AMPERSAND.split(text):
        key, sep, value = piece.partition("=")
        if sep and _same_name(key, name) and matches(unquote_plus(value).strip()):
            piece = f"{key}={ERASED}"
        pieces.append(piece)
    text = "".join(pieces)
    if '"' not in text:
        return text
    out: list[str] = []
    last = 0
    for match in _JSON_KEY.finditer(text):
        if match.start() < last or not _same_name(_json_string(match.group(1)), name):
            continue
        value = _JSON_STRING_VALUE.match(text, match.end())
        if value and matches(_json_string(value.group(1)).strip()):
            out += [text[last : match.end()], f'"{ERASED}"']
            last = value.end()
    return "".join(out) + text[last:] if out else text


def _same_name(raw: str, name: str) -> bool:
    for _ in range(_MAX_DECODES):
        decoded = unquote_plus(raw)
        if decoded == raw:
            break
        raw = decoded
    return unicodedata.normalize("NFKC", raw).strip().casefold() == name
