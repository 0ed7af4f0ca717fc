"""Building the URL a click is sent to. No Django here."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

MACROS = (
    "click_id",
    "link_id",
    "message_id",
    "contact_id",
    "offer_id",
    "campaign_id",
    "creative_id",
)


def destination_url(template: str, values: Mapping[str, object], click_param: str) -> str:
    """Substitute `{macro}`s (URL-encoded); without a `{click_id}` macro, append the click
    id as `click_param`, keeping the query string and fragment as they were."""
    url = template
    for name in MACROS:
        token = "{" + name + "}"
        if token in url:
            value = values.get(name)
            url = url.replace(token, quote("" if value is None else str(value), safe=""))
    if "{click_id}" in template or not click_param:
        return url
    parts = urlsplit(url)
    pair = f"{quote(click_param, safe='')}={quote(str(values['click_id']), safe='')}"
    query = f"{parts.query}&{pair}" if parts.query else pair
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
