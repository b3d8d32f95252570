"""The registers of criticism and accountability on the JSON API (design.md "Criticism,
accountability and decisions").

    GET  /api/v1/criticisms?status=proposed|confirmed|dismissed|withdrawn&unit=ID
    POST /api/v1/criticisms                      ground, facts, cases, unit_id | duty_room
                                                 (multipart: the notice's scan as `attachment`)
    POST /api/v1/criticisms/ID/confirm|dismiss|withdraw      reason
    … and the same under /api/v1/accountability (with `person`).

The routes hang on the case API's blueprint, so its authentication and its one error
envelope apply; each calls one function of intake.rules.censures, which checks the permission
table (the supervision office acts; admins read).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import jsonify, request

from dashboard.api import _body, _bool, _if_match, _int, _query, _text, _who, bp
from intake.cases.attachments import read_upload, record_censure_with_scan
from intake.rules import censures
from intake.rules.access import check
from intake.exceptions import ValidationError
from intake.statuses import CensureKind
from web.services import get_clock, get_db, get_settings

REGISTERS = {"criticisms": CensureKind.CRITICISM, "accountability": CensureKind.ACCOUNTABILITY}
DECISIONS = {"confirm": censures.confirm_censure, "dismiss": censures.dismiss_censure,
             "withdraw": censures.withdraw_censure}


def _kind(register: str) -> CensureKind:
    return REGISTERS[register]


def _json(censure):
    return censures.describe_censure(censure, ZoneInfo(get_settings().timezone))


@bp.get("/<any(criticisms, accountability):register>")
def list_register(register: str):
    """List a register's entries, newest first, by status and unit."""
    args = _query()
    rows = censures.list_censures(get_db(), _who(), _kind(register),
                                  status=args.get("status") or None,
                                  unit_id=_int(args, "unit", code="unit_unknown"))
    return jsonify({register: [_json(row) for row in rows], "count": len(rows)})


@bp.post("/<any(criticisms, accountability):register>")
def record_in_register(register: str):
    """Record a criticism or an accountability the supervision office has decided."""
    check(_who(), "censure", None)  # the role first: a refusal by role says so, not "bad input"
    body = _body()
    numbers = body.get("cases") if hasattr(body, "get") else None
    if numbers is None:
        numbers = []
    elif isinstance(numbers, str):  # a form: one number per line or comma-separated
        numbers = [n for n in numbers.replace(",", "\n").splitlines() if n.strip()]
    entry = censures.CensureEntry(
        ground=_text(body, "ground"), facts=_text(body, "facts"), case_numbers=numbers,
        unit_id=_int(body, "unit_id", code="unit_unknown"), duty_room=_bool(body, "duty_room"),
        person=_text(body, "person"))
    upload = request.files.get("attachment")
    # A form whose file input was left empty still sends the part, with no file name.
    scan = read_upload(upload.stream, upload.filename) if upload and upload.filename else None
    db = get_db()
    censure = record_censure_with_scan(db, _who(), _kind(register), entry, get_clock(), scan,
                                       get_settings().recordings_dir)
    db.commit()
    return jsonify(_json(censure)), 201


@bp.post("/<any(criticisms, accountability):register>/<int:censure_id>/"
         "<any(confirm, dismiss, withdraw):decision>")
def decide_in_register(register: str, censure_id: int, decision: str):
    """Confirm or dismiss a proposal, or withdraw a confirmed entry, with a reason."""
    db = get_db()
    censure = censures.get_censure(db, _who(), _kind(register), censure_id)
    check(_who(), "censure", None)
    body = _body()
    if not isinstance(body.get("reason", ""), str):
        raise ValidationError("reason must be text", field="reason", code="text_required")
    # Optional optimistic lock, as on cases: If-Match: "VERSION" (or `version` in the body).
    seen = _if_match()
    if seen is None:
        seen = _int(body, "version", code="version_invalid")
    DECISIONS[decision](db, _who(), censure, _text(body, "reason"), get_clock(),
                        seen_version=seen)
    db.commit()
    return jsonify(_json(censure))
