"""Refresh the README's screenshots: duty room, leader's phone, unit and supervision office.

    python scripts/screenshots.py [--out docs/screenshots]

Needs a Chinese font for Chromium (Debian: apt-get install fonts-wqy-microhei). Starts the
real app on a loopback port over a throwaway SQLite database with the demo
directory and a few calls, and photographs it with headless Chromium (Debian's chromium,
driven by Playwright; no browser download). No Redis or Twilio account is needed.
"""
from __future__ import annotations

import argparse
import math
import secrets
import struct
import sys
import wave
from datetime import timedelta
from pathlib import Path

from studio import ROOT, chromium, demo_server, sign_in

from tests.route_scene import seed_routes  # the same cases the browser census walks

SHOTS = ("inbox.png", "call.png", "leader-phone.png", "leader-feedback-sms.png", "unit-home.png",
         "unit-result.png", "supervision.png", "cases.png", "new-case.png", "case-history.png")
CALLS = [
    # (from, words with (text, start, end, confidence), urgent, minutes ago)
    ("+8613812345678", [("我", 0.3, 0.5, 0.95), ("是", 0.5, 0.7, 0.93), ("东门", 0.7, 1.1, 0.9),
                        ("社区", 1.1, 1.5, 0.92), ("的", 1.5, 1.6, 0.9), ("张伟", 1.6, 2.1, 0.88),
                        ("村", 2.4, 2.6, 0.9), ("卫生室", 2.6, 3.2, 0.86), ("这", 3.2, 3.4, 0.7),
                        ("几天", 3.4, 3.8, 0.9), ("没有", 3.8, 4.2, 0.91), ("降压药", 4.2, 4.9, 0.48),
                        ("老人", 5.2, 5.6, 0.9), ("要", 5.6, 5.8, 0.9), ("跑", 5.8, 6.0, 0.55),
                        ("到", 6.0, 6.1, 0.9), ("镇上", 6.1, 6.6, 0.9), ("去", 6.6, 6.8, 0.9),
                        ("拿", 6.8, 7.0, 0.9), ("药", 7.0, 7.3, 0.9)], False, 12),
    ("+8613712345678", [("县", 0.2, 0.4, 0.9), ("医院", 0.4, 0.8, 0.9), ("门口", 0.8, 1.2, 0.9),
                        ("救护车", 1.3, 2.0, 0.87), ("通道", 2.0, 2.4, 0.6), ("被", 2.4, 2.6, 0.9),
                        ("堵", 2.6, 2.9, 0.9), ("了", 2.9, 3.0, 0.9)], True, 3),
    ("+8613812340000", [("疫苗", 0.2, 0.7, 0.9), ("接种", 0.7, 1.2, 0.9), ("排队", 1.2, 1.7, 0.9),
                        ("太", 1.7, 1.9, 0.9), ("久", 1.9, 2.2, 0.9)], False, 47),
    ("+8615000001234", [("医保", 0.2, 0.7, 0.52), ("报销", 0.7, 1.2, 0.9), ("很", 1.2, 1.4, 0.9),
                        ("慢", 1.4, 1.8, 0.9)], False, 95),
]


def _silent_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        frames = b"".join(struct.pack("<h", int(300 * math.sin(i / 9))) for i in range(int(8000 * seconds)))
        w.writeframes(frames)
    return path


def _seed(session, audio_dir: Path) -> dict:
    from intake.store.audit import TWILIO, WORKER, Actor
    from intake.calls.voicemail import (attach_recording, attach_transcript, begin_transcription,
                                        mark_call_enqueued, mark_call_urgent, report_progress)
    from intake.cases.handling import Confirmation, confirm_and_route
    from intake.directory.demo import seed_demo
    from intake.store.models import Call, utcnow
    from intake.outbox.notifications import deliver_notification, record_delivery_status
    from messaging.sms import OutboxNotifier

    seed_demo(session)
    session.commit()
    ids = []
    for number, words, urgent, minutes in CALLS:
        sid = secrets.token_hex(8)
        outcome = attach_recording(
            session, call_sid=f"CA{sid}", recording_sid=f"RE{sid}",
            recording_url=f"https://api.twilio.com/Recordings/RE{sid}",
            duration_seconds=math.ceil(words[-1][2]), recording_status="completed",
            from_number=number, to_number="+8657112345", language="zh-CN", actor=TWILIO)
        call = outcome.call
        call.started_at = utcnow() - timedelta(minutes=minutes)
        if urgent:
            mark_call_urgent(session, call, "keypad", TWILIO)
        session.commit()  # mark_call_enqueued re-reads the row
        mark_call_enqueued(session, call, TWILIO)
        begin_transcription(session, call, WORKER)
        call.recording_path = str(_silent_wav(audio_dir / f"{sid}.wav", words[-1][2] + 0.5))
        attach_transcript(session, call, text=" ".join(w for w, *_ in words),
                          words=[{"word": w, "start": s, "end": e, "conf": c}
                                 for w, s, e, c in words],
                          model_name="vosk-model-small-cn-0.22", model_version="0.22",
                          extracted=None, actor=WORKER)
        session.commit()
        ids.append(call.id)
    # One call still transcribing, one already confirmed with an SMS that did not arrive.
    sid = secrets.token_hex(8)
    busy = attach_recording(session, call_sid=f"CA{sid}", recording_sid=f"RE{sid}",
                            recording_url="https://api.twilio.com/r", duration_seconds=34,
                            recording_status="completed", from_number="+8613900001111",
                            to_number="+8657112345", language="zh-CN", actor=TWILIO).call
    busy.started_at = utcnow() - timedelta(minutes=1)
    session.commit()
    mark_call_enqueued(session, busy, TWILIO)
    begin_transcription(session, busy, WORKER)
    report_progress(busy, 0.4)
    session.commit()
    duty = Actor("user:duty")
    case, notification = confirm_and_route(
        session, ids[2], Confirmation(caller_name="刘芳", caller_unit="南山乡卫生院",
                                      liaison_id=session.get(Call, ids[2]).liaison_id,
                                      summary="疫苗接种排队时间太长"),
        duty, lambda c: f"https://dutyline.example.gov.cn/cases/{c.id}", "zh-CN")
    session.commit()

    class Failing(OutboxNotifier):
        def send_sms(self, to, body, status_callback):
            from intake.outbox.notifications import SendReceipt
            from intake.statuses import NotificationStatus
            return SendReceipt(sid="SM" + secrets.token_hex(16), status=NotificationStatus.SENT)

    deliver_notification(session, notification.id, Failing(), None, TWILIO)
    record_delivery_status(session, notification.twilio_sid, "undelivered", "30003", TWILIO)
    session.commit()
    second, _ = confirm_and_route(
        session, ids[3], Confirmation(caller_name="王大妈", caller_phone="15000001234", leader_id=1,
                                      summary="医保报销太慢，希望加快办理"),
        duty, lambda c: f"https://dutyline.example.gov.cn/cases/{c.id}", "zh-CN")
    session.commit()
    return {"call": ids[0], "case": second.id, **seed_routes(session)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with demo_server(_seed) as (base, ids):
        _photograph(base, ids, out)
    for name in SHOTS:
        print(out / name)
    return 0


def _photograph(base: str, ids: dict, out: Path) -> None:
    with chromium() as browser:
        desk = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        sign_in(desk, base, "duty")
        desk.goto(base + "/inbox")
        desk.screenshot(path=str(out / "inbox.png"))
        desk.goto(f"{base}/calls/{ids['call']}")
        desk.wait_for_function("() => document.getElementById('sms-count').dataset.segments > 0")
        desk.evaluate("() => { const p = document.getElementById('player'); p.currentTime = 4.3; }")
        desk.wait_for_selector("#transcript .word.current")
        desk.screenshot(path=str(out / "call.png"))
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                    has_touch=True, device_scale_factor=2,
                                    locale="zh-CN").new_page()
        sign_in(phone, base, "wang")
        phone.goto(f"{base}/cases/{ids['case']}")
        phone.screenshot(path=str(out / "leader-phone.png"))
        phone.goto(f"{base}/cases/{ids['answered']}/feedback/preview?note="
                   "自12月起周六上午开放接种，可到乡卫生院预约。")
        phone.screenshot(path=str(out / "leader-feedback-sms.png"))
        unit = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True, device_scale_factor=2,
                                   locale="zh-CN").new_page()
        sign_in(unit, base, "chengguan")
        unit.screenshot(path=str(out / "unit-home.png"))
        unit.goto(f"{base}/cases/{ids['waiting']}")
        unit.locator("#result-form").scroll_into_view_if_needed()
        unit.screenshot(path=str(out / "unit-result.png"), full_page=True)
        office = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        sign_in(office, base, "duban")
        office.screenshot(path=str(out / "supervision.png"), full_page=True)
        desk.goto(f"{base}/cases")
        desk.screenshot(path=str(out / "cases.png"))
        desk.goto(f"{base}/cases/new")
        desk.screenshot(path=str(out / "new-case.png"))
        desk.goto(f"{base}/cases/{ids['closed']}")
        desk.screenshot(path=str(out / "case-history.png"), full_page=True)


if __name__ == "__main__":
    sys.exit(main())
