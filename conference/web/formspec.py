"""One description per form (issue 14 item 2): a FormSpec lists a form's fields once (name, Chinese
label, kind, required, limits, choices, help), and everything else is derived from it:

- the page: `page_fields()` gives the `Field` list the form macro renders (templates/_macros.html);
- the validation: `read()` calls the FormReader method of each field's kind with the spec's label
  and limits, so the Chinese messages are FormReader's, for the page and the API alike;
- the API: `struct()` gives the request body's msgspec Struct, whose OpenAPI schema names each field
  with its label (title), help (description), type, format, maxLength and enum; its fields take any
  JSON value, and `json_fields()` checks the types itself, in Chinese, so no English message of
  msgspec needs translating; the values then go through the same `read()` in the service.

A field appears on the page and in the API (`on="both"`), or only on one of them ("page", "api"):
the meeting page asks for the reply deadline as a date and a time, the API takes one date-time.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import msgspec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema

from conference.errors import ValidationFailed
from conference.forms import FormReader
from conference.i18n import gettext as _
from conference.web.apikit import KINDS
from conference.web.fields import Field

# The widget of each kind on the page (Field.kind).
PAGE_KINDS = {
    "text": "text", "multiline": "textarea", "date": "date", "time": "time", "datetime": "text", "int": "text",
    "ref": "select", "choice": "select", "email": "email", "phone": "tel", "ids": "select", "bool": "checkbox",
    "choices": "checkbox",
}
# FormReader's limits for the kinds whose length it fixes itself.
FIXED_LENGTHS = {"time": 5, "email": 120, "phone": 20, "choice": 40}
TEXT_KINDS = ("text", "multiline", "time", "choice", "email", "phone")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "text"  # text | multiline | time | date | datetime | ref | choice | email | phone | ids | bool | choices
    required: bool = False
    max_length: int | None = None  # text and multiline (FormReader's default: 100); the page's maxlength
    choices: Mapping[str, str] | None = None  # value -> Chinese label, for kind "choice" (one) or "choices" (a list)
    help: str = ""
    on: str = "both"  # both | page | api
    blank: bool = True  # a choice's list on the page opens with "请选择" (no preselected value)
    api_label: str = ""  # the name json_value's type messages give the field, where the API long named it otherwise

    @property
    def limit(self) -> int | None:
        """The longest value FormReader accepts for this field (None: not a text)."""
        if self.kind in ("text", "multiline"):
            return self.max_length or 100
        return FIXED_LENGTHS.get(self.kind)

    # ---------------------------------------------------------------- validation

    def read(self, form: FormReader) -> Any:
        """The cleaned value, through FormReader with this field's label and limits."""
        kind, name, label = self.kind, self.name, self.label
        if kind in ("text", "multiline", "time"):
            return form.text(name, label, required=self.required, max_length=self.limit or 100,
                             multiline=True if kind == "multiline" else None)
        if kind == "choice":
            return form.choice(name, label, self.choices or {}, required=self.required)
        if kind == "ref":
            return form.ref(name, label, required=self.required)
        if kind == "date":
            return form.date(name, label, required=self.required)
        if kind == "email":
            return form.email(name, label, required=self.required)
        if kind == "phone":
            return form.phone(name, label, required=self.required)
        raise ValueError(f"{name}: kind {kind} is not read by FormReader")

    # ---------------------------------------------------------------- page

    def page_field(self, options: Sequence[tuple[str, str]] | None = None) -> Field:
        if options is None and self.choices is not None:
            options = [("", _("请选择"))] * self.blank + list(self.choices.items())
        return Field(self.name, self.label, PAGE_KINDS[self.kind], required=self.required, options=list(options or []),
                     help=self.help, max_length=self.max_length)

    # ---------------------------------------------------------------- API

    def schema(self) -> dict[str, Any]:
        """The OpenAPI schema of the field's value (Litestar reads it from msgspec.Meta)."""
        if self.kind in ("ref", "int"):
            extra: dict[str, Any] = {"type": [OpenAPIType.INTEGER, OpenAPIType.NULL]}
        elif self.kind == "ids":
            extra = {"type": [OpenAPIType.ARRAY, OpenAPIType.NULL], "items": Schema(type=OpenAPIType.INTEGER)}
        elif self.kind == "bool":
            extra = {"type": OpenAPIType.BOOLEAN}
        elif self.kind == "choices":
            extra = {"type": [OpenAPIType.ARRAY, OpenAPIType.NULL],
                     "items": Schema(type=OpenAPIType.STRING, enum=list(self.choices or {}))}
        else:
            extra = {"type": [OpenAPIType.STRING, OpenAPIType.NULL]}
        if self.kind == "date":
            extra["format"] = OpenAPIFormat.DATE
        elif self.kind == "datetime":
            extra["format"] = OpenAPIFormat.DATE_TIME
        elif self.kind == "email":
            extra["format"] = OpenAPIFormat.EMAIL
        if self.kind in TEXT_KINDS and self.kind != "choice":
            extra["max_length"] = self.limit
        if self.choices is not None and self.kind != "choices":
            extra["enum"] = list(self.choices)
        described = {"title": self.label, "extra": extra}
        if self.help:
            described["description"] = self.help
        return described

    def json_value(self, value: Any) -> tuple[Any, str | None]:
        """A decoded JSON value checked for this field's type: (the value, with dates as date
        objects; or a message in Chinese). Lengths, choices and required fields are read()'s."""
        kind, label = self.kind, self.api_label or self.label
        if value is None and kind != "bool":
            return None, None
        if kind == "bool":
            if not isinstance(value, bool):
                return None, _("{label}应为{kind}。").format(label=label, kind=KINDS["bool"])
            return value, None
        if kind == "ids":
            if not isinstance(value, list):
                return None, _("{label}应为{kind}。").format(label=label, kind=KINDS["array"])
            if any(isinstance(v, bool) or not isinstance(v, int) for v in value):
                return None, _("{label}应为{kind}。").format(label=label, kind=KINDS["int"])
            return value, None
        if kind == "choices":  # a list of values from `choices`: a value not listed is no value of the type
            if not isinstance(value, list):
                return None, _("{label}应为{kind}。").format(label=label, kind=KINDS["array"])
            if any(not isinstance(v, str) for v in value):
                return None, _("{label}应为{kind}。").format(label=label, kind=KINDS["str"])
            if any(v not in (self.choices or {}) for v in value):
                return None, _("{label}不是可选的值。").format(label=label)
            return value, None
        if kind in ("ref", "int"):
            if isinstance(value, bool) or not isinstance(value, int):
                return None, _("{label}应为{kind}。").format(label=label, kind=KINDS["int"])
            return value, None
        if kind in ("date", "datetime"):
            target = dt.date if kind == "date" else dt.datetime
            if isinstance(value, str):
                try:
                    return msgspec.convert(value, target), None
                except msgspec.ValidationError:
                    return None, _("{label}不是有效日期，请按 2026-11-29 的格式填写。").format(label=label)
            return None, _("{label}应为{kind}。").format(label=label, kind=KINDS[kind])
        if not isinstance(value, str):
            return None, _("{label}应为{kind}。").format(label=label, kind=KINDS["str"])
        return value, None


@dataclass(frozen=True)
class FormSpec:
    fields: tuple[FieldSpec, ...]
    by_name: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def __getitem__(self, name: str) -> FieldSpec:
        return self.by_name[name]

    def relabelled(self, name: str, label: str) -> FormSpec:
        """A copy with one field's label changed (tests: every derived part follows)."""
        return FormSpec(tuple(replace(f, label=label) if f.name == name else f for f in self.fields))

    def labels(self, on: str = "both") -> dict[str, str]:
        return {f.name: f.label for f in self._on(on)}

    def _on(self, on: str) -> list[FieldSpec]:
        return [f for f in self.fields if on == "both" or f.on in (on, "both")]

    def read(self, data: Mapping[str, Any] | FormReader, names: Iterable[str] | None = None) -> dict[str, Any]:
        """The page's fields (or `names`) read through FormReader, in the spec's order. With a
        FormReader the messages collect there (the caller adds its own checks, then `done()`);
        with a mapping they are raised at once."""
        form = data if isinstance(data, FormReader) else FormReader(data)
        wanted = list(names) if names is not None else [f.name for f in self._on("page")]
        values = {name: self[name].read(form) for name in wanted}
        if not isinstance(data, FormReader):
            form.done()
        return values

    def page_fields(self, options: Mapping[str, Sequence[tuple[str, str]]] | None = None,
                    skip: Iterable[str] = ()) -> list[Field]:
        """The page's Field list; `options` gives the choices known only at request time."""
        options, skipped = options or {}, set(skip)
        return [f.page_field(options.get(f.name)) for f in self._on("page") if f.name not in skipped]

    def struct(self, name: str, *, patch: bool = False, skip: Iterable[str] = (),
               extra: Sequence[tuple[Any, ...]] = ()) -> type[msgspec.Struct]:
        """The API request body: every API field optional (UNSET when left out, for a PATCH; else
        None, False for a bool), of any JSON type (json_fields checks it); `extra` adds typed fields first ((name, type) required, (name, type, default) not).
        A required API-only field (no FormReader reads it to ask for it) has no default: the body must carry it."""
        skipped = set(skip)
        default: Any = msgspec.UNSET if patch else None
        described: list[tuple[Any, ...]] = [
            (f.name, Annotated[Any, msgspec.Meta(extra_json_schema=f.schema())])
            + (() if f.required and f.on == "api" and not patch else (False if f.kind == "bool" and not patch else default,))
            for f in self._on("api") if f.name not in skipped]
        # The body belongs to the module that derives it (as a class written there would): two bodies of
        # one name (the meetings' and the tasks' DecisionIn) stay two schema components.
        module = sys._getframe(1).f_globals.get("__name__")
        return msgspec.defstruct(name, [*extra, *described], kw_only=True, forbid_unknown_fields=True, module=module)

    def json_fields(self, data: msgspec.Struct) -> dict[str, Any]:
        """The fields a client sent (UNSET ones left out), each checked for its JSON type (dates
        parsed); a wrong type answers 400 with every such message before anything else is read."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in data.__struct_fields__:
            value = getattr(data, name)
            if value is msgspec.UNSET:
                continue
            spec = self.by_name.get(name)
            if spec is None:
                values[name] = value
                continue
            values[name], message = spec.json_value(value)
            if message:
                errors[name] = message
        if errors:
            raise ValidationFailed(errors, _("提交的数据格式不正确，请检查后重试。"))
        return values
