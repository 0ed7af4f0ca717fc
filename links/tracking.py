"""What a tracking domain serves: /<link_id>, /conv, /conv/offer, /pixel/<link_id>.gif.

Dispatched straight from trackly.middleware.HostRoutingMiddleware: tracking requests skip
sessions, CSRF and auth (they carry no cookie and set none).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from links import redirect
from links.domains import DomainInfo


def dispatch(request: HttpRequest, domain: DomainInfo) -> HttpResponse:
    path = request.path_info
    segment = path[1:]
    if segment and "/" not in segment:
        return redirect.redirect(request, domain, segment)
    return redirect.unknown_link(request, domain)
