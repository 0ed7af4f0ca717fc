"""Where and how an account's links are tracked: its tracking domains (the hosts short URLs
use) and the interstitial pages shown before a redirect."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.bounds import MAX_APP_LINKS_BYTES
from core.fields import UriField
from core.models.accounts import Account


def normalize_host(host: str) -> str:
    """Lower-case a Host header and drop its port (and an IPv6 literal's brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class TrackingDomain(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tracking_domains")
    host = models.CharField(
        max_length=253, unique=True, help_text="The hostname alone, e.g. go.brand.com."
    )
    https = models.BooleanField(default=True, help_text="Short URLs start with https://.")
    port = models.PositiveIntegerField(
        null=True, blank=True, help_text="Only for development hosts such as 127.0.0.1:8000."
    )
    fallback_url = UriField(
        max_length=2000,
        blank=True,
        help_text="Unknown links, and paused offers with no fallback of their own, go here.",
    )
    is_active = models.BooleanField(default=True)
    is_primary = models.BooleanField(
        default=False, help_text="New short links use the primary active domain."
    )
    # App links (issue 17): served on this host at /.well-known/apple-app-site-association
    # and /.well-known/assetlinks.json, so a tap can open the app (links.app_links).
    apple_app_site_association = models.JSONField(
        null=True,
        blank=True,
        help_text="A JSON object, served as /.well-known/apple-app-site-association.",
    )
    android_asset_links = models.JSONField(
        null=True,
        blank=True,
        help_text="A JSON array, served as /.well-known/assetlinks.json.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "links_trackingdomain"
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.host

    def save(self, *args: object, **kwargs: object) -> None:
        # Hosts are matched lower-case and without a port; keep the stored form the same.
        self.host = normalize_host(self.host)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        host = normalize_host(self.host or "")
        if not host or "/" in host or " " in host:
            raise ValidationError({"host": "Enter a hostname such as go.brand.com."})
        self.host = host
        # The app-link files as the domains API takes them (core.api_domains): a JSON
        # object and a JSON array, each within the bound, or none.
        errors = {}
        for name, kind, what in (
            ("apple_app_site_association", dict, "object"),
            ("android_asset_links", list, "array"),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, kind):
                errors[name] = f"Must be a JSON {what}, or empty."
            elif len(json.dumps(value, separators=(",", ":")).encode()) > MAX_APP_LINKS_BYTES:
                errors[name] = f"Must be at most {MAX_APP_LINKS_BYTES:,} bytes as JSON."
        if errors:
            raise ValidationError(errors)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.https else "http"
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{self.host}{port}"

    def short_url(self, link_id: str) -> str:
        return f"{self.base_url}/{link_id}"


class InterstitialTemplate(models.Model):
    """A page shown before the redirect. Every field is plain text and is escaped."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="interstitial_templates"
    )
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    cta_text = models.CharField("call-to-action text", max_length=100, default="Continue")
    og_title = models.CharField("og:title", max_length=200, blank=True)
    og_description = models.TextField("og:description", blank=True)
    og_image = UriField("og:image", max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "links_interstitialtemplate"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="interstitial_unique_account_name"
            )
        ]

    def __str__(self) -> str:
        return self.name
