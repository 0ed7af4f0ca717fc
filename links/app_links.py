"""App links: what a tracking domain tells phones about its customer's app, and the tap an
opened app reports itself.

- `/.well-known/apple-app-site-association` and `/.well-known/assetlinks.json` answer the
  domain's stored JSON (TrackingDomain.apple_app_site_association, .android_asset_links),
  404 when unset; never a redirect (iOS and Android fetch them without following one).
  Loaded on demand through the config cache (links.resolve.config_cached): rare requests,
  and any change to a domain bumps the config version.
- The JSON tap: a GET of /<link_id> whose Accept lists application/json first (an app
  opened by a universal link, asking where the tap goes) is decided and recorded exactly as
  the redirect's tap (links.redirect calls `json_answer` with the one decision's answer),
  and answered 200 {"destination", "click_id"}: the 302's Location, the interstitial's
  target (never the page), the fallback of an ended offer (null when there is none). An
  unknown link is a 404 {"error": "unknown link"}, nothing recorded.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.headers import TRACKING_HEADERS, headers_set
from core.models import TrackingDomain
from links.decision import Answer, Kind
from links.domains import CACHE_SECONDS, DomainInfo
from links.resolve import config_cached

# Path: the TrackingDomain field it serves.
WELL_KNOWN = {
    "/.well-known/apple-app-site-association": "apple_app_site_association",
    "/.well-known/assetlinks.json": "android_asset_links",
}
JSON = "application/json"


def well_known(request: HttpRequest, domain: DomainInfo, path: str) -> HttpResponse:
    """The domain's app-links file at `path` (a WELL_KNOWN key)."""
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse("Method not allowed\n", status=405, content_type="text/plain")
        response["Allow"] = "GET, HEAD"
        return response
    files = app_link_files(domain.id)
    value = files.get(WELL_KNOWN[path]) if files else None
    if value is None:
        return HttpResponse("Not found\n", status=404, content_type="text/plain")
    response = JsonResponse(value, safe=False)
    # Phones cache these themselves; an hour here keeps a change from taking a day.
    response["Cache-Control"] = "public, max-age=3600"
    return _head(request.method, response)


def app_link_files(domain_id: int) -> dict[str, Any] | None:
    """{field: stored JSON or None} for the domain's two files, through the config cache."""

    def load() -> dict[str, Any] | None:
        row = (
            TrackingDomain.objects.filter(pk=domain_id)
            .values("apple_app_site_association", "android_asset_links")
            .first()
        )
        return dict(row) if row else None

    return config_cached(f"applinks:v1:{domain_id}", load, seconds=CACHE_SECONDS)


def wants_json(meta: dict) -> bool:
    """Whether the request's Accept lists application/json first (its first media range,
    parameters aside): an app asking, not a browser."""
    first = meta.get("HTTP_ACCEPT", "").split(",", 1)[0]
    return first.split(";", 1)[0].strip().lower() == JSON


def json_answer(method: str | None, answer: Answer, click_id: str) -> HttpResponse:
    """The JSON tap's answer from the redirect's decision (`click_id` the recorded click's,
    when the answer records one)."""
    if answer.kind is Kind.METHOD_NOT_ALLOWED:
        response = JsonResponse({"error": "method not allowed"}, status=405)
        response["Allow"] = "GET, HEAD"
    elif answer.kind is Kind.NO_SUCH_HOST:
        response = JsonResponse({"error": "not found"}, status=404)
    elif not answer.records_click:
        response = JsonResponse({"error": "unknown link"}, status=404)
    else:
        # REDIRECT: the Location; INTERSTITIAL: its button's target; FALLBACK: the ended
        # offer's fallback; OFFER_ENDED (no fallback anywhere): null.
        response = JsonResponse({"destination": answer.location or None, "click_id": click_id})
    response["Cache-Control"] = "no-store"
    response["Vary"] = "Accept"
    headers_set(response, TRACKING_HEADERS)
    return _head(method, response)


def _head(method: str | None, response: HttpResponse) -> HttpResponse:
    response["Content-Length"] = str(len(response.content))
    if method == "HEAD":
        response.content = b""
    return response
