"""Supervision figures (督办统计): the four rates against hand-computed figures on a fixed data set,
local-day boundaries (Asia/Shanghai), empty periods, scope by role, a constant number of queries,
the trend chart as SVG, and the assessment sheet. The fair-rate rules (a task counts once its
outcome is settled), the KPI cards and the red / yellow lists with a fixed "today": see the end."""

from __future__ import annotations

import datetime as dt
import io
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from conference.agenda.tables import AgendaItem, AgendaItemUnit
from conference.collation import with_sort_key
from conference.meetings.tables import Meeting
from conference.registry.tables import Conference, Membership, MemberUnit, Street
from conference.tasks.tables import Resolution, ResolutionUnit, Task
from tests.conftest import html
from tests.factories import conference_id
from tests.querycount import count_queries

SH = ZoneInfo("Asia/Shanghai")
LANSHAN_DISTRICT = "兰山区城市基层党建联席会议"
YEAR_2024 = "start=2024-01-01&end=2024-12-31"
SVG = "{http://www.w3.org/2000/svg}"


def sh(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> dt.datetime:
    """A local (Asia/Shanghai) time, stored by Piccolo as UTC."""
    return dt.datetime(y, m, d, h, mi, tzinfo=SH)


async def _insert(table: Any, **values: Any) -> int:
    # named records get their pinyin sort key, as the services write it (other tests sort the lists)
    rows = await table.insert(table(**with_sort_key(table, values))).returning(table.id)
    return int(rows[0]["id"])


@dataclass
class Dataset:
    conference: int
    conference_name: str
    street: int
    street_name: str
    dept: int
    dept_name: str
    agency: int
    agency_name: str
    resolutions: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)


async def make_task(ds: Dataset, name: str, unit: int, resolution: str, *, assigned: dt.datetime, ack_due: dt.date,
                    deadline: dt.date, status: str = "assigned", acknowledged: dt.datetime | None = None,
                    closed: dt.datetime | None = None, rating: str = "", rated: dt.datetime | None = None,
                    street: bool = True, role: str = "lead") -> int:
    task_id = await _insert(
        Task, resolution=ds.resolutions[resolution], unit=unit, conference=ds.conference,
        street=ds.street if street else None, role=role, status=status, assigned_at=assigned, deadline=deadline,
        ack_due=ack_due, acknowledged_at=acknowledged, closed_at=closed, rating=rating, rated_at=rated)
    ds.tasks[name] = task_id
    return task_id


async def build_dataset(parent: str = LANSHAN_DISTRICT) -> Dataset:
    """A street conference of its own under `parent`, with one department (D) and one dispatched
    agency (A), and tasks whose timestamps make every 2024 figure computable by hand:

    D, 2024: response 3/4 (T1 acknowledged on the last minutes of its ack_due day, T3 and T5 in time,
    T5 on 2024-01-01 although assigned on 2023-12-31 23:30 local; T2 half an hour late; T4 is
    cancelled; T7 and T8 were acknowledged in 2023); resolution 3/4 (deadlines in 2024: T1, T2, T7
    closed, T3 open); on-time 2/4 (T2 closed at 00:30 the day after its deadline); satisfaction 3/4
    (T2 dissatisfied, T8 rated in 2024). Assigned in 2024: 3; closed in 2024: 4 (T1, T2, T7, T8).
    A, 2024: response 1/3 (T6 and T10 never acknowledged, T9 in time); resolution 1/3; on-time 1/3;
    satisfaction none. Assigned in 2024: 3 (T6 at 00:30 local on 1 January, i.e. still 2023 in UTC);
    closed: 1. T10 comes from an item the office raised (no street).
    """
    suffix = uuid.uuid4().hex[:8]
    street_name = f"督办测试街道{suffix}"
    street = await _insert(Street, name=street_name, district="兰山区", created_at=sh(2023, 1, 1))
    conf_name = f"督办测试联席会议{suffix}"
    conf = await _insert(Conference, name=conf_name, level="street", parent=await conference_id(parent), street=street,
                         created_at=sh(2023, 1, 1))
    dept_name, agency_name = f"督办测试局{suffix}", f"督办测试所{suffix}"
    dept = await _insert(MemberUnit, name=dept_name, kind="department", created_at=sh(2023, 1, 1))
    agency = await _insert(MemberUnit, name=agency_name, kind="dispatched_agency", created_at=sh(2023, 1, 1))
    for unit in (dept, agency):
        await _insert(Membership, unit=unit, conference=conf, start_date=dt.date(2023, 1, 1))
    ds = Dataset(conf, conf_name, street, street_name, dept, dept_name, agency, agency_name)
    meeting = await _insert(Meeting, conference=conf, kind="plenary", title=f"2023年第2次全体会议{suffix}",
                            starts_at=sh(2023, 9, 20), ends_at=sh(2023, 9, 20, 11), status="held",
                            uid=f"{uuid.uuid4()}@test", created_at=sh(2023, 9, 1))
    for key, title, with_street, status, submitted in (
        ("I1", "背街小巷路灯损坏", True, "resolved", sh(2023, 9, 1)),
        ("I2", "农贸市场占道经营", True, "resolved", sh(2023, 9, 2)),
        ("I3", "区级统筹停车治理", False, "discussed", sh(2023, 9, 3)),
    ):
        ds.items[key] = await _insert(AgendaItem, conference=conf, street=street if with_street else None,
                                      title=f"{title}{suffix}", category="urban_management", status=status,
                                      submitted_at=submitted, created_at=submitted)
    for unit in (dept, agency):
        await _insert(AgendaItemUnit, item=ds.items["I1"], unit=unit)
    for key, item, lead, coop, adopted in (("R1", "I1", dept, agency, sh(2023, 9, 20, 10)),
                                           ("R2", "I2", dept, None, sh(2023, 9, 20, 10, 30)),
                                           ("R3", "I3", agency, None, sh(2023, 9, 20, 10, 45))):
        ds.resolutions[key] = await _insert(Resolution, meeting=meeting, item=ds.items[item], conference=conf,
                                            number=len(ds.resolutions) + 1, text=f"议定事项{key}{suffix}", lead_unit=lead,
                                            deadline=dt.date(2024, 6, 30), adopted_at=adopted)
        await _insert(ResolutionUnit, resolution=ds.resolutions[key], unit=lead, role="lead")
        if coop:
            await _insert(ResolutionUnit, resolution=ds.resolutions[key], unit=coop, role="cooperate")
    D, A = dept, agency
    await make_task(ds, "T1", D, "R1", assigned=sh(2024, 3, 4), ack_due=dt.date(2024, 3, 6), acknowledged=sh(2024, 3, 6, 23, 30),
                    deadline=dt.date(2024, 4, 30), status="closed", closed=sh(2024, 4, 30, 23), rating="satisfied",
                    rated=sh(2024, 5, 2, 10))
    await make_task(ds, "T2", D, "R1", assigned=sh(2024, 3, 4), ack_due=dt.date(2024, 3, 6), acknowledged=sh(2024, 3, 7, 0, 30),
                    deadline=dt.date(2024, 4, 30), status="closed", closed=sh(2024, 5, 1, 0, 30), rating="dissatisfied",
                    rated=sh(2024, 5, 3, 10))
    await make_task(ds, "T3", D, "R1", assigned=sh(2024, 5, 10), ack_due=dt.date(2024, 5, 14), acknowledged=sh(2024, 5, 11),
                    deadline=dt.date(2024, 6, 30), status="in_progress")
    await make_task(ds, "T4", D, "R1", assigned=sh(2024, 3, 5), ack_due=dt.date(2024, 3, 7), acknowledged=sh(2024, 3, 5, 10),
                    deadline=dt.date(2024, 4, 30), status="cancelled")
    await make_task(ds, "T5", D, "R1", assigned=sh(2023, 12, 31, 23, 30), ack_due=dt.date(2024, 1, 2),
                    acknowledged=sh(2024, 1, 1, 10), deadline=dt.date(2025, 1, 15), status="in_progress")
    await make_task(ds, "T6", A, "R1", assigned=sh(2024, 1, 1, 0, 30), ack_due=dt.date(2024, 1, 3), deadline=dt.date(2024, 1, 31),
                    role="cooperate")
    await make_task(ds, "T7", D, "R2", assigned=sh(2023, 11, 1), ack_due=dt.date(2023, 11, 3), acknowledged=sh(2023, 11, 1, 10),
                    deadline=dt.date(2024, 2, 29), status="closed", closed=sh(2024, 2, 20, 10), rating="basically_satisfied",
                    rated=sh(2024, 2, 25, 10))
    await make_task(ds, "T8", D, "R2", assigned=sh(2023, 10, 1), ack_due=dt.date(2023, 10, 9), acknowledged=sh(2023, 10, 8),
                    deadline=dt.date(2023, 12, 31), status="closed", closed=sh(2024, 1, 2, 10), rating="satisfied",
                    rated=sh(2024, 1, 5, 10))
    await make_task(ds, "T9", A, "R1", assigned=sh(2024, 7, 1), ack_due=dt.date(2024, 7, 3), acknowledged=sh(2024, 7, 1, 10),
                    deadline=dt.date(2024, 8, 31), status="closed", closed=sh(2024, 8, 30, 10), role="cooperate")
    await make_task(ds, "T10", A, "R3", assigned=sh(2024, 9, 1), ack_due=dt.date(2024, 9, 3), deadline=dt.date(2024, 9, 30),
                    street=False)
    return ds


@pytest.fixture(scope="module")
async def data(database_url: str) -> Dataset:
    return await build_dataset()


def rate_table(page: Any) -> dict[str, dict[str, str]]:
    """Group name -> {measure: rate text, measure-total / measure-hits: counts} from the rate table."""
    table = page.find("table", class_="rates")
    result = {}
    for tr in table.select("tbody tr[data-key], tfoot tr[data-key]"):
        name = "合计" if tr["data-key"] == "total" else tr.find("th").contents[0].strip()
        cells = {td["data-rate"]: td.get_text(strip=True) for td in tr.find_all("td", attrs={"data-rate": True})}
        cells.update({td["data-count"]: td.get_text(strip=True) for td in tr.find_all("td", attrs={"data-count": True})})
        result[name] = cells
    return result


def rates_of(row: dict[str, str]) -> tuple[str, str, str, str]:
    return row["response"], row["resolution"], row["on_time"], row["satisfaction"]


# ---------------------------------------------------------------- the figures


async def test_rates_per_unit_match_hand_computed_figures(as_user, data):
    office = await as_user("office")
    response = await office.get(f"/supervision?conference={data.conference}&{YEAR_2024}&group=unit")
    assert response.status_code == 200, response.text
    table = rate_table(html(response))
    assert set(table) == {data.dept_name, data.agency_name, "合计"}
    dept = table[data.dept_name]
    assert rates_of(dept) == ("75.0%", "75.0%", "50.0%", "75.0%")
    assert (dept["response-hits"], dept["response-total"]) == ("3", "4")
    assert (dept["resolution-hits"], dept["resolution-total"]) == ("3", "4")
    assert dept["on_time-hits"] == "2"  # over the same 4 tasks due
    assert (dept["satisfaction-hits"], dept["satisfaction-total"]) == ("3", "4")
    assert (dept["assigned"], dept["closed"]) == ("3", "4")
    # Nothing rated: the denominator is empty and the rate reads "—", never a division by zero.
    assert rates_of(table[data.agency_name]) == ("33.3%", "33.3%", "33.3%", "—")
    assert table[data.agency_name]["satisfaction-total"] == "0"
    assert (table[data.agency_name]["assigned"], table[data.agency_name]["closed"]) == ("3", "1")
    assert rates_of(table["合计"]) == ("57.1%", "57.1%", "42.9%", "75.0%")
    assert (table["合计"]["assigned"], table["合计"]["closed"]) == ("6", "5")


async def test_rates_per_street_and_per_conference(as_user, data):
    office = await as_user("office")
    by_street = rate_table(html(await office.get(f"/supervision?conference={data.conference}&{YEAR_2024}&group=street")))
    assert rates_of(by_street[data.street_name]) == ("66.7%", "66.7%", "50.0%", "75.0%")  # T10 has no street
    no_street = [name for name in by_street if name not in (data.street_name, "合计")]
    assert len(no_street) == 1 and rates_of(by_street[no_street[0]]) == ("0.0%", "0.0%", "0.0%", "—")
    by_conf = rate_table(html(await office.get(f"/supervision?conference={data.conference}&{YEAR_2024}&group=conference")))
    assert set(by_conf) == {data.conference_name, "合计"}
    assert rates_of(by_conf[data.conference_name]) == ("57.1%", "57.1%", "42.9%", "75.0%")


async def test_local_day_boundaries(as_user, data):
    """Periods and deadlines are local days: a task assigned at 00:30 on 1 January (still 2023 in UTC)
    belongs to 2024, one assigned at 23:30 on 31 December 2023 does not."""
    office = await as_user("office")
    jan = rate_table(html(await office.get(f"/supervision?conference={data.conference}&start=2024-01-01&end=2024-01-01")))
    assert jan[data.agency_name]["assigned"] == "1" and rates_of(jan[data.agency_name]) == ("—", "—", "—", "—")
    assert jan[data.dept_name]["assigned"] == "0" and rates_of(jan[data.dept_name])[0] == "100.0%"  # T5 acknowledged
    dec = rate_table(html(await office.get(f"/supervision?conference={data.conference}&start=2023-12-31&end=2023-12-31")))
    assert dec[data.dept_name]["assigned"] == "1" and data.agency_name not in dec
    # T8 was due on 31 December 2023 and closed on 2 January: due that day, closed, late.
    assert (dec[data.dept_name]["resolution-hits"], dec[data.dept_name]["on_time-hits"]) == ("1", "0")
    # T2 was closed at 00:30 on 1 May local time (30 April in UTC): closed in May, and late for its
    # 30 April deadline; T1, closed at 23:00 on 30 April, was in time.
    may = rate_table(html(await office.get(f"/supervision?conference={data.conference}&start=2024-05-01&end=2024-05-31")))
    assert may[data.dept_name]["closed"] == "1"
    april = rate_table(html(await office.get(f"/supervision?conference={data.conference}&start=2024-04-01&end=2024-04-30")))
    assert april[data.dept_name]["closed"] == "1"
    assert (april[data.dept_name]["on_time-hits"], april[data.dept_name]["resolution-total"]) == ("1", "2")


async def test_empty_period_shows_dashes(as_user, data):
    office = await as_user("office")
    response = await office.get(f"/supervision?conference={data.conference}&start=2022-01-01&end=2022-12-31")
    assert response.status_code == 200
    page = html(response)
    assert rate_table(page) == {}
    assert "统计期间内没有督办任务" in page.find("table", class_="rates").get_text()
    cells = [td.get_text(" ", strip=True) for td in page.select("table.trend td[data-rate]")]
    assert len(cells) == 48 and all(c.startswith("—") for c in cells)


async def test_default_period_is_the_current_year(as_user, data):
    office = await as_user("office")
    page = html(await office.get("/supervision"))
    year = dt.datetime.now(SH).year
    assert page.find(id="f-start")["value"] == f"{year}-01-01"
    assert page.find(id="f-end")["value"] == f"{year}-12-31"
    assert page.find(id="error-summary") is None


async def test_bad_filters_are_named_and_ignored(as_user, data):
    office = await as_user("office")
    response = await office.get(f"/supervision?conference={data.conference}&start=2024-13-01&end=2024-12-31&group=nope")
    assert response.status_code == 200
    summary = html(response).find(id="error-summary")
    assert summary is not None and "开始日期" in summary.get_text()


async def test_alert_lists_link_to_tasks(as_user, data):
    office = await as_user("office")
    page = html(await office.get(f"/supervision?conference={data.conference}&{YEAR_2024}"))
    overdue = {int(tr["data-task"]) for tr in page.select("table.overdue tr[data-task]")}
    assert overdue == {data.tasks[t] for t in ("T3", "T5", "T6", "T10")}
    # T6 and T10 were never acknowledged, but they are overdue: red, marked 未签收, not in both lists.
    assert not page.select("table.unack tr[data-task]")
    marked = {int(tr["data-task"]) for tr in page.select("table.overdue tr[data-task]") if "未签收" in tr.get_text()}
    assert marked == {data.tasks["T6"], data.tasks["T10"]}
    assert page.select_one(f'table.overdue a[href="/tasks/{data.tasks["T3"]}"]') is not None


# ---------------------------------------------------------------- the trend


async def test_trend_table_and_chart(as_user, data):
    office = await as_user("office")
    response = await office.get(f"/supervision?conference={data.conference}&{YEAR_2024}")
    page = html(response)
    trend = {tr["data-month"]: {td["data-rate"]: td.get_text(" ", strip=True).split()[0] for td in tr.find_all("td")}
             for tr in page.select("table.trend tr[data-month]")}
    assert list(trend) == [f"2024-{m:02d}" for m in range(1, 13)]
    # January: T5 acknowledged in time, T6 not (ack_due 3 January); T6 due 31 January, open; T8 rated.
    assert trend["2024-01"] == {"response": "50.0%", "resolution": "0.0%", "on_time": "0.0%", "satisfaction": "100.0%"}
    assert trend["2024-03"]["response"] == "50.0%"
    assert trend["2024-04"]["resolution"] == "100.0%" and trend["2024-04"]["on_time"] == "50.0%"
    assert trend["2024-05"]["on_time"] == "—"  # nothing due in May
    assert trend["2024-05"]["satisfaction"] == "50.0%"
    assert trend["2024-02"]["response"] == "—"

    served = response.text[response.text.index("<svg"):response.text.index("</svg>") + len("</svg>")]
    root = ET.fromstring(served)  # noqa: S314 - our own markup: it must be well-formed XML
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}title").text
    paths = root.findall(f".//{SVG}path")
    assert sorted(p.get("data-rate") for p in paths) == ["on_time", "resolution", "response", "satisfaction"]
    response_path = next(p for p in paths if p.get("data-rate") == "response")
    # Months without a figure break the line: Jan, Mar, May, Jul and Sep each start a new stretch.
    assert response_path.get("d").count("M") == 5
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "响应率" in texts and "满意率" in texts and "1月" in texts
    assert all(script.get("src") for script in page.find_all("script"))  # no inline script (CSP)
    assert not any(attr.startswith("on") for tag in page.find_all(True) for attr in tag.attrs)


def test_chart_escapes_and_parses_without_data():
    from conference.supervision.charts import trend_svg
    from conference.supervision.views import Figures

    months = [{"month": dt.date(2025, m, 1), "label": f"<{m}>", **Figures().as_dict()} for m in range(1, 13)]
    root = ET.fromstring(str(trend_svg(months)))  # noqa: S314 - our own markup
    assert len(root.findall(f".//{SVG}path")) == 4


# ---------------------------------------------------------------- scope


async def test_scope_other_office_cannot_see_lanshan_figures(as_user, data):
    luozhuang = await as_user("office_luozhuang")
    assert (await luozhuang.get(f"/supervision?conference={data.conference}&{YEAR_2024}")).status_code == 404
    assert (await luozhuang.get(f"/supervision/assessment?conference={data.conference}&year=2024")).status_code == 404
    page = html(await luozhuang.get(f"/supervision?{YEAR_2024}&group=conference"))
    assert data.conference_name not in page.get_text()
    assert not any(o.get_text() == data.conference_name for o in page.select("#f-conference option"))
    units = rate_table(html(await luozhuang.get(f"/supervision?{YEAR_2024}&group=unit")))
    assert data.dept_name not in units and data.agency_name not in units
    assessment = html(await luozhuang.get("/supervision/assessment?year=2024"))
    assert data.dept_name not in assessment.get_text()


async def test_scope_district_office_sees_street_conferences_below(as_user, data):
    office = await as_user("office")  # 兰山区: its street conferences are below it
    district = await conference_id(LANSHAN_DISTRICT)
    page = html(await office.get(f"/supervision?conference={district}&{YEAR_2024}&group=conference"))
    assert rates_of(rate_table(page)[data.conference_name]) == ("57.1%", "57.1%", "42.9%", "75.0%")
    admin = await as_user("admin")
    assert data.conference_name in rate_table(html(await admin.get(f"/supervision?{YEAR_2024}&group=conference")))


async def test_scope_convenor_sees_only_his_conferences(as_user, data):
    convenor = await as_user("convenor")  # 王建国 convenes 兰山街道 only
    assert (await convenor.get(f"/supervision?conference={data.conference}&{YEAR_2024}")).status_code == 404
    page = html(await convenor.get(f"/supervision?{YEAR_2024}&group=conference"))
    assert data.conference_name not in rate_table(page)
    assert [o.get_text() for o in page.select("#f-conference option")][1:] == ["兰山街道城市基层党建联席会议"]


@pytest.mark.parametrize("username", ["street", "unit"])
@pytest.mark.parametrize("url", ["/supervision", "/supervision/assessment", "/supervision/assessment.xlsx?year=2024",
                                 "/supervision/ledger", "/supervision/ledger.xlsx", "/supervision/ledger.csv"])
async def test_streets_and_units_are_refused(as_user, username, url):
    client = await as_user(username)
    assert (await client.get(url)).status_code == 403


async def test_anonymous_is_sent_to_login(anon):
    response = await anon.get("/supervision")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_navigation_link(as_user):
    for username, shown in (("office", True), ("convenor", True), ("admin", True), ("street", False), ("unit", False)):
        page = html(await (await as_user(username)).get("/"))
        assert (page.select_one('nav a[href="/supervision"]') is not None) is shown, username


# ---------------------------------------------------------------- queries


async def test_query_count_does_not_grow_with_data(as_user, data):
    other = await build_dataset()
    office = await as_user("office")
    urls = [f"/supervision?conference={other.conference}&{YEAR_2024}", f"/supervision?{YEAR_2024}&group=street",
            f"/supervision/assessment?year=2024&conference={other.conference}"]

    async def queries(url: str) -> int:
        with count_queries() as seen:
            assert (await office.get(url)).status_code == 200
        return len(seen)

    before = [await queries(u) for u in urls]
    for i in range(50):
        await make_task(other, f"X{i}", other.dept if i % 2 else other.agency, "R1", assigned=sh(2024, 1 + i % 12, 10),
                        ack_due=dt.date(2024, 1 + i % 12, 12), acknowledged=sh(2024, 1 + i % 12, 11) if i % 3 else None,
                        deadline=dt.date(2024, 1 + i % 12, 28), status="closed" if i % 4 == 0 else "in_progress",
                        closed=sh(2024, 1 + i % 12, 20) if i % 4 == 0 else None,
                        rating="satisfied" if i % 8 == 0 else "", rated=sh(2024, 1 + i % 12, 21) if i % 8 == 0 else None)
    after = [await queries(u) for u in urls]
    assert after == before
    assert before[0] <= 12  # session + scope + rates + trend + alerts


# ---------------------------------------------------------------- assessment


def assessment_table(page: Any) -> dict[str, dict[str, str]]:
    result = {}
    for tr in page.select("table.assessment tr[data-unit]"):
        cells = {td["data-rate"]: td.get_text(" ", strip=True).split()[0] for td in tr.find_all("td", attrs={"data-rate": True})}
        cells.update({td["data-col"]: td.get_text(strip=True) for td in tr.find_all("td", attrs={"data-col": True})})
        result[tr.find("th").get_text(strip=True)] = cells
    return result


async def test_assessment_sheet(as_user, data):
    """The streets' evaluation is a score of its own, from the ratings (issue 12 item 5; more in
    tests/test_manual_supervision.py); the rates stay beside it for reference."""
    office = await as_user("office")
    response = await office.get(f"/supervision/assessment?year=2024&conference={data.conference}")
    assert response.status_code == 200
    page = html(response)
    sheet = assessment_table(page)
    assert set(sheet) == {data.dept_name, data.agency_name}
    dept = sheet[data.dept_name]
    assert rates_of(dept) == ("75.0%", "75.0%", "50.0%", "75.0%")
    # Ratings in 2024: satisfied ×2, basically satisfied, dissatisfied -> (100+100+60+0)/4 = 65.0; departments weigh 30%.
    assert (dept["evaluation"], dept["weight"], dept["combined"]) == ("65.0（4）", "30%", "—")
    agency = sheet[data.agency_name]
    assert (agency["satisfaction"], agency["evaluation"], agency["weight"]) == ("—", "—（0）", "60%")
    assert "满意”100 分" in page.find(id="score-definition").get_text()

    empty = assessment_table(html(await office.get(f"/supervision/assessment?year=2026&conference={data.conference}")))
    assert empty[data.dept_name]["evaluation"] == "—（0）"  # a member without ratings that year: no score


async def test_assessment_xlsx(as_user, data):
    office = await as_user("office")
    response = await office.get(f"/supervision/assessment.xlsx?year=2024&conference={data.conference}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][:4] == ("排名", "单位名称", "单位类别", "响应率") and ws["A3"].font.b and ws.freeze_panes == "A4"
    by_name = {r[1]: r for r in rows[3:] if r[1]}
    dept = by_name[data.dept_name]
    assert dept[2] == "区直部门" and dept[3] == pytest.approx(3 / 4) and dept[7] == 4 and dept[11] == 65.0 and dept[13] == 0.3
    assert by_name[data.agency_name][6] is None  # no rating: empty cell, not 0


async def test_weights_come_from_settings(monkeypatch):
    from conference.settings import reset_settings
    from conference.supervision.views import weight_for

    monkeypatch.setenv("ASSESSMENT_WEIGHT_DEPARTMENT", "0.35")
    try:
        reset_settings()
        assert weight_for("department") == 0.35 and weight_for("dispatched_agency") == 0.6 and weight_for("other") is None
    finally:
        monkeypatch.delenv("ASSESSMENT_WEIGHT_DEPARTMENT")
        reset_settings()


# ---------------------------------------------------------------- fair rates, with a fixed "today"

TODAY = dt.date(2025, 3, 12)  # a Wednesday; no holiday between 10 and 18 March 2025
MARCH = "start=2025-03-01&end=2025-03-31"


@pytest.fixture
def fixed_today(monkeypatch):
    """The dashboard, the assessment and the task list as seen on TODAY."""
    import conference.supervision.pages as supervision_pages
    import conference.supervision.routes as supervision_routes
    import conference.tasks.views as task_views

    def set_day(day: dt.date) -> None:
        monkeypatch.setattr(supervision_routes, "today", lambda: day)
        monkeypatch.setattr(supervision_pages, "today", lambda: day)
        monkeypatch.setattr(task_views, "today", lambda: day)

    set_day(TODAY)
    return set_day


async def _unit(ds: Dataset, label: str) -> tuple[int, str]:
    name = f"{label}{uuid.uuid4().hex[:6]}"
    unit = await _insert(MemberUnit, name=name, kind="department", created_at=sh(2023, 1, 1))
    await _insert(Membership, unit=unit, conference=ds.conference, start_date=dt.date(2023, 1, 1))
    return unit, name


@dataclass
class Fair:
    ds: Dataset
    new: str  # unit assigned "today": nothing due yet
    ack: str  # the response rules
    due: str  # the resolution / on-time rules
    ext_task: int = 0


@pytest.fixture(scope="module")
async def fair(database_url: str) -> Fair:
    """Tasks around TODAY (2025-03-12), each rule by hand for March 2025:

    NEW: assigned today, acknowledgement due in 4 days, deadline in 3 weeks: nothing settled, "—".
    ACK (deadlines far away, nothing due): a1 ack_due today, not acknowledged (the day is not over:
    not counted); a2 ack_due yesterday, not acknowledged (miss); a3 acknowledged on 11 March, two
    days before its ack_due (hit); a4 due 5 March, acknowledged late on 6 March (miss, counted once);
    a5 due 27 February, acknowledged late on 3 March (a February miss). March: 1/3.
    DUE (all acknowledged in time in February): b1 deadline yesterday, open (due, not closed); b2
    deadline today, open (not counted yet; yellow); b3 deadline 20 March, closed early on 10 March
    (due, closed in time); b4 deadline 5 March, closed late on 7 March; b5 deadline 6 March extended
    (approved, through the services) to 15 April: not due in March; b6 deadline 17 March (the 3rd
    working day: yellow); b7 deadline 18 March (the 4th: not yellow). March: resolution 2/3,
    on-time 1/3; b3 rated satisfied, b4 dissatisfied on 11 March: satisfaction 1/2.
    """
    ds = await build_dataset()
    _new_id, new = await _unit(ds, "新交办单位")
    ack_id, ack = await _unit(ds, "签收测试单位")
    due_id, due = await _unit(ds, "办结测试单位")
    fair = Fair(ds, new, ack, due)
    far = dt.date(2025, 5, 30)
    await make_task(ds, "new", _new_id, "R1", assigned=sh(2025, 3, 12, 9), ack_due=dt.date(2025, 3, 16),
                    deadline=dt.date(2025, 4, 2))
    await make_task(ds, "a1", ack_id, "R1", assigned=sh(2025, 3, 10), ack_due=dt.date(2025, 3, 12), deadline=far)
    await make_task(ds, "a2", ack_id, "R1", assigned=sh(2025, 3, 7), ack_due=dt.date(2025, 3, 11), deadline=far)
    await make_task(ds, "a3", ack_id, "R1", assigned=sh(2025, 3, 11), ack_due=dt.date(2025, 3, 13), deadline=far,
                    status="acknowledged", acknowledged=sh(2025, 3, 11, 15))
    await make_task(ds, "a4", ack_id, "R1", assigned=sh(2025, 3, 3), ack_due=dt.date(2025, 3, 5), deadline=far,
                    status="acknowledged", acknowledged=sh(2025, 3, 6, 8))
    await make_task(ds, "a5", ack_id, "R1", assigned=sh(2025, 2, 25), ack_due=dt.date(2025, 2, 27), deadline=far,
                    status="acknowledged", acknowledged=sh(2025, 3, 3, 8))

    async def due_task(name: str, deadline: dt.date, **kw: Any) -> int:
        return await make_task(ds, name, due_id, "R2", assigned=sh(2025, 2, 20), ack_due=dt.date(2025, 2, 24),
                               acknowledged=sh(2025, 2, 20, 15), deadline=deadline, **{"status": "in_progress", **kw})

    await due_task("b1", dt.date(2025, 3, 11))
    await due_task("b2", dt.date(2025, 3, 12))
    await due_task("b3", dt.date(2025, 3, 20), status="closed", closed=sh(2025, 3, 10), rating="satisfied",
                   rated=sh(2025, 3, 11))
    await due_task("b4", dt.date(2025, 3, 5), status="closed", closed=sh(2025, 3, 7), rating="dissatisfied",
                   rated=sh(2025, 3, 11))
    b5 = await due_task("b5", dt.date(2025, 3, 6))
    await due_task("b6", dt.date(2025, 3, 17))
    await due_task("b7", dt.date(2025, 3, 18))
    # The extension goes through the services: the unit asks, the office approves.
    import dataclasses

    from conference.tasks import services
    from tests.factories import actor

    unit_actor = dataclasses.replace(await actor("unit"), unit_id=due_id)
    await services.request_extension(unit_actor, b5, {"extension_deadline": "2025-04-15", "extension_reason": "施工期延长"})
    await services.decide_extension(await actor("office"), b5, True, {"comment": "同意"})
    fair.ext_task = b5
    return fair


async def test_unit_assigned_today_shows_dashes_everywhere(as_user, fair, fixed_today):
    """The issue's case: assigned today, acknowledgement due in 4 days, deadline in 3 weeks."""
    office = await as_user("office")
    ds = fair.ds
    row = rate_table(html(await office.get(f"/supervision?conference={ds.conference}&{MARCH}")))[fair.new]
    assert rates_of(row) == ("—", "—", "—", "—")
    assert (row["assigned"], row["response-total"], row["resolution-total"]) == ("1", "0", "0")
    year = rate_table(html(await office.get(f"/supervision?conference={ds.conference}&start=2025-01-01&end=2025-12-31")))
    assert rates_of(year[fair.new]) == ("—", "—", "—", "—")
    sheet = assessment_table(html(await office.get(f"/supervision/assessment?year=2025&conference={ds.conference}")))
    assert sheet[fair.new]["evaluation"] == "—（0）" and sheet[fair.new]["combined"] == "—"
    assert all(sheet[fair.new][m] == "—" for m in ("response", "resolution", "on_time", "satisfaction"))


async def test_response_rate_counts_settled_acknowledgements(as_user, fair, fixed_today):
    office = await as_user("office")
    ds = fair.ds
    row = rate_table(html(await office.get(f"/supervision?conference={ds.conference}&{MARCH}")))[fair.ack]
    # a3 in time (early) / a2 (due yesterday, none), a3, a4 (late); a1 (due today) not yet counted.
    assert (row["response-hits"], row["response-total"], row["response"]) == ("1", "3", "33.3%")
    assert row["resolution"] == "—"  # nothing due: a dash, not 0.0%
    feb = rate_table(html(await office.get(f"/supervision?conference={ds.conference}&start=2025-02-01&end=2025-02-28")))
    assert (feb[fair.ack]["response-hits"], feb[fair.ack]["response-total"]) == ("0", "1")  # a5, once
    # The next day a1's ack_due day has ended: now a miss.
    fixed_today(dt.date(2025, 3, 13))
    row = rate_table(html(await office.get(f"/supervision?conference={ds.conference}&{MARCH}")))[fair.ack]
    assert (row["response-hits"], row["response-total"]) == ("1", "4")


async def test_resolution_and_on_time_count_tasks_due(as_user, fair, fixed_today):
    office = await as_user("office")
    ds = fair.ds
    page = html(await office.get(f"/supervision?conference={ds.conference}&{MARCH}"))
    row = rate_table(page)[fair.due]
    # b1, b3, b4 due; b2 (today), b6, b7 (later) not yet; b5 moved to April by its extension.
    assert (row["resolution-hits"], row["resolution-total"], row["resolution"]) == ("2", "3", "66.7%")
    assert (row["on_time-hits"], row["on_time"]) == ("1", "33.3%")
    assert row["response"] == "—"  # all acknowledged in February
    assert (row["satisfaction-hits"], row["satisfaction-total"], row["closed"]) == ("1", "2", "2")
    rules = page.find(id="rate-definitions").get_text()
    assert "延期" in rules and "期限未到且未销号的任务不计" in rules and "不是 0%" in rules
    # The extension moved task.deadline itself.
    ext = await Task.select(Task.deadline, Task.extension_status).where(Task.id == fair.ext_task).first()
    assert ext == {"deadline": dt.date(2025, 4, 15), "extension_status": "approved"}
    april = f"/supervision?conference={ds.conference}&start=2025-04-01&end=2025-04-30"
    assert fair.due not in rate_table(html(await office.get(april)))  # 15 April is still ahead: nothing to show
    fixed_today(dt.date(2025, 4, 16))
    row = rate_table(html(await office.get(april)))[fair.due]
    assert (row["resolution-hits"], row["resolution-total"]) == ("0", "1")


async def test_assessment_leaves_out_rates_with_nothing_due(as_user, fair, fixed_today):
    office = await as_user("office")
    page = html(await office.get(f"/supervision/assessment?year=2025&conference={fair.ds.conference}"))
    sheet = assessment_table(page)
    # ACK: response 1/4 (a2, a3, a4, a5) is its only rate; the others read "—", not 0%.
    assert (sheet[fair.ack]["response"], sheet[fair.ack]["resolution"], sheet[fair.ack]["on_time"]) == ("25.0%", "—", "—")
    # DUE: rated b3 satisfied, b4 dissatisfied -> evaluation (100 + 0) / 2 = 50.0 over 2 ratings.
    assert sheet[fair.due]["evaluation"] == "50.0（2）"
    assert "响应率、解决率、按期办结率、满意率仅供参考" in page.find(id="score-definition").get_text()


def _ids(page: Any, selector: str) -> set[int]:
    return {int(tr["data-task"]) for tr in page.select(selector)}


async def test_kpi_cards_link_to_exactly_their_tasks(as_user, fair, fixed_today):
    office = await as_user("office")
    ds = fair.ds
    t = ds.tasks
    page = html(await office.get(f"/supervision?conference={ds.conference}&{MARCH}"))
    cards = {li["data-kpi"]: li for li in page.select("li[data-kpi]")}
    assert list(cards) == ["open", "red", "yellow", "unack", "closed", "satisfaction"]
    expected = {
        "open": {t[k] for k in ("T3", "T5", "T6", "T10", "new", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "b5", "b6", "b7")},
        "red": {t[k] for k in ("T3", "T5", "T6", "T10", "b1")},
        "yellow": {t["b2"], t["b6"]},  # b7 is due on the 4th working day
        "unack": {t["a2"]},  # a1 is due today; T6 and T10 are red
        "closed": {t["b3"], t["b4"]},
        "satisfaction": {t["b3"], t["b4"]},
    }
    assert cards["satisfaction"].find(class_="kpi-value").get_text(strip=True) == "50.0%"
    for key, ids in expected.items():
        if key != "satisfaction":
            assert cards[key].find(class_="kpi-value").get_text(strip=True) == str(len(ids)), key
        link = cards[key].find("a")["href"]
        assert link.startswith("/tasks?") and f"conference={ds.conference}" in link and "below=1" in link
        listed = html(await office.get(link + "&per_page=200"))
        assert _ids(listed, "table.tasks tr[data-task]") == ids, key
    # The lists beside the cards hold the same tasks.
    assert _ids(page, "table.overdue tr[data-task]") == expected["red"]
    assert _ids(page, "table.yellow tr[data-task]") == expected["yellow"]
    assert _ids(page, "table.unack tr[data-task]") == expected["unack"]
    yellow = {int(tr["data-task"]): tr.find_all("td")[-1].get_text(strip=True) for tr in page.select("table.yellow tr[data-task]")}
    assert yellow == {t["b2"]: "今天到期", t["b6"]: "3 个工作日"}


async def test_kpi_query_count_is_constant(as_user, fair, fixed_today):
    office = await as_user("office")
    other = await build_dataset()
    url = f"/supervision?conference={other.conference}&{MARCH}"
    with count_queries() as before:
        assert (await office.get(url)).status_code == 200
    unit, _name = await _unit(other, "加量单位")
    for i in range(20):
        await make_task(other, f"Q{i}", unit, "R1", assigned=sh(2025, 3, 1 + i % 10), ack_due=dt.date(2025, 3, 3 + i % 10),
                        deadline=dt.date(2025, 3, 5 + i % 20), status="assigned" if i % 2 else "closed",
                        closed=sh(2025, 3, 4) if i % 2 == 0 else None)
    with count_queries() as after:
        assert (await office.get(url)).status_code == 200
    assert len(after) == len(before)


async def test_yellow_workdays_setting(as_user, fair, fixed_today, monkeypatch):
    from conference.settings import reset_settings

    monkeypatch.setenv("SUPERVISION_YELLOW_WORKDAYS", "4")
    try:
        reset_settings()
        office = await as_user("office")
        page = html(await office.get(f"/supervision?conference={fair.ds.conference}&{MARCH}"))
        assert _ids(page, "table.yellow tr[data-task]") == {fair.ds.tasks[k] for k in ("b2", "b6", "b7")}
        listed = html(await office.get(f"/tasks?alert=yellow&conference={fair.ds.conference}&below=1"))
        assert _ids(listed, "table.tasks tr[data-task]") == {fair.ds.tasks[k] for k in ("b2", "b6", "b7")}
    finally:
        monkeypatch.delenv("SUPERVISION_YELLOW_WORKDAYS")
        reset_settings()
