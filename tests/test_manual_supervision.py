"""Manual supervision (issue 12 items 4 and 5) through HTTP: 催办 of one task and of a selection
(outbox, task record, audit trail, counts on the task page and list), the 督办通知单 PDF, the
monthly / quarterly 督办通报 as page, PDF and .xlsx, and the assessment (考核) with the office's
score, weights and ranking; the permission matrix of each."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from typing import Any

import openpyxl
import pytest

from conference.audit.tables import AuditEvent
from conference.notifications.tables import Notification
from conference.supervision.tables import AssessmentScore
from conference.tasks.tables import Task, TaskReport
from conference.timefmt import cn_date, today
from tests.conftest import html, post_form
from tests.test_supervision import build_dataset
from tests.test_tasks import MARKET, POLICE, act, new_task, unit_id


def pdftotext(content: bytes) -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    result = subprocess.run([exe, "-layout", "-", "-"], input=content, capture_output=True, check=True, timeout=60)
    return result.stdout.decode("utf-8")


async def urge_reports(task_id: int) -> list[str]:
    rows = await TaskReport.select(TaskReport.text).where((TaskReport.task == task_id) & (TaskReport.kind == "urge"))
    return [r["text"] for r in rows]


async def urge_mails(task_id: int) -> list[dict[str, Any]]:
    return await Notification.select(Notification.subject, Notification.body, Notification.unit, Notification.email).where(
        (Notification.entity == "task") & (Notification.entity_id == task_id) & (Notification.event == "task_urge"))


# ---------------------------------------------------------------- 催办 one task


async def test_office_urges_one_task(as_user):
    office = await as_user("office")
    task_id = (await new_task(MARKET))[MARKET]
    page = html(await office.get(f"/tasks/{task_id}"))
    assert page.select_one("#urge-form textarea[name=message]").get_text().strip()  # a default message
    assert page.select_one("#task-urges")["data-count"] == "0"

    response = await act(office, task_id, "urge", {"message": "请本周内报送整改方案。"})
    assert response.status_code == 303 and response.headers["location"] == f"/tasks/{task_id}"
    await act(office, task_id, "urge", {"message": "第二次催办。"})

    assert await urge_reports(task_id) == ["请本周内报送整改方案。", "第二次催办。"]
    mails = await urge_mails(task_id)
    market = await unit_id(MARKET)
    assert len(mails) == 2 and all(m["unit"] == market for m in mails)
    assert mails[0]["subject"].startswith("【催办】") and "请本周内报送整改方案。" in mails[0]["body"]
    assert "这是第 2 次催办" in mails[1]["body"] and f"/tasks/{task_id}" in mails[1]["body"]
    audit = await AuditEvent.select(AuditEvent.action, AuditEvent.after).where(
        (AuditEvent.entity == "task") & (AuditEvent.entity_id == task_id) & (AuditEvent.action == "urge"))
    assert len(audit) == 2

    page = html(await office.get(f"/tasks/{task_id}"))
    assert page.select_one("#task-urges")["data-count"] == "2"
    assert "已人工催办 2 次" in page.select_one("#task-urges").get_text()
    kinds = [tr.select_one(".kind").get_text() for tr in page.select('#task-record tr[data-kind="urge"]')]
    assert kinds == ["催办", "催办"]
    listing = html(await office.get("/tasks?status=open&per_page=100&sort=assigned_at&desc=1"))
    row = listing.select_one(f'tr[data-task="{task_id}"]')
    assert row.select_one(".urges")["data-urges"] == "2"


async def test_urge_needs_a_message_and_an_urgeable_state(as_user):
    office = await as_user("office")
    unit = await as_user("unit")
    task_id = (await new_task(MARKET))[MARKET]
    response = await act(office, task_id, "urge", {"message": ""})
    assert response.status_code == 400
    assert html(response).select_one("#f-urge-message")["aria-invalid"] == "true"
    assert await urge_reports(task_id) == []
    # Reported done: the task waits on the office, not on the unit.
    await act(unit, task_id, "acknowledge")
    await act(unit, task_id, "done", {"evidence": "已完成整治。"})
    page = html(await office.get(f"/tasks/{task_id}"))
    assert page.select_one("#urge-form") is None
    response = await act(office, task_id, "urge", {"message": "催一下"})
    assert response.status_code == 409 and await urge_reports(task_id) == []


@pytest.mark.parametrize("username,status", [("unit", 403), ("street", 403), ("convenor", 403), ("office_luozhuang", 404)])
async def test_only_the_office_of_the_task_urges(as_user, username, status):
    task_id = (await new_task(MARKET))[MARKET]
    client = await as_user(username)
    response = await act(client, task_id, "urge", {"message": "催办"})
    assert response.status_code == status
    response = await post_form(client, "/tasks/urge", {"task": [str(task_id)], "message": "催办"})
    assert response.status_code == status
    assert await urge_reports(task_id) == [] and await urge_mails(task_id) == []
    if username in ("unit", "street"):
        page = html(await client.get("/tasks"))
        assert page.select_one("#tasks-selection") is None and page.select_one('input[name="task"]') is None


# ---------------------------------------------------------------- 催办 a selection


async def test_office_urges_a_selection_from_the_list(as_user):
    office = await as_user("office")
    unit = await as_user("unit")
    tasks = await new_task(MARKET, (POLICE,))
    done = (await new_task(MARKET))[MARKET]
    await act(unit, done, "acknowledge")
    await act(unit, done, "done", {"evidence": "已完成。"})
    page = html(await office.get("/tasks?status=open&per_page=100&sort=assigned_at&desc=1"))
    form = page.select_one("form#tasks-selection")
    assert form["action"].startswith("/tasks/urge?")
    box = page.select_one(f'input[name="task"][value="{tasks[MARKET]}"]')
    assert box["form"] == "tasks-selection"

    selected = [str(tasks[MARKET]), str(tasks[POLICE]), str(done)]
    response = await post_form(office, form["action"], {"task": selected, "message": "月底前全部办结。"})
    assert response.status_code == 303 and response.headers["location"].startswith("/tasks?")
    after = await office.get(response.headers["location"])
    assert "已催办 2 项任务" in after.text and "另有 1 项任务当前不需催办" in after.text
    assert await urge_reports(tasks[MARKET]) == ["月底前全部办结。"] and await urge_reports(tasks[POLICE]) == ["月底前全部办结。"]
    assert await urge_reports(done) == []
    assert len(await urge_mails(tasks[POLICE])) == 1


async def test_selection_errors_and_out_of_scope_ids(as_user):
    office = await as_user("office")
    task_id = (await new_task(MARKET))[MARKET]
    response = await post_form(office, "/tasks/urge", {"message": "催办"})
    assert response.status_code == 400 and "请先勾选要催办的任务" in html(response).select_one("#e-task").get_text()
    response = await post_form(office, "/tasks/urge?status=open&per_page=100&sort=assigned_at&desc=1",
                               {"task": [str(task_id)], "message": ""})
    assert response.status_code == 400
    assert html(response).select_one(f'input[name="task"][value="{task_id}"]').has_attr("checked")
    # A task of another office's conference in the selection: nothing at all is sent.
    luozhuang_task = await Task.select(Task.id).where(Task.conference.name.like("罗庄%")).first()
    assert luozhuang_task is not None
    other = await as_user("office_luozhuang")
    response = await post_form(other, "/tasks/urge", {"task": [str(luozhuang_task["id"]), str(task_id)], "message": "催办"})
    assert response.status_code == 404
    assert await urge_reports(task_id) == []


# ---------------------------------------------------------------- 督办通知单


async def test_notice_pdf(as_user):
    office = await as_user("office")
    deadline = today() + dt.timedelta(days=20)
    task_id = (await new_task(MARKET, deadline=deadline, text="整治兰山路沿街占道经营"))[MARKET]
    await act(office, task_id, "urge", {"message": "请于三日内报送方案"})
    page = html(await office.get(f"/tasks/{task_id}"))
    assert page.select_one("#notice-link")["href"] == f"/tasks/{task_id}/notice.pdf"
    response = await office.get(f"/tasks/{task_id}/notice.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "".join(pdftotext(response.content).split())
    year = (await Task.select(Task.assigned_at).where(Task.id == task_id).first())["assigned_at"].year
    for expected in ("督办通知单", f"督〔{year}〕{task_id}号", MARKET, "整治兰山路沿街占道经营", cn_date(deadline),
                     "待签收", "已人工催办1次", "请于三日内报送方案", "兰山街道城市基层党建联席会议办公室", cn_date(today())):
        assert expected in text, expected


@pytest.mark.parametrize("username,status", [("unit", 403), ("street", 403), ("office_luozhuang", 404), ("convenor", 200)])
async def test_notice_permissions(as_user, username, status):
    task_id = (await new_task(MARKET))[MARKET]
    response = await (await as_user(username)).get(f"/tasks/{task_id}/notice.pdf")
    assert response.status_code == status


# ---------------------------------------------------------------- 督办通报


@pytest.fixture(scope="module")
async def data(database_url: str) -> Any:
    return await build_dataset()


async def test_bulletin_month_page_pdf_and_xlsx(as_user, data):
    office = await as_user("office")
    url = f"/supervision/bulletin?period=2024-04&conference={data.conference}"
    page = html(await office.get(url))
    summary = {tr["data-key"]: tr.find("td").get_text(" ", strip=True) for tr in page.select("#bulletin-summary tr[data-key]")}
    # April 2024 as of its end (30 April 24:00): T1 and T2 due on 30 April; T1 closed at 23:00, T2 only at
    # 00:30 on 1 May, so it was not closed then. The dashboard, as of today, counts T2's later closing.
    assert summary["resolution"].split()[:2] == ["50.0%", "1/2"] and summary["on_time"].split()[:2] == ["50.0%", "1/2"]
    as_of = page.select_one("#bulletin-as-of").get_text()
    assert "数据截至 2024年4月30日24时" in as_of and "任何时候打印结果相同" in as_of
    assert "截至2024年4月30日24时" in page.select_one('#bulletin-summary tr[data-key="red"]').get_text()
    dashboard = html(await office.get(f"/supervision?conference={data.conference}&start=2024-04-01&end=2024-04-30"))
    total = dashboard.select_one('table.rates tfoot tr[data-key="total"]')
    assert total.find("td", attrs={"data-rate": "resolution"}).get_text(strip=True) == "100.0%"
    # One text per rule: the dashboard states the resolution rule in the bulletin's words.
    rule = dashboard.select_one('#rate-definitions li[data-rule="resolution"]').get_text(strip=True)
    assert rule and rule in page.select_one('#bulletin-summary tr[data-key="resolution"]').get_text()
    ranking = [(tr.find("th").get_text(strip=True), tr["data-rank"]) for tr in page.select("#bulletin-ranking tr[data-rank]")]
    assert ranking[0] == (data.dept_name, "1")
    assert "平均值" in page.select_one("#ranking-rule").get_text()
    # Red as of 30 April 24:00: T2 (closed later, 1 day overdue then) and T6; not T3 (assigned on 10 May)
    # nor T10 (September), although both are open and overdue today.
    red = {tr["data-task"]: tr.find_all("td")[-1].get_text(strip=True) for tr in page.select("#bulletin-red tr[data-task]")}
    assert set(red) == {str(data.tasks["T2"]), str(data.tasks["T6"])} and red[str(data.tasks["T2"])] == "1"

    response = await office.get(page.select_one("#bulletin-pdf")["href"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "".join(pdftotext(response.content).split())
    for expected in ("督办通报", "2024年4月", "一、总体情况", "解决率", "50.0%", "红色预警", "黄色预警", "成员单位排名",
                     data.dept_name, "得分相同的并列", cn_date(today()), "统一截至2024年4月30日24时"):
        assert expected in text, expected

    response = await office.get(page.select_one("#bulletin-xlsx")["href"])
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["汇总", "红色预警（逾期）", "黄色预警（即将到期）", "单位排名"]
    ws = wb["汇总"]
    assert "督办通报（2024年4月）" in ws["A1"].value and ws["A3"].value == "指标"
    rows = {r[0]: r for r in ws.iter_rows(min_row=4, values_only=True) if r[0]}
    assert rows["解决率"][1] == "50.0%" and rows["解决率"][2] == "1/2" and "延期" in rows["解决率"][3]
    assert "数据截至：2024年4月30日24时" in ws["A2"].value
    rank = wb["单位排名"]
    assert rank["A3"].value == "排名" and rank["A4"].value == 1 and rank["B4"].value == data.dept_name
    assert rank.print_title_rows == "$3:$3" and rank.page_setup.orientation == "landscape"
    red_sheet = [r for r in wb["红色预警（逾期）"].iter_rows(min_row=4, values_only=True) if isinstance(r[0], int)]
    assert data.dept_name in {r[1] for r in red_sheet}


async def test_bulletin_quarter_and_bad_period(as_user, data):
    office = await as_user("office")
    page = html(await office.get(f"/supervision/bulletin?period=2024-Q2&conference={data.conference}"))
    assert "2024年第二季度" in page.find("h1").get_text()
    summary = {tr["data-key"]: tr.find("td").get_text(" ", strip=True) for tr in page.select("#bulletin-summary tr[data-key]")}
    # Q2 2024: T1, T2 (April) and T3 (30 June, open) due -> 2/3.
    assert summary["resolution"].split()[1] == "2/3"
    # A period still running is taken as of the moment of printing, lists and rates alike.
    running = html(await office.get(f"/supervision/bulletin?period={today():%Y-%m}&conference={data.conference}"))
    assert f"数据截至 {cn_date(today())}打印时" in running.select_one("#bulletin-as-of").get_text()
    red = {tr["data-task"] for tr in running.select("#bulletin-red tr[data-task]")}
    assert {str(data.tasks["T3"]), str(data.tasks["T10"])} <= red and str(data.tasks["T2"]) not in red
    response = await office.get(f"/supervision/bulletin?period=2024-13&conference={data.conference}")
    assert response.status_code == 200 and "统计期间应为某月" in response.text


@pytest.mark.parametrize("username", ["unit", "street"])
@pytest.mark.parametrize("path", ["/supervision/bulletin", "/supervision/bulletin.pdf", "/supervision/bulletin.xlsx",
                                  "/supervision/assessment", "/supervision/assessment.xlsx"])
async def test_units_and_streets_are_refused(as_user, username, path):
    assert (await (await as_user(username)).get(path)).status_code == 403


async def test_bulletin_scope(as_user, data):
    other = await as_user("office_luozhuang")
    assert (await other.get(f"/supervision/bulletin?period=2024-04&conference={data.conference}")).status_code == 404
    assert (await other.get(f"/supervision/bulletin.pdf?period=2024-04&conference={data.conference}")).status_code == 404
    page = html(await other.get("/supervision/bulletin?period=2024-04"))
    assert data.dept_name not in page.get_text()


# ---------------------------------------------------------------- assessment


def sheet_of(page: Any) -> dict[str, dict[str, str]]:
    result = {}
    for tr in page.select("table.assessment tr[data-unit]"):
        cells = {td["data-col"]: td.get_text(" ", strip=True) for td in tr.find_all("td", attrs={"data-col": True})}
        score = tr.select_one("input[name=score]")
        if score is not None:
            cells["other"] = score.get("value", "")
        cells["rated"] = tr.select_one('[data-col="rated"]').get_text(strip=True)
        cells["evaluation"] = cells["evaluation"].split("（")[0].strip()
        result[tr.find("th").get_text(strip=True)] = cells
    return result


async def enter(client: Any, data: Any, unit: int, score: str, version: str = "0", note: str = "", year: str = "2024") -> Any:
    return await post_form(client, f"/supervision/assessment/score?conference={data.conference}&year={year}",
                           {"conference": str(data.conference), "unit": str(unit), "year": year, "score": score,
                            "version": version, "note": note})


async def test_assessment_with_office_scores_weights_and_ranking(as_user):
    data = await build_dataset()
    office = await as_user("office")
    url = f"/supervision/assessment?year=2024&conference={data.conference}"
    sheet = sheet_of(html(await office.get(url)))
    dept, agency = sheet[data.dept_name], sheet[data.agency_name]
    # D's ratings in 2024: T1, T8 satisfied, T7 basically, T2 dissatisfied -> (100+100+60+0)/4 = 65.0 over 4.
    assert (dept["evaluation"], dept["rated"], dept["weight"]) == ("65.0", "（4）", "30%")
    assert (agency["evaluation"], agency["rated"], agency["weight"]) == ("—", "（0）", "60%")
    assert dept["combined"] == "—" and dept["rank"] == "—"  # no office score yet

    response = await enter(office, data, data.dept, "90")
    assert response.status_code == 303
    response = await enter(office, data, data.agency, "80.5")
    assert response.status_code == 303
    page = html(await office.get(url))
    sheet = sheet_of(page)
    # 65.0 × 30% + 90 × 70% = 19.5 + 63 = 82.50
    assert (sheet[data.dept_name]["other"], sheet[data.dept_name]["combined"], sheet[data.dept_name]["rank"]) == ("90.0", "82.50", "1")
    assert sheet[data.agency_name]["combined"] == "—"  # no rating: no evaluation, no combined score
    rules = page.select_one("#score-definition").get_text()
    assert "满意”100 分" in rules and "基本满意”60 分" in rules and "部门 30%，派驻机构 60%" in rules

    # Changing it needs the version read with the page; a stale one is a conflict.
    row = await AssessmentScore.select().where((AssessmentScore.unit == data.dept) & (AssessmentScore.year == 2024)).first()
    assert row["version"] == 1 and row["entered_by_name"]
    response = await enter(office, data, data.dept, "70", version="1")
    assert response.status_code == 303
    response = await enter(office, data, data.dept, "60", version="1")
    assert response.status_code == 409 and "已被他人修改" in response.text
    response = await enter(office, data, data.dept, "100.55", version="2")
    assert response.status_code == 400 and "0 到 100" in response.text
    assert (await AssessmentScore.select(AssessmentScore.score).where(AssessmentScore.id == row["id"]).first())["score"] == 70
    actions = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.entity == "assessment_score") & (AuditEvent.entity_id == row["id"])).order_by(AuditEvent.id)
    assert [a["action"] for a in actions] == ["create", "update"]

    response = await office.get(f"/supervision/assessment.xlsx?year=2024&conference={data.conference}")
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert "2024年度成员单位考核表" in ws["A1"].value and ws["A3"].value == "排名" and ws.freeze_panes == "A4"
    header = [c.value for c in ws[3]]
    by_name = {r[1]: dict(zip(header, r, strict=False)) for r in ws.iter_rows(min_row=4, values_only=True) if r[1]}
    d = by_name[data.dept_name]
    # 65 × 0.3 + 70 × 0.7 = 68.5
    assert (d["排名"], d["评价件数"], d["街道评价得分"], d["其他工作得分"], d["权重"], d["综合得分"]) == (1, 4, 65.0, 70.0, 0.3, 68.5)
    assert by_name[data.agency_name]["街道评价得分"] is None
    assert any("综合得分 = 街道评价得分" in (r[0] or "") for r in ws.iter_rows(values_only=True) if isinstance(r[0], str))


async def test_office_score_is_entered_per_year(as_user):
    """Each year's sheet has its own other-work score: entering 2025's leaves 2024's as it was."""
    data = await build_dataset()
    office = await as_user("office")
    assert (await enter(office, data, data.dept, "90", year="2024")).status_code == 303
    sheet_2025 = sheet_of(html(await office.get(f"/supervision/assessment?year=2025&conference={data.conference}")))
    assert sheet_2025[data.dept_name]["other"] == ""  # 2024's score is not carried into 2025
    assert (await enter(office, data, data.dept, "75", year="2025")).status_code == 303
    for year, expected in (("2024", "90.0"), ("2025", "75.0")):
        page = html(await office.get(f"/supervision/assessment?year={year}&conference={data.conference}"))
        assert sheet_of(page)[data.dept_name]["other"] == expected
    rows = await AssessmentScore.select(AssessmentScore.year, AssessmentScore.score).where(
        (AssessmentScore.conference == data.conference) & (AssessmentScore.unit == data.dept)).order_by(AssessmentScore.year)
    assert [(r["year"], r["score"]) for r in rows] == [(2024, 90.0), (2025, 75.0)]


async def test_assessment_permissions(as_user, data):
    convenor = await as_user("convenor")
    response = await enter(convenor, data, data.dept, "90")
    assert response.status_code == 403
    for username in ("unit", "street"):
        assert (await enter(await as_user(username), data, data.dept, "90")).status_code == 403
    other = await as_user("office_luozhuang")
    assert (await enter(other, data, data.dept, "90")).status_code == 404
    assert (await other.get(f"/supervision/assessment?year=2024&conference={data.conference}")).status_code == 404
    # A unit that is not in the conference's sheet.
    office = await as_user("office")
    assert (await enter(office, data, await unit_id(POLICE), "90")).status_code == 404
    page = html(await convenor.get("/supervision/assessment?year=2024"))
    assert page.select_one("input[name=score]") is None  # convenors read, offices enter
    assert not await AssessmentScore.select().where(
        (AssessmentScore.conference == data.conference) & (AssessmentScore.unit == data.dept))
