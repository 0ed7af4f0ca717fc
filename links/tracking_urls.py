"""URLs of tracking domains. Nothing else is served on them."""

from __future__ import annotations

urlpatterns: list = []
