"""How good is the bot classifier? Precision, recall and false-positive rate on public data,
and classification speed on one core.

Bots: every instance in the crawler-user-agents package, plus messaging link previews,
email/carrier scanners, HTTP libraries and headless browsers (MESSAGING_SAMPLES below).
People: every agent in fake-useragent's browser data (real desktop, mobile and tablet
browsers) plus in-app browsers of real people (IN_APP_SAMPLES), and people's agents that are
not in `Mozilla/5.0 (...)` shape (PEOPLE_OTHER_SHAPES: old Opera, in-app agents, text-mode
browsers) so the shape rule (`ua:not-a-browser`) is measured where it could go wrong.
Programs the lists miss (PROGRAM_SAMPLES): independent of the list rules, caught only by
the shape rule; "shape rule alone" shows what it would catch of every corpus by itself.

Note: the crawler-user-agents instances are the examples its own patterns were written
from, so recall on them is an upper bound; the messaging, scanner and people sets are
independent of the rules.

    .venv/bin/python bench/bot_eval.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import fake_useragent
from crawleruseragents import CRAWLER_USER_AGENTS_DATA

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from links.bots import classify_user_agent  # noqa: E402

try:  # absent before ua:not-a-browser: the script measures both sides
    from links.bots import not_a_browser as SHAPE_RULE  # noqa: E402
except ImportError:
    SHAPE_RULE = None

MESSAGING_SAMPLES = [
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
    "WhatsApp/2.23.20.0 A",
    "WhatsApp/2.2348.50 i",
    "TelegramBot (like TwitterBot)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slack-ImgProxy (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0 (Linux; Android 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0 Mobile Safari/537.36 Google-PageRenderer Google (+https://developers.google.com/+/web/snippet/)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.12026; Pro)",
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
    "Outlook-iOS/709.2226530.prod.iphone (3.24.1)",
    "Viber/20.6.0 CFNetwork/1410.0.3 Darwin/22.6.0",
    "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    "Mimecast-URL-Protect/1.0",
    "Barracuda Sentinel (EE)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0 BingPreview/1.0b",
    "curl/8.4.0",
    "Wget/1.21.4",
    "python-requests/2.31.0",
    "Python-urllib/3.11",
    "okhttp/4.12.0",
    "Java/17.0.8",
    "Apache-HttpClient/4.5.14 (Java/17.0.8)",
    "Go-http-client/1.1",
    "Go-http-client/2.0",
    "axios/1.6.2",
    "undici",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "PostmanRuntime/7.36.0",
    "GuzzleHttp/7",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.71 Safari/537.36",
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
    "",
    "Mozilla/5.0",
]

# Programs that no list names (each was classified human before ua:not-a-browser).
PROGRAM_SAMPLES = [
    "MyScanner/1.0",
    # Android's system HTTP agent (HttpURLConnection's default http.agent): an app's own
    # fetch (a messaging app's link preview, an unshortener); WebViews send Mozilla/5.0.
    "Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)",
    "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A.230803.041)",
    # iOS's native stack: Safari's icon and preview fetches, apps' own requests.
    "MobileSafari/604.1 CFNetwork/1410.0.3 Darwin/22.6.0",
    "Acme/3.2 CFNetwork/1410.0.3 Darwin/22.6.0",
    "fasthttp",
    "reqwest/0.11.22",
    "Apache-HttpAsyncClient/4.1.4 (Java/11.0.21)",
    "libcurl-agent/1.0",
    "aws-sdk-go/1.44.0 (go1.21.4; linux; amd64)",
    "Microsoft-CryptoAPI/10.0",
    "got",
    "Zoom/5.16.10 (Windows)",
    "Spotify/8.8.80 iOS/17.1 (iPhone14,5)",
]

# People whose agents are not in Mozilla/5.0 shape: known in-app agents (rule 3), old
# Opera (Presto), and text-mode browsers.
PEOPLE_OTHER_SHAPES = [
    "Opera/9.80 (Android; Opera Mini/7.5.33361/31.1448; U; en) Presto/2.8.119 Version/11.1010",
    "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
    "Opera/9.80 (J2ME/MIDP; Opera Mini/4.2.14912/870; U; en) Presto/2.4.15",
    "Instagram 307.0.0.34.111 Android (33/13; 420dpi; 1080x2400; samsung; SM-G991B; o1s; exynos2100; en_US; 532277065)",
    "Twitter for iPhone/10.17",
    "Lynx/2.9.0dev.10 libwww-FM/2.14 SSL-MM/1.4.1 GNUTLS/3.7.1",
    "w3m/0.5.3+git20230121",
    "Links (2.28; Linux 6.1.0 x86_64; GNU C 12.2; text)",
    "ELinks/0.13.GIT (textmode; Linux 6.1.0 x86_64; 200x50-2)",
    "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)",
]

IN_APP_SAMPLES = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
    "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/442.0.0.33.113;]",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 307.0.2.18.107 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 532277065)",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0 Mobile Safari/537.36 Instagram 305.0.0.34.110 Android",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US",
    "Mozilla/5.0 (Linux; Android 12; SM-A525F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/117.0 Mobile Safari/537.36 trill_2023105030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/31.5.3 ByteLocale/en BytedanceWebview/d8a21c6",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.60.0.36 (like Safari/8616.1.9.10.1, panda)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.2450",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/288.0.576558053 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 GmailiOS/6.0.231015",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 GSA/14.44.27.29.arm64",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
]


def browser_agents() -> list[str]:
    path = Path(os.path.dirname(fake_useragent.__file__)) / "data" / "browsers.jsonl"
    with path.open() as f:
        return sorted({json.loads(line)["useragent"] for line in f})


def main() -> None:
    crawler = sorted(
        {ua for entry in CRAWLER_USER_AGENTS_DATA for ua in entry.get("instances", [])}
    )
    bots = {
        "crawler-user-agents instances": crawler,
        "messaging, scanners, libraries": MESSAGING_SAMPLES,
        "programs no list names": PROGRAM_SAMPLES,
    }
    people = {
        "fake-useragent browsers": browser_agents(),
        "in-app browsers": IN_APP_SAMPLES,
        "people in other shapes": PEOPLE_OTHER_SHAPES,
    }

    missed: list[str] = []
    print("bots (should be bot)")
    tp = fn = 0
    for name, agents in bots.items():
        hits = [ua for ua in agents if classify_user_agent(ua).is_bot]
        missed += [ua for ua in agents if not classify_user_agent(ua).is_bot]
        tp, fn = tp + len(hits), fn + len(agents) - len(hits)
        print(f"  {name:34} {len(hits):6}/{len(agents):<6} recall {len(hits) / len(agents):.4f}")
    print("people (should be human)")
    fp = tn = 0
    false_positives: list[str] = []
    for name, agents in people.items():
        flagged = [ua for ua in agents if classify_user_agent(ua).is_bot]
        false_positives += flagged
        fp, tn = fp + len(flagged), tn + len(agents) - len(flagged)
        print(
            f"  {name:34} {len(flagged):6} flagged of {len(agents):<6} FPR {len(flagged) / len(agents):.4%}"
        )
    print(
        f"precision {tp / (tp + fp):.4f}   recall {tp / (tp + fn):.4f}   false positive rate {fp / (fp + tn):.4%}"
    )
    if false_positives:
        print(
            "false positives:",
            *[f"  {classify_user_agent(ua).reason}  {ua[:110]}" for ua in false_positives[:10]],
            sep="\n",
        )
    if missed:
        print(
            f"missed bots ({len(missed)}), first 10:",
            *[f"  {ua[:110]}" for ua in missed[:10]],
            sep="\n",
        )

    if SHAPE_RULE is not None:
        print("shape rule alone (not in browser shape and no known people's app)")
        for name, agents in {**bots, **people}.items():
            caught = sum(1 for ua in agents if SHAPE_RULE(ua))
            print(f"  {name:34} {caught:6}/{len(agents):<6} {caught / len(agents):.4%}")

    corpus = (
        crawler
        + MESSAGING_SAMPLES
        + PROGRAM_SAMPLES
        + PEOPLE_OTHER_SHAPES
        + browser_agents()
        + IN_APP_SAMPLES
    )
    uncached, cached = [], []
    for _ in range(5):
        classify_user_agent.cache_clear()
        started = time.perf_counter()
        for ua in corpus:
            classify_user_agent(ua)
        uncached.append(len(corpus) / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(5):
            for ua in corpus:
                classify_user_agent(ua)
        cached.append(5 * len(corpus) / (time.perf_counter() - started))
    print(f"speed, one core, median of 5: uncached {statistics.median(uncached):,.0f}/s, "
          f"cached {statistics.median(cached):,.0f}/s ({len(corpus):,} distinct agents)")  # fmt: skip


if __name__ == "__main__":
    main()
