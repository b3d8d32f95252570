"""Every exception the domain raises.

    DutylineError
     ├── InvalidTransition      a status change the transition map does not allow
     ├── NotFound               an id that does not exist (or that the actor may not see)
     ├── ValidationError        input a person typed that cannot be accepted; .field names it
     │    └── ImportRejected    a directory file with bad sheets, columns or rows; .problems
     └── ConfigurationError     a setting that makes the service unable to start
"""


class DutylineError(Exception):
    """Base class of every error the domain raises on purpose."""


class InvalidTransition(DutylineError):
    """Raised when a status change is not in the transition map."""

    def __init__(self, entity: str, current: str, target: str):
        super().__init__(f"{entity} cannot move from {current} to {target}")
        self.entity = entity
        self.current = current
        self.target = target


class NotFound(DutylineError):
    """Raised when a record does not exist or is not visible to the actor."""


class ValidationError(DutylineError):
    """Raised when a person's input cannot be accepted; nothing is saved."""

    def __init__(self, message: str, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.field = field
        self.code = code  # stable, for the API envelope and translated page messages


class ConfigurationError(DutylineError):
    """Raised when settings make it impossible to start."""


class ImportRejected(ValidationError):
    """Raised when a directory file has a wrong sheet, a missing column or bad rows; nothing is saved.

    .problems lists every one, each naming its sheet, row and column.
    """

    def __init__(self, problems: list):
        super().__init__(f"{len(problems)} problem(s) in the file; nothing was imported",
                         field="file", code="import_rejected")
        self.problems = problems
