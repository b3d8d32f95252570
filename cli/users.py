"""`dutyline users ...`: staff accounts from the command line."""
from __future__ import annotations

import json
import sys

import click

from intake.store.audit import CLI
from intake.store.database import session_scope
from intake.exceptions import DutylineError
from intake.store.runtime import get_runtime
from intake.statuses import Role



@click.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", required=True)
@click.option("--phone", default="", help="For a leader, matches the directory's leader.")
@click.option("--unit", "unit_name", default=None, help="For a unit account: the unit's name.")
def users_create(username: str, role: str, name: str, phone: str, unit_name: str | None) -> None:
    """Create an account; the password is read from standard input."""
    from sqlalchemy import select

    from intake.directory.roster import create_user
    from intake.store.models import Unit

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with session_scope(get_runtime().session_factory) as session:
            unit_id = None
            if unit_name:
                unit_id = session.scalar(select(Unit.id).where(Unit.name == unit_name))
                if unit_id is None:
                    raise click.ClickException(f"no unit named {unit_name!r}")
            user = create_user(session, username=username, role=role, name=name,
                               password=password, phone=phone, actor=CLI, unit_id=unit_id)
            click.echo(f"created {user.username} ({role})")
    except DutylineError as exc:
        raise click.ClickException(str(exc)) from exc


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json: bool) -> None:
    """List the accounts."""
    from intake.directory.roster import list_users

    with session_scope(get_runtime().session_factory) as session:
        rows = [{"username": u.username, "name": u.name, "role": u.role.value, "phone": u.phone,
                 "active": u.active, "leader_id": u.leader_id, "unit_id": u.unit_id}
                for u in list_users(session)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['username']:<16} {row['role']:<11} {row['name']}"
                   + ("" if row["active"] else "  (disabled)"))


@users.command("password")
@click.argument("username")
def users_password(username: str) -> None:
    """Set an account's password from standard input and end all of its sessions."""
    from sqlalchemy import select

    from intake.directory.roster import set_password
    from intake.store.models import User

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with session_scope(get_runtime().session_factory) as session:
            user_id = session.scalar(select(User.id).where(User.username == username))
            if user_id is None:
                raise click.ClickException(f"no account named {username!r}")
            set_password(session, user_id, password, CLI)
    except DutylineError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"password changed for {username}; its sessions are ended")


@users.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Clear an account's sign-in locks, so its owner may try again at once."""
    from sqlalchemy import select

    from dashboard.ratelimit import SignInLimiter
    from intake.store.audit import record_event
    from intake.store.models import User
    from jobs.queue import connect_redis

    runtime = get_runtime()
    with session_scope(runtime.session_factory) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no account named {username!r}")
        limiter = SignInLimiter(connect_redis(runtime.settings.effective_redis_url))
        cleared = limiter.unlock(username)
        record_event(session, CLI, "user.sign_in_unlocked", user, after={"locks": cleared})
    click.echo(f"unlocked {username}: {cleared} address(es) cleared")


@users.command("token")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="End the user's tokens instead of making one.")
@click.option("--id", "token_id", type=int, default=None,
              help="With --revoke: end only this token (ids are in `users tokens`).")
def users_token(username: str, revoke: bool, token_id: int | None) -> None:
    """Print a new API token for USERNAME (only its hash is kept), or --revoke its tokens."""
    from intake.directory.tokens import issue_token, revoke_tokens

    if token_id is not None and not revoke:
        raise click.UsageError("--id goes with --revoke")
    try:
        with session_scope(get_runtime().session_factory) as session:
            user = _account(session, username)
            if user is None:
                raise click.ClickException(f"no user {username!r}")
            if revoke:
                count = revoke_tokens(session, user, CLI, token_id)
                click.echo(f"revoked {count} token(s) of {user.username}")
                return
            if not user.active:
                raise click.ClickException(f"{username} is disabled; its tokens would not work")
            row, token = issue_token(session, user, CLI)
            # The token alone on stdout, so `TOKEN=$(dutyline users token wang)` works.
            click.echo(token)
            click.echo(f"token {row.id} for {user.username}; it is shown only once", err=True)
    except DutylineError as exc:
        raise click.ClickException(str(exc)) from exc


@users.command("tokens")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True)
def users_tokens(username: str, as_json: bool) -> None:
    """List USERNAME's API tokens: id, made, last used, revoked (never the token itself)."""
    from intake.directory.tokens import list_tokens

    with session_scope(get_runtime().session_factory) as session:
        user = _account(session, username)
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        rows = [{"id": t.id, "created_at": t.created_at.isoformat(),
                 "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                 "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
                for t in list_tokens(session, user)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "live"
        click.echo(f"{row['id']:>5}  made {row['created_at']}  last used "
                   f"{row['last_used_at'] or '-'}  {state}")


def _account(session, username: str):
    # Any account, disabled too: revoking a disabled user's tokens must still work.
    from sqlalchemy import select

    from intake.store.models import User

    return session.scalar(select(User).where(User.username == username))


def register(main: click.Group) -> None:
    main.add_command(users)
