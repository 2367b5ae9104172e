"""Tasks (督办任务) JSON API under /api/tasks: the list with the filters of /tasks, one task with its
record, and every action of the task page — acknowledge, progress and done (multipart, with files),
extension request and decision, close, return, cancel, reopen, rating and 催办 (one or many).

Handlers are thin: they pass the body to the same services as the pages (conference.tasks.services,
conference.tasks.urging), which check role, scope and state and write the audit trail; reads come
from conference.tasks.views (the same scoped list and detail). An out-of-scope id answers 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from conference.accounts.actor import Actor, CurrentActor
from conference.agenda.attachments import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS
from conference.errors import ValidationFailed
from conference.i18n import gettext as _
from conference.roles import OFFICE_ROLES, PEOPLE, Role
from conference.tasks import forms, services, urging, views
from conference.web import apikit
from conference.web.apikit import READ_ERRORS, WRITE_ERRORS, IdPath, IdQuery, Page, PageQuery, PerPageQuery, TextQuery, page_fields, relabelled
from conference.web.formspec import FormSpec
from conference.web.listing import PER_PAGE

UNIT = (Role.UNIT,)
STREET = (Role.STREET,)
TAGS = ["督办任务"]
UPLOAD_BODY_LIMIT = 2 * MAX_ATTACHMENT_BYTES + 256 * 1024  # as the task page (conference.tasks.routes)
# The names msgspec's errors are reported under (conference.web.apikit.relabelled): the JSON bodies'
# required fields (approve, tasks) and unknown ones, the multipart reports and the query parameters.
# The JSON bodies' types are checked through their forms' specs (conference.tasks.forms).
LABELS = {**forms.DECISION_FORM.labels("api"), **forms.URGE_MANY_FORM.labels("api"), **forms.PROGRESS_FORM.labels(),
          **forms.DONE_FORM.labels(), "files": _("附件"), "status": _("状态"), "alert": _("预警"), "unit": _("承办单位"),
          "deadline_from": _("期限不早于"), "deadline_to": _("期限不晚于")}

TaskStatus = Literal["assigned", "acknowledged", "in_progress", "reported_done", "returned", "closed", "cancelled"]
StatusFilter = Literal["open", "assigned", "acknowledged", "in_progress", "reported_done", "returned", "closed", "cancelled",
                       "extension_requested", "extension_decided", "to_rate"]


# ---------------------------------------------------------------- documents


class TaskRow(msgspec.Struct):
    id: int
    status: str
    role: str  # lead | cooperate
    unit: int
    unit_name: str
    street: int | None
    street_name: str | None
    conference_name: str
    deadline: dt.date
    deadline_provisional: bool
    ack_due: dt.date
    assigned_at: dt.datetime
    extension_status: str  # "" | requested | approved | declined
    rating: str  # "" | satisfied | basically_satisfied | dissatisfied
    reopened: int
    resolution_number: int
    resolution_text: str
    item_title: str
    meeting: int
    meeting_title: str
    alert: str  # "" | red | yellow | unack
    urges: int  # 催办 so far


class FileOut(msgspec.Struct):
    id: int
    filename: str
    content_type: str
    size: int
    created_at: dt.datetime


class ReportOut(msgspec.Struct):
    id: int
    kind: str  # assigned | acknowledged | progress | done | returned | closed | extension_* | rated | reopened | urge ...
    label: str
    text: str
    author_name: str
    created_at: dt.datetime
    files: list[FileOut]


class SiblingOut(msgspec.Struct):
    id: int
    unit_name: str
    role: str
    status: str


class TaskDetail(msgspec.Struct):
    id: int
    resolution: int
    resolution_number: int
    resolution_text: str
    item: int
    item_title: str
    meeting: int
    meeting_title: str
    conference: int
    conference_name: str
    unit: int
    unit_name: str
    street: int | None
    street_name: str | None
    role: str
    status: str
    assigned_at: dt.datetime
    deadline: dt.date
    deadline_provisional: bool
    ack_due: dt.date
    acknowledged_at: dt.datetime | None
    reported_done_at: dt.datetime | None
    closed_at: dt.datetime | None
    evidence: str
    extension_status: str
    extension_deadline: dt.date | None
    extension_reason: str
    rating: str
    rating_comment: str
    rated_at: dt.datetime | None
    reopened: int
    version: int
    alert: str
    reports: list[ReportOut]  # the task's record, oldest first
    siblings: list[SiblingOut]  # every task of the same resolution (lead unit first)
    actions: dict[str, bool]  # what the caller may do now: acknowledge, progress, done, extension, decision, close, ...


@dataclass
class ReportForm:
    """multipart/form-data: the text and any number of files in the field `files` (at most 10, each
    up to 10 MB; PDF, images, Word, Excel)."""

    text: str = ""
    evidence: str = ""
    files: list[UploadFile] | None = None


# The JSON bodies of the actions, derived from their forms' specs (conference.tasks.forms): the
# handlers check the JSON types through the spec (`json_fields`, in Chinese), then the services
# read the values as the task page's are read.
ExtensionIn = forms.EXTENSION_FORM.struct("ExtensionIn")
DecisionIn = forms.DECISION_FORM.struct("DecisionIn")  # approve required; comment required when declining
CommentIn = forms.CLOSE_FORM.struct("CommentIn")
ReasonIn = forms.RETURN_FORM.struct("ReasonIn")
CancelTaskIn = forms.CANCEL_FORM.struct("CancelTaskIn")
ReopenIn = forms.REOPEN_FORM.struct("ReopenIn")
RatingIn = forms.RATING_FORM.struct("RatingIn")  # rating_comment required when dissatisfied
UrgeIn = forms.URGE_FORM.struct("UrgeIn")
UrgeManyIn = forms.URGE_MANY_FORM.struct("UrgeManyIn")


class UrgeManyOut(msgspec.Struct):
    urged: int
    skipped: int  # tasks that need no 催办 now (reported done, closed or cancelled)


# ---------------------------------------------------------------- helpers


def _plain(spec: FormSpec, data: msgspec.Struct) -> dict[str, Any]:
    """A body as the form services read it, its JSON types checked through its form's spec (a
    wrong type answers 400 in Chinese before anything is read); None left out."""
    return {k: v for k, v in spec.json_fields(data).items() if v is not None}


async def _files(form: ReportForm) -> list[tuple[str, bytes]]:
    uploads = form.files or []
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationFailed({"files": _("每次最多上传 {n} 个附件。").format(n=MAX_ATTACHMENTS)})
    found = []
    for upload in uploads:
        content = await upload.read(MAX_ATTACHMENT_BYTES + 1)
        await upload.close()
        if upload.filename or content:
            found.append((upload.filename or "", content))
    return found


async def _detail(actor: Actor, task_id: int) -> TaskDetail:
    context = await views.task_detail(actor, task_id)  # NotFound when out of scope
    task = context["task"]
    return msgspec.convert({
        **task, "resolution": task["resolution"], "item": task["item_id"], "meeting": task["meeting_id"],
        "reports": context["reports"], "siblings": context["siblings"], "actions": context["can"],
    }, TaskDetail)


# ---------------------------------------------------------------- list and detail


@get("/", opt={"roles": PEOPLE}, tags=TAGS, summary=_("任务列表"), responses=apikit.answers(Page[TaskRow], READ_ERRORS))
async def list_tasks(
    actor: CurrentActor,
    q: TextQuery = None,
    status: Annotated[StatusFilter | None, QueryParameter(description=_("状态；open 为全部在办"))] = None,
    alert: Annotated[Literal["red", "yellow", "unack"] | None, QueryParameter(description=_("预警：red 逾期，yellow 临期，unack 超时未签收"))] = None,
    unit: IdQuery = None,
    conference: IdQuery = None,
    below: Annotated[bool, QueryParameter(description=_("连同下级联席会议"))] = False,
    deadline_from: Annotated[dt.date | None, QueryParameter()] = None,
    deadline_to: Annotated[dt.date | None, QueryParameter()] = None,
    closed_from: Annotated[dt.date | None, QueryParameter()] = None,
    closed_to: Annotated[dt.date | None, QueryParameter()] = None,
    sort: Annotated[Literal["deadline", "assigned_at", "status"], QueryParameter()] = "deadline",
    desc: Annotated[bool, QueryParameter()] = False,
    page: PageQuery = 1,
    per_page: PerPageQuery = PER_PAGE,
) -> Page[TaskRow]:
    """与 /tasks 页面相同的范围和筛选：成员单位只看到本单位的任务，街道看到本街道议题的任务，办公室、管理员和召集人看到其联席会议的任务。
    q 搜索议定事项的内容；每条附 alert（预警）和 urges（已催办次数）。"""
    query: dict[str, str] = {"sort": sort, "desc": "1" if desc else "", "page": str(page), "per_page": str(per_page),
                             "q": (q or "").replace("\x00", ""), "below": "1" if below else ""}
    for key, value in (("status", status), ("alert", alert), ("unit", unit), ("conference", conference),
                       ("deadline_from", deadline_from), ("deadline_to", deadline_to),
                       ("closed_from", closed_from), ("closed_to", closed_to)):
        if value is not None:
            query[key] = value.isoformat() if isinstance(value, dt.date) else str(value)
    listing = (await views.task_list(actor, query))["page"]
    rows = [msgspec.convert({**r, "meeting": r["meeting_id"]}, TaskRow) for r in listing.rows]
    return Page(items=rows, **page_fields(listing))


@get("/{task_id:int}", opt={"roles": PEOPLE}, tags=TAGS, summary=_("任务详情"), responses=apikit.answers(TaskDetail, READ_ERRORS))
async def get_task(actor: CurrentActor, task_id: IdPath) -> TaskDetail:
    """含办理记录（reports，附件在 files）、同一议定事项的各单位任务（siblings）和本账号现在可执行的操作（actions）。"""
    return await _detail(actor, task_id)


# ---------------------------------------------------------------- the unit's actions

ReportBody = Annotated[ReportForm, apikit.body(ReportForm, {"text": "已完成沂蒙路东段占道摊点清理，西段本周内完成。", "evidence": "", "files": []},
                                        media_type=RequestEncodingType.MULTI_PART,
                                        description=_("multipart/form-data：text（进展）或 evidence（办结佐证），files 为附件"))]


@post("/{task_id:int}/acknowledge", opt={"roles": UNIT}, tags=TAGS, summary=_("签收任务"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def acknowledge_task(actor: CurrentActor, task_id: IdPath) -> TaskDetail:
    """承办单位签收下达的任务，开始计算办理时限；已签收的任务返回 409。"""
    await services.acknowledge(actor, task_id)
    return await _detail(actor, task_id)


@post("/{task_id:int}/progress", opt={"roles": UNIT}, tags=TAGS, summary=_("报送进展"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS), request_max_body_size=UPLOAD_BODY_LIMIT)
async def report_progress(actor: CurrentActor, task_id: IdPath, data: ReportBody) -> TaskDetail:
    """text 必填；附件（files）可选，可多个。"""
    await services.report_progress(actor, task_id, {"text": data.text}, await _files(data))
    return await _detail(actor, task_id)


@post("/{task_id:int}/done", opt={"roles": UNIT}, tags=TAGS, summary=_("报办结"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS), request_max_body_size=UPLOAD_BODY_LIMIT)
async def report_done(actor: CurrentActor, task_id: IdPath, data: ReportBody) -> TaskDetail:
    """evidence（办结情况及佐证）必填；附件（files）可选。办公室核实后销号或退回重办。"""
    await services.report_done(actor, task_id, {"evidence": data.evidence}, await _files(data))
    return await _detail(actor, task_id)


@post("/{task_id:int}/extension", opt={"roles": UNIT}, tags=TAGS, summary=_("申请延期"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def request_extension(actor: CurrentActor, task_id: IdPath,
        data: Annotated[ExtensionIn, apikit.body(ExtensionIn, {"extension_deadline": "2027-01-15", "extension_reason": "需协调上级部门审批"})]) -> TaskDetail:  # type: ignore[valid-type]
    """承办单位申请延期：extension_deadline 为申请的新期限，须填写理由；办公室批准前原期限不变。"""
    await services.request_extension(actor, task_id, _plain(forms.EXTENSION_FORM, data))
    return await _detail(actor, task_id)


# ---------------------------------------------------------------- the office's actions


@post("/{task_id:int}/extension/decision", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("审批延期"),
      status_code=200, responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def decide_extension(actor: CurrentActor, task_id: IdPath,
        data: Annotated[DecisionIn, apikit.body(DecisionIn, {"approve": False, "comment": "请按原期限办结"})]) -> TaskDetail:  # type: ignore[valid-type]
    """approve 为 true 时同意（办结期限改为申请的日期），false 时不同意（须填写 comment）。"""
    fields = _plain(forms.DECISION_FORM, data)
    await services.decide_extension(actor, task_id, fields.pop("approve"), fields)
    return await _detail(actor, task_id)


@post("/{task_id:int}/close", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("销号"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def close_task(actor: CurrentActor, task_id: IdPath,
        data: Annotated[CommentIn, apikit.body(CommentIn)]) -> TaskDetail:  # type: ignore[valid-type]
    """办公室确认办结并关闭任务，可附意见（comment）；此后街道可评价。"""
    await services.close_task(actor, task_id, _plain(forms.CLOSE_FORM, data))
    return await _detail(actor, task_id)


@post("/{task_id:int}/return", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("退回重办"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def return_task(actor: CurrentActor, task_id: IdPath,
        data: Annotated[ReasonIn, apikit.body(ReasonIn)]) -> TaskDetail:  # type: ignore[valid-type]
    """办公室把报办结的任务退回承办单位重办，须填写理由。"""
    await services.return_task(actor, task_id, _plain(forms.RETURN_FORM, data))
    return await _detail(actor, task_id)


@post("/{task_id:int}/cancel", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("撤销任务"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def cancel_task(actor: CurrentActor, task_id: IdPath,
        data: Annotated[CancelTaskIn, apikit.body(CancelTaskIn)]) -> TaskDetail:  # type: ignore[valid-type]
    """办公室撤销任务（如议定事项调整），须填写理由；承办单位会收到通知。"""
    await services.cancel_task(actor, task_id, _plain(forms.CANCEL_FORM, data))
    return await _detail(actor, task_id)


@post("/{task_id:int}/reopen", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("重新办理"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def reopen_task(actor: CurrentActor, task_id: IdPath,
        data: Annotated[ReopenIn, apikit.body(ReopenIn, {"reason": "街道评价不满意，请重新处理", "deadline": "2027-01-31"})]) -> TaskDetail:  # type: ignore[valid-type]
    """街道评价为不满意的已销号任务，重新交办承办单位，须给出要求（reason）和新的办结期限（deadline）。"""
    await services.reopen_task(actor, task_id, _plain(forms.REOPEN_FORM, data))
    return await _detail(actor, task_id)


@post("/{task_id:int}/urge", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("催办"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def urge_task(actor: CurrentActor, task_id: IdPath,
        data: Annotated[UrgeIn, apikit.body(UrgeIn, {"message": "请于本周五前报送进展。"})]) -> TaskDetail:  # type: ignore[valid-type]
    """办公室向承办单位催办一项任务，message 为催办内容；通知发往单位联络员。"""
    await urging.urge_task(actor, task_id, _plain(forms.URGE_FORM, data))
    return await _detail(actor, task_id)


@post("/urge", opt={"roles": OFFICE_ROLES}, tags=TAGS, summary=_("批量催办"), status_code=200, responses=apikit.answers(UrgeManyOut, WRITE_ERRORS))
async def urge_tasks(actor: CurrentActor,
        data: Annotated[UrgeManyIn, apikit.body(UrgeManyIn, {"tasks": [1, 2], "message": "请于本周五前报送进展。"})]) -> UrgeManyOut:  # type: ignore[valid-type]
    """不需催办的任务（已报办结、已销号或已撤销）跳过并计入 skipped。"""
    fields = _plain(forms.URGE_MANY_FORM, data)
    urged, skipped = await urging.urge_tasks(actor, [str(t) for t in fields.pop("tasks", [])], fields)
    return UrgeManyOut(urged=urged, skipped=skipped)


# ---------------------------------------------------------------- the street's action


@post("/{task_id:int}/rating", opt={"roles": STREET}, tags=TAGS, summary=_("评价"), status_code=200,
      responses=apikit.answers(TaskDetail, WRITE_ERRORS))
async def rate_task(actor: CurrentActor, task_id: IdPath,
        data: Annotated[RatingIn, apikit.body(RatingIn, {"rating": "dissatisfied", "rating_comment": "占道问题仍然存在"})]) -> TaskDetail:  # type: ignore[valid-type]
    """本街道议题的已销号任务：rating 取 satisfied、basically_satisfied 或 dissatisfied（不满意时须填写 rating_comment）。"""
    await services.rate_task(actor, task_id, _plain(forms.RATING_FORM, data))
    return await _detail(actor, task_id)


ROUTES: list[Any] = [
    Router(path="/api/tasks", route_handlers=[
        list_tasks, get_task, acknowledge_task, report_progress, report_done, request_extension, decide_extension,
        close_task, return_task, cancel_task, reopen_task, urge_task, urge_tasks, rate_task,
    ], exception_handlers={ValidationException: relabelled(LABELS)}),
]
