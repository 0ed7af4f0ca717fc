"""The security headers of tracking-domain answers, built once (app hosts get Django's own,
from SecurityMiddleware and XFrameOptionsMiddleware)."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpResponseBase

# The destination (advertiser, network) sees the click came through the brand's tracking
# domain, as networks that check the traffic source want, and never more: not the short
# link's path (a link id names one contact) nor, past its origin, the page the link was
# tapped on; over http, nothing. Browsers default to this today; saying so pins it.
REFERRER_POLICY = "strict-origin-when-cross-origin"

# Every answer on a tracking domain: the redirect (either door), its pages, postbacks, the
# pixel, 404 and 503. nosniff: a postback's JSON or the pixel is never run as a script.
TRACKING_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", REFERRER_POLICY),
)

# The interstitial asks a person to tap through to the offer: no other site may frame it
# and dress that tap up as something else (clickjacking). Both headers, for old browsers.
INTERSTITIAL_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
)


def headers_set(response: HttpResponseBase, headers: Iterable[tuple[str, str]]) -> None:
    for name, value in headers:
        response[name] = value


def headers_default(response: HttpResponseBase, headers: Iterable[tuple[str, str]]) -> None:
    """As headers_set, leaving alone the ones the answer already has."""
    for name, value in headers:
        response.setdefault(name, value)
