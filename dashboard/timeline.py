"""A case's history as sentences a person reads, and deadlines as time left, in the UI language.

The audit rows carry what a sentence needs (intake/lifecycle.py): `by` (a person's name),
and where it applies `unit`, `due`, `reason`, `note`, `category`, `method`, `satisfaction`.
The msgids are written out here so that `pybabel extract` sees them.

SEAM (merge with the API branch): intake/history.py there writes the same sentences for the
pages and the JSON API (`list_case_history(session, case, language, tz)`, entries with
`.at`, `.action`, `.text`, like HistoryLine). Once it is on main, views.render_case_page
should call it instead of `describe_events`, and SENTENCES here should go, so that the two
doors cannot word a case differently. `time_left` stays.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from dashboard import labels
from web.services import get_settings

SENTENCES = {
    "case.routed": _l("%(by)s routed the case to leader %(leader)s"),
    "case.acknowledged": _l("%(by)s acknowledged receipt"),
    "case.handling": _l("%(by)s is handling the case personally"),
    "case.transferred": _l("%(by)s transferred the case to %(unit)s, result due by %(due)s"),
    "case.result_filed": _l("%(by)s filed the written result of %(unit)s"),
    "case.result_accepted": _l("%(by)s accepted the result of %(unit)s"),
    "case.returned_for_redo": _l("%(by)s returned the result of %(unit)s for redo "
                                 "(%(category)s: %(reason)s), due again by %(due)s"),
    "unit.criticism_flagged": _l("%(unit)s flagged for a criticism notice after %(returns)s "
                                 "returns in a row"),
    "case.bureau_meeting": _l("%(by)s referred the case to the bureau meeting: %(reason)s"),
    "case.county": _l("%(by)s referred the case to the county committee and government: "
                      "%(reason)s"),
    "case.deadline_extended": _l("%(by)s extended the deadline to %(due)s: %(reason)s"),
    "case.overdue_supervised": _l("Overdue (due %(due)s): registered with the supervision office"),
    "case.answered": _l("%(by)s recorded the answer: %(note)s"),
    "case.fed_back": _l("%(by)s fed the answer back to the liaison (%(method)s)"),
    "case.closed": _l("%(by)s rated the answer: %(satisfaction)s; the case is closed"),
    "case.rated_dissatisfied": _l("%(by)s rated the answer: dissatisfied; the case goes back "
                                  "for redo"),
}


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    text: str
    action: str


def describe_events(events) -> list[HistoryLine]:
    """Turn a case's audit rows into sentences, oldest first; SMS bookkeeping is left out."""
    lines = []
    for event in events:
        if event.action.startswith("sms."):
            continue
        lines.append(HistoryLine(event.at, describe_event(event), event.action))
    return lines


def describe_event(event) -> str:
    """Write one audit row as a sentence."""
    details = dict(event.after or {})
    template = SENTENCES.get(event.action)
    if template is None:
        return f"{details.get('by') or event.actor} {event.action}"
    values = {key: "" for key in ("leader", "unit", "reason", "note", "returns")}
    values.update({key: value for key, value in details.items() if value is not None})
    values["by"] = details.get("by") or event.actor
    due = details.get("due")
    values["due"] = deadline_text(datetime.fromisoformat(due) if isinstance(due, str) else due)
    values["category"] = labels.label(labels.RETURN_CATEGORIES, details.get("category"))
    values["method"] = labels.label(labels.FEEDBACK_METHODS, details.get("method"))
    values["satisfaction"] = labels.label(labels.SATISFACTION, details.get("satisfaction"))
    return str(template) % values


def deadline_text(value: datetime | None) -> str:
    """Write a deadline in the bureau's time zone; midnight reads as 24:00 of the day before."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(get_settings().timezone))
    if (local.hour, local.minute) == (0, 0):
        # "Due the same day" is stored as the next midnight; people read it as that day, 24:00.
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def time_left(deadline: datetime | None, now: datetime) -> str:
    """Say how long is left until a deadline ("2 days 3 h left"), or how long it is overdue."""
    if deadline is None:
        return ""
    seconds = int((deadline - now).total_seconds())
    hours = abs(seconds) // 3600
    days, hours = divmod(hours, 24)
    if days:
        span = _("%(days)s d %(hours)s h", days=days, hours=hours)
    else:
        span = _("%(hours)s h %(minutes)s min", hours=hours, minutes=abs(seconds) % 3600 // 60)
    if seconds < 0:
        return _("overdue by %(span)s", span=span)
    return _("%(span)s left", span=span)
