"""Translated names of states, roles and sources, so templates never show a raw enum value.

The msgids are written out here (not built from enum values) so that `pybabel extract` sees them.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from intake.cases.feedback import DISSATISFIED_REASON

CALL_STATES = {
    "ringing": _l("Ringing"),
    "recorded": _l("Pending"),
    "queued": _l("Pending"),
    "transcribing": _l("Transcribing"),
    "draft": _l("Draft"),
    "failed": _l("Failed"),
    "no_message": _l("No message"),
    "confirmed": _l("Confirmed"),
}
CASE_STATES = {
    "routed": _l("Routed"),
    "acknowledged": _l("Acknowledged"),
    "handling": _l("Handling"),
    "transferred": _l("Transferred to unit"),
    "result_filed": _l("Result filed"),
    "bureau_meeting": _l("Bureau meeting"),
    "county": _l("County committee"),
    "implementing": _l("Decision being carried out"),
    "answered": _l("Answered"),
    "fed_back": _l("Fed back"),
    "closed": _l("Closed"),
}
# A unit's implementation of a decision (intake.statuses.ImplementationStatus).
IMPLEMENTATION_STATES = {
    "assigned": _l("Being carried out"),
    "result_filed": _l("Result filed"),
    "accepted": _l("Accepted"),
}
SMS_STATES = {
    "pending": _l("Waiting to send"),
    "queued": _l("Queued"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "undelivered": _l("Undelivered"),
    "failed": _l("Failed"),
    "outbox": _l("Kept in outbox"),
}
ROLES = {
    "admin": _l("Administrator"),
    "duty": _l("Duty staff"),
    "leader": _l("Leader"),
    "supervisor": _l("Supervision office"),
    "unit": _l("Unit handler"),
}
SOURCES = {
    "caller_id": _l("caller ID"),
    "directory": _l("directory"),
    "transcript": _l("transcript"),
}
# Why a call is not transcribed, by intake.statuses.FailureCode; the English detail stays in
# the call's failure_reason for logs and `dutyline calls show`.
FAILURES = {
    "download_refused": _l("The recording could not be fetched: its address or the answer was refused."),
    "download_failed": _l("The recording could not be downloaded (network trouble)."),
    "unreadable_audio": _l("The recording could not be decoded: the file is empty or damaged."),
    "too_long": _l("The recording is longer than the allowed maximum."),
    "job_failed": _l("Transcription stopped with an error."),
    "retrying": _l("Download trouble; trying again shortly."),
    "waiting_for_model": _l("Waiting for a worker with a speech model."),
}
UNIT_KINDS = {"township": _l("Township health centre"), "county": _l("County unit")}
CATEGORIES = {
    "medical_service": _l("Medical service"),
    "public_health": _l("Public health"),
    "pharmacy": _l("Medicines and pharmacies"),
    "insurance": _l("Medical insurance"),
    "staff_conduct": _l("Staff conduct"),
    "other": _l("Other"),
}
CHANNELS = {
    "voicemail": _l("Voicemail"),
    "phone": _l("Live call to the duty phone"),
    "in_person": _l("Came in person"),
    "leader": _l("Told the leader directly"),
}
FEEDBACK_METHODS = {
    "phone": _l("by phone"),
    "written": _l("in writing"),
    "sms": _l("by SMS"),
    "in_person": _l("in person"),
}
SATISFACTION = {
    "satisfied": _l("Satisfied"),
    "basically_satisfied": _l("Basically satisfied"),
    "dissatisfied": _l("Dissatisfied"),
}
RETURN_CATEGORIES = {
    "format": _l("Incomplete format"),
    "quality": _l("Evades the question"),
    "dissatisfied": _l("Liaison dissatisfied"),
}
ESCALATIONS = {
    "bureau_meeting": _l("Bureau meeting"),
    "county": _l("County committee and government"),
}
SUPERVISION_CAUSES = {
    "escalation_bureau": _l("Bureau meeting"),
    "escalation_county": _l("County committee and government"),
    "overdue": _l("Overdue"),
}
DEADLINE_KINDS = {
    "same_day": _l("Same day (direct handling)"),
    "transfer": _l("Three working days (unit)"),
    "redo": _l("Redo"),
    "extension": _l("Extension"),
    "overruled": _l("Extension overruled"),
    "recomputed": _l("Recounted after a calendar change"),
    "feedback": _l("Feedback to the liaison (next working day)"),
}
FACTS = {"true": _l("True"), "partly": _l("Partly true"), "false": _l("Not true")}
# Filters offered above the inbox: "" shows every open call.
INBOX_FILTERS = ("", "queued", "transcribing", "draft", "failed", "no_message", "confirmed", "all")
FILTER_NAMES = {"": _l("Open"), "all": _l("All")}
COMMENDATION_KINDS = {"letter": _l("Letter of praise"), "banner": _l("Silk banner"),
                      "media": _l("Media praise")}


def label(table: dict, value) -> str:
    """Return the translated label of an enum member or its value."""
    key = getattr(value, "value", value)
    return str(table.get(key, key or ""))


CENSURE_KINDS = {"criticism": _l("Criticism"), "accountability": _l("Accountability")}
CENSURE_GROUNDS = {
    "returned_three_times": _l("Result returned three times in a row"),
    "not_carried_out": _l("Not carried out as required"),
    "late_unexplained": _l("Late without explaining in time"),
    "false_report": _l("False report"),
    "duty_failure": _l("Duty room failed its duty"),
    "improper_conduct": _l("Improper conduct"),
    "important_matter_late": _l("Important matter or leader's instruction late"),
    "buck_passing": _l("Passing the buck"),
    "abuse_of_office": _l("Abuse of office"),
    "chased_without_result": _l("Chased repeatedly without result"),
}
CENSURE_STATES = {"proposed": _l("Proposed"), "confirmed": _l("Confirmed"),
                  "dismissed": _l("Dismissed"), "withdrawn": _l("Withdrawn")}
IMPORTANCE = {"normal": _l("Normal"), "important": _l("Important matter"),
              "instruction": _l("Leader's instruction")}
VISIT_METHODS = {"phone": _l("By phone"), "in_person": _l("In person")}
VISIT_STATES = {"scheduled": _l("Scheduled"), "done": _l("Done"), "cancelled": _l("Cancelled")}
VISIT_OUTCOMES = {"solved": _l("Solved"), "partly_solved": _l("Partly solved"),
                  "came_back": _l("Come back (reopen for redo)")}
NOTICE_STATES = {"draft": _l("Draft, not yet published"), "published": _l("Published"), "withdrawn": _l("Withdrawn")}
# Where a directory import problem sits: the workbook's sheets and columns, as people say them.
SHEET_LABELS = {"leaders": _l("Sheet “leaders”"), "liaisons": _l("Sheet “liaisons”"),
                "units": _l("Sheet “units”"), "(file)": _l("The file")}
COLUMN_LABELS = {"name": _l("name"), "title": _l("title"), "phone": _l("phone"),
                 "email": _l("email"), "on_duty": _l("urgent alerts"), "is_head": _l("head"),
                 "reports_to_phone": _l("superior's phone"), "active": _l("in use"),
                 "work_unit": _l("work unit"), "address": _l("address"),
                 "leader_phone": _l("leader's phone"), "kind": _l("kind"),
                 "date": _l("date"), "file": _l("file")}
# The rates export's column headers, by the JSON key each column carries (intake.reports.exports).
RATE_COLUMNS = {
    "unit": _l("Unit"), "kind": _l("Kind of unit"), "received": _l("Cases received"),
    "completed": _l("Cases answered"), "completion_rate": _l("Completion rate"),
    "fed_back": _l("Cases fed back"), "feedback_rate": _l("Feedback rate"),
    "rated": _l("Cases rated"), "satisfied": _l("Rated satisfied"),
    "satisfaction_rate": _l("Satisfaction rate"),
    "transferred_due": _l("Transferred, due in the period"), "on_time": _l("Filed on time"),
    "participation_rate": _l("Participation rate"),
    "answered_on_time": _l("Cases answered on time"),
    "answered_on_time_rate": _l("Answered on time rate"),
    "fed_back_on_time": _l("Cases fed back on time"),
    "feedback_on_time_rate": _l("Fed back on time rate"),
    "average_working_days": _l("Avg. working days to answer"),
    "returns_in_row": _l("Returns in a row"), "dissatisfied_redos": _l("Redos after dissatisfaction"),
    "criticisms": _l("Criticisms"), "chases": _l("Chases"), "total": _l("Whole bureau"),
}
# Reasons the system writes itself (in the bureau's language, for the unit's SMS); a page reads
# them in its own language. Any other reason is what a person typed, shown as typed.
SYSTEM_REASONS = {text: _l("Liaison dissatisfied") for text in DISSATISFIED_REASON.values()}


def reason_text(reason: str | None) -> str:
    """Return a deadline change's reason for the page: the system's in its language."""
    return str(SYSTEM_REASONS.get(reason or "", reason or ""))
