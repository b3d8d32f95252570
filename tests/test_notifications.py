"""SMS composition, segment counting and delivery states (intake.outbox.notifications)."""
from __future__ import annotations

import pytest

from intake.store.audit import TWILIO, Actor
from intake.cases.handling import Confirmation, confirm_and_route
from intake.outbox.notifications import (compose_routed_text, count_segments, deliver_notification,
                                         list_failed_notifications, preview_case_sms,
                                         record_delivery_status, resend_notification, SendReceipt)
from intake.statuses import NotificationStatus
from tests.dashboard_support import make_call


class RecordingNotifier:
    """A Notifier (intake's own interface) that keeps what it was asked to send."""

    def __init__(self):
        self.sent = []

    def send_sms(self, to, body, status_callback):
        self.sent.append((to, body, status_callback))
        return SendReceipt(sid=f"SM{len(self.sent):032d}", status=NotificationStatus.QUEUED)


@pytest.mark.parametrize("text, segments", [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("字" * 70, 1), ("字" * 71, 2), ("字" * 134, 2), ("字" * 135, 3),
    ("a" * 69 + "字", 1), ("a" * 70 + "字", 2),  # one Chinese character makes it all UCS-2
])
def test_segments_follow_gsm7_and_ucs2_limits(text, segments):
    assert count_segments(text) == segments


def test_the_routed_sms_is_short_and_ellipsises_a_long_summary():
    body = compose_routed_text("2026-000012", "张伟", "", "一" * 30, "https://x/cases/12", "zh-CN")
    assert "一" * 20 + "…" in body and "一" * 21 not in body
    preview = preview_case_sms("张伟", "东门社区", "药店没有药", "https://x", "zh-CN", "2026-000013")
    assert "2026-000013" in preview["body"]
    assert preview["chars"] == len(preview["body"])
    assert preview["segments"] == count_segments(preview["body"])


def _routed(demo):
    call = make_call(demo)
    _, notification = confirm_and_route(demo, call.id, Confirmation(
        caller_name="张伟", liaison_id=call.liaison_id), Actor("test"),
        lambda c: f"https://x/cases/{c.id}", "zh-CN")
    demo.commit()
    return notification


def test_delivery_states_never_move_back(demo):
    notification = _routed(demo)
    notifier = RecordingNotifier()
    deliver_notification(demo, notification.id, notifier, "https://x/sms/status", TWILIO)
    deliver_notification(demo, notification.id, notifier, "https://x/sms/status", TWILIO)
    assert len(notifier.sent) == 1  # a repeated job does not send twice
    sid = notification.twilio_sid
    for state in ("delivered", "sent", "queued"):
        record_delivery_status(demo, sid, state, None, TWILIO)
    assert notification.status == NotificationStatus.DELIVERED
    assert record_delivery_status(demo, "SM-unknown", "delivered", None, TWILIO) is None


def test_a_failure_after_sent_is_kept_with_its_code_and_resend_clears_the_alert(demo):
    notification = _routed(demo)
    deliver_notification(demo, notification.id, RecordingNotifier(), None, TWILIO)
    record_delivery_status(demo, notification.twilio_sid, "sent", None, TWILIO)
    record_delivery_status(demo, notification.twilio_sid, "undelivered", "30003", TWILIO)
    demo.commit()
    assert notification.status == NotificationStatus.UNDELIVERED
    assert notification.error_code == "30003"
    assert list_failed_notifications(demo) == [notification]
    copy = resend_notification(demo, notification, Actor("user:duty"))
    demo.commit()
    assert copy.status == NotificationStatus.PENDING and copy.body == notification.body
    assert notification.resent_as_id == copy.id
    assert list_failed_notifications(demo) == []
