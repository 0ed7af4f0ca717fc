"""PostgreSQL out of reach on a tracking domain, before anything was stored.

Raised (from the database error) where a tracking request fails before it recorded
anything: the domain or link lookup, a postback's log row. trackly.middleware answers it
with a 503 and Retry-After (trackly.tracking.unavailable), which a client may safely
retry. A database error after something was stored is not this: it stays a 500, so a
network is not told to send again what was already counted.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# What a database out of reach raises (refused, reset, timed out, connection closed).
DATABASE_DOWN = (OperationalError, InterfaceError)


class DatabaseUnavailable(Exception):
    """PostgreSQL out of reach, and nothing of this request stored."""
