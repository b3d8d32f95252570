"""Directory upkeep: edit, deactivate and reassign with audited history; phones in E.164."""
from __future__ import annotations

import pytest

from intake.store.audit import Actor, list_events
from intake.directory.roster import (add_leader, add_liaison, add_unit, check_liaison_load,
                                     find_leader_by_name, list_unlinked_liaisons, reassign_liaison,
                                     set_active, update_leader, update_liaison, update_unit,
                                     update_user, find_user)
from intake.exceptions import ValidationError
from intake.store.models import Leader, Liaison, Unit
from intake.statuses import UnitKind

ADMIN = Actor("user:admin", None)


def _leader(session, name):
    return session.query(Leader).filter_by(name=name).one()


def _liaison(session, name):
    return session.query(Liaison).filter_by(name=name).one()


@pytest.mark.parametrize("raw", ["12345", "+8612345", "1390000000", "abc", "139000000011", "0571-123"])
def test_a_number_that_no_line_has_is_refused_with_a_code(db_session, raw):
    with pytest.raises(ValidationError) as caught:
        add_leader(db_session, "赵敏", raw, ADMIN)
    assert caught.value.code == "phone_invalid" and caught.value.field == "phone"
    assert db_session.query(Leader).count() == 0


@pytest.mark.parametrize("raw, stored", [("13900000077", "+8613900000077"),
                                         ("+86 139 0000 0077", "+8613900000077"),
                                         ("008613900000077", "+8613900000077"),
                                         ("0571-88880001", "+8657188880001")])
def test_valid_numbers_are_stored_in_e164(db_session, raw, stored):
    assert add_leader(db_session, "赵敏", raw, ADMIN).phone == stored


def test_editing_a_leader_keeps_before_and_after_in_the_audit_log(demo):
    wang = _leader(demo, "王建国")
    update_leader(demo, wang, {"title": "局长", "phone": "13900000055", "name": "王建国"}, ADMIN)
    demo.commit()
    event = [e for e in list_events(demo, "leaders", wang.id) if e.action == "leader.updated"][-1]
    # Only what changed is recorded; the unchanged name is not.
    assert event.before == {"title": "副局长", "phone": "+8613900000001"}
    assert event.after == {"title": "局长", "phone": "+8613900000055"}
    assert event.actor == "user:admin"
    with pytest.raises(ValidationError) as caught:
        update_leader(demo, wang, {"phone": "12345"}, ADMIN)
    assert caught.value.code == "phone_invalid"
    demo.rollback()
    assert demo.get(Leader, wang.id).phone == "+8613900000055"


def test_an_edit_that_changes_nothing_writes_no_audit_row(demo):
    li = _leader(demo, "李红")
    count = len(list_events(demo, "leaders", li.id))
    update_leader(demo, li, {"title": "医政科科长", "email": "li@example.gov.cn"}, ADMIN)
    assert len(list_events(demo, "leaders", li.id)) == count


def test_unknown_fields_and_empty_names_are_refused(demo):
    wang = _leader(demo, "王建国")
    with pytest.raises(ValidationError) as caught:
        update_leader(demo, wang, {"password_hash": "x"}, ADMIN)
    assert caught.value.code == "field_unknown"
    with pytest.raises(ValidationError) as caught:
        update_liaison(demo, _liaison(demo, "张伟"), {"name": "  "}, ADMIN)
    assert caught.value.code == "name_missing"


def test_a_reporting_chain_cannot_loop(demo):
    wang, li = _leader(demo, "王建国"), _leader(demo, "李红")
    update_leader(demo, wang, {"is_head": True}, ADMIN)
    update_leader(demo, li, {"reports_to_id": wang.id}, ADMIN)
    assert li.reports_to is wang and wang.is_head
    with pytest.raises(ValidationError) as caught:
        update_leader(demo, wang, {"reports_to_id": li.id}, ADMIN)
    assert caught.value.code == "reporting_cycle"
    with pytest.raises(ValidationError):
        update_leader(demo, wang, {"reports_to_id": wang.id}, ADMIN)
    assert wang.reports_to_id is None


def test_a_liaison_phone_cannot_take_another_liaisons_number(demo):
    with pytest.raises(ValidationError) as caught:
        update_liaison(demo, _liaison(demo, "张伟"), {"phone": "13812340000"}, ADMIN)
    assert caught.value.code == "phone_taken"
    update_liaison(demo, _liaison(demo, "张伟"), {"phone": "13812345678", "address": "新址"},
                   ADMIN)  # its own number is fine
    assert _liaison(demo, "张伟").address == "新址"


def test_reassigning_a_liaison_moves_them_and_records_both_leaders(demo):
    zhang, li = _liaison(demo, "张伟"), _leader(demo, "李红")
    old = zhang.leader_id
    reassign_liaison(demo, zhang, li, ADMIN)
    demo.commit()
    assert demo.get(Liaison, zhang.id).leader_id == li.id
    event = list_events(demo, "liaisons", zhang.id)[-1]
    assert event.action == "liaison.reassigned"
    assert event.before == {"leader_id": old} and event.after == {"leader_id": li.id}


def test_deactivating_keeps_the_record_and_hides_it_from_routing(demo):
    li = _leader(demo, "李红")
    set_active(demo, li, False, ADMIN)
    demo.commit()
    assert demo.get(Leader, li.id) is not None and demo.get(Leader, li.id).active is False
    with pytest.raises(ValidationError) as caught:
        find_leader_by_name(demo, "李红")
    assert caught.value.code == "unknown_leader"
    with pytest.raises(ValidationError) as caught:
        reassign_liaison(demo, _liaison(demo, "张伟"), li, ADMIN)
    assert caught.value.code == "leader_inactive"
    assert [e.action for e in list_events(demo, "leaders", li.id)][-1] == "leader.deactivated"
    unit = demo.query(Unit).filter_by(name="城关镇卫生院").one()
    set_active(demo, unit, False, ADMIN)
    assert list_events(demo, "units", unit.id)[-1].after == {"active": False}


def test_units_and_users_are_edited_with_checks(demo):
    unit = demo.query(Unit).filter_by(name="城关镇卫生院").one()
    update_unit(demo, unit, {"kind": "county", "phone": "0571-88880009"}, ADMIN)
    assert unit.kind == UnitKind.COUNTY and unit.phone == "+8657188880009"
    with pytest.raises(ValidationError) as caught:
        update_unit(demo, unit, {"name": "县人民医院"}, ADMIN)
    assert caught.value.code == "unit_name_taken"
    with pytest.raises(ValidationError) as caught:
        update_unit(demo, unit, {"kind": "hospital"}, ADMIN)
    assert caught.value.code == "kind_unknown"
    wang_user = find_user(demo, "wang")
    update_user(demo, wang_user, {"name": "王局", "phone": "13900000001"}, ADMIN)
    assert wang_user.name == "王局" and wang_user.phone == "+8613900000001"
    with pytest.raises(ValidationError) as caught:
        update_user(demo, wang_user, {"leader_id": None}, ADMIN)
    assert caught.value.code == "leader_missing"


def test_members_with_too_few_or_too_many_liaisons_are_flagged(demo):
    li, wang = _leader(demo, "李红"), _leader(demo, "王建国")
    assert [(w.leader_name, w.liaisons, w.problem) for w in check_liaison_load(demo)] == [
        ("李红", 1, "too_few")]
    for n in range(4):
        add_liaison(demo, f"联络员{n}", f"1370000000{n}", wang, ADMIN)
    assert [(w.leader_name, w.liaisons, w.problem) for w in check_liaison_load(demo)] == [
        ("王建国", 6, "too_many"), ("李红", 1, "too_few")]
    set_active(demo, _liaison(demo, "联络员0"), False, ADMIN)  # inactive liaisons do not count
    reassign_liaison(demo, _liaison(demo, "联络员1"), li, ADMIN)
    assert check_liaison_load(demo) == []


def test_a_unit_phone_may_be_empty_but_not_bad(db_session):
    assert add_unit(db_session, "南山乡卫生院", UnitKind.TOWNSHIP, ADMIN).phone is None
    with pytest.raises(ValidationError):
        add_unit(db_session, "北山乡卫生院", UnitKind.TOWNSHIP, ADMIN, phone="12345")


def test_liaisons_left_without_an_active_leader_are_listed(demo):
    assert list_unlinked_liaisons(demo) == []
    set_active(demo, _leader(demo, "李红"), False, ADMIN)
    add_liaison(demo, "无主", "13700000009", None, ADMIN)
    assert [li.name for li in list_unlinked_liaisons(demo)] == ["陈明", "无主"]
