"""What a tracking domain serves: /<link_id>, /conv, /conv/offer, /pixel/<link_id>.gif.

Dispatched straight from trackly.middleware.HostRoutingMiddleware: tracking requests skip
sessions, CSRF and auth (they carry no cookie and set none; networks POST without CSRF).
Lives in trackly because it routes to both links (the redirect) and attribution.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

from attribution import views as postbacks
from links import redirect
from links.domains import DomainInfo

PIXEL_RE = re.compile(r"^/pixel/([^/]+)\.gif$")


def dispatch(request: HttpRequest, domain: DomainInfo) -> HttpResponse:
    path = request.path_info
    if path in ("/conv", "/conv/"):
        return postbacks.conv(request, domain)
    if path in ("/conv/offer", "/conv/offer/"):
        return postbacks.conv_offer(request, domain)
    pixel = PIXEL_RE.match(path)
    if pixel:
        return postbacks.pixel(request, domain, pixel.group(1))
    segment = path[1:]
    if segment and "/" not in segment:
        return redirect.redirect(request, domain, segment)
    return redirect.unknown_link(request, domain)
