from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from links.bots import classify_request, classify_user_agent

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
IOS_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
ANDROID_WV = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "reason"),
    [
        ("", "ua:empty"),
        ("Mozilla/5.0", "ua:bare-mozilla"),
        ("facebookexternalhit/1.1 Facebot Twitterbot/1.0", "ua:link-preview:imessage"),
        ("WhatsApp/2.23.20.0 A", "ua:link-preview:whatsapp"),
        ("TelegramBot (like TwitterBot)", "ua:link-preview:telegram"),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "ua:link-preview:slack"),
        (
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "ua:link-preview:discord",
        ),
        (
            "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
            "ua:link-preview:skype",
        ),
        (ANDROID_CHROME + " Google-PageRenderer Google", "ua:link-preview:google-messages"),
        (
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0)",
            "ua:link-preview:outlook",
        ),
        ("Mimecast-URL-Protect/1.0", "ua:scanner:mimecast"),
        ("Mozilla/5.0 (compatible; Proofpoint URL Defense)", "ua:scanner:proofpoint"),
        ("curl/8.4.0", "ua:http-library:curl"),
        ("Wget/1.21.4", "ua:http-library:wget"),
        ("python-requests/2.31.0", "ua:http-library:python"),
        ("okhttp/4.12.0", "ua:http-library:okhttp"),
        ("Java/17.0.8", "ua:http-library:java"),
        ("Go-http-client/1.1", "ua:http-library:go"),
        ("axios/1.6.2", "ua:http-library:node"),
        ("undici", "ua:http-library:node"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0 Safari/537.36",
            "ua:headless:headless-chrome",
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "ua:crawler:googlebot",
        ),
    ],
)
def test_bots_get_a_reason_a_marketer_can_read(user_agent: str, reason: str) -> None:
    assert classify_user_agent(user_agent) == (True, reason)


@pytest.mark.parametrize(
    "user_agent",
    [
        IPHONE,
        ANDROID_CHROME,
        IOS_APP + " [FBAN/FBIOS;FBAV/440.0.0.31.105;FBBV/562180512]",
        ANDROID_WV + " [FB_IAB/FB4A;FBAV/442.0.0.33.113;]",
        IOS_APP + " Instagram 307.0.2.18.107 (iPhone14,5; iOS 17_1; en_US)",
        IOS_APP + " musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI",
        ANDROID_WV + " trill_2023105030 BytedanceWebview/d8a21c6",
        IOS_APP + " Snapchat/12.60.0.36 (like Safari/8616.1.9.10.1, panda)",
        IOS_APP + " [LinkedInApp]/9.29.2450",
        IOS_APP + " GmailiOS/6.0.231015",
        IOS_APP.replace("Mobile/15E148", "GSA/288.0.576558053 Mobile/15E148 Safari/604.1"),
    ],
)
def test_people_and_their_in_app_browsers_are_people(user_agent: str) -> None:
    assert classify_user_agent(user_agent) == (False, "")


def test_a_bot_posing_as_an_in_app_browser_is_still_a_bot() -> None:
    ua = IOS_APP + " Twitter for iPhone BrandVerity/1.0 (http://www.brandverity.com/why)"
    assert classify_user_agent(ua).is_bot


def test_head_requests_are_bots_whatever_the_agent() -> None:
    assert classify_request(method="HEAD", user_agent=IPHONE) == (True, "head-request")
    assert classify_request(method="GET", user_agent=IPHONE) == (False, "")


def test_the_command_prints_one_verdict_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{IPHONE}\ncurl/8.4.0\n\nWhatsApp/2.23.20.0 A\n"))
    call_command("classify_user_agents", stdout=out)
    assert out.getvalue() == (
        "human\t-\nbot\tua:http-library:curl\nbot\tua:empty\nbot\tua:link-preview:whatsapp\n"
    )


@pytest.mark.parametrize(
    "user_agent",
    [
        "MyScanner/1.0",
        # Android's system HTTP agent (HttpURLConnection's default): an app's own fetch.
        "Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)",
        "Acme/3.2 CFNetwork/1410.0.3 Darwin/22.6.0",
        "reqwest/0.11.22",
        "Mozilla/5.0 ()",
        "Mozilla/5.0 Windows",
    ],
)
def test_an_agent_in_no_browser_shape_is_a_program(user_agent: str) -> None:
    assert classify_user_agent(user_agent) == (True, "ua:not-a-browser")


@pytest.mark.parametrize(
    "user_agent",
    [
        IPHONE,
        ANDROID_CHROME,
        "Opera/9.80 (Android; Opera Mini/7.5.33361/31.1448; U; en) Presto/2.8.119 Version/11.1010",
        "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)",
        # In-app agents outside browser shape: a known people's app (IN_APP_BROWSERS).
        "Instagram 307.0.0.34.111 Android (33/13; 420dpi; 1080x2400; samsung; SM-G991B)",
        "Twitter for iPhone/10.17",
        "Lynx/2.9.0dev.10 libwww-FM/2.14 SSL-MM/1.4.1 GNUTLS/3.7.1",
    ],
)
def test_people_in_any_browser_shape_or_known_app_stay_people(user_agent: str) -> None:
    assert classify_user_agent(user_agent) == (False, "")


def test_the_named_rules_keep_their_names_before_the_shape_rule() -> None:
    assert classify_user_agent("curl/8.4.0").reason == "ua:http-library:curl"
    assert classify_user_agent("okhttp/4.12.0").reason == "ua:http-library:okhttp"
    assert classify_user_agent("WhatsApp/2.23.20.0 A").reason == "ua:link-preview:whatsapp"
