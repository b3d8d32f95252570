"""The case API's declarations: what each /api/v1 call takes and answers, as pydantic models.

One table, OPERATIONS, keyed by the Flask endpoint, gives each call its body and query models
and the answers it may give. dashboard/api.py validates every request body and query string
against it (`parse_body`, `parse_query`), and `openapi_document` builds the OpenAPI 3.1
document served at /api/v1/openapi.json from the same table and the app's own URL rules, so
the document cannot drift from the checks. Text caps and the refused characters come from
intake/cases/fields.py, which the pages apply too.

pydantic 2 was chosen over spectree, flask-openapi3 and apiflask: it is the most widely kept
of them, its `model_json_schema()` writes JSON Schema 2020-12 (the dialect of OpenAPI 3.1),
and a table beside the existing views needs no change to how they are routed or written.

A JSON body is validated strictly (a number must be a JSON number) by pydantic's own parser,
which also refuses nesting too deep to parse (Python's json raised RecursionError: a 500); a
form (multipart, for the result's scan) is validated leniently, since every form value is text.
A pydantic error becomes the domain's ValidationError with the field's own code where the
domain has one (`CODES`), so the page and the API speak of bad input in the same words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field,
                      ValidationInfo)
from pydantic import ValidationError as PydanticError

from intake.exceptions import ValidationError
from intake.cases.fields import (EARLIEST_YEAR, LATEST_YEAR, MAX_ID, TEXT_PATTERN, check_id,
                                 check_moment, check_text, text_limit)
from intake.cases.intake_fields import INTAKE_FIELDS
from intake.cases.intake_fields import REASON_MAX_CHARS as UNKNOWN_REASON_MAX_CHARS
from intake.statuses import (CaseChannel, CaseImportance, CaseStatus, CensureGround,
                             CensureStatus, FeedbackMethod, ReturnCategory, Satisfaction,
                             NoticeStatus, VisitMethod, VisitOutcome, VisitStatus)

CASE_NUMBER_PATTERN = r"^[0-9]{4}-[0-9]{6,9}$"  # 2026-000123 (intake/cases/handling.py: at least six digits)
CASE_NUMBER = re.compile(CASE_NUMBER_PATTERN)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# ---------------------------------------------------------------- field types
def _checked_text(value: str, info: ValidationInfo) -> str:
    return check_text(info.field_name, value)


def _checked_moment(value, info: ValidationInfo):
    return check_moment(info.field_name, value)


def _checked_date(value: date, info: ValidationInfo) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(f"{info.field_name} out of range", field=info.field_name,
                              code="date_out_of_range")
    return value


def text(name: str) -> Any:
    """Return the type of a text field: capped and pattern-checked as intake/cases/fields.py says."""
    return Annotated[str, Field(max_length=text_limit(name),
                                json_schema_extra={"pattern": TEXT_PATTERN}),
                     AfterValidator(_checked_text)]


def choice(values) -> Any:
    """Return the type of a field that takes one of `values` (an Enum's, usually)."""
    return Literal[tuple(getattr(v, "value", v) for v in values)]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Moment = Annotated[AwareDatetime, AfterValidator(_checked_moment)]
Day = Annotated[date, AfterValidator(_checked_date)]


class Body(BaseModel):
    """A request body: fields it does not name are let through untouched (add fields freely)."""

    model_config = ConfigDict(extra="ignore")
    # The domain's code for a bad or missing value of a field, where it has its own.
    CODES: ClassVar[dict[str, str]] = {}


# ---------------------------------------------------------------- request bodies
class CaseEntryBody(Body):
    """A case entered by hand (POST /api/v1/cases)."""

    caller_name: text("caller_name") | None = None
    caller_unit: text("caller_unit") | None = None
    caller_phone: text("caller_phone") | None = None
    # Required unless marked unknown in `unknown_fields` (the domain says content_required).
    content: text("content") | None = None
    liaison_id: Id | None = None
    leader_id: Id | None = None
    route_reason: text("route_reason") | None = None
    urgent: bool | None = None
    received_at: Moment | None = None
    channel: choice(c for c in CaseChannel if c != CaseChannel.VOICEMAIL) | None = None
    category: text("category") | None = None
    importance: choice(CaseImportance) | None = None
    # {field: why it is unknown}, e.g. {"caller_phone": "来访者不愿留电话"}. Sent (even {}), it
    # holds the entry to all four intake fields, as a leader always is (一.4).
    unknown_fields: dict[choice(INTAKE_FIELDS),
                         Annotated[str, Field(max_length=UNKNOWN_REASON_MAX_CHARS)]] | None = None
    CODES = {"content": "content_required", "liaison_id": "liaison_unknown",
             "leader_id": "leader_required", "channel": "channel_invalid",
             "received_at": "time_invalid", "importance": "importance_invalid",
             "unknown_fields": "unknown_fields_invalid"}


class ImportanceBody(Body):
    """The importance mark the supervision office gives a case, and why."""

    importance: choice(CaseImportance)
    reason: text("reason") | None = None
    CODES = {"importance": "importance_invalid"}


class NoteBody(Body):
    """An optional note (handle, answer)."""

    note: text("note") | None = None


class TransferBody(Body):
    """The unit a case goes to."""

    unit_id: Id
    CODES = {"unit_id": "unit_unknown"}


class EscalateBody(Body):
    """Where a case goes up to, and why."""

    to: Literal["bureau_meeting", "county"]
    reason: text("reason")
    CODES = {"to": "escalation_target_invalid", "reason": "reason_required"}


class ExtendBody(Body):
    """A later deadline and its reason."""

    deadline: Moment
    reason: text("reason")
    CODES = {"deadline": "deadline_invalid", "reason": "reason_required"}


class OverruleBody(Body):
    """Why an extension is set aside, and optionally the deadline that holds instead."""

    # Not required here: the view checks only "extend" before reading the body, and the
    # supervision office's own check is the domain's, so a leader must hear 403, not 422.
    reason: text("reason") | None = None
    deadline: Moment | None = None
    CODES = {"deadline": "deadline_invalid", "reason": "reason_required"}


class ResultBody(Body):
    """A unit's written result; as a form it may carry the scan as `attachment`."""

    facts_true: text("facts_true") | None = None
    causes: text("causes") | None = None
    measures: text("measures") | None = None
    liaison_opinion: text("liaison_opinion") | None = None
    signed_by: text("signed_by") | None = None
    sealed: bool | None = None


class VerdictBody(Body):
    """Which implementation of a decision a verdict is for (not needed on a transfer, nor when
    only one implementation has a result waiting)."""

    implementation_id: Id | None = Field(None, description="an id from the case's "
                                         "decision.implementations")
    CODES = {"implementation_id": "implementation_unknown"}


class ReturnBody(VerdictBody):
    """Why the supervision office returns a result (and, on a decision, whose)."""

    category: choice(ReturnCategory)
    reason: text("reason")
    CODES = {"category": "return_category_invalid", "reason": "reason_required",
             "implementation_id": "implementation_unknown"}


class ImplementationBody(Body):
    """One unit to carry out a decision, and by when."""

    unit_id: Id
    deadline: Day | Annotated[int, Field(ge=1, le=60)] | None = Field(
        None, description="a date (due at its close of business), a number of working days, "
        "or null for three working days, like a transfer")
    CODES = {"unit_id": "unit_unknown", "deadline": "implementation_deadline_invalid"}


class CaseDecisionBody(Body):
    """The bureau meeting's or the county's decision, and the units that carry it out."""

    text: Annotated[text("text"), Field(min_length=1)]
    decided_at: Day
    decided_by: Annotated[text("decided_by"), Field(min_length=1)]
    implementations: list[ImplementationBody] = Field(
        default_factory=list, max_length=20,
        description="empty: the decision is the answer (e.g. no action needed)")
    CODES = {"text": "decision_text_required", "decided_at": "decided_at_invalid",
             "decided_by": "decided_by_required",
             "implementations": "implementation_deadline_invalid"}


class FeedbackBody(Body):
    """How the liaison was told."""

    method: choice(FeedbackMethod)
    note: text("note") | None = None
    CODES = {"method": "feedback_method_invalid"}


class RateBody(Body):
    """The liaison's rating, taken by phone."""

    rating: choice(Satisfaction)
    CODES = {"rating": "rating_invalid"}


class ResultForm(ResultBody):
    """The same result as multipart/form-data, with the scan."""

    attachment: bytes | None = Field(None, json_schema_extra={"format": "binary"})


# ---------------------------------------------------------------- query strings
class CaseQuery(Body):
    """Filters of the case list."""

    status: choice(CaseStatus) | None = None
    unit: Id | None = None
    overdue: bool | None = None
    limit: int | None = Field(None, description="at most 500; 100 when not given")
    CODES = {"status": "status_invalid", "unit": "unit_unknown", "limit": "integer_required",
             "overdue": "boolean_required"}


class RatesQuery(Body):
    """The period and grouping of the four rates."""

    from_: Day = Field(alias="from")
    to: Day
    group: Literal["unit", "kind"] | None = None
    unit: text("caller_unit") | None = Field(None, description="a unit's id or exact name")
    format: Literal["json", "csv", "xlsx"] | None = None
    CODES = {"from": "date_invalid", "to": "date_invalid", "group": "group_invalid"}


class CensureBody(Body):
    """A criticism or an accountability the office records (POST /api/v1/criticisms, …)."""

    ground: choice(CensureGround)
    facts: Annotated[text("facts"), Field(min_length=1)]
    cases: list[Annotated[str, Field(pattern=CASE_NUMBER_PATTERN)]] | text("facts") | None = Field(
        None, description="the case numbers it rests on (a form: one a line or comma-separated)")
    unit_id: Id | None = None
    duty_room: bool | None = Field(None, description="criticism ground 5: the duty room")
    person: text("person") | None = Field(None, description="who is held to account")
    CODES = {"ground": "ground_invalid", "unit_id": "unit_unknown", "facts": "facts_required"}


class CensureForm(CensureBody):
    """The same entry as multipart/form-data, with the signed notice's scan."""

    attachment: bytes | None = Field(None, json_schema_extra={"format": "binary"})


class DecisionBody(Body):
    """The reason for confirming, dismissing or withdrawing an entry."""

    reason: text("reason") | None = None
    version: Id | None = Field(None, description="the entry's version as read: a decision on an "
                               "entry decided since is refused (409 conflict); or If-Match")
    CODES = {"version": "version_invalid"}


class RegisterQuery(Body):
    """A register's entries by status and unit."""

    status: choice(CensureStatus) | None = None
    unit: Id | None = Field(None, description="a unit's id")
    CODES = {"status": "status_invalid", "unit": "unit_unknown"}


class VisitBody(Body):
    """A follow-up visit (回访) on a closed case (POST /api/v1/cases/NUMBER/visits)."""

    due_on: Day
    method: choice(VisitMethod)
    visitor_ids: list[Id] | text("note") = Field(
        description="the accounts that go: office staff or the case's leader (a form: comma-separated)")
    note: text("note") | None = None
    CODES = {"due_on": "visit_date_invalid", "method": "visit_method_invalid",
             "visitor_ids": "visitor_invalid"}


class VisitOutcomeBody(Body):
    """What a follow-up visit found; came_back reopens the case for redo."""

    outcome: choice(VisitOutcome)
    outcome_note: text("note") | None = None
    CODES = {"outcome": "visit_outcome_invalid"}


class NoticeBody(Body):
    """A notice to the public on one case or a group of cases (POST /api/v1/notices)."""

    subject: Annotated[text("subject"), Field(min_length=1)]
    reported: Annotated[text("reported"), Field(min_length=1)]
    done: Annotated[text("done"), Field(min_length=1)]
    result: Annotated[text("result"), Field(min_length=1)]
    cases: list[Annotated[str, Field(pattern=CASE_NUMBER_PATTERN)]] = Field(
        min_length=1, description="the numbers of the answered cases it speaks of")
    CODES = {"subject": "notice_subject_required", "reported": "notice_text_required",
             "done": "notice_text_required", "result": "notice_text_required",
             "cases": "notice_cases_required"}


class PublicationBody(Body):
    """Where and when a notice appeared."""

    outlet: Annotated[text("outlet"), Field(min_length=1)]
    published_on: Day
    link: text("link") | None = None
    CODES = {"outlet": "outlet_required", "published_on": "date_invalid"}


class VisitQuery(Body):
    """Visits by status; without one, the scheduled visits due today or overdue."""

    status: choice(VisitStatus) | None = None
    CODES = {"status": "status_invalid"}


# ---------------------------------------------------------------- answers
class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    field: str | None
    message: str


class ErrorEnvelope(BaseModel):
    """Every refusal: {"error": {"code", "field", "message"}}."""

    error: ErrorDetail


class HistoryEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    at: str | None
    actor: str
    action: str


class CaseRecord(BaseModel):
    """A case with its history (design.md: at least these fields)."""

    model_config = ConfigDict(extra="allow")
    number: str
    status: choice(CaseStatus)
    leader: str | None
    unit: str | None
    deadline: str | None
    overdue: bool
    redo_count: int
    supervised: bool
    satisfaction: str | None
    history: list[HistoryEntry]


class CaseSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    number: str
    status: choice(CaseStatus)
    overdue: bool


class CaseList(BaseModel):
    cases: list[CaseSummary]
    count: int


class Entry(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    name: str


class Directory(BaseModel):
    leaders: list[Entry]
    liaisons: list[Entry]
    units: list[Entry]


class Rates(BaseModel):
    model_config = ConfigDict(extra="allow")
    from_: str = Field(alias="from")
    to: str
    total: dict[str, Any]
    rows: list[dict[str, Any]]


class CensureRecord(BaseModel):
    """An entry of the criticism or accountability register."""

    model_config = ConfigDict(extra="allow")
    id: int
    kind: str
    ground: choice(CensureGround)
    status: choice(CensureStatus)
    unit: str | None
    cases: list[str]
    facts: str


class VisitRecord(BaseModel):
    """A follow-up visit: its case, day, method, visitors, status and outcome."""

    model_config = ConfigDict(extra="allow")
    id: int
    case: str
    due_on: str
    method: choice(VisitMethod)
    status: choice(VisitStatus)
    overdue: bool
    outcome: choice(VisitOutcome) | None
    visitors: list[Entry]
    case_status: choice(CaseStatus)


class VisitList(BaseModel):
    visits: list[VisitRecord]
    count: int


class PublicationRecord(BaseModel):
    outlet: str
    published_on: str
    link: str


class NoticeRecord(BaseModel):
    """A notice to the public: its subject, state, cases and publications."""

    model_config = ConfigDict(extra="allow")
    id: int
    subject: str
    status: choice(NoticeStatus)
    published: bool
    cases: list[str]
    publications: list[PublicationRecord]


class NoticeList(BaseModel):
    notices: list[NoticeRecord]
    count: int


class CensureList(BaseModel):
    model_config = ConfigDict(extra="allow")
    count: int


class KeptBulletinRecord(BaseModel):
    """A kept bulletin (通报) in the archive; its files are /api/v1/bulletins/ID.docx|.pdf."""

    model_config = ConfigDict(extra="allow")
    id: int
    kind: Literal["month", "quarter"]
    from_: str = Field(alias="from")
    to: str
    version: int
    built_at: str
    docx_sha256: str
    pdf_sha256: str


class BulletinList(BaseModel):
    model_config = ConfigDict(extra="allow")
    bulletins: list[KeptBulletinRecord]
    count: int


class OpenApiDocument(BaseModel):
    model_config = ConfigDict(extra="allow")
    openapi: str
    paths: dict[str, Any]


# ---------------------------------------------------------------- the table
@dataclass(frozen=True)
class Operation:
    """One API call: its models and the answers it may give besides 200/201."""

    body: type[Body] | None = None
    query: type[Body] | None = None
    answer: type[BaseModel] | None = CaseRecord
    status: int = 200
    refusals: tuple[int, ...] = (401, 403, 404)
    files: dict[str, dict] = field(default_factory=dict)  # content type -> schema, for downloads
    form: type[Body] | None = None  # a multipart alternative to the JSON body
    public: bool = False


# 409: a move the state machine refuses, or `conflict` when someone else acted first.
ACTION = (401, 403, 404, 409, 422)
BINARY = {"type": "string", "format": "binary"}

OPERATIONS: dict[str, Operation] = {
    "api.list_cases": Operation(query=CaseQuery, answer=CaseList, refusals=(401, 422)),
    "api.show_case": Operation(),
    "api.download_attachment": Operation(answer=None, files={
        "application/pdf": BINARY, "image/jpeg": BINARY, "image/png": BINARY}),
    "api.directory": Operation(answer=Directory, refusals=(401, 403)),
    "api.report_rates": Operation(query=RatesQuery, answer=Rates, refusals=(401, 403, 422),
                                  files={"text/csv": {"type": "string"}, XLSX: BINARY}),
    "api.create_case": Operation(body=CaseEntryBody, status=201, refusals=(401, 403, 422)),
    "api.acknowledge": Operation(refusals=ACTION),
    "api.handle": Operation(body=NoteBody, refusals=ACTION),
    "api.transfer": Operation(body=TransferBody, refusals=ACTION),
    "api.escalate": Operation(body=EscalateBody, refusals=ACTION),
    "api.extend": Operation(body=ExtendBody, refusals=ACTION),
    "api.overrule": Operation(body=OverruleBody, refusals=ACTION),
    "api.file_result": Operation(body=ResultBody, form=ResultForm, refusals=ACTION + (413,)),
    "api.accept": Operation(body=VerdictBody, refusals=ACTION),
    "api.mark_importance": Operation(body=ImportanceBody, refusals=ACTION),
    "api.return_result": Operation(body=ReturnBody, refusals=ACTION),
    "api.answer": Operation(body=NoteBody, refusals=ACTION),
    "api.record_decision": Operation(body=CaseDecisionBody, refusals=ACTION),
    "api.record_feedback": Operation(body=FeedbackBody, refusals=ACTION),
    "api.rate": Operation(body=RateBody, refusals=ACTION),
    "api.openapi": Operation(answer=OpenApiDocument, refusals=(), public=True),
    "api.list_register": Operation(query=RegisterQuery, answer=CensureList,
                                   refusals=(401, 403, 404, 422)),
    "api.record_in_register": Operation(body=CensureBody, form=CensureForm,
                                        answer=CensureRecord, status=201,
                                        refusals=(401, 403, 404, 413, 422)),
    "api.decide_in_register": Operation(body=DecisionBody, answer=CensureRecord,
                                        refusals=ACTION),
    "api.list_bulletins": Operation(answer=BulletinList, refusals=(401, 403)),
    "api.download_bulletin": Operation(answer=None, refusals=(401, 403, 404),
                                       files={DOCX: BINARY, "application/pdf": BINARY}),
    "api.list_visits": Operation(query=VisitQuery, answer=VisitList, refusals=(401, 422)),
    "api.schedule_visit": Operation(body=VisitBody, answer=VisitRecord, status=201,
                                    refusals=ACTION),
    "api.record_visit_outcome": Operation(body=VisitOutcomeBody, answer=VisitRecord,
                                          refusals=ACTION),
    "api.cancel_visit": Operation(body=DecisionBody, answer=VisitRecord, refusals=ACTION),
    "api.list_notices": Operation(answer=NoticeList, refusals=(401, 403)),
    "api.write_notice": Operation(body=NoticeBody, answer=NoticeRecord, status=201,
                                  refusals=(401, 403, 422)),
    "api.show_notice": Operation(answer=NoticeRecord),
    "api.download_notice": Operation(answer=None, files={DOCX: BINARY,
                                                         "application/pdf": BINARY}),
    "api.record_publication": Operation(body=PublicationBody, answer=NoticeRecord, status=201,
                                        refusals=ACTION),
}

REFUSAL_TEXT = {
    400: "The request cannot be read.",
    401: "No valid token or session (auth_required, auth_invalid, csrf_invalid).",
    403: "The caller may see this but may not do that.",
    404: "No such case, or one the caller may not see.",
    405: "The path does not take that method.",
    409: "The state machine refuses the move, or someone else acted first (conflict).",
    413: "The body is larger than the limit.",
    422: "Bad input: `field` names it and `code` says what is wrong.",
}


# ---------------------------------------------------------------- validating
def parse_body(endpoint: str, *, json: bytes | None = None, form=None) -> dict:
    """Return a request's fields, validated against the call's declared body.

    Fields the declaration names come back typed (ids as int, times as aware datetimes);
    others pass through as sent.

    Raises:
        ValidationError: the body is not a JSON object ("body_invalid"), or a field is bad
            (its own code, "too_long", "invalid_characters", "date_out_of_range", …).
    """
    operation = OPERATIONS.get(endpoint)
    model = operation.body if operation else None
    if json is not None:
        if model is None:
            model = Body
        try:
            checked = model.model_validate_json(json or b"", strict=True)
        except PydanticError as exc:
            raise _domain_error(model, exc) from None
        # Parsed a second time only once it is known to be a well-formed object.
        from pydantic_core import from_json
        raw = from_json(json)
    else:
        raw = form.to_dict() if hasattr(form, "to_dict") else dict(form or {})
        # An empty form field is one left blank: not given, as the views always read it.
        raw = {key: value for key, value in raw.items() if value != ""}
        if model is None:
            return raw
        try:
            checked = model.model_validate(raw)
        except PydanticError as exc:
            raise _domain_error(model, exc) from None
    return {**raw, **checked.model_dump(exclude_unset=True, by_alias=True)}


def parse_query(endpoint: str, args) -> dict:
    """Return a query string's parameters, validated against the call's declaration.

    An empty parameter counts as not given, as it always has.

    Raises:
        ValidationError: a bad parameter, with its code.
    """
    operation = OPERATIONS.get(endpoint)
    raw = {key: value for key, value in args.items() if value != ""}
    if operation is None or operation.query is None:
        return raw
    model = operation.query
    if model is RatesQuery and str(raw.get("unit", "")).strip().isdigit():
        # A unit named by id: no id beyond a 32-bit INTEGER may reach the database.
        text_id = raw["unit"].strip()
        check_id("unit", int(text_id) if len(text_id) <= 12 else MAX_ID + 1, code="unit_unknown")
    try:
        checked = model.model_validate(raw)
    except PydanticError as exc:
        raise _domain_error(model, exc) from None
    return {**raw, **checked.model_dump(exclude_unset=True, by_alias=True)}


def known_case_number(number: str) -> bool:
    """Tell whether `number` is spelled as a case number (anything else is not found)."""
    return bool(CASE_NUMBER.fullmatch(number))


_CODE_BY_TYPE = {
    "string_too_long": "too_long",
    "string_type": "text_required",
    "string_unicode": "invalid_characters",
    "bool_type": "boolean_required",
    "bool_parsing": "boolean_required",
    "int_type": "integer_required",
    "int_parsing": "integer_required",
    "int_parsing_size": "integer_required",
    "int_from_float": "integer_required",
    "timezone_aware": "time_without_offset",
    "date_type": "date_invalid",
    "date_parsing": "date_invalid",
    "date_from_datetime_parsing": "date_invalid",
    "date_from_datetime_inexact": "date_invalid",
    "datetime_type": "time_invalid",
    "datetime_parsing": "time_invalid",
    "datetime_from_date_parsing": "time_invalid",
    "datetime_object_invalid": "time_invalid",
}
# What is wrong whatever the field; other errors take the field's own code when it has one.
_GENERIC_TYPES = {"string_too_long", "string_type", "string_unicode", "bool_type", "bool_parsing",
                  "timezone_aware"}
_BODY_TYPES = {"json_invalid", "json_type", "model_type", "model_attributes_type", "dict_type"}


def _domain_error(model: type[Body], exc: PydanticError) -> ValidationError:
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    if kind in _BODY_TYPES or not first["loc"]:
        return ValidationError("send a JSON object", field=None, code="body_invalid")
    name = str(first["loc"][0])
    if kind in _GENERIC_TYPES:
        code = _CODE_BY_TYPE[kind]
    else:
        code = model.CODES.get(name) or _CODE_BY_TYPE.get(kind, "invalid_input")
    return ValidationError(f"{name}: {first['msg']}", field=name, code=code)


# ---------------------------------------------------------------- the document
def openapi_document(url_map, docs: dict[str, str], title: str, version: str) -> dict:
    """Build the OpenAPI 3.1 document of every /api/v1 rule from OPERATIONS.

    Args:
        url_map: the app's werkzeug Map; each rule of the `api` blueprint is one operation.
        docs: endpoint -> the view's one-line docstring, used as the summary.

    Raises:
        KeyError: a route of the API with no declaration (tests/test_api_contract.py).
    """
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel], mode: str = "validation") -> dict:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode,
                                         by_alias=True)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error = {"application/json": {"schema": ref(ErrorEnvelope)}}
    paths: dict[str, dict] = {}
    for rule in sorted(url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        operation = OPERATIONS[rule.endpoint]
        path = _ARGUMENT.sub(r"{\3}", rule.rule)
        parameters = [_path_parameter(name, converter, options)
                      for converter, options, name in _rule_arguments(rule)]
        if operation.query is not None:
            parameters += _query_parameters(operation.query)
        content: dict[str, Any] = {}
        if operation.answer is not None:
            content["application/json"] = {"schema": ref(operation.answer, "serialization")}
        content.update({kind: {"schema": schema} for kind, schema in operation.files.items()})
        responses = {str(operation.status): {"description": "Done.", "content": content}}
        for status in operation.refusals:
            responses[str(status)] = {"description": REFUSAL_TEXT[status], "content": error}
        if operation.body is not None and "422" not in responses:
            responses["422"] = {"description": REFUSAL_TEXT[422], "content": error}
        if rule.methods & {"POST"} and "400" not in responses and not operation.public:
            responses["400"] = {"description": REFUSAL_TEXT[400], "content": error}
        entry: dict[str, Any] = {"operationId": rule.endpoint.split(".", 1)[1],
                                 "summary": docs.get(rule.endpoint, ""),
                                 "parameters": parameters, "responses": responses}
        if operation.public:
            entry["security"] = []
        if operation.body is not None:
            body_content = {"application/json": {"schema": ref(operation.body)}}
            if operation.form is not None:
                body_content["multipart/form-data"] = {"schema": ref(operation.form)}
            required = bool(operation.body.model_json_schema().get("required"))
            entry["requestBody"] = {"required": required, "content": body_content}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": title, "version": version,
                 "description": "The case API of dutyline (docs/api.md). Every answer, errors "
                                "included, is JSON in the envelope "
                                '{"error": {"code", "field", "message"}} when refused.'},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "a token from `dutyline users token USERNAME`"}}},
        "security": [{"bearerAuth": []}],
    }


_ARGUMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def _rule_arguments(rule):
    for converter, options, name in _ARGUMENT.findall(rule.rule):
        yield converter or "default", options, name


def _path_parameter(name: str, converter: str, options: str = "") -> dict:
    if converter == "any":
        schema = {"type": "string", "enum": [o.strip() for o in options.split(",")]}
    elif converter == "int":
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    elif name == "number":
        schema = {"type": "string", "pattern": CASE_NUMBER_PATTERN, "examples": ["2026-000001"]}
    else:
        schema = {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_parameters(model: type[Body]) -> list[dict]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        # A query value is never null: "not given" is how a parameter says nothing.
        options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
        value = dict(options[0]) if len(options) == 1 else {"anyOf": options}
        for key in ("description",):
            if key in prop:
                value[key] = prop[key]
        value.pop("title", None)
        parameters.append({"name": name, "in": "query", "required": name in required,
                           "schema": value})
    return parameters
