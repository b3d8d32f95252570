"""Every exception the domain raises. Each carries a stable `code` (and `field` when it is about
one input field); the dashboard, the JSON API and SMS replies translate the code, never the field.

    DutylineError                    code
     ├── InvalidTransition           invalid_transition   a move the transition map does not allow
     │    ├── Conflict               conflict             someone else acted on the case first (one winner)
     │    │    └── VersionSuperseded version_superseded  a newer version of a kept bulletin exists
     │    └── ExtensionTooLate       extension_too_late   more time asked after the deadline in force; .details names it
     ├── NotFound                    not_found            does not exist, or the actor may not see it
     ├── Forbidden                   forbidden            the actor may see it but may not do that
     ├── ValidationError             (given per raise)    input that cannot be accepted; .field names it
     │    ├── RowsRejected           rows_rejected        a file import refused, none saved; .rows names each
     │    └── IntakeIncomplete       intake_incomplete    an intake field neither given nor marked unknown
     │                                                    with a reason; .details["fields"] names each
     │                               import_rejected      the same, raised by the directory workbook
     └── ConfigurationError          configuration        a setting that makes the service unable to start

The English message passed to the constructor is for logs; people see the text catalogued
for the code (dashboard/errors.py).
"""

from dataclasses import dataclass


class DutylineError(Exception):
    """Base class of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.field = field


class InvalidTransition(DutylineError):
    """Raised when a status change is not in the transition map."""

    code = "invalid_transition"

    def __init__(self, entity: str, current: str, target: str):
        super().__init__(f"{entity} cannot move from {current} to {target}")
        self.entity = entity
        self.current = current
        self.target = target


class Conflict(InvalidTransition):
    """Raised when the case changed after the actor read it: someone else acted first.

    A kind of refused move (409 wherever InvalidTransition is), so every door that already
    refuses a move refuses this one too; the doors that can say more (the case page, an SMS
    reply) tell the loser that someone else acted and show the case as it now is.
    """

    code = "conflict"

    def __init__(self, entity: str, entity_id: int | None, seen: object):
        DutylineError.__init__(self, f"{entity} {entity_id} changed since it was read "
                                     f"(seen {seen}); someone else acted first")
        self.entity = entity
        self.entity_id = entity_id
        self.seen = seen
        self.current = None
        self.target = None
class VersionSuperseded(Conflict):
    """Raised when a kept document (a bulletin) has a newer version than the one the actor saw:
    someone else rebuilt it first, and a rebuild is only ever of the latest."""

    code = "version_superseded"


class ExtensionTooLate(InvalidTransition):
    """Raised when a leader or unit asks for more time after the deadline in force has passed.

    The rules want a case that cannot finish in time explained before its deadline; after it,
    only the supervision office sets a new date. A refusal of the case's state (409), not of
    the input, so it is an InvalidTransition. `details["deadline"]` is the deadline missed.
    """

    code = "extension_too_late"

    def __init__(self, deadline: str):
        super().__init__("Case", "overdue", "extended")
        self.args = (f"the deadline in force ({deadline}) has passed; only the supervision "
                     "office may set a new date",)
        self.field = "deadline"
        self.details = {"deadline": deadline}


class NotFound(DutylineError):
    """Raised when a record does not exist or is not visible to the actor."""

    code = "not_found"


class Forbidden(DutylineError):
    """Raised when the actor may see a record but may not take that action on it."""

    code = "forbidden"


class ValidationError(DutylineError):
    """Raised when a person's input cannot be accepted; nothing is saved."""

    code = "invalid_input"

    def __init__(self, message: str, field: str | None = None, *, code: str | None = None):
        super().__init__(message, code=code, field=field)


class ConfigurationError(DutylineError):
    """Raised when settings make it impossible to start."""

    code = "configuration"


@dataclass(frozen=True)
class RejectedRow:
    """One reason a file import was refused: where in the file, and what is wrong there."""

    sheet: str | None  # the workbook's sheet; None for a one-sheet file (the calendar)
    row: int | None  # the file's row number (header = 1); None for the file or sheet as a whole
    column: str | None
    code: str | None  # the key the pages translate the problem by
    message: str

    @property
    def where(self) -> str:
        """Name the sheet, row and column, as far as they are known."""
        return " ".join(part for part in (self.sheet, self.row and f"row {self.row}",
                                          self.column and f"column {self.column}") if part)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class RowsRejected(ValidationError):
    """Raised when an imported file has bad rows, sheets or columns; .rows names each; none saved.

    The calendar import and the directory workbook both raise it; the message for logs joins
    the rows unless the raiser gives a summary.
    """

    code = "rows_rejected"

    def __init__(self, rows: list[RejectedRow], message: str | None = None, *,
                 field: str = "rows", code: str | None = None):
        super().__init__(message or "; ".join(str(row) for row in rows), field=field, code=code)
        self.rows = rows


class IntakeIncomplete(ValidationError):
    """Raised when a case is taken down without a field 一.4 asks for and without saying why.

    `field` is the first such field; `details["fields"]` maps every one to its own code
    (`caller_unit_required`, `unknown_reason_required`, …), so a client can mark them all.
    """

    code = "intake_incomplete"

    def __init__(self, problems: dict[str, str]):
        super().__init__("give each intake field or mark it unknown with a reason: "
                         + ", ".join(f"{field} ({code})" for field, code in problems.items()),
                         field=next(iter(problems)))
        self.problems = dict(problems)
        self.details = {"fields": dict(problems)}
