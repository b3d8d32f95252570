"""RQ jobs of the ivr side. They take ids, not objects, and let errors propagate to RQ."""
from __future__ import annotations

from intake.audit import WORKER
from intake.db import session_scope
from intake.notifications import deliver_notification, mark_notification_refused
from intake.runtime import get_runtime
from ivr.sms import PermanentSendError, make_notifier


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
