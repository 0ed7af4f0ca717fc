from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import uris
from links.rewrite import (
    Binding,
    Plan,
    Slot,
    is_trackable_url,
    plan_html,
    plan_sms,
    render,
    unescape_attribute,
)


def never(url: str) -> bool:
    return False


def unsubscribe(url: str) -> bool:
    return "unsubscribe" in url.lower()


def short(url: str) -> str:
    return "https://s.example/" + hashlib.sha1(url.encode()).hexdigest()[:7]


def rendered(plan: Plan) -> str:
    return render(plan.pieces, {name: short(url) for name, url in plan.links.items()})


class TestSmsPlaceholders:
    def test_it_turns_a_bound_placeholder_into_a_slot(self) -> None:
        plan = plan_sms("Hi! {{link1}} now", {"link1": Binding("https://a.example/p")}, never)
        assert plan.pieces == ["Hi! ", Slot("link1"), " now"]
        assert plan.links == {"link1": "https://a.example/p"}

    def test_it_allows_spaces_inside_the_braces(self) -> None:
        plan = plan_sms("Go {{ link1 }}", {"link1": Binding("https://a.example/")}, never)
        assert plan.pieces == ["Go ", Slot("link1")]

    def test_it_uses_one_slot_for_a_placeholder_used_twice(self) -> None:
        plan = plan_sms("{{a}} and {{a}}", {"a": Binding("https://a.example/")}, never)
        assert plan.pieces == [Slot("a"), " and ", Slot("a")]
        assert plan.links == {"a": "https://a.example/"}

    def test_it_keeps_an_unbound_placeholder(self) -> None:
        plan = plan_sms("Hi {{nope}} {{nope}}", {}, never)
        assert plan.pieces == ["Hi {{nope}} {{nope}}"]
        assert plan.links == {}

    def test_it_puts_the_raw_url_for_an_untracked_binding(self) -> None:
        bindings = {"l": Binding("https://a.example/?a=1&b=2", track=False)}
        plan = plan_sms("Go {{l}}", bindings, never)
        assert plan.pieces == ["Go https://a.example/?a=1&b=2"]
        assert plan.links == {}

    def test_it_puts_the_raw_url_for_an_opt_out_binding(self) -> None:
        bindings = {
            "stop": Binding("https://a.example/unsubscribe?c=9"),
            "shop": Binding("https://a.example/shop"),
        }
        plan = plan_sms("{{shop}} Stop: {{stop}}", bindings, unsubscribe)
        assert plan.pieces == [Slot("shop"), " Stop: https://a.example/unsubscribe?c=9"]
        assert plan.links == {"shop": "https://a.example/shop"}


class TestSmsBareUrls:
    def test_it_shortens_a_bare_url(self) -> None:
        plan = plan_sms("Sale at https://shop.example/s?x=1 today", {}, never)
        assert plan.pieces == ["Sale at ", Slot("url1"), " today"]
        assert plan.links == {"url1": "https://shop.example/s?x=1"}

    def test_it_matches_the_scheme_in_any_case(self) -> None:
        plan = plan_sms("HTTP://A.EXAMPLE/X", {}, never)
        assert plan.links == {"url1": "HTTP://A.EXAMPLE/X"}

    def test_it_keeps_a_trailing_full_stop_outside_the_link(self) -> None:
        plan = plan_sms("See https://a.example/x.", {}, never)
        assert plan.pieces == ["See ", Slot("url1"), "."]
        assert plan.links == {"url1": "https://a.example/x"}

    def test_it_keeps_a_closing_bracket_outside_the_link(self) -> None:
        plan = plan_sms("Deal (https://a.example/x) ends", {}, never)
        assert plan.pieces == ["Deal (", Slot("url1"), ") ends"]
        assert plan.links == {"url1": "https://a.example/x"}

    def test_it_keeps_an_exclamation_mark_outside_the_link(self) -> None:
        plan = plan_sms("Now https://a.example/x!", {}, never)
        assert plan.pieces == ["Now ", Slot("url1"), "!"]

    def test_it_keeps_a_run_of_punctuation_outside_the_link(self) -> None:
        plan = plan_sms("(see https://a.example/x?).", {}, never)
        assert plan.pieces == ["(see ", Slot("url1"), "?)."]
        assert plan.links == {"url1": "https://a.example/x"}

    def test_it_keeps_brackets_the_url_itself_opened(self) -> None:
        plan = plan_sms("Read https://en.example/wiki/Foo_(bar).", {}, never)
        assert plan.links == {"url1": "https://en.example/wiki/Foo_(bar)"}
        assert plan.pieces[-1] == "."

    def test_it_makes_one_link_of_the_same_url_twice(self) -> None:
        plan = plan_sms("https://a.example/x or https://a.example/x.", {}, never)
        assert plan.pieces == [Slot("url1"), " or ", Slot("url1"), "."]
        assert plan.links == {"url1": "https://a.example/x"}

    def test_it_names_different_urls_in_order_of_appearance(self) -> None:
        plan = plan_sms("https://b.example/ https://a.example/", {}, never)
        assert list(plan.links.items()) == [
            ("url1", "https://b.example/"),
            ("url2", "https://a.example/"),
        ]

    def test_it_does_not_reuse_a_name_the_platform_bound(self) -> None:
        bindings = {"url1": Binding("https://bound.example/")}
        plan = plan_sms("{{url1}} https://bare.example/", bindings, never)
        assert plan.links == {"url1": "https://bound.example/", "url2": "https://bare.example/"}
        assert plan.pieces == [Slot("url1"), " ", Slot("url2")]

    def test_it_leaves_an_opt_out_url_as_it_is(self) -> None:
        body = "Shop https://a.example/s. Stop: https://a.example/Unsubscribe?id=1."
        plan = plan_sms(body, {}, unsubscribe)
        assert plan.pieces == ["Shop ", Slot("url1"), ". Stop: https://a.example/Unsubscribe?id=1."]
        assert plan.links == {"url1": "https://a.example/s"}

    def test_it_leaves_what_is_not_a_url_alone(self) -> None:
        body = "Type http:// then https://:80 or ftp://a.example/x"
        plan = plan_sms(body, {}, never)
        assert plan.pieces == [body]
        assert plan.links == {}

    def test_it_stops_a_url_at_angle_brackets_and_quotes(self) -> None:
        plan = plan_sms('<https://a.example/x> "https://b.example/y"', {}, never)
        assert plan.pieces == ["<", Slot("url1"), '> "', Slot("url2"), '"']

    def test_rendering_puts_short_urls_in_the_slots(self) -> None:
        bindings = {"link1": Binding("https://a.example/p")}
        plan = plan_sms("Hi 😀 {{link1}}, or https://b.example/q.", bindings, never)
        shorts = {"link1": "https://go.example/AAAAAAA", "url1": "https://go.example/BBBBBBB"}
        assert render(plan.pieces, shorts) == (
            "Hi 😀 https://go.example/AAAAAAA, or https://go.example/BBBBBBB."
        )


class TestTrackableUrl:
    def test_it_accepts_http_and_https_urls_with_a_host(self) -> None:
        assert is_trackable_url("https://a.example")
        assert is_trackable_url("HTTP://a.example:8080/p?q=1#f")

    def test_it_rejects_urls_a_browser_would_balk_at(self) -> None:
        for url in (
            "",
            "http://",
            "https://exa mple.com",
            "http://[bad",
            "https://a.example:99999/",
            "mailto:a@example.com",
            "javascript:alert(1)",
            "//a.example/",
            "https://a.example/\n",
        ):
            assert not is_trackable_url(url), url

    def test_it_accepts_an_ipv6_literal_host(self) -> None:
        # rewrite.py keeps a branch for bracketed hosts; urlsplit strips the brackets first,
        # so that branch never fires and `http://[::1]/` is refused.
        assert is_trackable_url("http://[2001:db8::1]/p")


class TestHtmlAnchors:
    def test_it_rewrites_the_href_of_an_anchor(self) -> None:
        plan = plan_html('<p><a href="https://a.example/x">Buy</a></p>', {}, never)
        assert plan.pieces == ['<p><a href="', Slot("url1"), '">Buy</a></p>']
        assert plan.links == {"url1": "https://a.example/x"}

    def test_it_decodes_entities_for_the_destination_and_replaces_the_encoded_value(
        self,
    ) -> None:
        plan = plan_html('<a href="https://a.example/?x=1&amp;y=2">x</a>', {}, never)
        assert plan.links == {"url1": "https://a.example/?x=1&y=2"}
        assert rendered(plan) == f'<a href="{short("https://a.example/?x=1&y=2")}">x</a>'

    def test_it_decodes_an_unescaped_ampersand_the_way_a_browser_does(self) -> None:
        # In an attribute, a browser keeps `&region=` and `&notify=` as written: a legacy
        # entity name (`&reg`, `&not`) followed by a letter or '=' is not a reference.
        doc = '<a href="https://shop.example/?lang=en&region=us&notify=1">x</a>'
        plan = plan_html(doc, {}, never)
        assert plan.links == {"url1": "https://shop.example/?lang=en&region=us&notify=1"}

    def test_it_checks_the_decoded_url(self) -> None:
        encoded_scheme = plan_html('<a href="&#104;ttps://a.example/">x</a>', {}, never)
        assert encoded_scheme.links == {"url1": "https://a.example/"}
        encoded_space = plan_html('<a href="https://a.example/&#32;x">x</a>', {}, never)
        assert encoded_space.links == {}

    def test_it_leaves_anchors_marked_no_track_alone(self) -> None:
        doc = '<a data-trackly-no-track href="https://a.example/">x</a>'
        plan = plan_html(doc, {}, never)
        assert plan.pieces == [doc]
        assert plan.links == {}

    def test_it_leaves_other_schemes_alone(self) -> None:
        doc = (
            '<a href="mailto:a@example.com">m</a><a href="tel:+14155550123">t</a>'
            '<a href="javascript:void(0)">j</a><a href="ftp://a.example/">f</a>'
            '<a href="/relative">r</a><a href="#top">h</a>'
        )
        plan = plan_html(doc, {}, never)
        assert plan.pieces == [doc]

    def test_it_leaves_malformed_urls_alone(self) -> None:
        doc = (
            '<a href="http://">1</a><a href="https://exa mple.com">2</a>'
            '<a href="http://[bad">3</a><a href="">4</a><a href>5</a>'
        )
        plan = plan_html(doc, {}, never)
        assert plan.pieces == [doc]

    def test_it_leaves_opt_out_links_alone(self) -> None:
        doc = '<a href="https://a.example/unsubscribe?u=1">Unsubscribe</a>'
        assert plan_html(doc, {}, unsubscribe).pieces == [doc]

    def test_it_rewrites_only_the_first_of_two_hrefs(self) -> None:
        doc = '<a href="https://one.example/" href="https://two.example/">x</a>'
        plan = plan_html(doc, {}, never)
        assert plan.links == {"url1": "https://one.example/"}
        assert plan.pieces[-1] == '" href="https://two.example/">x</a>'

    def test_it_does_not_touch_other_tags_that_carry_urls(self) -> None:
        doc = (
            '<img src="https://img.example/a.png"><link href="https://css.example/a.css">'
            '<area href="https://map.example/"> https://bare.example/ in text'
        )
        assert plan_html(doc, {}, never).pieces == [doc]

    def test_it_makes_one_link_of_the_same_href_twice(self) -> None:
        doc = '<a href="https://a.example/">1</a><a href="https://a.example/">2</a>'
        plan = plan_html(doc, {}, never)
        assert plan.links == {"url1": "https://a.example/"}
        assert plan.pieces.count(Slot("url1")) == 2


class TestHtmlPlaceholders:
    def test_it_fills_a_placeholder_href_with_a_slot(self) -> None:
        plan = plan_html('<a href="{{link1}}">x</a>', {"link1": Binding("https://a.ex/")}, never)
        assert plan.pieces == ['<a href="', Slot("link1"), '">x</a>']
        assert plan.links == {"link1": "https://a.ex/"}

    def test_it_escapes_the_raw_url_of_an_untracked_binding(self) -> None:
        bindings = {"l": Binding("https://a.example/?a=1&b=2", track=False)}
        plan = plan_html('<a href="{{l}}">x</a>', bindings, never)
        assert plan.pieces == ['<a href="https://a.example/?a=1&amp;b=2">x</a>']

    def test_it_puts_the_raw_url_for_an_opt_out_binding(self) -> None:
        bindings = {"stop": Binding("https://a.example/unsubscribe")}
        plan = plan_html('<a href="{{stop}}">Stop</a>', bindings, unsubscribe)
        assert plan.pieces == ['<a href="https://a.example/unsubscribe">Stop</a>']
        assert plan.links == {}

    def test_it_puts_the_raw_url_inside_a_no_track_anchor(self) -> None:
        bindings = {"l": Binding("https://a.example/")}
        plan = plan_html('<a data-trackly-no-track href="{{l}}">x</a>', bindings, never)
        assert plan.pieces == ['<a data-trackly-no-track href="https://a.example/">x</a>']
        assert plan.links == {}

    def test_it_keeps_an_unbound_placeholder(self) -> None:
        plan = plan_html("<p>{{who}}</p>", {}, never)
        assert plan.pieces == ["<p>{{who}}</p>"]


# A document is a list of parts: text that must come back byte for byte, and hrefs that
# must be replaced exactly, quotes and surrounding bytes untouched.


@dataclass(frozen=True)
class Href:
    raw: str  # as written in the document
    url: str  # the destination it must become


Part = str | Href


def original(parts: list[Part]) -> str:
    return "".join(p.raw if isinstance(p, Href) else p for p in parts)


def expected(parts: list[Part]) -> str:
    return "".join(short(p.url) if isinstance(p, Href) else p for p in parts)


def assert_only_hrefs_replaced(parts: list[Part]) -> None:
    plan = plan_html(original(parts), {}, unsubscribe)
    assert rendered(plan) == expected(parts)
    assert set(plan.links.values()) == {p.url for p in parts if isinstance(p, Href)}


def test_it_replaces_exactly_the_hrefs_of_a_tricky_document() -> None:
    parts: list[Part] = [
        "<!DOCTYPE html>\r\n<html><head><title>Soldes d’été — 日本</title>\r\n",
        "<style>a[href='https://style.example/'] { color: red }</style>\r\n",
        "<script>var s = \"<a href='https://script.example/'>\"; if (a < b && c > d) {}",
        "</script>\r\n</head><body>\r\n",
        '<!-- <a href="http://x.com">commented out</a> -->\r\n',
        '<![CDATA[<a href="http://cdata.example/">]]>\r\n',
        "<p class=lead>Héllo 😀 &amp; welcome &gt; https://bare.example/in-text</p>\r\n",
        '<a title="href=http://evil.com" href="',
        Href("https://good.example/a?x=1&amp;y=2", "https://good.example/a?x=1&y=2"),
        '" target="_blank">Good</a>\r\n',
        "<a href='",
        Href("https://single.example/s", "https://single.example/s"),
        "'>single</a>\r\n<a class=btn href=",
        Href("https://unquoted.example/u?p=1", "https://unquoted.example/u?p=1"),
        '>unquoted</a>\r\n<A HREF="',
        Href("HTTPS://UPPER.EXAMPLE/", "HTTPS://UPPER.EXAMPLE/"),
        '">UPPER</A>\r\n<a\r\n  href\r\n  =\r\n  "',
        Href("https://crlf.example/ñ", "https://crlf.example/%C3%B1"),  # minted as a URI
        '"\r\n>crlf ü</a>\r\n',
        '<a href="mailto:sales@example.com">mail</a> <a href="tel:+14155550123">call</a>\r\n',
        '<a href="javascript:void(0)">js</a> <a href="http://">empty</a>\r\n',
        '<a href="https://exa mple.com">space</a> <a href="http://[bad">bad</a>\r\n',
        '<a data-trackly-no-track href="https://notrack.example/">keep</a>\r\n',
        '<a href="https://example.com/unsubscribe?u=1">Unsubscribe</a>\r\n',
        '<a name="top" title=\'<a href="https://attr.example/">\'>no href</a>\r\n',
        '<img src="https://img.example/a.png" alt="">\r\n<a href="',
        Href("https://good.example/a?x=1&amp;y=2", "https://good.example/a?x=1&y=2"),
        '"/>\r\n</body></html>\r\n',
    ]
    assert_only_hrefs_replaced(parts)


# Hypothesis builds documents from the same kinds of parts, in any order.

SAFE_TEXT = st.lists(
    st.sampled_from(list("abcXYZ019 .,;:!?&>'\"=/-é日😀\t") + ["\r\n", "\n", "&amp;"]),
    max_size=20,
).map("".join)

UNTOUCHED = st.sampled_from(
    [
        '<!-- <a href="http://x.com">c</a> -->',
        "<script>var s = \"<a href='https://s.example/'>\"; if (a < b) {}</script>",
        '<style>a[href="https://st.example"] { x: y }</style>',
        '<![CDATA[<a href="http://cd.example">]]>',
        '<a href="mailto:x@example.com">m</a>',
        '<a href="tel:+14155550123">t</a>',
        '<a href="javascript:alert(1)">j</a>',
        '<a href="http://">e</a>',
        '<a href="https://exa mple.com">s</a>',
        '<a href="http://[bad">b</a>',
        '<a data-trackly-no-track href="https://nt.example/">n</a>',
        '<a HREF="https://a.example/unsubscribe?id=1">u</a>',
        '<a title="href=http://evil.com">t</a>',
        "<A NAME=top>x</A>",
        '<img src="https://img.example/a.png" alt="">',
        "<p class=x>",
        "</p>",
        "<br/>",
        " a < b <3 ",
        "<!DOCTYPE html>",
        "\r\n",
    ]
)

HOSTS = st.sampled_from(
    ["a.example", "shop.example.co.uk", "xn--bcher-kva.example", "b.example:8443", "LOUD.EXAMPLE"]
)
PATH_TEXT = st.text(alphabet="abcXYZ019-_.~%/", max_size=12)


@st.composite
def hrefs(draw: st.DrawFn) -> tuple[str, str]:
    """(raw, url): a trackable URL, and how it is written in the attribute."""
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    url = f"{scheme}://{draw(HOSTS)}/{draw(PATH_TEXT)}"
    raw = url
    if draw(st.booleans()):
        query = draw(st.lists(st.sampled_from(["a=1", "b=x%20y", "é=ü", "c="]), min_size=1))
        url += "?" + "&".join(query)
        raw += "?" + draw(st.sampled_from(["&", "&amp;", "&#38;"])).join(query)
    return raw, url.replace("é", "%C3%A9").replace("ü", "%C3%BC")  # minted as a URI


@st.composite
def anchors(draw: st.DrawFn) -> list[Part]:
    raw, url = draw(hrefs())
    tag = draw(st.sampled_from(["a", "A"]))
    before = draw(
        st.lists(
            st.sampled_from(
                [
                    ' title="href=http://evil.com"',
                    " class='btn big'",
                    " data-x=1",
                    ' hreflang="en"',
                    "\r\n  id=y",
                    ' alt="<a href=https://no.example/>"',
                ]
            ),
            max_size=3,
        )
    )
    name = draw(st.sampled_from(["href", "HREF", "Href"]))
    equals = draw(st.sampled_from(["=", " = ", "\r\n=\r\n", "\t="]))
    quote = draw(st.sampled_from(['"', "'", ""]))
    after = draw(st.sampled_from(["", ' target="_blank"', " rel=noopener", "\r\n"]))
    close = draw(st.sampled_from([">", " />"]))
    text = draw(SAFE_TEXT)
    return [
        f"<{tag}{''.join(before)} {name}{equals}{quote}",
        Href(raw, url),
        f"{quote}{after}{close}{text}</{tag}>",
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(SAFE_TEXT.map(lambda s: [s]), UNTOUCHED.map(lambda s: [s]), anchors()),
        max_size=12,
    )
)
def test_only_the_hrefs_change_whatever_surrounds_them(chunks: list[list[Part]]) -> None:
    assert_only_hrefs_replaced([part for chunk in chunks for part in chunk])


def test_links_written_as_text_in_title_and_textarea_are_not_rewritten() -> None:
    from links.rewrite import plan_html

    doc = (
        '<title><a href="https://in.title.example/">t</a></title>'
        '<textarea><a href="https://in.textarea.example/">x</a></textarea>'
        '<a href="https://real.example/">r</a>'
    )
    plan = plan_html(doc, {}, lambda url: False)
    assert plan.links == {"url1": "https://real.example/"}


class TestMarkupTheParserChokedOn:
    @pytest.mark.parametrize(
        "declaration",
        ["<![foo[ x ]]>", "<![1]>", "<![ ]>", "<![if !mso]>", "<![endif]>", "<![CDATA[ a > b ]]>",
         "<![", "<![foo[ <p> no close"],
    )  # fmt: skip
    def test_a_marked_section_leaves_every_byte_as_it_was_and_the_links_after_it_rewritten(
        self, declaration: str
    ) -> None:
        parts: list[Part] = [
            "<p>before</p>",
            declaration,
            '<p>after</p><a href="',
            Href("https://after.example/x", "https://after.example/x"),
            '">go</a>',
        ]
        assert_only_hrefs_replaced(parts)

    def test_it_reads_a_marked_section_as_a_browser_does_a_bogus_comment(self) -> None:
        # Up to the first ">": the anchor inside is comment text, the one after it a link.
        doc = (
            '<![foo[ <a href="https://inside.example/"> ]]><a href="https://outside.example/">x</a>'
        )
        plan = plan_html(doc, {}, never)
        assert list(plan.links.values()) == ["https://outside.example/"]


# Fuzzing with the pieces HTML is made of, in any order and any number: whatever the parser
# makes of it, it never fails, and outside the hrefs it rewrote the bytes are the input's.
MARKUP = st.sampled_from(
    ["<", ">", "</", "<!", "<![", "]]>", "]>", "<!--", "-->", "<?", "?>", "[", "]", "/>", "=",
     '"', "'", "&", "&amp;", "&#", ";", " ", "\n", "\r\n", "x", "é", "😀", "CDATA", "if",
     "endif", "doctype", "<!DOCTYPE html>", "<a", "<a href=", "<a href='", '<a href="', "href",
     "https://a.example/p", "https://例え.jp/パス", "{{link1}}", "<script>", "</script>",
     "<title>", "</title>", "<textarea>", "<style>", "<svg>", "</a>", "<p>", "<br/>",
     "data-trackly-no-track"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(MARKUP, max_size=40).map("".join))
def test_no_markup_makes_the_rewrite_fail_or_change_a_byte_outside_an_href(doc: str) -> None:
    plan = plan_html(doc, {"link1": Binding("https://bound.example/")}, never)
    # The literal pieces must be the document's own bytes, in order, with only a rewritten
    # href (or the bound placeholder) where each slot stands.
    pattern = "".join(
        re.escape(p) if isinstance(p, str) else PLACEHOLDER if p.name == "link1" else "(.+?)"
        for p in plan.pieces
    )
    match = re.fullmatch(pattern, doc, re.DOTALL)
    assert match is not None, (doc, plan.pieces)
    hrefs = [p.name for p in plan.pieces if isinstance(p, Slot) and p.name != "link1"]
    for name, raw in zip(hrefs, match.groups(), strict=True):
        assert uris.to_uri(unescape_attribute(raw).strip()) == plan.links[name]


PLACEHOLDER = r"\{\{\s*link1\s*\}\}"


class TestIris:
    def test_a_bare_iri_in_sms_is_minted_as_its_uri(self) -> None:
        plan = plan_sms("Deal https://shop.example/€uro now", {}, never)
        assert plan.links == {"url1": "https://shop.example/%E2%82%ACuro"}

    def test_an_iri_href_is_minted_as_its_uri(self) -> None:
        plan = plan_html('<a href="https://例え.jp/パス">x</a>', {}, never)
        assert plan.links == {"url1": "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"}

    def test_an_iri_and_its_uri_are_one_link(self) -> None:
        plan = plan_sms(
            "https://例え.jp/パス or https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9", {}, never
        )
        assert list(plan.links) == ["url1"]

    def test_a_bound_iri_is_minted_as_its_uri_and_an_untracked_one_goes_out_as_written(
        self,
    ) -> None:
        bindings = {
            "a": Binding("https://shop.example/€"),
            "b": Binding("https://shop.example/€", track=False),
        }
        plan = plan_sms("{{a}} {{b}}", bindings, never)
        assert plan.links == {"a": "https://shop.example/%E2%82%AC"}
        assert rendered(plan).endswith(" https://shop.example/€")

    def test_a_host_idna_refuses_is_left_alone(self) -> None:
        plan = plan_sms("Hi https://😀.example/x", {}, never)
        assert plan.links == {} and rendered(plan) == "Hi https://😀.example/x"

    def test_an_opt_out_pattern_written_in_unicode_still_matches(self) -> None:
        def opt_out(url: str) -> bool:
            return "désabonner" in url

        plan = plan_html('<a href="https://shop.example/désabonner">x</a>', {}, opt_out)
        assert plan.links == {}
        bindings = {"u": Binding("https://shop.example/désabonner")}
        assert plan_sms("{{u}}", bindings, opt_out).links == {}
