"""A few cases carried along the bureau's routes through the domain actions, over the demo
directory (already seeded): a unit waiting for its result, a result filed, three returns in a
row, both escalations, an overdue case, a case closed after a 不满意 redo, an answered case.

The README's screenshots (scripts/screenshots.py) photograph them; the browser census
(tests/test_browser_census.py) walks every page they make reachable, for every role.
"""
from __future__ import annotations

from datetime import timedelta


def seed_routes(session) -> dict:
    """Carry a few cases along the bureau's routes, through the domain actions, for the homes."""
    from sqlalchemy import select

    from intake.cases.handling import CaseEntry, answer_case, create_case, handle_case
    from intake.clock import Clock, FixedClock
    from intake.cases.feedback import rate_case, record_feedback
    from intake.time.calendar import load_calendar
    from intake.store.models import Unit, User, utcnow
    from intake.outbox.notifications import SmsContext
    from intake.cases.supervision import escalate_case, supervise_overdue_cases
    from intake.cases.transfers import ResultForm, file_result, return_result, transfer_case

    users = {u.username: u for u in session.scalars(select(User))}
    units = {u.name: u for u in session.scalars(select(Unit))}
    sms = SmsContext(lambda c: f"https://dutyline.example.gov.cn/cases/{c.id}")
    calendar = load_calendar(session)
    clock = Clock()

    def enter(content, name="张伟", phone="13812345678", channel="phone", at=None):
        entry = CaseEntry(caller_name=name, content=content, caller_phone=phone, channel=channel)
        case = create_case(session, users["duty"], entry, at or clock, sms).case
        session.commit()
        return case

    def result(measures):
        return ResultForm(facts_true="true", causes="挂号窗口少，高峰时段人手不足",
                          measures=measures, liaison_opinion="基本认可", signed_by="李院长",
                          sealed=True)

    waiting = enter("城关镇卫生院门诊排队太久，老人站不住。")
    transfer_case(session, users["wang"], waiting, units["城关镇卫生院"].id, clock, calendar, sms)
    filed = enter("县人民医院夜间急诊没有儿科医生。", "陈明", "13712345678")
    transfer_case(session, users["li"], filed, units["县人民医院"].id, clock, calendar, sms)
    # Without scans: the screenshots show the form and the verdict, not a stored file.
    file_result(session, users["renmin"], filed, result("夜间增设儿科值班医生一名"), clock,
                scan_required=False)
    flagged = enter("东门村卫生室长期缺医生。", channel="in_person")
    transfer_case(session, users["wang"], flagged, units["城关镇卫生院"].id, clock, calendar, sms)
    for reason in ("未加盖公章的扫描件", "未说明何时派驻医生", "联络员仍不满意"):
        file_result(session, users["chengguan"], flagged, result("派医生轮流坐诊"), clock,
                    scan_required=False)
        return_result(session, users["duban"], flagged, "quality", reason, clock, calendar, sms)
    meeting = enter("全县村卫生室降压药配送不及时。", channel="leader")
    escalate_case(session, users["wang"], meeting, "bureau_meeting", "涉及全县药品配送", clock)
    county = enter("县城新区没有社区卫生服务中心。", "陈明", "13712345678")
    escalate_case(session, users["li"], county, "county", "需县政府统筹规划", clock)
    answer_case(session, users["li"], county, "县政府已将新区卫生服务中心列入明年计划。", clock)
    late = enter("南山乡卫生院B超机坏了一个月。", "刘芳", "13812340000",
                 at=FixedClock(utcnow() - timedelta(days=2)))
    supervise_overdue_cases(session, clock)
    closed = enter("村卫生室缺降压药，老人要跑到镇上拿药。", channel="leader")
    handle_case(session, users["wang"], closed, "我来协调镇卫生院送药", clock, calendar)
    answer_case(session, users["wang"], closed, "已协调镇卫生院每周二送药到村。", clock)
    record_feedback(session, users["wang"], closed, "phone", "电话告知张伟", clock, sms)
    rate_case(session, users["duty"], closed, "dissatisfied", clock, calendar, sms, via="phone")
    answer_case(session, users["wang"], closed, "镇卫生院改为每周二、五送药到村。", clock)
    record_feedback(session, users["wang"], closed, "phone", "", clock, sms)
    rate_case(session, users["duty"], closed, "satisfied", clock, calendar, sms, via="phone")
    answered = enter("疫苗接种点周末不开放。", "刘芳", "13812340000")
    handle_case(session, users["wang"], answered, "", clock, calendar)
    answer_case(session, users["wang"], answered, "自12月起周六上午开放接种。", clock)
    session.commit()
    return {"waiting": waiting.id, "closed": closed.id, "answered": answered.id,
            "late": late.id}
