"""Bearer tokens for the JSON API: issued by `dutyline users token`, kept only as hashes.

A token is 32 random bytes (256 bits), shown once. Only its SHA-256 is stored. A slow,
salted hash (argon2, as for passwords) protects low-entropy secrets that can be guessed;
nobody can guess 256 random bits, so one fast unsalted hash is as safe here and lets a
request find its token with one indexed lookup instead of trying every stored hash.

A token works while it is not revoked and its user is active: deactivating an account ends
its tokens without revoking them one by one.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.audit import Actor, record_event
from intake.exceptions import NotFound
from intake.store.models import ApiToken, User, utcnow

TOKEN_PREFIX = "dl_"
TOKEN_BYTES = 32
# last_used_at is written at most this often per token, so that API reads stay reads.
LAST_USED_RESOLUTION_SECONDS = 60


def hash_token(token: str) -> str:
    """Return the stored form of a token: the SHA-256 of its text, in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, actor: Actor) -> tuple[ApiToken, str]:
    """Create a token for a user; return the row and the token text (shown only this once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken(user=user, user_id=user.id, token_hash=hash_token(token),
                   created_by=actor.label, created_at=utcnow())
    session.add(row)
    session.flush()
    record_event(session, actor, "api_token.issued", row, after={"user": user.username})
    return row, token


def authenticate_token(session: Session, token: str, now: datetime | None = None) -> User | None:
    """Return the active user a token belongs to, or None for an unknown, revoked or dead one."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(token)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by an index; compare again in constant time so equality is not timed.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.revoked_at is not None or row.user is None or not row.user.active:
        return None
    now = now or utcnow()
    if (row.last_used_at is None
            or (now - row.last_used_at).total_seconds() >= LAST_USED_RESOLUTION_SECONDS):
        row.last_used_at = now
    return row.user


def revoke_tokens(session: Session, user: User, actor: Actor, token_id: int | None = None) -> int:
    """Revoke one of a user's tokens (by id) or all of them; return how many were live.

    Raises:
        NotFound: token_id is not one of this user's tokens.
    """
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    rows = list(session.scalars(query))
    if token_id is not None and not rows:
        raise NotFound(f"token {token_id} of {user.username}")
    now = utcnow()
    revoked = 0
    for row in rows:
        if row.revoked_at is None:
            row.revoked_at = now
            revoked += 1
            record_event(session, actor, "api_token.revoked", row, after={"user": user.username})
    return revoked


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """Return a user's tokens, oldest first (hashes only; the text is never kept)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id)))


__all__ = ["hash_token", "issue_token", "authenticate_token", "revoke_tokens", "list_tokens",
           "TOKEN_PREFIX"]
