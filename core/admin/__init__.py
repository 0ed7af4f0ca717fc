"""Django admin of accounts and what they own; tenant-scoped for staff who are not
superusers (core.admin_scope), who also see users only as members of their accounts and
never groups or login attempts. Importing this package registers every page: accounts
(accounts, members, API keys), content (what an account owns), webhooks (endpoints, never
their secrets) and users (users, groups, login attempts)."""

from __future__ import annotations

from core.admin import accounts, content, users, webhooks

__all__ = ["accounts", "content", "users", "webhooks"]
