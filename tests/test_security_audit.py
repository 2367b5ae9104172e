"""Issue 10, item 8: secrets never enter the audit trail (a deny list applied where snapshots are made
and where events are written), and the migration removes those already stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conference.accounts.services import create_user
from conference.audit.services import is_secret, record, snapshot
from conference.audit.tables import AuditEvent
from tests import dbsetup
from tests.conftest import html, login, make_client, post_form
from tests.factories import actor, unique

pytestmark = pytest.mark.usefixtures("database_url")
SECRET_KEYS = ("password_hash", "api_token_hash", "token", "token_hash", "key_hash", "smtp_password", "reply_token",
               "feed_token", "password", "secret_key")


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def user_events() -> list[dict[str, Any]]:
    return await AuditEvent.select(AuditEvent.id, AuditEvent.before, AuditEvent.after).where(AuditEvent.entity == "user")


def test_the_deny_list() -> None:
    for name in SECRET_KEYS + ("api_token", "new_password", "SMTP_PASSWORD", "session_key_hash"):
        assert is_secret(name), name
    for name in ("username", "role", "token_revoked", "display_name", "unit", "sha256", "status", "keyword"):
        assert not is_secret(name), name
    row = {"username": "u", "password_hash": "$argon2id$v=19$...", "api_token_hash": "ab" * 32}
    assert snapshot(row, row.keys()) == {"username": "u"}


async def test_record_drops_secrets_whatever_the_caller_passes() -> None:
    admin = await actor("admin")
    entity_id = 2_000_000_000
    await record(admin, "update", "user", entity_id,
                 before={key: "old-secret" for key in SECRET_KEYS} | {"role": "unit"},
                 after={key: "new-secret" for key in SECRET_KEYS} | {"role": "office", "token_revoked": True,
                                                                       "nested": {"password_hash": "x", "ok": 1}})
    event = await AuditEvent.select().where((AuditEvent.entity == "user") & (AuditEvent.entity_id == entity_id)).first()
    assert as_json(event["before"]) == {"role": "unit"}
    assert as_json(event["after"]) == {"role": "office", "token_revoked": True, "nested": {"ok": 1}}


async def test_password_change_leaves_no_hash_in_the_audit_trail(app: Any, as_user: Any) -> None:
    admin = await actor("admin")
    username = unique("audit").lower()
    await create_user(admin, {"username": username, "display_name": "审计测试", "password": "first-pass-123",
                              "role": "office", "conference": "2"})
    async with make_client(app) as client:
        assert (await login(client, username, "first-pass-123")).status_code == 303
        response = await post_form(client, "/account/password", {"old_password": "first-pass-123",
                                                                  "new_password": "second-pass-456"})
        assert response.status_code == 303, response.text
    for event in await user_events():  # the demo accounts' creation included
        for side in (as_json(event["before"]) or {}, as_json(event["after"]) or {}):
            assert not [k for k in side if is_secret(k)], event
            assert "argon2" not in json.dumps(side), event
    page = await (await as_user("admin")).get("/audit", params={"entity": "user", "per_page": "200"})
    assert page.status_code == 200
    text = html(page).get_text()
    assert "argon2" not in text and "password_hash" not in text and "api_token_hash" not in text
    assert "修改密码" in text


async def test_migration_removes_secrets_already_stored() -> None:
    entity_id = 2_000_000_001
    argon = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
    await AuditEvent.insert(AuditEvent(
        at=(await AuditEvent.select(AuditEvent.at).first())["at"], actor=None, actor_name="system", action="create",
        entity="user", entity_id=entity_id, conference_id=None,
        before={"password_hash": argon, "role": "unit"},
        after={"username": "old", "password_hash": argon, "api_token_hash": "ab" * 32, "token_revoked": False}))
    await dbsetup.run_raw_steps("conference_2026_12_03t10_02_00_000000")
    event = await AuditEvent.select().where((AuditEvent.entity == "user") & (AuditEvent.entity_id == entity_id)).first()
    assert as_json(event["before"]) == {"role": "unit"}
    assert as_json(event["after"]) == {"username": "old", "token_revoked": False}
    await dbsetup.run_raw_steps("conference_2026_12_03t10_02_00_000000")  # again: nothing left to do, nothing breaks
