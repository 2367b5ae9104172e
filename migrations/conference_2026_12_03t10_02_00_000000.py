"""Removes secrets already stored in the audit trail: password hashes (written when accounts were
created through the audited insert), token and key hashes and any other key the audit deny list
(conference.audit.services.is_secret) now drops, from the before and after of every audit_event.
Only rows whose JSON mentions such a name are read and rewritten. Portable SQL (the JSON columns are
read as text on SQLite and PostgreSQL alike); the rule is copied here so that the migration keeps
doing what it did when the application changes. Backwards does nothing: removed secrets stay removed."""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T10:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "remove secrets from the audit trail"

SECRET_FIELDS = frozenset({
    "password", "password_hash", "new_password", "old_password", "api_token", "api_token_hash", "token",
    "token_hash", "reply_token", "reply_token_hash", "feed_token", "feed_token_hash", "key", "key_hash",
    "session_key", "csrf_token", "secret", "secret_key", "smtp_password",
})
SECRET_MARKERS = ("password", "secret", "token", "_hash", "passwd")
LIKE = ["%password%", "%secret%", "%token%", "%hash%", "%passwd%", '%"key"%']


class AuditEvent(Table, tablename="audit_event"):
    pass


def is_secret(name):
    lowered = name.lower()
    if lowered in SECRET_FIELDS:
        return True
    if lowered == "token_revoked":
        return False
    return any(marker in lowered for marker in SECRET_MARKERS)


def scrubbed(value):
    if isinstance(value, dict):
        return {k: scrubbed(v) for k, v in value.items() if not is_secret(str(k))}
    return value


def load(value):
    if value is None or isinstance(value, (dict, list)):
        return value
    return json.loads(value)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conference", description=DESCRIPTION)

    async def scrub() -> None:
        conditions = " OR ".join(f'CAST("{column}" AS TEXT) LIKE {{}}' for column in ("before", "after") for _p in LIKE)
        params = [pattern for _c in ("before", "after") for pattern in LIKE]
        rows = await AuditEvent.raw(f'SELECT id, "before", "after" FROM audit_event WHERE {conditions}', *params)
        for row in rows:
            before, after = load(row["before"]), load(row["after"])
            clean_before, clean_after = scrubbed(before), scrubbed(after)
            if (clean_before, clean_after) == (before, after):
                continue
            await AuditEvent.raw(
                'UPDATE audit_event SET "before" = {}, "after" = {} WHERE id = {}',
                None if clean_before is None else json.dumps(clean_before, ensure_ascii=False),
                None if clean_after is None else json.dumps(clean_after, ensure_ascii=False),
                row["id"])

    manager.add_raw(scrub)
    return manager
