"""Finding the links in a message body and putting short URLs in their place.

Pure functions, no Django. Rewriting is two steps so that link ids can be minted in bulk
between them: `plan_sms` / `plan_html` cut a body into literal text and `Slot`s (the links
to mint), and `render` joins the pieces back with each slot's short URL. Everything that
is not a slot comes back exactly as it went in. A slot's destination is the link's URI
(core.uris: `https://例え.jp/パス` is minted as `https://xn--r8jz45g.jp/%E3%83%91...`),
so a redirect's Location is ASCII.
"""

from __future__ import annotations

import html
import html.entities
import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from core import uris

logger = logging.getLogger(__name__)

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
# A bare URL in SMS text; trailing punctuation is trimmed afterwards.
BARE_URL_RE = re.compile(r"""https?://[^\s<>"'{}|\\^`]+""", re.IGNORECASE)
_TRAILING = ".,;:!?'\""
_URL_FORBIDDEN = re.compile(r"[\s<>\"{}|\\^`\x00-\x1f\x7f]")
_HOST_RE = re.compile(r"^[^\s/?#@:]+$")
MAX_URL_LENGTH = 2000  # MessageShortLink.destination_url; longer URLs are left as they are


@dataclass(frozen=True)
class Binding:
    """What the sending platform said about one named link."""

    url: str
    track: bool = True


@dataclass(frozen=True)
class Slot:
    name: str


@dataclass
class Plan:
    pieces: list[str | Slot] = field(default_factory=list)
    # name -> destination URL, in order of first appearance
    links: dict[str, str] = field(default_factory=dict)


def is_trackable_url(url: str) -> bool:
    """A well-formed absolute http(s) URL with a host, nothing a browser would balk at."""
    if not url or len(url) > MAX_URL_LENGTH or _URL_FORBIDDEN.search(url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https"):
        return False
    host = parts.hostname or ""
    if "[" in parts.netloc:  # an IPv6 literal; urlsplit has dropped its brackets
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    return bool(host) and bool(_HOST_RE.match(host))


_CHARREF_RE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")


def trackable_uri(url: str) -> str | None:
    """The URI of `url` (an IRI converted) when it is a trackable URL, else None."""
    try:
        uri = uris.to_uri(url)
    except ValueError:
        return None
    return uri if is_trackable_url(uri) else None


def unescape_attribute(value: str) -> str:
    """Decode character references in an attribute value the way browsers do.

    Unlike html.unescape, a named reference without its ';' stays as written when it runs
    into a letter, digit or '=' (so `?lang=en&region=us` keeps `&region`, not `®ion`).
    """

    def decode(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.startswith("#") or ref.endswith(";"):
            return html.unescape(match.group(0))
        following = value[match.end() : match.end() + 1]
        if ref in html.entities.html5 and following != "=":
            return html.entities.html5[ref]
        return match.group(0)

    return _CHARREF_RE.sub(decode, value)


def _trim_bare_url(url: str) -> str:
    while url and url[-1] in _TRAILING:
        url = url[:-1]
    # A closing bracket belongs to the URL only when the URL opened one.
    for close, open_ in ((")", "("), ("]", "[")):
        while url.endswith(close) and url.count(close) > url.count(open_):
            url = url[:-1]
            while url and url[-1] in _TRAILING:
                url = url[:-1]
    return url


class _Planner:
    def __init__(
        self,
        bindings: dict[str, Binding],
        is_opt_out: Callable[[str], bool],
        escape: Callable[[str], str],
    ) -> None:
        self.bindings = bindings
        self.is_opt_out = is_opt_out
        self.escape = escape
        self.plan = Plan()
        self._auto_by_url: dict[str, str] = {}
        self._auto_counter = 0

    def placeholder(self, name: str, original: str, *, force_literal: bool = False) -> str | Slot:
        binding = self.bindings.get(name)
        if binding is None:
            return original
        if force_literal or not binding.track or self._opt_out(binding.url):
            return self.escape(binding.url)
        # Validated where it entered (mint input, offers); a row stored before URIs were
        # enforced is converted as the redirect converts it.
        self.plan.links.setdefault(name, uris.to_location(binding.url))
        return Slot(name)

    def bare_url(self, url: str, original: str) -> str | Slot:
        """A link found in the body: `url` as written (character references decoded),
        `original` its text, which stays when it is not a trackable URL."""
        uri = trackable_uri(url)
        if uri is None or self._opt_out(url):
            return original
        name = self._auto_by_url.get(uri)
        if name is None:
            name = self._next_auto_name()
            self._auto_by_url[uri] = name
            self.plan.links[name] = uri
        return Slot(name)

    def _opt_out(self, url: str) -> bool:
        # Patterns match the URL as written (an IRI, say) or as the URI it would become.
        if self.is_opt_out(url):
            return True
        uri = uris.to_location(url)
        return uri != url and self.is_opt_out(uri)

    def _next_auto_name(self) -> str:
        while True:
            self._auto_counter += 1
            name = f"url{self._auto_counter}"
            if name not in self.bindings:
                return name

    def add(self, piece: str | Slot) -> None:
        pieces = self.plan.pieces
        if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
            pieces[-1] += piece
        elif piece != "":
            pieces.append(piece)


_SMS_TOKEN_RE = re.compile(PLACEHOLDER_RE.pattern + "|" + BARE_URL_RE.pattern, re.IGNORECASE)


def plan_sms(body: str, bindings: dict[str, Binding], is_opt_out: Callable[[str], bool]) -> Plan:
    planner = _Planner(bindings, is_opt_out, escape=lambda s: s)
    pos = 0
    for match in _SMS_TOKEN_RE.finditer(body):
        planner.add(body[pos : match.start()])
        if match.group(1) is not None:
            planner.add(planner.placeholder(match.group(1), match.group(0)))
            pos = match.end()
            continue
        url = _trim_bare_url(match.group(0))
        planner.add(planner.bare_url(url, url))
        pos = match.start() + len(url)
    planner.add(body[pos:])
    return planner.plan


# html.parser's own tolerant attribute grammar, so we split a tag the way it does.
_ATTR_RE = re.compile(
    r"((?<=[\"'\s/])[^\s/>][^\s/=>]*)(\s*=+\s*"
    r"(\'[^\']*\'|\"[^\"]*\"|(?![\'\"])[^>\s]*))?(?:\s|/(?!>))*"
)
_TAG_NAME_RE = re.compile(r"<[a-zA-Z][^\t\n\r\f />\x00]*")


@dataclass
class _AnchorTag:
    start: int
    end: int
    no_track: bool
    href_span: tuple[int, int] | None  # absolute offsets of the raw value, quotes excluded
    href_raw: str


class _AnchorFinder(HTMLParser):
    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=False)
        self.document = document
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", document)]
        self.anchors: list[_AnchorTag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "textarea"):
            # Browsers read these as text (RCDATA): an "<a href>" inside is not a link.
            self.set_cdata_mode(tag)
            return
        if tag != "a":
            return
        text = self.get_starttag_text() or ""
        line, col = self.getpos()
        start = self.line_starts[line - 1] + col
        names = {name for name, _ in attrs}
        anchor = _AnchorTag(start, start + len(text), "data-trackly-no-track" in names, None, "")
        name_match = _TAG_NAME_RE.match(text)
        offset = name_match.end() if name_match else 0
        for attr in _ATTR_RE.finditer(text, offset):
            if attr.group(1).lower() != "href" or attr.group(3) is None:
                continue
            value = attr.group(3)
            value_start = attr.start(3)
            if value[:1] in ("'", '"'):
                value, value_start = value[1:-1], value_start + 1
            anchor.href_span = (start + value_start, start + value_start + len(value))
            anchor.href_raw = value
            break  # browsers use the first href only
        self.anchors.append(anchor)

    handle_startendtag = handle_starttag

    def parse_html_declaration(self, i: int) -> int:
        # In an HTML document `<![` opens a bogus comment that ends at the next `>` (the
        # HTML tokenizer's markup declaration open state: CDATA sections exist only inside
        # SVG and MathML), as browsers read it. Python 3.11's html.parser instead parses
        # an SGML marked section and raises AssertionError on any keyword it does not know
        # (`<![foo[ x ]]>`), which failed the whole mint.
        if self.rawdata.startswith("<![", i):
            return self.parse_bogus_comment(i)
        return super().parse_html_declaration(i)


def plan_html(
    document: str, bindings: dict[str, Binding], is_opt_out: Callable[[str], bool]
) -> Plan:
    finder = _AnchorFinder(document)
    try:
        finder.feed(document)
        finder.close()
    except AssertionError:
        # html.parser gives up on markup it cannot read by raising AssertionError. The
        # links found before that point are rewritten; the rest of the document comes
        # back as it is. (None is known since parse_html_declaration: the fuzz test in
        # tests/links/test_rewrite.py looks for more.)
        logger.warning("rewrite: html.parser gave up at line %d, col %d", *finder.getpos())
    planner = _Planner(bindings, is_opt_out, escape=lambda s: html.escape(s, quote=True))

    # Non-overlapping edits: (start, end, replacement), from href rewrites and placeholders.
    edits: list[tuple[int, int, str | Slot]] = []
    no_track_spans: list[tuple[int, int]] = []
    href_spans: list[tuple[int, int]] = []
    for anchor in finder.anchors:
        if anchor.no_track:
            no_track_spans.append((anchor.start, anchor.end))
            continue
        if anchor.href_span is None or PLACEHOLDER_RE.search(anchor.href_raw):
            continue
        url = unescape_attribute(anchor.href_raw).strip()
        if trackable_uri(url) is not None:
            edits.append((*anchor.href_span, planner.bare_url(url, anchor.href_raw)))
            href_spans.append(anchor.href_span)

    for match in PLACEHOLDER_RE.finditer(document):
        if any(s <= match.start() < e for s, e in href_spans):
            continue
        inside_no_track = any(s <= match.start() < e for s, e in no_track_spans)
        piece = planner.placeholder(match.group(1), match.group(0), force_literal=inside_no_track)
        edits.append((match.start(), match.end(), piece))

    edits.sort(key=lambda e: e[0])
    pos = 0
    for start, end, piece in edits:
        planner.add(document[pos:start])
        planner.add(piece)
        pos = end
    planner.add(document[pos:])
    return planner.plan


def render(pieces: list[str | Slot], short_urls: dict[str, str]) -> str:
    return "".join(p if isinstance(p, str) else short_urls[p.name] for p in pieces)
