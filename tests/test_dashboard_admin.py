"""Accounts and the directory: the admin screens and `dutyline users create`."""
from __future__ import annotations

from click.testing import CliRunner

from intake.directory.roster import find_user, verify_password
from intake.store.models import AuditEvent, Leader, Liaison, Unit, User
from tests.dashboard_support import sign_in


def test_an_admin_creates_accounts_of_each_role(client, demo):
    sign_in(client, "admin")
    unit = demo.query(Unit).first()
    assert client.post("/admin/users", data={
        "username": "zhou", "name": "周督办", "role": "supervisor",
        "password": "long-enough-1"}).status_code == 302
    client.post("/admin/users", data={"username": "unit1", "name": "城关镇卫生院", "role": "unit",
                                      "unit_id": unit.id, "password": "long-enough-1"})
    client.post("/admin/users", data={"username": "wang2", "name": "王建国", "role": "leader",
                                      "phone": "13900000001", "password": "long-enough-1"})
    demo.expire_all()
    assert find_user(demo, "zhou").role.value == "supervisor"
    assert find_user(demo, "unit1").unit_id == unit.id
    assert find_user(demo, "wang2").leader.name == "王建国"  # matched by phone
    assert verify_password(find_user(demo, "zhou"), "long-enough-1")
    assert "long-enough-1" not in find_user(demo, "zhou").password_hash
    page = client.get("/admin/users").get_data(as_text=True)
    assert "周督办" in page and "督办室" in page


def test_bad_accounts_are_refused_with_a_reason(client, demo):
    sign_in(client, "admin")
    client.post("/admin/users", data={"username": "x", "name": "x", "role": "duty",
                                      "password": "short"})
    assert "密码至少需要8位" in client.get("/admin/users").get_data(as_text=True)
    client.post("/admin/users", data={"username": "u2", "name": "x", "role": "unit",
                                      "password": "long-enough-1"})
    assert "承办单位账号须选择单位" in client.get("/admin/users").get_data(as_text=True)
    # The directory's own phone check: "12345" is possible by length but no line has it.
    client.post("/admin/users", data={"username": "p2", "name": "x", "role": "duty",
                                      "phone": "12345", "password": "long-enough-1"})
    assert "电话号码无效" in client.get("/admin/users").get_data(as_text=True)
    assert demo.query(User).filter(User.username.in_(["x", "u2", "p2"])).count() == 0


def test_an_admin_disables_an_account_but_not_their_own(client, demo):
    sign_in(client, "admin")
    duty = find_user(demo, "duty")
    admin = find_user(demo, "admin")
    client.post(f"/admin/users/{duty.id}/active", data={"active": "0"})
    client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    demo.expire_all()
    assert demo.get(User, duty.id).active is False
    assert demo.get(User, admin.id).active is True
    assert sign_in(client.application.test_client(), "duty").status_code == 401
    actions = [e.action for e in demo.query(AuditEvent).filter_by(entity_type="users")]
    assert "user.deactivated" in actions


def test_an_admin_keeps_the_directory(client, demo):
    sign_in(client, "admin")
    client.post("/admin/leaders", data={"name": "赵敏", "phone": "13900000077", "title": "科长"})
    leader = demo.query(Leader).filter_by(name="赵敏").one()
    client.post("/admin/liaisons", data={"name": "孙丽", "phone": "13600000088",
                                         "work_unit": "西街社区", "leader_id": leader.id})
    client.post("/admin/units", data={"name": "南山乡卫生院", "kind": "township"})
    demo.expire_all()
    assert demo.query(Liaison).filter_by(name="孙丽").one().leader_id == leader.id
    assert demo.query(Unit).filter_by(name="南山乡卫生院").count() == 1
    page = client.get("/admin/directory").get_data(as_text=True)
    assert "赵敏" in page and "孙丽" in page and "+8613600000088" in page
    client.post("/admin/liaisons", data={"name": "重复", "phone": "13600000088",
                                         "leader_id": leader.id})
    assert "已在通讯录中" in client.get("/admin/directory").get_data(as_text=True)
    again = client.post("/admin/units", data={"name": "南山乡卫生院", "kind": "township"})
    assert again.status_code == 302  # a clear message on the page, not a server error
    assert "南山乡卫生院" in client.get("/admin/directory").get_data(as_text=True)
    demo.expire_all()
    assert demo.query(Unit).filter_by(name="南山乡卫生院").count() == 1


def test_users_create_reads_the_password_from_stdin(env, demo):
    from cli.main import main

    runner = CliRunner()
    result = runner.invoke(main, ["users", "create", "--username", "night", "--role", "duty",
                                  "--name", "夜班", "--phone", "13900000099"],
                           input="a-secret-password\n")
    assert result.exit_code == 0, result.output
    assert "created night (duty)" in result.output
    demo.expire_all()
    user = find_user(demo, "night")
    assert user.name == "夜班" and verify_password(user, "a-secret-password")
    assert user.phone == "+8613900000099"  # stored in E.164, as the directory stores phones
    bad_phone = runner.invoke(main, ["users", "create", "--username", "n3", "--role", "duty",
                                     "--name", "x", "--phone", "12345"], input="long-enough-1\n")
    assert bad_phone.exit_code != 0 and "not a valid phone number" in bad_phone.output
    short = runner.invoke(main, ["users", "create", "--username", "n2", "--role", "duty",
                                 "--name", "x"], input="short\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    unit = runner.invoke(main, ["users", "create", "--username", "u1", "--role", "unit",
                                "--name", "卫生院", "--unit", "县人民医院"], input="long-enough-1\n")
    assert unit.exit_code == 0, unit.output
    listed = runner.invoke(main, ["users", "list", "--json"])
    assert '"username": "u1"' in listed.output
