"""Paging of every API list: `limit` and `offset` held to core.bounds, a bad one a 400."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

from core import bounds


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's `limit` / `offset`, except that a value that is not a whole number, or is past
    the bounds, is a 400 naming it rather than quietly replaced (a huge `limit` reached
    PostgreSQL as a LIMIT it refused: a 500)."""

    max_limit = bounds.MAX_PAGE_SIZE

    def get_limit(self, request: Request) -> int:
        limit = _whole_number(request, self.limit_query_param)
        limit = self.default_limit if limit is None else limit
        self._check(limit=limit, offset=0)
        return limit

    def get_offset(self, request: Request) -> int:
        offset = _whole_number(request, self.offset_query_param) or 0
        self._check(limit=1, offset=offset)
        return offset

    def _check(self, *, limit: int, offset: int) -> None:
        try:
            bounds.page_check(
                size_field=self.limit_query_param,
                size=limit,
                offset_field=self.offset_query_param,
                offset=offset,
            )
        except bounds.OutOfBounds as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None


def _whole_number(request: Request, param: str) -> int | None:
    raw = request.query_params.get(param, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is true
        raise serializers.ValidationError({param: ["Must be a whole number."]})
    # Past the bounds either way; int() of a thousand digits is not free.
    return int(raw) if len(raw) <= 18 else 10**18
