"""Audited inserts and version-checked updates, shared by every domain's services.

An update names the version the editor read; if someone saved in between, the update matches no
row and the caller gets a Conflict instead of silently overwriting the other person's change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from piccolo.columns import Column
from piccolo.table import Table

from conference.audit.services import changed, record, snapshot
from conference.collation import with_sort_key
from conference.errors import Conflict, NotFound
from conference.i18n import gettext as _
from conference.timefmt import now

if TYPE_CHECKING:
    from conference.accounts.actor import Actor


async def get_or_404(table: type[Table], record_id: int, message: str | None = None) -> dict[str, Any]:
    row = await table.select().where(table._meta.primary_key == record_id).first()
    if row is None:
        raise NotFound(message or _("没有找到该记录，或您无权查看。"))
    return row


async def insert_audited(
    actor: Actor | None, table: type[Table], entity: str, values: Mapping[str, Any], *, conference_id: int | None = None
) -> int:
    # A name brings its pinyin sort key along (conference.collation); the trail records the name only.
    rows = await table.insert(table(**with_sort_key(table, dict(values)))).returning(table._meta.primary_key)
    new_id = int(rows[0]["id"])
    if entity == "conference" and conference_id is None:
        conference_id = new_id  # a conference is on its own trail, so that its office sees it was set up
    await record(actor, "create", entity, new_id, after=snapshot(values, values.keys()), conference_id=conference_id)
    return new_id


async def update_audited(
    actor: Actor | None,
    table: type[Table],
    entity: str,
    current: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    expected_version: int | None,
    action: str = "update",
    conference_id: int | None = None,
    actor_name: str | None = None,
) -> None:
    """`current` is the row as read inside the same transaction."""
    version = current["version"]
    if expected_version is not None and expected_version != version:
        raise Conflict(_("该记录已被他人修改，您看到的不是最新内容。请刷新页面，核对后重新保存。"))
    before, after = changed(snapshot(current, values.keys()), snapshot(values, values.keys()))
    columns: dict[Column | str, Any] = {table._meta.get_column_by_name(k): v for k, v in with_sort_key(table, dict(values)).items()}
    columns[table._meta.get_column_by_name("version")] = version + 1
    stamp = next((c for c in table._meta.columns if c._meta.name == "changed_at"), None)
    if stamp is not None:  # a record that tells when it last changed (a meeting: its feed event's LAST-MODIFIED)
        columns[stamp] = now()
    pk = table._meta.primary_key
    updated = await table.update(columns).where((pk == current["id"]) & (table._meta.get_column_by_name("version") == version)).returning(pk)
    if not updated:
        raise Conflict(_("该记录已被他人修改，您看到的不是最新内容。请刷新页面，核对后重新保存。"))
    await record(actor, action, entity, int(current["id"]), before=before, after=after, conference_id=conference_id,
                 actor_name=actor_name)
