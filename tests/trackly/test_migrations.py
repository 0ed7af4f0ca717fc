"""trackly 0004: accounts and API keys made before it keep working as they did."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("trackly", "0003_revenue_reported")]
AFTER = [("trackly", "0004_hardening")]


@pytest.mark.django_db(transaction=True)
def test_existing_accounts_take_tokenless_postbacks_and_existing_keys_keep_every_scope(
    settings: Any,
) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    account = old.get_model("trackly", "Account").objects.create(name="Before")
    old.get_model("trackly", "ApiKey").objects.create(
        account=account, name="old", prefix="0ld0ld00", key_hash="x" * 64
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    migrated = new.get_model("trackly", "Account").objects.get(pk=account.pk)
    assert migrated.require_postback_token is False  # its networks send no token yet
    assert migrated.postback_token_hash == ""
    key = new.get_model("trackly", "ApiKey").objects.get(prefix="0ld0ld00")
    assert sorted(key.scopes) == ["config", "mint", "read"]
    # Accounts made from now on require the token.
    fresh = new.get_model("trackly", "Account").objects.create(name="After")
    assert fresh.require_postback_token is True

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
