"""What people read for each domain error code, in Mandarin (zh_CN catalogue) and English.

The domain's messages are for logs; pages, the JSON API and flashes translate `exc.code`
through this table. tests/test_error_codes.py finds every code raised in intake/ and checks
that it is here and translated.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from intake.cases.attachments import MAX_ATTACHMENT_MB
from intake.store.spreadsheets import MAX_WORKBOOK_MB

ERROR_MESSAGES = {
    "error": _l("That did not work."),
    "invalid_input": _l("Check the form: something in it cannot be accepted."),
    "invalid_transition": _l("This case or call is not in a state that allows that."),
    "conflict": _l("Someone else acted on this case or call first; it is shown as it now is."),
    "version_superseded": _l("A newer version was kept meanwhile; the list now shows it."),
    "not_found": _l("Not found."),
    "forbidden": _l("You may see this case but may not do that."),
    "configuration": _l("The service is not configured correctly."),
    "rows_rejected": _l("The file has rows that cannot be accepted; nothing was saved."),
    "sms_no_recipient": _l("This SMS has no recipient with a phone number to resend to."),
    # Cases
    "caller_name_required": _l("Enter the caller's name."),
    "summary_too_long": _l("Keep the summary under 200 characters."),
    "importance_invalid": _l("Mark the case normal, an important matter or a leader's instruction."),
    "channel_invalid": _l("Choose how the case came in: phone, in person or through the leader."),
    "content_required": _l("Write down what the liaison reported."),
    "version_invalid": _l("The version must be the whole number the entry showed."),
    "intake_incomplete": _l("Give the name, the work unit or address, the phone and the content, or mark each one you cannot get as unknown and say why."),
    "caller_unit_required": _l("Enter the work unit or address, or mark it unknown and say why."),
    "caller_phone_required": _l("Enter the phone number, or mark it unknown and say why."),
    "unknown_reason_required": _l("Say why this field is unknown."),
    "unknown_fields_invalid": _l("Only the name, the work unit or address, the phone and the content can be marked unknown, each with a reason."),
    "content_too_long": _l("The message is too long."),
    "phone_invalid": _l("That is not a valid phone number."),
    "time_without_offset": _l("Give the time with its time zone offset."),
    "liaison_unknown": _l("That liaison is not in the directory."),
    "route_reason_required": _l("Say why this case goes to another leader."),
    "no_leader_in_directory": _l("The directory has no leader to route the case to."),
    "leader_required": _l("Choose a leader: the caller is not a known liaison."),
    "note_required": _l("Describe how the matter was handled."),
    "note_too_long": _l("The note is too long."),
    "unit_unknown": _l("Choose a unit from the directory."),
    "facts_true_required": _l("Say whether the facts are true."),
    "result_incomplete": _l("The written result is incomplete: fill in every element."),
    "seal_required": _l("The result must carry the unit's official seal."),
    "no_pending_result": _l("No unit result is waiting for a verdict."),
    "return_category_invalid": _l("Choose why the result is returned: format, quality or dissatisfied."),
    "reason_required": _l("Give a reason."),
    "escalation_target_invalid": _l("Escalate to the bureau meeting or to the county."),
    "deadline_invalid": _l("Give the new deadline as a date and time."),
    "deadline_not_later": _l("The new deadline must be later than the one in force."),
    "extension_too_late": _l("The deadline in force, %(deadline)s, has passed: only the supervision office may set a new date now."),
    "no_extension": _l("The deadline in force is not an extension; there is nothing to overrule."),
    "feedback_method_invalid": _l("Choose how the liaison was told: phone, written, SMS or in person."),
    "rating_invalid": _l("Choose satisfied, basically satisfied or dissatisfied."),
    "attachment_empty": _l("The scan is empty."),
    "attachment_too_large": _l("The scan is larger than the limit of %(limit)s MB; nothing was stored.",
                               limit=MAX_ATTACHMENT_MB),
    "attachment_type_invalid": _l("The scan must be a PDF, JPEG or PNG file; nothing was stored."),
    "attachment_required": _l("Attach the scan of the signed and sealed result (PDF, JPEG or PNG)."),
    # Decisions of the bureau meeting or the county, and their implementation
    "decision_text_required": _l("Write down the decision."),
    "decided_at_invalid": _l("Give the date of the decision, today or earlier."),
    "decided_by_required": _l("Say who decided: the bureau meeting, the county or a person's name."),
    "implementation_unit_repeated": _l("Name each unit only once."),
    "implementation_deadline_invalid": _l("Give each unit a later day, or 1 to 60 working days."),
    "implementation_unknown": _l("That unit carries out no part of this case's decision."),
    "implementation_required": _l("Say which unit's result the verdict is for."),
    # The registers of criticism and accountability
    "facts_required": _l("State the facts the criticism or accountability rests on."),
    "censure_target_required": _l("Name the unit, the duty room (ground 5) or the person held to account."),
    "ground_invalid": _l("Choose one of this register's grounds."),
    "cases_invalid": _l("List the cases by their numbers."),
    "case_unknown": _l("There is no case with that number."),
    # Follow-up visits (回访)
    "visit_date_invalid": _l("Choose the day of the visit: today or later."),
    "visit_method_invalid": _l("Choose how the visit is made: by phone or in person."),
    "visitor_invalid": _l("Choose who goes: supervision office staff or the case's own leader (at most five)."),
    "visit_outcome_invalid": _l("Choose what the visit found: solved, partly solved or come back."),
    "visit_note_required": _l("Say what is left or what has come back."),
    # Notices to the public (公告)
    "notice_subject_required": _l("Give the notice a subject."),
    "notice_text_required": _l("Write what was reported, what was done and the result."),
    "notice_cases_required": _l("List the cases the notice speaks of."),
    "notice_case_open": _l("Only answered or closed cases can be published."),
    "notice_personal_data": _l("The notice names a person or a phone number from its cases; a public notice carries no personal data."),
    "outlet_required": _l("Name the outlet that published the notice."),
    "link_invalid": _l("The link must be an http(s) address."),
    # The case API
    "auth_required": _l("Sign in, or send an API token as Authorization: Bearer TOKEN."),
    "auth_invalid": _l("The API token is unknown, revoked, or belongs to a disabled account."),
    "csrf_invalid": _l("The request lacks this page's CSRF token (X-CSRFToken)."),
    "body_invalid": _l("Send the fields as a JSON object or a form."),
    "text_required": _l("This field must be text."),
    "integer_required": _l("This field must be a whole number."),
    "boolean_required": _l("This field must be true or false."),
    "time_invalid": _l("Give the time as ISO 8601, for example 2026-12-01T17:30:00+08:00."),
    "status_invalid": _l("That is not a case status."),
    "role_forbidden": _l("Your role may not do that."),
    "bad_request": _l("The request cannot be read."),
    "method_not_allowed": _l("This address does not take that method."),
    "body_too_large": _l("The request is larger than the limit."),
    "server_error": _l("Something went wrong on our side; nothing was saved."),
    # Caps and characters of every field (intake/cases/fields.py)
    "too_long": _l("This field is too long."),
    "invalid_characters": _l("This field contains control or text-direction characters that cannot be accepted."),
    "date_out_of_range": _l("The date must fall between the years 2000 and 2099."),
    # Directory and duty hours
    "name_required": _l("Enter a name."),
    "unit_name_taken": _l("A unit with that name already exists."),
    "liaison_phone_taken": _l("A liaison with that phone number is already in the directory."),
    "username_required": _l("Enter a username."),
    "username_taken": _l("That username is taken."),
    "password_too_short": _l("The password must be at least 8 characters."),
    "leader_account_needs_leader": _l("A leader account needs a leader in the directory with the same phone."),
    "unit_account_needs_unit": _l("A unit account needs a unit."),
    "cannot_disable_self": _l("You cannot disable your own account."),
    "weekday_invalid": _l("Choose a weekday."),
    "period_ends_before_start": _l("A duty period must end after it starts."),
    "clock_invalid": _l("Give the time of day as HH:MM, for example 08:30 (24:00 for midnight)."),
    "exception_hours_incomplete": _l("Give both the start and the end of the hours, or neither."),
    "exception_hours_need_staffed": _l("Hours can only be given for a staffed day."),
    "prompt_url_invalid": _l("The prompt audio must be an http(s) address Twilio can fetch."),
    "import_rejected": _l("The file has problems; nothing was imported."),
    "workbook_too_large": _l("The file is too large: at most %(limit)s MB, and not much more "
                             "once unpacked. Nothing was imported.", limit=MAX_WORKBOOK_MB),
    "too_many_rows": _l("The file has more rows than an import takes (blank rows count too). "
                        "Nothing was imported."),
    "file_unreadable": _l("The file cannot be read as a spreadsheet. Nothing was imported."),
    "field_unknown": _l("That field cannot be changed here."),
    "flag_invalid": _l("Write yes or no."),
    # Where a directory workbook is not laid out as the export writes it (RejectedRow codes)
    "sheet_unknown": _l("This sheet is not one of leaders, liaisons and units."),
    "sheet_missing": _l("This sheet is missing: the workbook needs leaders, liaisons and units."),
    "column_unknown": _l("This column is not one the sheet takes."),
    "column_repeated": _l("This column appears twice."),
    "column_missing": _l("This required column is missing."),
    "row_repeated": _l("An earlier row has the same key; each person or unit takes one row."),
    # Directory upkeep, contact duties and commendations
    "phone_taken": _l("Another liaison already has that phone number."),
    "name_missing": _l("Enter a name."),
    "name_taken": _l("That name is already in the directory."),
    "kind_unknown": _l("Choose a kind from the list."),
    "reporting_cycle": _l("A member cannot report to themselves, directly or through others."),
    "leader_inactive": _l("That leader is deactivated; choose an active one."),
    "leader_missing": _l("A leader account needs a leader in the directory."),
    "unit_missing": _l("A unit account needs a unit."),
    "liaison_not_members": _l("That liaison is not one of this member's liaisons."),
    "liaison_inactive": _l("That liaison is deactivated."),
    "date_in_future": _l("The date cannot be in the future."),
    "month_invalid": _l("Choose a month as YYYY-MM."),
    "commendation_target": _l("Choose either a member or a unit, not both."),
    "evidence_missing": _l("Say what proves the commendation (the letter, a photo, a link)."),
    "evidence_too_long": _l("The evidence text is too long."),
    "unknown_leader": _l("There is no active leader by that name."),
    "unknown_liaison": _l("There is no active liaison by that name."),
    "date_invalid": _l("Enter a date as YYYY-MM-DD."),
    # Reports
    "period_reversed": _l("The period ends before it starts."),
    "period_too_long": _l("Choose a period of at most five years."),
    "period_invalid": _l("Choose a month, a quarter or a year."),
    "year_invalid": _l("Give the year as four digits, from 2000 to 2100."),
    "group_invalid": _l("Group by unit or by kind of unit."),
    "figure_unknown": _l("There is no such figure in the report."),
}


def error_message(exc) -> str:
    """Return the translated text for a domain error, by its code."""
    code = getattr(exc, "code", "error")
    problems = getattr(exc, "problems", None)
    if problems:  # several fields refused at once (IntakeIncomplete): say each one
        return " ".join(str(ERROR_MESSAGES.get(field_code, ERROR_MESSAGES["error"]))
                        for field_code in problems.values())
    text = str(ERROR_MESSAGES.get(code, ERROR_MESSAGES["error"]))
    details = getattr(exc, "details", None)
    # An error that names something (the deadline it missed) fills it into its text.
    return text % details if details else text
