"""Login throttling (django-axes) for the dashboard and admin: the backend that refuses a
locked-out login, and the 429 page it gets.

Axes counts failed logins per username and per client IP (Trackly's own proxy-aware
`links.redirect.client_ip`); bounds.LOGIN_FAILURE_LIMIT of either within
bounds.LOGIN_LOCKOUT lock further attempts, right password or not, until LOGIN_LOCKOUT has
passed since the failure that locked them (settings: AXES_*).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import bounds
from links.redirect import client_ip

logger = logging.getLogger(__name__)


class LoginGuardBackend(AxesStandaloneBackend):
    """Axes' check, for logins that come with a request (the login forms).

    `authenticate()` without a request is code calling it (a shell, a management command,
    a test), with no client to throttle; axes would refuse it outright.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: a page saying the login is locked and for how long, 429."""
    seconds = int(bounds.LOGIN_LOCKOUT.total_seconds())
    username = get_client_username(request, credentials) or ""
    # The username is what the client typed; logged with repr so it cannot forge a line.
    logger.warning(
        "login locked out: username %r from %s on %s", username, client_ip(request), request.path
    )
    response = render(
        request,
        "reporting/locked_out.html",
        {
            "failure_limit": bounds.LOGIN_FAILURE_LIMIT,
            "minutes": math.ceil(seconds / 60),
            "login_url": request.path,
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
