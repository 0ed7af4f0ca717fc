"""Triggers that mark stale rollups on every write that changes a report figure.

They live in the database, not in Python, because raw clicks arrive through several writers
(the redirect's ORM inserts, the ingestion consumer's batched raw SQL, COPY): each statement,
however it is issued, records which (account, UTC hour) and which messages it touched. They
are statement-level triggers with transition tables, so a 10,000-row batch costs one small
INSERT ... SELECT DISTINCT, not 10,000 row triggers.

PostgreSQL only: the embedded SQLite default rebuilds every rollup on each build instead.
"""

from __future__ import annotations

from django.db import migrations

# Hours are cut in UTC whatever the session's time zone; the build maps them to the
# account's local days. A NULL hour means every day of the account.
_HOURS = "date_trunc('hour', {column}, 'UTC')"

_FUNCTIONS = {
    "links_messageshortlinkclick": f"""
        IF TG_OP IN ('INSERT', 'DELETE') THEN
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT account_id, {_HOURS.format(column="clicked_at")} FROM changed_rows;
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT message_id FROM changed_rows;
        ELSE
            -- Setting judged_at alone (the behaviour worker) changes no figure.
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT x.account_id, {_HOURS.format(column="x.clicked_at")}
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.account_id, o.clicked_at), (n.account_id, n.clicked_at))
                         AS x(account_id, clicked_at)
                WHERE (o.is_bot, o.clicked_at, o.account_id, o.message_id, o.link_id)
                    IS DISTINCT FROM (n.is_bot, n.clicked_at, n.account_id, n.message_id, n.link_id);
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT x.message_id
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.message_id), (n.message_id)) AS x(message_id)
                WHERE (o.is_bot, o.clicked_at, o.account_id, o.message_id, o.link_id)
                    IS DISTINCT FROM (n.is_bot, n.clicked_at, n.account_id, n.message_id, n.link_id);
        END IF;
    """,
    "links_messageclick": f"""
        IF TG_OP IN ('INSERT', 'DELETE') THEN
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT account_id, {_HOURS.format(column="clicked_at")} FROM changed_rows;
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT message_id FROM changed_rows;
        ELSE
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT x.account_id, {_HOURS.format(column="x.clicked_at")}
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.account_id, o.clicked_at), (n.account_id, n.clicked_at))
                         AS x(account_id, clicked_at)
                WHERE (o.clicked_at, o.account_id, o.message_id, o.offer_id)
                    IS DISTINCT FROM (n.clicked_at, n.account_id, n.message_id, n.offer_id);
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT x.message_id
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.message_id), (n.message_id)) AS x(message_id)
                WHERE (o.clicked_at, o.account_id, o.message_id, o.offer_id)
                    IS DISTINCT FROM (n.clicked_at, n.account_id, n.message_id, n.offer_id);
        END IF;
    """,
    "attribution_conversion": f"""
        IF TG_OP IN ('INSERT', 'DELETE') THEN
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT account_id, {_HOURS.format(column="occurred_at")}
                FROM changed_rows;
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT message_id FROM changed_rows WHERE message_id IS NOT NULL;
        ELSE
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT x.account_id, {_HOURS.format(column="x.occurred_at")}
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.account_id, o.occurred_at), (n.account_id, n.occurred_at))
                         AS x(account_id, occurred_at)
                WHERE (o.account_id, o.occurred_at, o.status, o.attribution_type, o.revenue,
                       o.message_id, o.offer_id)
                    IS DISTINCT FROM (n.account_id, n.occurred_at, n.status, n.attribution_type,
                       n.revenue, n.message_id, n.offer_id);
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT x.message_id
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.message_id), (n.message_id)) AS x(message_id)
                WHERE x.message_id IS NOT NULL
                  AND (o.account_id, o.occurred_at, o.status, o.attribution_type, o.revenue,
                       o.message_id, o.offer_id)
                    IS DISTINCT FROM (n.account_id, n.occurred_at, n.status, n.attribution_type,
                       n.revenue, n.message_id, n.offer_id);
        END IF;
    """,
    "trackly_message": f"""
        IF TG_OP IN ('INSERT', 'DELETE') THEN
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT account_id, {_HOURS.format(column="sent_at")} FROM changed_rows;
            INSERT INTO reporting_dirtymessage (message_id) SELECT id FROM changed_rows;
        ELSE
            -- A message's campaign, creative or list also labels its clicks and
            -- conversions, on any day: rebuild every day of the account (rare: it happens
            -- when a campaign, creative or list is deleted).
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT x.account_id, NULL::timestamptz
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.account_id), (n.account_id)) AS x(account_id)
                WHERE (o.account_id, o.sent_at, o.campaign_id, o.creative_id, o.sending_list_id)
                    IS DISTINCT FROM
                      (n.account_id, n.sent_at, n.campaign_id, n.creative_id, n.sending_list_id);
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE (o.account_id, o.sent_at, o.campaign_id, o.creative_id, o.sending_list_id,
                       o.external_id, o.contact_id)
                    IS DISTINCT FROM
                      (n.account_id, n.sent_at, n.campaign_id, n.creative_id, n.sending_list_id,
                       n.external_id, n.contact_id);
        END IF;
    """,
    "links_messageshortlink": f"""
        IF TG_OP IN ('INSERT', 'DELETE') THEN
            -- Which offers a message carries decides its offer sends, on its sent day,
            -- and its rows in the messages report.
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT m.account_id, {_HOURS.format(column="m.sent_at")}
                FROM changed_rows l JOIN trackly_message m ON m.id = l.message_id;
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT message_id FROM changed_rows;
        ELSE
            -- A link's offer labels its clicks on any day.
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT x.account_id, NULL::timestamptz
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.account_id), (n.account_id)) AS x(account_id)
                WHERE (o.offer_id, o.message_id) IS DISTINCT FROM (n.offer_id, n.message_id);
        END IF;
    """,
    "trackly_account": """
        -- Report days are cut in the account's time zone.
        INSERT INTO reporting_dirtyhour (account_id, hour)
            SELECT n.id, NULL::timestamptz FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.time_zone IS DISTINCT FROM n.time_zone;
    """,
}


def _function_sql(table: str, body: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION reporting_mark_{table}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            {body}
            RETURN NULL;
        END;
        $$;
    """


def _triggers_sql(table: str) -> list[str]:
    if table == "trackly_account":
        operations = {"UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}
    else:
        # One transition table name per operation, so one function body serves all three.
        operations = {
            "INSERT": "NEW TABLE AS changed_rows",
            "DELETE": "OLD TABLE AS changed_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }
    return [
        f"""
        CREATE TRIGGER reporting_mark_{op.lower()}
            AFTER {op} ON {table}
            REFERENCING {referencing}
            FOR EACH STATEMENT EXECUTE FUNCTION reporting_mark_{table}();
        """
        for op, referencing in operations.items()
    ]


def triggers_create(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, body in _FUNCTIONS.items():
        schema_editor.execute(_function_sql(table, body))
        for statement in _triggers_sql(table):
            schema_editor.execute(statement)


def triggers_drop(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _FUNCTIONS:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS reporting_mark_{table}() CASCADE")


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_rollups"),
        ("links", "0003_bot_behaviour"),
        ("attribution", "0004_revenue_reported"),
        ("trackly", "0003_revenue_reported"),
    ]

    operations = [migrations.RunPython(triggers_create, triggers_drop)]
