"""What a tracking domain's host may be: one home for the rule, used by the domains API
(core.api_domains) and Caddy's certificate question (trackly.tls).

A host is a DNS name alone, as a Host header or a TLS server name carries it, compared
lower-case: no scheme, port, path, IP address or trailing dot. Pure: no Django imports.
"""

from __future__ import annotations

import re

MAX_HOST_LENGTH = 253  # TrackingDomain.host's column, and DNS's own limit
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def host_problem(host: str) -> str | None:
    """Why `host` (already lower-cased and stripped) is not a tracking host, or None."""
    if not host:
        return "Enter a hostname such as go.brand.com."
    if len(host) > MAX_HOST_LENGTH:
        return f"Must be at most {MAX_HOST_LENGTH} characters."
    if any(c in host for c in ":/?#@[] \\"):
        return "Enter the hostname alone (no scheme, port or path), such as go.brand.com."
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return "Enter a hostname such as go.brand.com (letters, digits, hyphens and dots)."
    if labels[-1].isdigit():
        return "Enter a hostname, not an IP address."
    return None
