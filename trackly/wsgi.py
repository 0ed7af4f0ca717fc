"""The WSGI entry point: the redirect's front door (links.redirect.front), then Django.

Short links are most of the traffic; for the common case the front door answers without
Django's request cycle, and everything else (including every redirect it declines) goes
to Django's handler unchanged. PostgreSQL out of reach in the front door's lookup is
answered 503 here, as trackly.middleware answers it, without trying once more.

Every WSGI server (granian in production, gunicorn for `make run`) imports this module
first, so this is where a web server refuses the development SECRET_KEY. A request body is
received whole before Django runs, a few at a time (trackly.bodies): slow uploads cannot
hold every thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse

from core.errors import DatabaseUnavailable
from core.secret_key import secret_key_check

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")
secret_key_check("web")
django_application = get_wsgi_application()

from links.redirect import front  # noqa: E402 - needs the settings configured above
from trackly import bodies, tracking  # noqa: E402


def front_door(environ: dict[str, Any]) -> HttpResponse | None:
    """The front door's answer, or None for Django."""
    try:
        return front(environ)
    except DatabaseUnavailable as exc:
        return tracking.database_unavailable(WSGIRequest(environ), exc)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    response = front_door(environ)
    if response is None:
        # The front door never reads a body; Django gets it whole (trackly.bodies).
        if bodies.gate.receive(environ):
            return django_application(environ, start_response)
        response = bodies.busy(environ)
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return [response.content]
