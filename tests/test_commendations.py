"""Commendations of members and units, with date and evidence, counted for the annual summary."""
from __future__ import annotations

from datetime import date

import pytest

from intake.store.audit import Actor, list_events
from intake.reports.commendations import (list_commendations, record_commendation,
                                          summarise_commendations)
from intake.exceptions import ValidationError
from intake.store.models import Commendation, Leader, Unit

ACTOR = Actor("user:admin")
TODAY = date(2026, 11, 26)


def test_commendations_are_recorded_listed_and_summarised(demo):
    wang = demo.query(Leader).filter_by(name="王建国").one()
    unit = demo.query(Unit).filter_by(name="城关镇卫生院").one()
    first = record_commendation(demo, kind="banner", received_on=date(2026, 3, 8),
                                evidence="锦旗照片 IMG_0308.jpg", giver="东门村村民", actor=ACTOR,
                                today=TODAY, unit=unit)
    record_commendation(demo, kind="letter", received_on=date(2026, 5, 1), evidence="表扬信原件存档",
                        actor=ACTOR, today=TODAY, leader=wang)
    record_commendation(demo, kind="media", received_on=date(2026, 6, 2),
                        evidence="县电视台 6月2日 新闻", actor=ACTOR, today=TODAY, unit=unit)
    record_commendation(demo, kind="letter", received_on=date(2025, 12, 30), evidence="去年的",
                        actor=ACTOR, today=TODAY, unit=unit)
    demo.commit()
    assert [c.received_on.month for c in list_commendations(demo, date(2026, 1, 1),
                                                            date(2026, 12, 31))] == [6, 5, 3]
    assert summarise_commendations(demo, 2026) == [
        {"target": "unit", "id": unit.id, "name": "城关镇卫生院", "letter": 0, "banner": 1,
         "media": 1, "total": 2},
        {"target": "leader", "id": wang.id, "name": "王建国", "letter": 1, "banner": 0,
         "media": 0, "total": 1}]
    assert list_events(demo, "commendations", first.id)[0].action == "commendation.recorded"


def test_bad_commendations_are_refused(demo):
    wang = demo.query(Leader).filter_by(name="王建国").one()
    unit = demo.query(Unit).first()
    cases = [
        (dict(kind="flowers", leader=wang), "kind_unknown"),
        (dict(kind="letter"), "commendation_target"),
        (dict(kind="letter", leader=wang, unit=unit), "commendation_target"),
        (dict(kind="letter", leader=wang, evidence="  "), "evidence_missing"),
        (dict(kind="letter", leader=wang, received_on=date(2026, 11, 27)), "date_in_future"),
    ]
    for overrides, code in cases:
        values = {"received_on": date(2026, 1, 5), "evidence": "原件", **overrides}
        with pytest.raises(ValidationError) as caught:
            record_commendation(demo, actor=ACTOR, today=TODAY, **values)
        assert caught.value.code == code, overrides
    assert demo.query(Commendation).count() == 0
