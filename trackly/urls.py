"""URLs of the app hosts (APP_HOSTS): dashboard, admin and API.

Tracking domains are dispatched by trackly.tracking, from trackly.middleware.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from attribution import api as attribution_api
from attribution import import_api, reconciliation_api
from audiences import api as audiences_api
from automations import api as automations_api
from core import api as core_api
from core import api_account, api_domains, api_errors, api_keys
from links import api as links_api
from reporting import api as reporting_api
from reporting import lift_api
from webhooks import api as webhooks_api


class OptionalSlashRouter(SimpleRouter):
    """`/api/v1/offers` and `/api/v1/offers/` alike (DRF turns trailing_slash into '/')."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("offers", core_api.OfferViewSet, basename="offer")
router.register("interstitials", core_api.InterstitialTemplateViewSet, basename="interstitial")
router.register("lists", core_api.SendingListViewSet, basename="list")
router.register("campaigns", core_api.CampaignViewSet, basename="campaign")
router.register("creatives", core_api.CreativeViewSet, basename="creative")
router.register("api-keys", api_keys.ApiKeyViewSet, basename="api-key")
router.register("webhooks", webhooks_api.WebhookViewSet, basename="webhook")
router.register("automations", automations_api.AutomationViewSet, basename="automation")
router.register("audiences", audiences_api.AudienceViewSet, basename="audience")
router.register("domains", api_domains.TrackingDomainViewSet, basename="domain")

api_v1 = [
    re_path(r"^account/?$", api_account.AccountSettings.as_view(), name="account"),
    re_path(
        r"^account/rotate-postback-token/?$",
        api_account.PostbackTokenRotate.as_view(),
        name="account-rotate-postback-token",
    ),
    re_path(r"^messages/?$", links_api.MessageCreate.as_view(), name="messages-create"),
    re_path(r"^messages/bulk/?$", links_api.MessageBulkCreate.as_view(), name="messages-bulk"),
    re_path(r"^messages/(?P<pk>[0-9]+)/?$", reporting_api.MessageDetail.as_view(), name="message"),
    re_path(r"^conversions/?$", reporting_api.ConversionList.as_view(), name="conversions"),
    re_path(
        r"^conversions/import/?$",
        import_api.ConversionImportCreate.as_view(),
        name="conversions-import",
    ),
    re_path(
        r"^conversions/imports/(?P<pk>[0-9]+)/?$",
        import_api.ConversionImportDetail.as_view(),
        name="conversions-import-detail",
    ),
    re_path(r"^contacts/?$", audiences_api.ContactErase.as_view()),
    re_path(r"^contacts/(?P<pk>[0-9]+)/journey/?$", reporting_api.ContactJourney.as_view()),
    re_path(r"^contacts/(?P<pk>[0-9]+)/?$", audiences_api.ContactDetail.as_view(), name="contact"),
    re_path(r"^contacts/(?P<pk>[0-9]+)/labels/?$", audiences_api.ContactLabels.as_view()),
    # Before the generic reports/<dimension>: "lift" is not a dimension.
    re_path(r"^reports/lift/?$", lift_api.LiftReport.as_view(), name="report-lift"),
    re_path(r"^reports/(?P<dimension>[^/]+)/?$", reporting_api.ReportView.as_view(), name="report"),
    re_path(r"^events/?$", webhooks_api.EventList.as_view(), name="events"),
    re_path(
        r"^reconciliations/?$",
        reconciliation_api.ReconciliationList.as_view(),
        name="reconciliations",
    ),
    re_path(
        r"^reconciliations/(?P<pk>[0-9]+)/?$",
        reconciliation_api.ReconciliationDetail.as_view(),
        name="reconciliation",
    ),
    re_path(
        r"^reconciliations/(?P<pk>[0-9]+)/disputes\.csv$",
        reconciliation_api.ReconciliationDisputes.as_view(),
        name="reconciliation-disputes",
    ),
    re_path(
        r"^reconciliations/(?P<pk>[0-9]+)/restate/?$",
        reconciliation_api.ReconciliationRestate.as_view(),
        name="reconciliation-restate",
    ),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[]
        ),
        name="api-docs",
    ),
    *router.urls,
    re_path(
        r"^conversions/(?P<pk>[0-9]+)/?$",
        attribution_api.ConversionDetail.as_view(),
        name="conversion",
    ),
    # Anything else under /api/v1/ is a JSON 404, like the API's other refusals.
    re_path(r"^[\s\S]*$", api_errors.not_found),  # newlines too
]

# A request Django could not read (multipart without a boundary, ...): a 400 naming it; a
# body past DATA_UPLOAD_MAX_MEMORY_SIZE a 413 (the API's own are JSON, core.api_errors).
handler400 = "trackly.error_pages.bad_request"

# The core models' admin pages were under /admin/trackly/ (tracking domains and interstitial
# templates under /admin/links/) until they moved to the core app: bookmarks still land.
ADMIN_MOVED = {
    "trackly": "account|membership|apikey|contact|sendinglist|campaign|creative|offer|message",
    "links": "trackingdomain|interstitialtemplate",
}
admin_moved = [
    re_path(
        rf"^admin/{label}/(?P<page>(?:{models})/[\s\S]*)$",
        RedirectView.as_view(url="/admin/core/%(page)s", permanent=True, query_string=True),
    )
    for label, models in ADMIN_MOVED.items()
]
admin_moved.append(
    re_path(r"^admin/trackly/$", RedirectView.as_view(url="/admin/core/", permanent=True))
)

urlpatterns = [
    # Marketers land on their dashboard (which asks them to log in); admins use /admin/.
    path("", RedirectView.as_view(pattern_name="dashboard-home", permanent=False)),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="reporting/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", include("reporting.urls")),
    *admin_moved,
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]
