"""Supervision figures (督办统计): the four rates against hand-computed figures on a fixed data set,
local-day boundaries (Asia/Shanghai), empty periods, scope by role, a constant number of queries,
the trend chart as SVG, and the assessment sheet."""

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
    rows = await table.insert(table(**values)).returning(table.id)
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

    D, 2024: response 2/3 (T1 on the last minutes of its ack_due day, T2 half an hour after it; T4 is
    cancelled, T5 was assigned on 2023-12-31 23:30 local); resolution 3/4 (T1, T2, T7 closed, T3 open);
    on-time 2/4 (T2 closed at 00:30 the day after its deadline, T8 after a 2023 deadline);
    satisfaction 3/4 (T2 dissatisfied).
    A, 2024: response 1/3 (T6 assigned 2024-01-01 00:30 local, i.e. still 2023 in UTC); resolution 1/3;
    on-time 1/1; satisfaction none. T10 comes from an item the office raised (no street).
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
    assert rates_of(dept) == ("66.7%", "75.0%", "50.0%", "75.0%")
    assert (dept["response-hits"], dept["response-total"]) == ("2", "3")
    assert (dept["resolution-hits"], dept["resolution-total"]) == ("3", "4")
    assert (dept["on_time-hits"], dept["on_time-total"]) == ("2", "4")
    assert (dept["satisfaction-hits"], dept["satisfaction-total"]) == ("3", "4")
    # Nothing rated: the denominator is empty and the rate reads "—", never a division by zero.
    assert rates_of(table[data.agency_name]) == ("33.3%", "33.3%", "100.0%", "—")
    assert table[data.agency_name]["satisfaction-total"] == "0"
    assert rates_of(table["合计"]) == ("50.0%", "57.1%", "60.0%", "75.0%")


async def test_rates_per_street_and_per_conference(as_user, data):
    office = await as_user("office")
    by_street = rate_table(html(await office.get(f"/supervision?conference={data.conference}&{YEAR_2024}&group=street")))
    assert rates_of(by_street[data.street_name]) == ("60.0%", "66.7%", "60.0%", "75.0%")  # T10 has no street
    no_street = [name for name in by_street if name not in (data.street_name, "合计")]
    assert len(no_street) == 1 and rates_of(by_street[no_street[0]]) == ("0.0%", "0.0%", "—", "—")
    by_conf = rate_table(html(await office.get(f"/supervision?conference={data.conference}&{YEAR_2024}&group=conference")))
    assert set(by_conf) == {data.conference_name, "合计"}
    assert rates_of(by_conf[data.conference_name]) == ("50.0%", "57.1%", "60.0%", "75.0%")


async def test_local_day_boundaries(as_user, data):
    """Periods and deadlines are local days: a task assigned at 00:30 on 1 January (still 2023 in UTC)
    belongs to 2024, one assigned at 23:30 on 31 December 2023 does not."""
    office = await as_user("office")
    jan = rate_table(html(await office.get(f"/supervision?conference={data.conference}&start=2024-01-01&end=2024-01-01")))
    assert rates_of(jan[data.agency_name])[0] == "0.0%" and data.dept_name not in jan
    dec = rate_table(html(await office.get(f"/supervision?conference={data.conference}&start=2023-12-31&end=2023-12-31")))
    assert rates_of(dec[data.dept_name])[0] == "100.0%" and data.agency_name not in dec
    # T2 was closed at 00:30 on 1 May local time (30 April in UTC): May, and late.
    may = rate_table(html(await office.get(f"/supervision?conference={data.conference}&start=2024-05-01&end=2024-05-31")))
    assert (may[data.dept_name]["on_time-hits"], may[data.dept_name]["on_time-total"]) == ("0", "1")


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
    unack = {int(tr["data-task"]) for tr in page.select("table.unack tr[data-task]")}
    assert unack == {data.tasks["T6"], data.tasks["T10"]}
    assert page.select_one(f'table.overdue a[href="/tasks/{data.tasks["T3"]}"]') is not None


# ---------------------------------------------------------------- the trend


async def test_trend_table_and_chart(as_user, data):
    office = await as_user("office")
    response = await office.get(f"/supervision?conference={data.conference}&{YEAR_2024}")
    page = html(response)
    trend = {tr["data-month"]: {td["data-rate"]: td.get_text(" ", strip=True).split()[0] for td in tr.find_all("td")}
             for tr in page.select("table.trend tr[data-month]")}
    assert list(trend) == [f"2024-{m:02d}" for m in range(1, 13)]
    assert trend["2024-01"] == {"response": "0.0%", "resolution": "0.0%", "on_time": "0.0%", "satisfaction": "100.0%"}
    assert trend["2024-03"]["response"] == "50.0%"
    assert trend["2024-04"]["on_time"] == "100.0%" and trend["2024-05"]["on_time"] == "0.0%"
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
    assert page.find("script") is None


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
    assert rates_of(rate_table(page)[data.conference_name]) == ("50.0%", "57.1%", "60.0%", "75.0%")
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
    office = await as_user("office")
    response = await office.get(f"/supervision/assessment?year=2024&conference={data.conference}")
    assert response.status_code == 200
    page = html(response)
    sheet = assessment_table(page)
    assert set(sheet) == {data.dept_name, data.agency_name}
    dept = sheet[data.dept_name]
    # mean(2/3, 3/4, 2/4, 3/4) = 0.6667 -> 66.7; a department's weight is 30%.
    assert (dept["score"], dept["weight"], dept["contribution"]) == ("66.7", "30%", "20.01")
    agency = sheet[data.agency_name]
    # mean(1/3, 1/3, 1/1), satisfaction has no denominator and is left out -> 55.6; agencies weigh 60%.
    assert (agency["satisfaction"], agency["score"], agency["weight"], agency["contribution"]) == ("—", "55.6", "60%", "33.36")
    assert "平均值" in page.find(id="score-definition").get_text()

    empty = assessment_table(html(await office.get(f"/supervision/assessment?year=2026&conference={data.conference}")))
    assert empty[data.dept_name]["score"] == "—"  # a member without tasks that year: no score


async def test_assessment_xlsx(as_user, data):
    office = await as_user("office")
    response = await office.get(f"/supervision/assessment.xlsx?year=2024&conference={data.conference}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("单位名称", "单位类别", "响应率") and ws["A1"].font.b and ws.freeze_panes == "A2"
    by_name = {r[0]: r for r in rows[1:]}
    dept = by_name[data.dept_name]
    assert dept[1] == "区直部门" and dept[2] == pytest.approx(2 / 3) and dept[6] == 66.7 and dept[7] == 0.3
    assert dept[8] == pytest.approx(20.01)
    assert by_name[data.agency_name][5] is None  # no rating: empty cell, not 0


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
