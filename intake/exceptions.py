"""Every exception the domain raises.

    DutylineError
     ├── InvalidTransition      a status change the transition map does not allow
     ├── NotFound               an id that does not exist (or that the actor may not see)
     ├── ValidationError        input a person typed that cannot be accepted; .field names it
     │    └── RowsRejected      a file import with bad rows; .rows names every one
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

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ConfigurationError(DutylineError):
    """Raised when settings make it impossible to start."""


class RowsRejected(ValidationError):
    """Raised when an imported file has bad rows; .rows lists (line, field, message), none saved."""

    def __init__(self, rows: list[tuple[int | None, str | None, str]]):
        super().__init__("; ".join(f"row {line}: {message}" if line else message
                                   for line, _field, message in rows), field="rows")
        self.rows = rows
