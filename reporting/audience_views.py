"""The dashboard's Audiences pages: the list (rule in words, count), an audience with its
members (paged, CSV), the create / edit form for admins, and a contact's labels form.
Membership itself is the audiences app's (audiences.membership)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.db.models import Count, F
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from audiences import services
from audiences.labels import contact_labels_change
from audiences.models import Audience, AudienceMember
from audiences.rules import rule_names, rule_stored, rule_words
from core.erasure import contact_erase
from core.models import Account, Contact, ContactErasure, Membership
from reporting import dashboard
from reporting.access_views import manage_page
from reporting.dashboard import account_tz
from reporting.pages import AccountUrls, account_page, page
from reporting.tables import Column, Sort, orm_table

MEMBER_COLUMNS = (
    Column("contact_id", "Contact", "int", link="contact_url"),
    Column("external_id", "External id"),
    Column("phone", "Phone"),
    Column("email", "Email"),
    Column("entered_at", "Entered", "datetime"),
)
MEMBER_ORDER = {
    "external_id": "contact__external_id",
    "phone": "contact__phone",
    "email": "contact__email",
}


@account_page
def audiences(request: HttpRequest, account: Account) -> HttpResponseBase:
    rows = list(
        Audience.objects.filter(account=account).annotate(count=Count("members")).order_by("name")
    )
    rules = [rule_stored(a.rule) for a in rows]
    names = rule_names(rules, account.pk)
    listed = [
        {"audience": a, "words": rule_words(r, names), "count": a.count}
        for a, r in zip(rows, rules, strict=True)
    ]
    return page(
        request, account, "reporting/audiences.html", "audiences",
        title="Audiences", audiences=listed,
    )  # fmt: skip


@account_page
def audience_detail(request: HttpRequest, account: Account, audience_id: int) -> HttpResponseBase:
    audience = get_object_or_404(Audience, pk=audience_id, account=account)
    rule = rule_stored(audience.rule)
    urls = AccountUrls(account)
    table = orm_table(
        request,
        account_tz(account),
        name="members",
        columns=MEMBER_COLUMNS,
        default=Sort("entered_at", descending=True),
        queryset=AudienceMember.objects.filter(audience=audience).values(
            "contact_id",
            "entered_at",
            external_id=F("contact__external_id"),
            phone=F("contact__phone"),
            email=F("contact__email"),
        ),
        row=lambda r: {**r, "contact_url": urls.contact(r["contact_id"])},
        order_fields=MEMBER_ORDER,
    )
    if isinstance(table, HttpResponseBase):
        return table
    return page(
        request, account, "reporting/audience.html", "audiences",
        title=f"Audience {audience.name}", audience=audience,
        words=rule_words(rule, rule_names([rule], account.pk)),
        rule_json=json.dumps(audience.rule, indent=2), table=table,
    )  # fmt: skip


class AudienceForm(forms.Form):
    name = forms.CharField(max_length=services.NAME_MAX_LENGTH)
    rule = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "cols": 60, "spellcheck": "false"}),
        help_text='JSON: {"all": [{"clicked": {"campaign": 12, "within_days": 7}}, '
        '{"label": "vip"}]}',
    )


@manage_page(Membership.can_manage_config)
def audience_edit(
    request: HttpRequest, account: Account, audience_id: int | None = None
) -> HttpResponseBase:
    audience = get_object_or_404(Audience, pk=audience_id, account=account) if audience_id else None
    status = 200
    if request.method != "POST":
        initial = {"rule": '{"all": [{"clicked": {"within_days": 7}}]}'}
        if audience is not None:
            initial = {"name": audience.name, "rule": json.dumps(audience.rule, indent=2)}
        form = AudienceForm(initial=initial)
    else:
        form = AudienceForm(request.POST)
        if form.is_valid():
            try:
                rule = json.loads(form.cleaned_data["rule"])
            except ValueError as exc:
                form.add_error("rule", f"Not JSON: {exc}")
            else:
                try:
                    if audience is None:
                        audience = services.audience_create(
                            account=account, name=form.cleaned_data["name"], rule=rule
                        )
                    else:
                        services.audience_update(
                            audience, name=form.cleaned_data["name"], rule=rule
                        )
                except services.AudienceInvalid as exc:
                    for field, problems in exc.errors.items():
                        target = "name" if field == "name" else "rule"
                        for problem in problems:
                            form.add_error(target, f"{field}: {problem}")
                else:
                    messages.success(request, f"Saved the audience {audience.name}.")
                    return redirect("dashboard-audience", account.pk, audience.pk)
        status = 400
    context = {
        "account": account,
        "accounts": dashboard.member_accounts(request.user),
        "membership": request.membership,
        "nav": "audiences",
        "title": "Edit audience" if audience else "New audience",
        "audience": audience,
        "form": form,
    }
    return render(request, "reporting/audience_form.html", context, status=status)


@require_POST
@manage_page(Membership.can_manage_config)
def contact_labels_edit(
    request: HttpRequest, account: Account, contact_id: int
) -> HttpResponseBase:
    contact = get_object_or_404(Contact, pk=contact_id, account=account, erased_at__isnull=True)
    add = [n for n in request.POST.get("add", "").split(",") if n.strip()]
    remove = request.POST.getlist("remove")
    try:
        add = services.labels_clean(add, "add")
        remove = services.labels_clean(remove, "remove")
    except services.AudienceInvalid as exc:
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()))
    else:
        contact_labels_change(contact_id=contact.pk, add=add, remove=remove)
        messages.success(request, "Labels saved.")
    return redirect("dashboard-contact", account.pk, contact.pk)


@require_POST
@manage_page(Membership.can_manage_config)
def contact_erase_page(request: HttpRequest, account: Account, contact_id: int) -> HttpResponseBase:
    """The dashboard's "Erase this contact" (owners and admins): as the API's erasure, with
    no API key on the record (docs/security.md, Erasure)."""
    contact = get_object_or_404(Contact, pk=contact_id, account=account, erased_at__isnull=True)
    contact_erase(contact=contact, api_key=None, lookup=ContactErasure.Lookup.ID)
    messages.success(request, f"Contact {contact.pk} erased.")
    return redirect("dashboard-audiences", account.pk)
