"""IRIs to URIs (core.uris). Pure functions."""

from __future__ import annotations

from urllib.parse import unquote

import idna
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.uris import has_raw_controls, to_location, to_uri


@pytest.mark.parametrize(
    ("iri", "uri"),
    [
        ("https://例え.jp/パス", "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"),
        ("https://shop.example/€uro", "https://shop.example/%E2%82%ACuro"),
        ("https://shop.example/€?q=ü#frä", "https://shop.example/%E2%82%AC?q=%C3%BC#fr%C3%A4"),
        ("https://user:pä@bücher.de:8443/x", "https://user:p%C3%A4@xn--bcher-kva.de:8443/x"),
        # As browsers (UTS #46, non-transitional): ß stays ß, it is not "ss".
        ("https://faß.de/", "https://xn--fa-hia.de/"),
        ("https://ＥＸＡＭＰＬＥ.com/", "https://example.com/"),
        ("https://bücher。example/", "https://xn--bcher-kva.example/"),
        ("http://[::1]:8000/é", "http://[::1]:8000/%C3%A9"),
    ],
)
def test_an_iri_becomes_the_uri_a_browser_would_request(iri: str, uri: str) -> None:
    assert to_uri(iri) == uri


def test_macros_and_escapes_survive() -> None:
    iri = "https://adv.example/é/{click_id}?c={click_id}&x=%2F&sub={link_id}"
    assert to_uri(iri) == "https://adv.example/%C3%A9/{click_id}?c={click_id}&x=%2F&sub={link_id}"


@pytest.mark.parametrize(
    "uri",
    [
        "https://a.example/b?",
        "HTTPS://LOUD.EXAMPLE/A#",
        "https://a_b.example/%e2%82%ac",
        "javascript:alert(1)",
        "not a url",
        "",
    ],
)
def test_ascii_is_left_exactly_as_written(uri: str) -> None:
    assert to_uri(uri) == uri


@pytest.mark.parametrize(
    "iri", ["https://😀.example/", "https://" + "ä" * 64 + ".example/", "https://a.example/\ud800"]
)
def test_what_cannot_be_converted_is_refused_in_words(iri: str) -> None:
    with pytest.raises(ValueError, match=r"host|Unicode"):
        to_uri(iri)


@pytest.mark.parametrize(
    "stored", ["https://😀.example/p", "https://a.example/\ud800", "https://例え.jp/パス"]
)
def test_a_location_is_ascii_whatever_was_stored(stored: str) -> None:
    assert to_location(stored).isascii()


LABEL = st.text(alphabet="abcxyzäöüßéñ日本語例え", min_size=1, max_size=10)
PATH = st.text(alphabet="abc/-_.~é€日本パス😀 ", max_size=20)


@given(st.lists(LABEL, min_size=1, max_size=3), PATH)
def test_a_uri_decodes_back_to_its_iri(labels: list[str], path: str) -> None:
    host = ".".join(labels) + ".example"
    try:
        expected_host = idna.decode(idna.encode(host, uts46=True, transitional=False))
    except idna.IDNAError:
        return  # not a domain name at all; refused, as above
    uri = to_uri(f"https://{host}/{path}")
    assert uri.isascii()
    ascii_host, _, rest = uri.removeprefix("https://").partition("/")
    assert idna.decode(ascii_host) == expected_host
    assert unquote(rest) == path
    assert to_uri(uri) == uri  # a URI is its own conversion


@pytest.mark.parametrize("url", ["https://a.example/x\x01y", "https://a.example/a b", "x\x7f"])
def test_a_location_never_carries_a_space_or_control_character_raw(url: str) -> None:
    # Rows stored before destinations were checked for them still go out as a valid URI.
    location = to_location(url)
    assert location.isascii() and not has_raw_controls(location)
    assert unquote(location) == url
