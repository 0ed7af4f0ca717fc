"""The audiences and contacts API: /api/v1/audiences (config to write; config or read to
see; read to list an audience's contacts, JSON or CSV) and /api/v1/contacts/<id> (read or
mint to see; config to set is_test and labels, and to erase: DELETE /api/v1/contacts/<id>,
or /api/v1/contacts?external_id= or ?phone=). Another account's id, and an erased
contact, is a 404."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, QuerySet
from django.http import HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audiences import services
from audiences.labels import contact_labels, contact_labels_change
from audiences.models import Audience, AudienceMember
from core.api_input import RefuseUnknownFields, unknown_fields_refuse
from core.authentication import account_of
from core.erasure import contact_erase
from core.events import contact_data, event_timestamp
from core.models import ApiScope, Contact, ContactErasure
from core.pagination import BoundedLimitOffsetPagination
from core.spreadsheet import formula_defused

MEMBER_COLUMNS = ["id", "external_id", "phone", "email", "entered_at"]


def _invalid(errors: dict[str, list[str]]) -> Response:
    return Response(
        {"detail": "Invalid request: see errors.", "errors": errors},
        status=status.HTTP_400_BAD_REQUEST,
    )


def audience_json(audience: Audience, count: int | None = None) -> dict[str, Any]:
    if count is None:
        count = getattr(audience, "member_count", None)
    if count is None:
        count = AudienceMember.objects.filter(audience=audience).count()
    return {
        "id": audience.pk,
        "name": audience.name,
        "rule": audience.rule,
        "count": count,
        "created_at": audience.created_at,
        "updated_at": audience.updated_at,
    }


class AudienceIn(RefuseUnknownFields, serializers.Serializer):
    """The body's shape for the schema; the view parses it (unknown_fields_refuse) and
    audiences.services checks it."""

    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH)
    rule = serializers.JSONField(help_text='{"all": [condition, ...]}: see docs/audiences.md')


class AudienceOut(AudienceIn):
    id = serializers.IntegerField()
    count = serializers.IntegerField(help_text="members now")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MemberOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    entered_at = serializers.DateTimeField()


class _JsonOrCsv(BaseContentNegotiation):
    """JSON always; `?format=csv` is the view's own business (not DRF's 404)."""

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None


class AudienceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    write_scopes = (ApiScope.CONFIG,)
    lookup_value_regex = "[0-9]+"
    content_negotiation_class = _JsonOrCsv
    serializer_class = AudienceOut

    read_scopes: tuple[str, ...] = (ApiScope.CONFIG, ApiScope.READ)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # An audience's contacts are data (read); the audience itself is configuration.
        if self.action == "contacts":
            self.read_scopes = (ApiScope.READ,)
        super().initial(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Audience.objects.none()
        return (
            Audience.objects.filter(account=account_of(self.request))
            .annotate(member_count=Count("members"))
            .order_by("id")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(self.get_queryset(), request, view=self)
        return paginator.get_paginated_response([audience_json(a) for a in page])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(audience_json(self.get_object()))

    @extend_schema(request=AudienceIn, responses={201: AudienceOut})
    def create(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict):
            return _invalid({"non_field_errors": ["Expected a JSON object."]})
        unknown_fields_refuse(data, ("name", "rule"))
        missing = {f: ["This field is required."] for f in ("name", "rule") if f not in data}
        if missing:
            return _invalid(missing)
        try:
            audience = services.audience_create(
                account=account_of(request), name=data["name"], rule=data["rule"]
            )
        except services.AudienceInvalid as exc:
            return _invalid(exc.errors)
        return Response(audience_json(audience), status=status.HTTP_201_CREATED)

    @extend_schema(request=AudienceIn(partial=True), responses={200: AudienceOut})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        audience = self.get_object()
        data = request.data
        if not isinstance(data, dict):
            return _invalid({"non_field_errors": ["Expected a JSON object."]})
        unknown_fields_refuse(data, ("name", "rule"))
        nulls = {f: ["May not be null."] for f in ("name", "rule") if f in data and data[f] is None}
        if nulls:
            return _invalid(nulls)
        try:
            audience = services.audience_update(
                audience, name=data.get("name"), rule=data.get("rule")
            )
        except services.AudienceInvalid as exc:
            return _invalid(exc.errors)
        return Response(
            audience_json(audience, count=AudienceMember.objects.filter(audience=audience).count())
        )

    def perform_destroy(self, instance: Audience) -> None:
        services.audience_delete(instance)

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: every row"),
        ],
        responses={200: MemberOut(many=True)},
    )
    @action(detail=True, methods=["get"])
    def contacts(self, request: Request, pk: str | None = None) -> HttpResponseBase:
        audience = get_object_or_404(Audience, pk=pk, account=account_of(request))
        rows = (
            AudienceMember.objects.filter(audience=audience)
            .order_by("id")
            .values_list(
                "contact_id",
                "contact__external_id",
                "contact__phone",
                "contact__email",
                "entered_at",
            )
        )
        fmt = request.query_params.get("format") or "json"
        if fmt == "csv":
            return _members_csv(audience, rows)
        if fmt != "json":
            return _invalid({"format": ["Must be json or csv."]})
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(
            [dict(zip(MEMBER_COLUMNS, row, strict=True)) for row in page]
        )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _members_csv(audience: Audience, rows: QuerySet) -> StreamingHttpResponse:
    """Every member, streamed; text cells defused (core.spreadsheet)."""

    def lines() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield writer.writerow(MEMBER_COLUMNS)
        for contact_id, external_id, phone, email, entered_at in rows.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    contact_id,
                    formula_defused(external_id),
                    formula_defused(phone),
                    formula_defused(email),
                    event_timestamp(entered_at),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audience-{audience.pk}.csv"'
    return response


# --- contacts ---------------------------------------------------------------------------


class ContactOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    is_test = serializers.BooleanField()
    labels = serializers.ListField(child=serializers.CharField())


class ContactPatchIn(serializers.Serializer):
    is_test = serializers.BooleanField()


class LabelsIn(serializers.Serializer):
    add = serializers.ListField(child=serializers.CharField(), required=False)
    remove = serializers.ListField(child=serializers.CharField(), required=False)


def contact_json(contact: Contact) -> dict[str, Any]:
    return {
        **contact_data(contact),
        "is_test": contact.is_test,
        "labels": contact_labels(contact.pk),
    }


def _live_contact(request: Request, pk: int) -> Contact:
    return get_object_or_404(Contact, pk=pk, account=account_of(request), erased_at__isnull=True)


def _erased(request: Request, contact: Contact, lookup: str) -> Response:
    contact_erase(contact=contact, api_key=request.auth, lookup=lookup)
    return Response(status=status.HTTP_204_NO_CONTENT)


class ContactDetail(APIView):
    read_scopes = (ApiScope.READ, ApiScope.MINT)
    write_scopes = (ApiScope.CONFIG,)

    @extend_schema(operation_id="contacts_retrieve", responses={200: ContactOut})
    def get(self, request: Request, pk: int) -> Response:
        contact = _live_contact(request, pk)
        return Response(contact_json(contact))

    @extend_schema(
        operation_id="contacts_partial_update", request=ContactPatchIn, responses={200: ContactOut}
    )
    def patch(self, request: Request, pk: int) -> Response:
        contact = _live_contact(request, pk)
        data = request.data
        if not isinstance(data, dict):
            return _invalid({"non_field_errors": ["Expected a JSON object."]})
        unknown_fields_refuse(data, ("is_test",))
        if "is_test" in data:
            if not isinstance(data["is_test"], bool):
                return _invalid({"is_test": ["Must be true or false."]})
            services.contact_is_test_change(contact, is_test=data["is_test"])
        return Response(contact_json(contact))

    @extend_schema(
        operation_id="contacts_erase",
        responses={204: None},
        description="Erase the contact (docs/security.md, Erasure): its phone, email and "
        "external id, its clicks' IP and headers, its messages' bodies, its traces in events, "
        "audiences, labels and the postback log. Its figures stay in reports. Then 404.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        return _erased(request, _live_contact(request, pk), ContactErasure.Lookup.ID)


class ContactErase(APIView):
    """DELETE /api/v1/contacts?external_id=... or ?phone=...: the erasure by the sending
    platform's own names for the contact."""

    write_scopes = (ApiScope.CONFIG,)

    @extend_schema(
        operation_id="contacts_erase_by_lookup",
        parameters=[
            OpenApiParameter("external_id", str, description="the sending platform's id"),
            OpenApiParameter(
                "phone", str, description="any format with a country code, as minting reads it"
            ),
        ],
        responses={204: None},
        description="Erase the contact named by exactly one of external_id and phone, as "
        "DELETE /api/v1/contacts/<id> does.",
    )
    def delete(self, request: Request) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - {"external_id", "phone"})
        if unknown:
            return _invalid({name: ["Unknown parameter."] for name in unknown})
        given = [name for name in ("external_id", "phone") if params.get(name, "").strip()]
        if len(given) != 1:
            return _invalid({"non_field_errors": ["Give exactly one of external_id and phone."]})
        name = given[0]
        value = params[name].strip()
        try:
            contact = services.contact_lookup(
                account_of(request),
                external_id=value if name == "external_id" else None,
                phone=value if name == "phone" else None,
            )
        except ValueError as exc:
            return _invalid({"phone": [str(exc)]})
        except services.ContactNotFound as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        return _erased(request, contact, name)


class ContactLabels(APIView):
    write_scopes = (ApiScope.CONFIG,)

    @extend_schema(operation_id="contacts_labels", request=LabelsIn, responses={200: ContactOut})
    def post(self, request: Request, pk: int) -> Response:
        contact = _live_contact(request, pk)
        data = request.data
        if not isinstance(data, dict):
            return _invalid({"non_field_errors": ["Expected a JSON object."]})
        unknown_fields_refuse(data, ("add", "remove"))
        try:
            add = services.labels_clean(data.get("add", []), "add")
            remove = services.labels_clean(data.get("remove", []), "remove")
        except services.AudienceInvalid as exc:
            return _invalid(exc.errors)
        contact_labels_change(contact_id=contact.pk, add=add, remove=remove)
        return Response(contact_json(contact))
