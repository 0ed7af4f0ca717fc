"""IRIs to URIs: what a destination is stored as, so a redirect's Location is ASCII.

`https://例え.jp/パス` is an IRI: browsers follow it from a page, but a `Location` header
must be ASCII (Django MIME-encodes anything else, which no browser follows). So wherever a
destination enters (mint, offers, fallbacks, og:image) it is converted: the host to IDNA
(UTS #46, non-transitional, as browsers do: `faß.de` is `xn--fa-hia.de`, not `fass.de`),
every other non-ASCII character percent-encoded as UTF-8. ASCII is left exactly as written,
so `{click_id}` macros and existing `%xx` escapes survive and a URI is its own conversion.
A destination holding a space or a control character is refused where it enters
(`has_raw_controls`); one stored before is percent-encoded on its way out (`to_location`).
Pure: no Django imports.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import quote

import idna

# RFC 3986, appendix B: scheme and authority, then the rest (path, query, fragment).
_AUTHORITY_RE = re.compile(r"^(?P<scheme>[^:/?#]+:)?(?://(?P<authority>[^/?#]*))?")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")
# What no Location may carry as it is: anything but printable ASCII.
_UNSAFE_RE = re.compile(r"[^\x21-\x7e]+")
_CONTROL_RE = re.compile(r"[\x00-\x20\x7f]")


def has_raw_controls(url: str) -> bool:
    """A space, a control character or DEL: what no browser sends unencoded in a URL."""
    return _CONTROL_RE.search(url) is not None


def to_uri(url: str) -> str:
    """`url` with an IDNA host and its other non-ASCII characters percent-encoded.

    Raises ValueError, in words for the person who sent it, when the host is no valid
    internationalized domain name (an emoji, say) or the text is not Unicode.
    """
    if url.isascii():
        return url  # already a URI (or no URL at all: validation says so)
    match = _AUTHORITY_RE.match(url)
    assert match is not None  # every group is optional
    scheme, authority = match.group("scheme") or "", match.group("authority")
    rest = url[match.end() :]
    try:
        if authority is None:
            return _quote(scheme) + _quote(rest)
        return f"{_quote(scheme)}//{_authority(authority)}{_quote(rest)}"
    except UnicodeError as exc:  # a lone surrogate: the API refuses them before this
        raise ValueError("Must be Unicode text.") from exc


def to_location(url: str) -> str:
    """`url` as printable ASCII for a Location header, whatever it holds: a stored
    destination from before conversion existed whose host IDNA refuses is percent-encoded
    whole, and so are spaces and control characters a row from before may hold."""
    if _UNSAFE_RE.search(url) is None:
        return url
    with contextlib.suppress(ValueError):  # its host: encoded whole below
        url = to_uri(url)
    return _UNSAFE_RE.sub(lambda m: quote(m.group(), safe="", errors="surrogatepass"), url)


def _authority(authority: str) -> str:
    userinfo, at, hostport = authority.rpartition("@")
    host, colon, port = hostport, "", ""
    if not hostport.startswith("["):  # an IPv6 literal is ASCII, port and all
        before, sep, after = hostport.rpartition(":")
        if sep:
            host, colon, port = before, sep, after
    return f"{_quote(userinfo)}{at}{_host(host)}{colon}{_quote(port)}"


def _host(host: str) -> str:
    if host.isascii():
        return host
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        return ".".join(
            label if label.isascii() else idna.alabel(label).decode("ascii")
            for label in mapped.split(".")
        )
    except idna.IDNAError as exc:
        raise ValueError(
            f"The host {host} is not a valid internationalized domain name ({exc})."
        ) from exc


def _quote(text: str) -> str:
    return _NON_ASCII_RE.sub(lambda m: quote(m.group(), safe=""), text)
