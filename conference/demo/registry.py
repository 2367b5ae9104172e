"""The demo registry of Linyi (临沂市): conferences, streets, member units, memberships, convenors
and their owners, and the demo accounts on them. Idempotent: records are looked up by their unique
name first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.table import Table

from conference import db
from conference.demo.accounts import create_accounts
from conference.records import insert_audited
from conference.registry.tables import Conference, ConvenorAppointment, Membership, MemberUnit, Person, Street
from conference.timefmt import now

STREETS = {
    "兰山区": ["兰山街道", "银雀山街道", "金雀山街道", "柳青街道", "白沙埠街道", "枣园街道", "半程街道", "义堂街道"],
    "罗庄区": ["罗庄街道", "盛庄街道", "傅庄街道", "册山街道", "高都街道", "罗西街道", "双月湖街道"],
    "河东区": ["九曲街道", "芝麻墩街道", "凤凰岭街道", "梅家埠街道", "太平街道", "相公街道", "朝阳街道"],
}
# 党工委书记 of every street (invented names).
SECRETARIES = {
    "兰山街道": "赵立华", "银雀山街道": "钱振宇", "金雀山街道": "孔维民", "柳青街道": "曹丽君", "白沙埠街道": "魏国庆",
    "枣园街道": "蒋文涛", "半程街道": "沈玉兰", "义堂街道": "韦志刚", "罗庄街道": "孙晓东", "盛庄街道": "许春燕",
    "傅庄街道": "吕建华", "册山街道": "施红霞", "高都街道": "张振东", "罗西街道": "彭晓明", "双月湖街道": "姜海燕",
    "九曲街道": "潘立新", "芝麻墩街道": "范爱华", "凤凰岭街道": "邵明远", "梅家埠街道": "金晓峰", "太平街道": "田秀英",
    "相公街道": "秦志强", "朝阳街道": "尤佳琪",
}

# (name, kind, parent, duties, liaison, phone, leader)
def _district_units(d: str, stations: list[str], police: list[str]) -> list[tuple[str, str, str | None, str]]:
    units: list[tuple[str, str, str | None, str]] = [
        (f"{d}行政审批服务局", "department", None, "政务服务事项审批、企业开办、项目审批协调"),
        (f"{d}自然资源和规划局", "department", None, "国土空间规划、土地利用、违法用地查处"),
        (f"{d}市场监管局", "department", None, "市场主体登记、食品安全、特种设备和价格监管"),
        (f"{d}公安分局", "department", None, "社会治安、交通秩序、流动人口管理"),
        (f"{d}综合行政执法局", "department", None, "市容环境、违法建设、占道经营执法"),
        (f"{d}应急管理局", "department", None, "安全生产监管、防汛防灾、应急救援"),
        (f"{d}生态环境分局", "department", None, "大气水土污染防治、环境信访处理"),
        (f"{d}司法局", "department", None, "人民调解、法律援助、普法宣传"),
    ]
    units += [(s, "dispatched_agency", f"{d}市场监管局", "辖区市场主体日常监管、投诉举报处理") for s in stations]
    units += [(p, "dispatched_agency", f"{d}公安分局", "辖区治安巡防、户籍管理、矛盾纠纷排查") for p in police]
    return units


UNITS = _district_units(
    "兰山区",
    ["兰山市场监管所", "银雀山市场监管所", "金雀山市场监管所", "柳青市场监管所", "白沙埠市场监管所", "枣园市场监管所"],
    ["兰山派出所", "银雀山派出所", "金雀山派出所", "柳青派出所"],
) + _district_units("罗庄区", ["罗庄市场监管所", "盛庄市场监管所"], ["罗庄派出所", "盛庄派出所"])

LIAISONS = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴倩", "徐涛", "孙丽", "马超", "朱琳",
            "胡斌", "郭亮", "何雪", "高峰", "林强", "罗敏", "郑凯", "梁晨", "宋佳", "谢楠", "韩冰", "唐宁", "冯越", "董雪"]

PERSONS = [("王建国", "兰山区委常委、组织部部长", "13905391101"), ("李红梅", "罗庄区副区长", "13905392207"),
           ("陈志远", "兰山区政协副主席", "13905391315")]
START = dt.date(2025, 1, 1)
DISTRICT_DOMAINS = {"兰山区": "lanshan", "罗庄区": "luozhuang"}
# 发文机关代字 of the demo offices: their minutes are numbered 兰联办〔2026〕1号 and so on.
# The street offices' contact on the 会议通知 (联系人、联系电话).
OFFICE_CONTACTS = {"兰山街道": ("王敏", "0539-8312001"), "银雀山街道": ("陈静", "0539-8312002"),
                   "罗庄街道": ("李娜", "0539-8312003")}
DOC_PREFIXES = {"兰山区": "兰区联办", "罗庄区": "罗区联办", "兰山街道": "兰联办", "银雀山街道": "银联办", "罗庄街道": "罗联办"}



async def _get_or_create(table: type[Table], key: dict[str, Any], values: dict[str, Any], entity: str,
                         conference_id: int | None = None) -> tuple[int, bool]:
    query = table.select(table._meta.primary_key)
    for name, value in key.items():
        query = query.where(table._meta.get_column_by_name(name) == value)
    row = await query.first()
    if row:
        return int(row["id"]), False
    return await insert_audited(None, table, entity, {**key, **values}, conference_id=conference_id), True


async def load_registry_demo(created_any: bool) -> bool:
    async with db.atomic():
        street_ids: dict[str, int] = {}
        for district, names in STREETS.items():
            for name in names:
                street_ids[name], created = await _get_or_create(
                    Street, {"name": name}, {"district": district, "secretary_name": SECRETARIES.get(name, ""),
                                             "phone": "0539-8" + str(1000000 + len(street_ids))[1:], "created_at": now()},
                    "street")
                created_any |= created
        conf: dict[str, int] = {}
        conf["city"], _c = await _get_or_create(Conference, {"name": "临沂市城市基层党建联席会议"},
                                                {"level": "city", "office_email": "lxhy@linyi.example.gov.cn", "doc_prefix": "临联办",
                                                 "created_at": now()}, "conference")
        for district in ("兰山区", "罗庄区"):
            conf[district], _c = await _get_or_create(
                Conference, {"name": f"{district}城市基层党建联席会议"},
                {"level": "district", "parent": conf["city"], "office_email": f"lxhy@{DISTRICT_DOMAINS[district]}.example.gov.cn",
                 "doc_prefix": DOC_PREFIXES[district], "created_at": now()}, "conference")
        for street, district in (("兰山街道", "兰山区"), ("银雀山街道", "兰山区"), ("罗庄街道", "罗庄区")):
            conf[street], _c = await _get_or_create(
                Conference, {"name": f"{street}城市基层党建联席会议"},
                {"level": "street", "parent": conf[district], "street": street_ids[street],
                 "office_email": f"lxhy-{street_ids[street]}@example.gov.cn", "doc_prefix": DOC_PREFIXES[street],
                 "office_contact": OFFICE_CONTACTS[street][0], "office_phone": OFFICE_CONTACTS[street][1],
                 "created_at": now()}, "conference")
        unit_ids: dict[str, int] = {}
        for i, (name, kind, parent, duties) in enumerate(UNITS):
            liaison = LIAISONS[i % len(LIAISONS)]
            unit_ids[name], created = await _get_or_create(
                MemberUnit, {"name": name},
                {"kind": kind, "parent_unit": unit_ids.get(parent) if parent else None, "duties": duties,
                 "liaison_name": liaison, "liaison_phone": f"1390539{i:04d}", "liaison_email": f"liaison{i + 1:02d}@example.gov.cn",
                 "leader_name": LIAISONS[(i + 7) % len(LIAISONS)] + "（副局长）" if kind == "department" else LIAISONS[(i + 7) % len(LIAISONS)] + "（所长）",
                 "created_at": now()}, "member_unit")
            created_any |= created
        members = {
            "兰山街道": [n for n, *_r in UNITS if n.startswith("兰山区")] + ["兰山市场监管所", "兰山派出所"],
            "银雀山街道": [n for n, *_r in UNITS if n.startswith("兰山区")] + ["银雀山市场监管所", "银雀山派出所"],
            "罗庄街道": [n for n, *_r in UNITS if n.startswith("罗庄区")] + ["罗庄市场监管所", "罗庄派出所"],
            "兰山区": [n for n, *_r in UNITS if n.startswith("兰山区")],
            "罗庄区": [n for n, *_r in UNITS if n.startswith("罗庄区")],
        }
        for key, names in members.items():
            for name in names:
                await _get_or_create(Membership, {"unit": unit_ids[name], "conference": conf[key]},
                                     {"start_date": START}, "membership", conference_id=conf[key])
        # A member that left: history must still show it for past meetings.
        await _get_or_create(Membership, {"unit": unit_ids["柳青派出所"], "conference": conf["兰山街道"]},
                             {"start_date": START, "end_date": dt.date(2025, 12, 31)}, "membership", conference_id=conf["兰山街道"])
        person_ids: dict[str, int] = {}
        for name, title, phone in PERSONS:
            person_ids[name], _c = await _get_or_create(Person, {"name": name}, {"title": title, "phone": phone,
                                                                                 "email": ""}, "person")
        for person, street in (("王建国", "兰山街道"), ("李红梅", "罗庄街道"), ("陈志远", "银雀山街道")):
            await _get_or_create(ConvenorAppointment, {"person": person_ids[person], "conference": conf[street]},
                                 {"title": "正县级" if person == "王建国" else "副县级", "start_date": START},
                                 "convenor_appointment", conference_id=conf[street])
        # Owners of the shared records (conference.registry.tables): each district office registered
        # its district's streets, member units and convenors; 河东区 has no conference, its streets stay
        # the admin's.
        district_of = {"兰山街道": "兰山区", "银雀山街道": "兰山区", "罗庄街道": "罗庄区"}
        for district in ("兰山区", "罗庄区"):
            owner = conf[district]
            await Street.update({Street.owner_conference: owner}).where(
                (Street.district == district) & Street.owner_conference.is_null())
            names = [name for name, _kind, parent, _d in UNITS if (parent or name).startswith(district)]
            await MemberUnit.update({MemberUnit.owner_conference: owner}).where(
                MemberUnit.name.is_in(names) & MemberUnit.owner_conference.is_null())
        for person, street in (("王建国", "兰山街道"), ("李红梅", "罗庄街道"), ("陈志远", "银雀山街道")):
            await Person.update({Person.owner_conference: conf[district_of[street]]}).where(
                (Person.id == person_ids[person]) & Person.owner_conference.is_null())
        created_any |= await create_accounts({"conference": conf, "street": street_ids, "unit": unit_ids,
                                              "person": person_ids})
    return created_any


