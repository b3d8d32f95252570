"""A case's history in words (issue 9 item 7): every case action becomes a sentence a person
reads, in Mandarin and in English, with deadlines in the bureau's time zone."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from intake.cases.attachments import read_upload
from intake.cases.handling import acknowledge_case, answer_case, handle_case
from intake.clock import FixedClock
from intake.cases.feedback import rate_case, record_feedback
from intake.cases.history import describe_event, list_case_history
from intake.cases.supervision import escalate_case, extend_deadline, supervise_overdue_cases
from intake.cases.transfers import accept_result, file_result, return_result, transfer_case
from tests.case_support import (CALENDAR, PDF, SMS, TUESDAY, TZ, add_people, result_form,
                                route_case)


@pytest.fixture
def clock():
    return FixedClock(TUESDAY, TZ)


def _texts(demo, case, language="zh-CN"):
    demo.expire_all()
    return [entry.text for entry in list_case_history(demo, case, language)]


def test_unit_route_reads_as_sentences_in_both_languages(demo, clock, tmp_path):
    people = add_people(demo)
    case = route_case(demo, clock)
    acknowledge_case(demo, people["wang"], case, clock, via="sms")
    transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                  CALENDAR, SMS)
    file_result(demo, people["cg"], case, result_form(), clock.advance(hours=1),
                scan=read_upload(io.BytesIO(PDF), "盖章.pdf"), recordings_dir=tmp_path)
    return_result(demo, people["sup"], case, "format", "缺少签名页", clock, CALENDAR, SMS)
    file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
    accept_result(demo, people["sup"], case, clock)
    record_feedback(demo, people["wang"], case, "phone", "", clock, SMS)
    rate_case(demo, people["duty"], case, "basically_satisfied", clock, CALENDAR, SMS)
    demo.commit()

    assert _texts(demo, case) == [
        "值班员小周 登记留言，交 王建国 办理",
        "王建国 短信确认已收到",
        # Transferred Tuesday 29 September: 1–7 October are holidays, so due 9 October.
        "王建国 转交 城关镇卫生院，限 10月9日 17:30 前反馈",
        "城关镇卫生院办事员 代表 城关镇卫生院 报送书面办理结果",
        "城关镇卫生院办事员 上传盖章扫描件 盖章.pdf",
        "督办员 退回 城关镇卫生院 重办（格式不全：缺少签名页），限 10月9日 17:30 前反馈",
        "城关镇卫生院办事员 代表 城关镇卫生院 报送书面办理结果",
        "督办员 审核通过 城关镇卫生院 的办理结果",
        "王建国 已向联络员反馈（电话）",
        "值班员小周 评价「基本满意」，案件办结",
    ]
    english = _texts(demo, case, "en_US")
    assert english[2] == ("王建国 transferred the case to 城关镇卫生院, result due 9 Oct 17:30")
    assert english[5].startswith("督办员 returned the result to 城关镇卫生院 for redo "
                                 "(incomplete format: 缺少签名页)")
    assert english[-1] == "值班员小周 rated the answer \"basically satisfied\"; the case is closed"
    assert not any("case." in text for text in _texts(demo, case) + english)


def test_direct_handling_escalation_and_overdue_read_as_sentences(demo, clock):
    people = add_people(demo)
    direct = route_case(demo, clock)
    handle_case(demo, people["wang"], direct, "已电话联系药店补货", clock, CALENDAR)
    extend_deadline(demo, people["sup"], direct,
                    datetime(2026, 9, 30, 9, 0, tzinfo=timezone.utc), "等待药品配送", clock)
    answer_case(demo, people["wang"], direct, "药店已补货", clock)
    record_feedback(demo, people["wang"], direct, "sms", "已补货，请前往购买", clock, SMS)
    rate_case(demo, people["wang"], direct, "dissatisfied", clock, CALENDAR, SMS)

    meeting = route_case(demo, clock, "+8613812340000")
    escalate_case(demo, people["wang"], meeting, "bureau_meeting", "涉及多个乡镇", clock)
    escalate_case(demo, people["wang"], meeting, "county", "需县政府协调", clock)

    late = route_case(demo, clock, "+8613712345678")
    supervise_overdue_cases(demo, FixedClock(TUESDAY, TZ).advance(days=1))
    demo.commit()

    assert _texts(demo, direct)[1:] == [
        "王建国 直接办理，当日办结：已电话联系药店补货",
        "督办员 延期至 9月30日 17:00：等待药品配送",
        "王建国 答复：药店已补货",
        "王建国 已向联络员反馈（短信）",
        "王建国 评价「不满意」，退回联线领导重办",
        # Back with the leader, due the same day again: the sweep a day later finds it late.
        "逾期未办结（期限 9月29日 24:00），转督办室督办",
    ]
    assert _texts(demo, meeting)[1:] == [
        "王建国 提交局务会议研究：涉及多个乡镇，列入督办",
        "王建国 上报县委、县政府：需县政府协调，列入督办",
    ]
    assert _texts(demo, late)[-1] == "逾期未办结（期限 9月29日 24:00），转督办室督办"
    assert _texts(demo, direct, "en-US")[-2] == (
        "王建国 rated the answer \"dissatisfied\"; back to the leader for redo")


def test_unknown_actions_and_system_actors_still_read():
    assert describe_event("case.something_new", "系统", {}) == "系统 case.something_new"
    assert describe_event("case.acknowledged", "Wang", {"via": "sms"}, "en-US") == (
        "Wang acknowledged the case by SMS")


def test_every_case_action_written_in_intake_has_a_sentence_in_both_languages():
    import re
    from pathlib import Path

    from intake.cases.history import SENTENCES

    root = Path(__file__).resolve().parent.parent / "intake"
    written = set()
    for path in root.rglob("*.py"):
        written |= set(re.findall(r'"((?:case|unit)\.[a-z_]+)"', path.read_text()))
    written -= {"unit.created", "unit.updated"}  # directory entries, not case events
    assert len(written) >= 15
    for language in ("zh-CN", "en-US"):
        assert written - set(SENTENCES[language]) == set(), language


# ---------------------------------------------------------------- text slips (issue 19 item 13)
def test_a_reason_ending_in_a_full_stop_reads_without_double_punctuation(demo, clock):
    people = add_people(demo)
    case = route_case(demo, clock)
    escalate_case(demo, people["wang"], case, "bureau_meeting", "需集体研究。", clock)
    demo.commit()
    assert _texts(demo, case)[-1] == "王建国 提交局务会议研究：需集体研究，列入督办"
    assert _texts(demo, case, "en-US")[-1].endswith("bureau meeting: 需集体研究; it is supervised")


def test_ratings_by_sms_read_alike_whether_satisfied_or_not(demo, clock, tmp_path):
    from intake.rules.access import sms_liaison
    from intake.store.models import Liaison

    people = add_people(demo)
    liaison = sms_liaison(demo.query(Liaison).filter_by(name="张伟").one())
    rated = {}
    for rating in ("satisfied", "dissatisfied"):
        case = route_case(demo, clock)
        transfer_case(demo, people["wang"], case, people["units"]["城关镇卫生院"].id, clock,
                      CALENDAR, SMS)
        file_result(demo, people["cg"], case, result_form(), clock, scan_required=False)
        accept_result(demo, people["sup"], case, clock)
        record_feedback(demo, people["wang"], case, "phone", "", clock, SMS)
        rate_case(demo, liaison, case, rating, clock, CALENDAR, SMS, via="sms")
        demo.commit()
        rated[rating] = _texts(demo, case)[-1]
    assert rated["satisfied"] == "张伟 短信评价「满意」，案件办结"
    assert rated["dissatisfied"].startswith("张伟 短信评价「不满意」，退回 城关镇卫生院 重办")
