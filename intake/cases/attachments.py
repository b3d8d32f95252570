"""Scans of units' written results and of criticisms: checked by content, size-limited, kept
beside the recordings.

A unit uploads the signed and sealed result (PDF, JPEG or PNG) with its written result, on the
page or as the API's multipart `attachment`. The type is found from the file's first bytes,
never from its name or the browser's Content-Type; a refused file is never written. A stored
scan is named by a random id under RECORDINGS_DIR/attachments, and is served only to those who
may see its case (`open_attachment` raises NotFound otherwise, like any case the caller may
not see).

    scan = read_upload(file.stream, file.filename)          # ValidationError: type or size
    file_result(db, who, case, form, clock, scan=scan, recordings_dir=settings.recordings_dir)
    attachment, path = open_attachment(db, who, case, attachment_id, settings.recordings_dir)
    content_type, download_name = served_as(attachment, path)    # scan-<id>.pdf

The supervision office may attach the signed notice to a criticism (or an accountability) when
it records one (`record_censure_with_scan`); that scan has no case, is listed with the censure
and is served only to those who may read the registers (`open_censure_scan`).
"""
from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from intake.rules.access import check
from intake.rules.censures import CensureEntry, record_censure
from intake.store.audit import record_event
from intake.clock import Clock
from intake.exceptions import NotFound, ValidationError
from intake.rules.lifecycle import note_event
from intake.statuses import CensureKind
from intake.store.models import Case, Censure, ResultAttachment, UnitResult

MAX_ATTACHMENT_MB = 10
MAX_ATTACHMENT_BYTES = MAX_ATTACHMENT_MB * 1024 * 1024
ATTACHMENTS_FOLDER = "attachments"
FILENAME_MAX_CHARS = 200

# Leading bytes -> (content type, file extension). Only what a scanner or a phone produces.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


@dataclass(frozen=True)
class Upload:
    """An uploaded scan that passed the checks: its bytes, claimed name and detected type."""

    filename: str
    data: bytes
    content_type: str
    extension: str

    @property
    def size(self) -> int:
        return len(self.data)


def read_upload(stream: BinaryIO, filename: str | None,
                max_bytes: int = MAX_ATTACHMENT_BYTES) -> Upload:
    """Read an uploaded scan and check its size and its type (by content).

    Reads at most one byte past the limit, so an oversized upload is not held in memory.

    Raises:
        ValidationError: field "attachment"; code attachment_empty, attachment_too_large
            (the message states the limit) or attachment_type_invalid.
    """
    data = stream.read(max_bytes + 1)
    if not data:
        raise ValidationError("the scan is empty", field="attachment", code="attachment_empty")
    if len(data) > max_bytes:
        limit_mb = max_bytes // (1024 * 1024)
        raise ValidationError(f"the scan is larger than the limit of {limit_mb} MB",
                              field="attachment", code="attachment_too_large")
    for magic, content_type, extension in SIGNATURES:
        if data.startswith(magic):
            return Upload(_clean_filename(filename, extension), data, content_type, extension)
    raise ValidationError("the scan must be a PDF, JPEG or PNG file", field="attachment",
                          code="attachment_type_invalid")


def attachments_dir(recordings_dir: Path) -> Path:
    """Return the folder the scans are kept in, beside the recordings."""
    return Path(recordings_dir) / ATTACHMENTS_FOLDER


def store_attachment(session: Session, principal, case: Case, result: UnitResult | None,
                     upload: Upload, recordings_dir: Path, clock: Clock) -> ResultAttachment:
    """Write a checked scan to disk and record it on the case (and its result); audit it.

    Called by intake.cases.transfers.file_result after every check has passed, so a refused
    result leaves no file behind.
    """
    stored_name = _write_scan(upload, recordings_dir)
    attachment = ResultAttachment(
        case=case, case_id=case.id, result_id=result.id if result is not None else None,
        filename=upload.filename, content_type=upload.content_type, size=upload.size,
        sha256=hashlib.sha256(upload.data).hexdigest(), stored_name=stored_name,
        uploaded_at=clock.now(), uploaded_by=principal.label)
    session.add(attachment)
    session.flush()
    note_event(session, case, principal, "case.attachment_added", filename=upload.filename,
               attachment_id=attachment.id, size=upload.size)
    return attachment


def _write_scan(upload: Upload, recordings_dir: Path) -> str:
    """Write a checked scan under a random name; return that name."""
    folder = attachments_dir(recordings_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{uuid.uuid4().hex}.{upload.extension}"
    partial = folder / f".{stored_name}.part"
    # Write then rename, so a reader never finds half a file under the final name.
    with open(partial, "wb") as handle:
        handle.write(upload.data)
    os.replace(partial, folder / stored_name)
    return stored_name


def record_censure_with_scan(session: Session, who, kind: CensureKind, entry: CensureEntry,
                             clock: Clock, scan: Upload | None = None,
                             recordings_dir: Path | None = None) -> Censure:
    """Record a censure the office decided (intake.rules.censures.record_censure) with its scan.

    The scan is written only after every check of the entry has passed, so a refused entry
    leaves no file behind; its audit row is on the censure.
    """
    censure = record_censure(session, who, kind, entry, clock)
    if scan is None:
        return censure
    principal = check(who, "censure", None)
    attachment = ResultAttachment(
        case_id=None, result_id=None, filename=scan.filename,
        content_type=scan.content_type, size=scan.size,
        sha256=hashlib.sha256(scan.data).hexdigest(),
        stored_name=_write_scan(scan, recordings_dir), uploaded_at=clock.now(),
        uploaded_by=principal.label)
    censure.scans.append(attachment)  # sets censure_id at the flush
    session.flush()
    record_event(session, principal.actor, f"{kind.value}.scan_added", censure,
                 after={"by": principal.name, "filename": scan.filename,
                        "attachment_id": attachment.id, "size": scan.size})
    return censure


def open_censure_scan(session: Session, who, censure_id: int, attachment_id: int,
                      recordings_dir: Path) -> tuple[ResultAttachment, Path]:
    """Return a censure's scan and its file, for someone who may read the registers.

    Raises:
        Forbidden: they may not read the registers.
        NotFound: no such censure or scan on it (or the file is gone).
    """
    check(who, "read_censures", None)
    attachment = session.get(ResultAttachment, attachment_id)
    if attachment is None or attachment.censure_id is None or attachment.censure_id != censure_id:
        raise NotFound(f"scan {attachment_id}")
    path = attachments_dir(recordings_dir) / attachment.stored_name
    if not path.is_file():
        raise NotFound(f"scan {attachment_id} file")
    return attachment, path


def open_attachment(session: Session, who, case: Case, attachment_id: int,
                    recordings_dir: Path) -> tuple[ResultAttachment, Path]:
    """Return a case's scan and its file, for someone who may see the case.

    Raises:
        NotFound: they may not see the case, or it has no such scan (or the file is gone).
    """
    check(who, "view", case)
    attachment = session.get(ResultAttachment, attachment_id)
    if attachment is None or attachment.case_id != case.id:
        raise NotFound(f"attachment {attachment_id}")
    path = attachments_dir(recordings_dir) / attachment.stored_name
    if not path.is_file():
        raise NotFound(f"attachment {attachment_id} file")
    return attachment, path


def served_as(attachment: ResultAttachment, path: Path) -> tuple[str, str]:
    """Return the Content-Type and download name of a stored scan, both read from its bytes.

    The uploaded name is only shown on the page: a polyglot uploaded as poly.html must not
    come back as a file a browser or the desktop opens as HTML. The download is named
    scan-<id>.<extension of the type its first bytes declare>.
    """
    with open(path, "rb") as handle:
        head = handle.read(16)
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, f"scan-{attachment.id}.{extension}"
    # Not what read_upload stores; never let a browser guess what it is.
    return "application/octet-stream", f"scan-{attachment.id}.bin"


def describe_attachment(attachment: ResultAttachment) -> dict:
    """Return a scan as a plain record (for the case JSON and the pages)."""
    return {"id": attachment.id, "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size,
            "sha256": attachment.sha256, "result_id": attachment.result_id,
            "uploaded_at": attachment.uploaded_at.isoformat() if attachment.uploaded_at else None}


def _clean_filename(filename: str | None, extension: str) -> str:
    # Only a display and download name: keep its last path part, drop control characters.
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    name = name.strip(" .")[:FILENAME_MAX_CHARS]
    return name or f"scan.{extension}"


__all__ = ["Upload", "read_upload", "store_attachment", "open_attachment", "attachments_dir",
           "record_censure_with_scan", "open_censure_scan",
           "served_as", "describe_attachment", "MAX_ATTACHMENT_BYTES", "MAX_ATTACHMENT_MB", "SIGNATURES"]
