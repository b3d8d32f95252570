"""The domain questions behind issue 19's pages: which result a unit redoes after a return, and
which extensions the supervision office sees on its home."""
from __future__ import annotations

from datetime import timedelta

from intake.cases.supervision import extend_deadline, list_recent_extensions, overrule_extension
from intake.cases.transfers import file_result, latest_return, return_result, transfer_case
from intake.clock import FixedClock
from tests.case_support import CALENDAR, SMS, TUESDAY, result_form, route_case


def _transferred(demo, people, clock, unit="城关镇卫生院"):
    case = route_case(demo, clock)
    transfer_case(demo, people["wang"], case, people["units"][unit].id, clock, CALENDAR, SMS)
    demo.commit()
    return case


def test_the_unit_redoes_its_own_returned_result_and_a_new_unit_starts_blank(demo, people):
    clock = FixedClock(TUESDAY)
    case = _transferred(demo, people, clock)
    assert latest_return(case) is None
    file_result(demo, people["cg"], case, result_form(causes="配送延误"), clock,
                scan_required=False)
    assert latest_return(case) is None  # filed, waiting for the verdict
    return_result(demo, people["sup"], case, "format", "缺少公章页", clock, CALENDAR, SMS)
    demo.commit()
    returned = latest_return(case)
    assert returned is not None and returned.causes == "配送延误"
    assert returned.verdict_reason == "缺少公章页"
    # Reassigned: the new unit's page does not offer the old unit's text.
    transfer_case(demo, people["wang"], case, people["units"]["县人民医院"].id, clock, CALENDAR,
                  SMS)
    demo.commit()
    assert latest_return(case) is None


def test_the_office_sees_the_weeks_extensions_and_which_still_hold(demo, people):
    clock = FixedClock(TUESDAY)
    held = _transferred(demo, people, clock)
    overruled = _transferred(demo, people, clock)
    old = _transferred(demo, people, clock)
    extend_deadline(demo, people["cg"], old, old.deadline_at + timedelta(days=3), "旧的延期",
                    clock)
    clock.advance(days=8)  # the old one is now 8 days old
    for case, reason in ((held, "等待检验报告"), (overruled, "药企停产")):
        extend_deadline(demo, people["cg"], case, case.deadline_at + timedelta(days=3), reason,
                        clock)
    overrule_extension(demo, people["sup"], overruled, "理由不足", clock)
    demo.commit()
    listed = list_recent_extensions(demo, clock.now())
    assert [(x.case.number, x.change.reason, x.in_force) for x in listed] == [
        (overruled.number, "药企停产", False), (held.number, "等待检验报告", True)]
