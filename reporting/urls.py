"""The dashboard's URLs, under /dashboard/ on the app hosts (trackly.urls)."""

from __future__ import annotations

from django.urls import path

from reporting import (
    access_views,
    audience_views,
    automation_views,
    campaign_views,
    conversion_views,
    import_views,
    pages,
    reconciliation_views,
    report_views,
    settings_views,
    views,
    webhook_views,
)

urlpatterns = [
    path("", pages.home, name="dashboard-home"),
    path("<int:account_id>/", report_views.overview, name="dashboard-overview"),
    path("<int:account_id>/campaigns/", report_views.campaigns, name="dashboard-campaigns"),
    path("<int:account_id>/creatives/", report_views.creatives, name="dashboard-creatives"),
    path("<int:account_id>/offers/", report_views.offers, name="dashboard-offers"),
    path("<int:account_id>/lists/", report_views.lists, name="dashboard-lists"),
    path("<int:account_id>/messages/", report_views.messages, name="dashboard-messages"),
    path("<int:account_id>/devices/", report_views.devices, name="dashboard-devices"),
    path("<int:account_id>/os/", report_views.operating_systems, name="dashboard-os"),
    path("<int:account_id>/countries/", report_views.countries, name="dashboard-countries"),
    path("<int:account_id>/variants/", report_views.variants, name="dashboard-variants"),
    path(
        "<int:account_id>/messages/<int:message_id>/",
        views.message_detail,
        name="dashboard-message",
    ),
    path(
        "<int:account_id>/contacts/<int:contact_id>/",
        views.contact_detail,
        name="dashboard-contact",
    ),
    path(
        "<int:account_id>/contacts/<int:contact_id>/labels/",
        audience_views.contact_labels_edit,
        name="dashboard-contact-labels",
    ),
    path(
        "<int:account_id>/contacts/<int:contact_id>/erase/",
        audience_views.contact_erase_page,
        name="dashboard-contact-erase",
    ),
    path("<int:account_id>/audiences/", audience_views.audiences, name="dashboard-audiences"),
    path(
        "<int:account_id>/audiences/new/",
        audience_views.audience_edit,
        name="dashboard-audience-new",
    ),
    path(
        "<int:account_id>/audiences/<int:audience_id>/",
        audience_views.audience_detail,
        name="dashboard-audience",
    ),
    path(
        "<int:account_id>/audiences/<int:audience_id>/edit/",
        audience_views.audience_edit,
        name="dashboard-audience-edit",
    ),
    path("<int:account_id>/conversions/", views.conversions, name="dashboard-conversions"),
    path(
        "<int:account_id>/conversions/import/",
        import_views.conversion_import,
        name="dashboard-conversion-imports",
    ),
    path(
        "<int:account_id>/conversions/imports/<int:import_id>/",
        import_views.conversion_import_detail,
        name="dashboard-conversion-import",
    ),
    path(
        "<int:account_id>/conversions/imports/<int:import_id>/commit/",
        import_views.conversion_import_commit_view,
        name="dashboard-conversion-import-commit",
    ),
    path("<int:account_id>/postbacks/", views.postbacks, name="dashboard-postbacks"),
    path("<int:account_id>/bots/", views.bots, name="dashboard-bots"),
    path(
        "<int:account_id>/automations/",
        automation_views.automations,
        name="dashboard-automations",
    ),
    path(
        "<int:account_id>/automations/<int:automation_id>/",
        automation_views.automation_detail,
        name="dashboard-automation",
    ),
    path(
        "<int:account_id>/automations/<int:automation_id>/enabled/",
        automation_views.automation_enabled,
        name="dashboard-automation-enabled",
    ),
    path("<int:account_id>/api-keys/", access_views.api_keys, name="dashboard-api-keys"),
    path(
        "<int:account_id>/api-keys/<int:key_id>/revoke/",
        access_views.api_key_revoke_view,
        name="dashboard-api-key-revoke",
    ),
    path("<int:account_id>/webhooks/", webhook_views.webhooks, name="dashboard-webhooks"),
    path(
        "<int:account_id>/webhooks/<int:webhook_id>/",
        webhook_views.webhook_detail,
        name="dashboard-webhook",
    ),
    path(
        "<int:account_id>/webhooks/<int:webhook_id>/replay/",
        webhook_views.webhook_replay,
        name="dashboard-webhook-replay",
    ),
    path(
        "<int:account_id>/webhooks/<int:webhook_id>/rotate/",
        webhook_views.webhook_rotate,
        name="dashboard-webhook-rotate",
    ),
    path(
        "<int:account_id>/webhooks/<int:webhook_id>/test/",
        webhook_views.webhook_test,
        name="dashboard-webhook-test",
    ),
    path(
        "<int:account_id>/webhooks/<int:webhook_id>/enable/",
        webhook_views.webhook_enable,
        name="dashboard-webhook-enable",
    ),
    path(
        "<int:account_id>/webhooks/<int:webhook_id>/delete/",
        webhook_views.webhook_delete,
        name="dashboard-webhook-delete",
    ),
    path("<int:account_id>/members/", access_views.members, name="dashboard-members"),
    path(
        "<int:account_id>/members/<int:membership_id>/role/",
        access_views.member_role,
        name="dashboard-member-role",
    ),
    path(
        "<int:account_id>/members/<int:membership_id>/remove/",
        access_views.member_remove,
        name="dashboard-member-remove",
    ),
    path(
        "<int:account_id>/settings/costs/",
        settings_views.costs_settings,
        name="dashboard-settings-costs",
    ),
    path(
        "<int:account_id>/campaigns/<int:campaign_id>/",
        campaign_views.campaign_detail,
        name="dashboard-campaign",
    ),
    path(
        "<int:account_id>/reconciliations/",
        reconciliation_views.reconciliations,
        name="dashboard-reconciliations",
    ),
    path(
        "<int:account_id>/reconciliations/new/",
        reconciliation_views.reconciliation_upload,
        name="dashboard-reconciliation-upload",
    ),
    path(
        "<int:account_id>/reconciliations/<int:reconciliation_id>/",
        reconciliation_views.reconciliation_detail,
        name="dashboard-reconciliation",
    ),
    path(
        "<int:account_id>/reconciliations/<int:reconciliation_id>/disputes.csv",
        reconciliation_views.reconciliation_disputes,
        name="dashboard-reconciliation-disputes",
    ),
    path(
        "<int:account_id>/reconciliations/<int:reconciliation_id>/restate/",
        reconciliation_views.reconciliation_restate,
        name="dashboard-reconciliation-restate",
    ),
    path(
        "<int:account_id>/conversions/<int:conversion_id>/",
        conversion_views.conversion_detail,
        name="dashboard-conversion",
    ),
    path(
        "<int:account_id>/conversions/<int:conversion_id>/change/",
        conversion_views.conversion_change,
        name="dashboard-conversion-change",
    ),
]
