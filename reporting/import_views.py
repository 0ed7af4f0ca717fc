"""The dashboard's conversion import pages: upload a CSV (run as a dry run first), a page
per import with its status and results (refreshing while it runs), and "commit", which runs
the real import of a finished dry run's file. Config roles only (others get 403, other
accounts 404); the rules are attribution.imports', as the API's."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from attribution.imports import ImportInvalid, conversion_import_commit, conversion_import_create
from attribution.models import ConversionImport
from attribution.tasks import conversion_import_queue
from core import bounds
from core.models import Account, Membership
from reporting import dashboard
from reporting.access_views import manage_page

RECENT = 20


def _context(request: HttpRequest, account: Account, **extra: object) -> dict:
    return {
        "account": account,
        "accounts": dashboard.member_accounts(request.user),
        "membership": request.membership,
        "nav": "imports",
        "max_rows": bounds.MAX_IMPORT_ROWS,
        "max_mib": bounds.MAX_IMPORT_BYTES // (1024 * 1024),
        **extra,
    }


def _actor(request: HttpRequest) -> str:
    return f"user {request.user.get_username()}"


@manage_page(Membership.can_manage_config)
def conversion_import(request: HttpRequest, account: Account) -> HttpResponseBase:
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a CSV file."
        elif upload.size > bounds.MAX_IMPORT_BYTES:
            error = f"The file is larger than {bounds.MAX_IMPORT_BYTES // (1024 * 1024)} MiB."
        else:
            try:
                job = conversion_import_create(
                    account=account, body=upload.read(), dry_run=True, actor=_actor(request),
                    filename=upload.name or "",
                )  # fmt: skip
            except ImportInvalid as exc:
                error = f"{exc.field}: {exc.message}"
            else:
                conversion_import_queue(job.pk)
                return redirect("dashboard-conversion-import", account.pk, job.pk)
    recent = ConversionImport.objects.filter(account=account).defer("body").order_by("-pk")
    context = _context(
        request, account, title="Import conversions", error=error, imports=recent[:RECENT]
    )
    return render(
        request, "reporting/conversion_import.html", context, status=400 if error else 200
    )


@manage_page(Membership.can_manage_config)
def conversion_import_detail(
    request: HttpRequest, account: Account, import_id: int
) -> HttpResponseBase:
    job = get_object_or_404(ConversionImport, pk=import_id, account=account)
    running = job.status in (ConversionImport.Status.QUEUED, ConversionImport.Status.RUNNING)
    committable = job.dry_run and job.status == ConversionImport.Status.DONE and bool(job.body)
    context = _context(
        request, account, title=f"Import {job.pk}", job=job, running=running,
        committable=committable,
    )  # fmt: skip
    return render(request, "reporting/conversion_import_detail.html", context)


@require_POST
@manage_page(Membership.can_manage_config)
def conversion_import_commit_view(
    request: HttpRequest, account: Account, import_id: int
) -> HttpResponseBase:
    dry_run = get_object_or_404(ConversionImport, pk=import_id, account=account)
    try:
        job = conversion_import_commit(dry_run, actor=_actor(request))
    except ImportInvalid as exc:
        messages.error(request, exc.message)
        return redirect("dashboard-conversion-import", account.pk, dry_run.pk)
    conversion_import_queue(job.pk)
    messages.success(request, f"Importing {dry_run.filename or 'the file'} for real.")
    return redirect("dashboard-conversion-import", account.pk, job.pk)
