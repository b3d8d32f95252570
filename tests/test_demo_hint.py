"""`dutyline run` prints the demo sign-in while, and only while, the demo password works."""
from intake.directory.demo import DEMO_USERNAME, demo_hint, demo_password_unchanged
from intake.directory.roster import find_user, hash_password, list_users


def test_the_hint_lasts_as_long_as_the_demo_password(demo):
    assert demo_password_unchanged(demo)
    find_user(demo, DEMO_USERNAME).password_hash = hash_password("a-real-password")
    demo.commit()
    assert not demo_password_unchanged(demo)


def test_no_demo_directory_means_no_hint(db_session):
    assert not demo_password_unchanged(db_session)


def test_the_hint_names_every_demo_account(demo):
    hint = demo_hint()
    names = [user.username for user in list_users(demo)]
    assert sorted(names) == sorted(["admin", "duty", "wang", "li", "duban", "chengguan", "renmin"])
    for name in names:
        assert f" {name}" in hint, name
    assert "dutyline-demo" in hint
