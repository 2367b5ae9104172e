"""Issue 16 items 4 and 7: Chinese names in pinyin order in lists and pickers (a stored sort key, so
SQLite and PostgreSQL agree), and pickers that offer only the units that belong to the conference
and are not chosen yet."""

from __future__ import annotations

import uuid

import httpx

from conference.collation import sort_key
from conference.meetings.tables import Invitation
from conference.registry.tables import Conference, Membership, MemberUnit, Street
from tests import dbsetup
from tests.conftest import field_error, html, post_form
from tests.factories import LANSHAN_STREET, make_meeting

# Pinyin order; by code point 兰 (U+5170) < 白 (U+767D) < 罗 (U+7F57) < 银 (U+94F6) < 长 (U+957F) < 西 (U+897F)...
PINYIN_ORDER = ["白沙埠", "长安", "兰山区", "罗庄区", "西安", "先锋", "银雀山"]


def tag() -> str:
    return uuid.uuid4().hex[:8]


def select_options(page: httpx.Response, select_id: str) -> list[tuple[str, str]]:
    node = html(page).find("select", id=select_id)
    assert node is not None, select_id
    return [(o["value"], o.get_text(strip=True)) for o in node.find_all("option") if o["value"]]


async def new_unit(client: httpx.AsyncClient, name: str) -> int:
    response = await post_form(client, "/registry/units/new", {"name": name, "kind": "department"})
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["location"].rsplit("/", 1)[1])


async def conference_id(name: str) -> int:
    row = await Conference.select(Conference.id).where(Conference.name == name).first()
    assert row is not None
    return int(row["id"])


def test_sort_key_orders_syllable_by_syllable() -> None:
    assert sort_key("兰山区公安分局") == "lan2shan1qu1gong1an1fen4ju2"
    assert sorted(reversed(PINYIN_ORDER), key=sort_key) == PINYIN_ORDER  # 西安 xi1an1 before 先锋 xian1feng1
    assert sort_key("ＡＢ单位（一）") == "abdan1wei4yi1"  # full-width letters folded, punctuation dropped
    assert set(sort_key("罗庄区第2派出所")) <= set("abcdefghijklmnopqrstuvwxyz0123456789")


async def test_unit_list_and_pickers_in_pinyin_order(as_user) -> None:
    office, street = await as_user("office"), await as_user("street")
    t = tag()
    names = [f"{prefix}测试单位{t}" for prefix in PINYIN_ORDER]
    ids = {}
    for name in reversed(names):  # created in the opposite order: ids cannot give the order
        ids[name] = await new_unit(office, name)
    stored = await MemberUnit.select(MemberUnit.name, MemberUnit.sort_key).where(MemberUnit.name.is_in(names))
    assert {r["name"]: r["sort_key"] for r in stored} == {n: sort_key(n) for n in names}

    page = await office.get("/registry/units", params={"q": t, "per_page": "50"})
    listed = [a.get_text(strip=True) for a in html(page).select("table.list tbody a[href^='/registry/units/']")]
    assert listed == names, (dbsetup.backend(), listed)
    page = await office.get("/registry/units", params={"q": t, "sort": "name", "desc": "1"})
    assert [a.get_text(strip=True) for a in html(page).select("table.list tbody a[href^='/registry/units/']")] == names[::-1]

    # The membership picker of the street conference (the units are the district office's: in reach).
    lanshan = await conference_id(LANSHAN_STREET)
    offered = [label for _v, label in select_options(await office.get(f"/registry/conferences/{lanshan}"), "f-unit")]
    assert [n for n in offered if n.endswith(t)] == names
    assert offered == sorted(offered, key=lambda n: (sort_key(n), n))  # the whole picker, not only ours
    # Members now: the street's item form offers them, in the same order.
    for name in names:
        response = await post_form(office, f"/registry/conferences/{lanshan}/memberships", {"unit": str(ids[name]), "start_date": "2025-01-01"})
        assert response.status_code == 303, response.text[:500]
    offered = [label.get_text(strip=True) for label in html(await street.get("/items/new")).select("#f-units label.picker-option")]
    assert [n for n in offered if n.endswith(t)] == names
    assert offered == sorted(offered, key=lambda n: (sort_key(n), n))


async def test_demo_units_of_both_districts_do_not_interleave(as_user) -> None:
    """The issue's example: 兰山区… units all come before 罗庄区… units."""
    admin = await as_user("admin")
    page = await admin.get("/registry/units", params={"q": "区", "per_page": "200"})
    listed = [a.get_text(strip=True) for a in html(page).select("table.list tbody a[href^='/registry/units/']")]
    districts = [n[:3] for n in listed if n[:3] in ("兰山区", "罗庄区")]
    assert districts and districts == sorted(districts, key=sort_key), listed
    assert listed == sorted(listed, key=lambda n: (sort_key(n), n))


async def test_streets_and_conferences_in_pinyin_order(as_user) -> None:
    office = await as_user("office")
    t = tag()
    names = [f"{prefix}测试街道{t}" for prefix in PINYIN_ORDER]
    for name in reversed(names):
        response = await post_form(office, "/registry/streets/new", {"name": name, "district": "兰山区"})
        assert response.status_code == 303, response.text[:500]
    page = await office.get("/registry/streets", params={"q": t})
    assert [a.get_text(strip=True) for a in html(page).select("table.list tbody a[href^='/registry/streets/']")] == names
    # The conference form's street picker.
    offered = [label for _v, label in select_options(await office.get("/registry/conferences/new"), "f-street")]
    assert [n for n in offered if n.endswith(t)] == names
    conferences = [label for _v, label in select_options(await office.get("/registry/conferences/new"), "f-parent")]
    assert conferences == sorted(conferences, key=lambda n: (sort_key(n), n))


async def test_the_migration_fills_keys_of_existing_rows(database_url: str) -> None:
    await Street.update({Street.sort_key: ""}, force=True)
    await dbsetup.run_raw_steps("conference_2026_12_04t05_01_00_000000")
    rows = await Street.select(Street.name, Street.sort_key)
    assert rows and all(r["sort_key"] == sort_key(r["name"]) for r in rows)


# ---------------------------------------------------------------- item 7: who the pickers offer


async def test_membership_picker_offers_units_in_reach_and_not_yet_members(as_user) -> None:
    office = await as_user("office")
    lanshan = await conference_id(LANSHAN_STREET)
    members = {r["unit"] for r in await Membership.select(Membership.unit).where(
        (Membership.conference == lanshan) & Membership.end_date.is_null())}
    # 罗庄区's units by owner, not by name: a unit another test names 罗庄区… may be 兰山区's own.
    luozhuang_district = await conference_id("罗庄区城市基层党建联席会议")
    luozhuang_units = {r["id"]: r["name"] for r in await MemberUnit.select(MemberUnit.id, MemberUnit.name).where(
        MemberUnit.owner_conference == luozhuang_district)}
    assert "罗庄区司法局" in luozhuang_units.values()
    assert members and luozhuang_units
    offered = {int(v): label for v, label in select_options(await office.get(f"/registry/conferences/{lanshan}"), "f-unit")}
    assert not set(offered) & members  # never a member twice
    assert not set(offered) & set(luozhuang_units), [offered[u] for u in set(offered) & set(luozhuang_units)]
    t = tag()
    mine = await new_unit(office, f"兰山区新设单位{t}")
    offered = {int(v) for v, _l in select_options(await office.get(f"/registry/conferences/{lanshan}"), "f-unit")}
    assert mine in offered


async def test_invitee_picker_offers_members_not_yet_invited(as_user) -> None:
    office = await as_user("office")
    meeting_id = await make_meeting()  # every member invited
    invitations = await Invitation.select(Invitation.id, Invitation.unit, Invitation.unit.name.as_alias("name")).where(
        Invitation.meeting == meeting_id)
    assert invitations
    page = await office.get(f"/meetings/{meeting_id}")
    assert select_options(page, "f-unit") == []  # all invited: nothing to offer
    removed = invitations[0]
    response = await post_form(office, f"/invitations/{removed['id']}/remove", {})
    assert response.status_code == 303
    assert select_options(await office.get(f"/meetings/{meeting_id}"), "f-unit") == [(str(removed["unit"]), removed["name"])]
    # 成员单位 must be a member on the meeting's day; another district's unit may only 列席.
    outsider = await MemberUnit.select(MemberUnit.id).where(MemberUnit.name == "罗庄区司法局").first()
    assert outsider is not None
    response = await post_form(office, f"/meetings/{meeting_id}/invitations", {"unit": str(outsider["id"]), "role": "member"})
    assert response.status_code == 400
    assert field_error(response, "unit") == "该单位不是本联席会议的成员单位，请以列席单位邀请。"
    response = await post_form(office, f"/meetings/{meeting_id}/invitations", {"unit": str(outsider["id"]), "role": "observer"})
    assert response.status_code == 303
    response = await post_form(office, f"/meetings/{meeting_id}/invitations", {"unit": str(removed["unit"]), "role": "member"})
    assert response.status_code == 303
    assert select_options(await office.get(f"/meetings/{meeting_id}"), "f-unit") == []
