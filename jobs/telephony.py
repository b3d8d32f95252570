"""RQ jobs that call Twilio's REST API: send an SMS, delete a recording. They take ids."""
from __future__ import annotations

import logging
import os

from twilio.base.exceptions import TwilioRestException

from intake.store.audit import WORKER
from intake.calls.voicemail import get_call, mark_twilio_recording_deleted
from intake.store.database import session_scope
from intake.outbox.notifications import deliver_notification, mark_notification_refused
from intake.store.runtime import get_runtime
from messaging.sms import PermanentSendError, make_notifier, make_twilio_client

log = logging.getLogger(__name__)


def send_notification(notification_id: int) -> str:
    """Send one pending SMS; transient Twilio errors raise so RQ retries with backoff."""
    runtime = get_runtime()
    settings = runtime.settings
    callback = f"{settings.public_base_url}/sms/status" if settings.public_base_url else None
    with session_scope(runtime.session_factory) as session:
        try:
            notification = deliver_notification(session, notification_id,
                                                make_notifier(settings), callback, WORKER)
        except PermanentSendError as exc:
            notification = mark_notification_refused(session, notification_id,
                                                     str(exc.code or ""), str(exc), WORKER)
        return notification.status.value


def delete_twilio_recording(call_id: int) -> str:
    """Delete Twilio's copy of a recording once the worker has verified the local copy.

    The transcription job enqueues this only after checking the file's header
    (transcription.audio.is_readable_audio); here the size on disk is checked again
    against the size downloaded, so a file that went missing since is never the last copy.
    """
    runtime = get_runtime()
    settings = runtime.settings
    with session_scope(runtime.session_factory) as session:
        call = get_call(session, call_id)
        if call.twilio_deleted_at is not None:
            return "already deleted"
        if not settings.delete_twilio_recordings or not settings.has_twilio_account:
            return "deletion disabled"
        if not call.recording_sid or not _local_copy_intact(call.recording_path,
                                                            call.recording_bytes):
            log.warning("kept Twilio recording %s of call %s: no intact local copy",
                        call.recording_sid, call_id)
            return "kept: no intact local copy"
        try:
            make_twilio_client(settings).recordings(call.recording_sid).delete()
        except TwilioRestException as exc:
            if exc.status != 404:
                raise  # transient or unexpected: RQ retries with backoff
        mark_twilio_recording_deleted(session, call, WORKER)
        return "deleted"


def _local_copy_intact(path: str | None, expected_bytes: int | None) -> bool:
    if not path or not expected_bytes:
        return False
    try:
        return os.path.getsize(path) == expected_bytes
    except OSError:
        return False
