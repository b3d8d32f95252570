"""Signed-out sessions, remembered in Redis until their cookie would have expired anyway.

The session cookie is signed, not stored, so on its own a copied cookie would keep working
after sign-out for as long as it lives (30 days when remembered). Each sign-in therefore
gets a random session id and the account's session generation:
- signing out records the id here, and every request checks it;
- deactivating an account or giving it a new password bumps the generation
  (intake.directory.roster), which ends all of its sessions at once.
When Redis cannot be reached at sign-out, the generation is bumped instead: safe, at the
cost of signing out the account's other devices too. When it cannot be reached on a
request, the session is believed, as the sign-in limiter does, so the duty room keeps
working through a Redis outage.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

KEY_PREFIX = "dutyline:session:revoked"


@dataclass
class SessionRevocations:
    """Remember signed-out session ids for as long as a cookie may live."""

    connection: redis.Redis
    ttl_seconds: int

    def revoke(self, session_id: str) -> bool:
        """Record a session as signed out; False when Redis could not be told."""
        try:
            self.connection.set(f"{KEY_PREFIX}:{session_id}", 1, ex=self.ttl_seconds)
            return True
        except redis.RedisError as exc:
            log.warning("cannot record a sign-out in Redis (%s)", exc)
            return False

    def is_revoked(self, session_id: str) -> bool:
        """Tell whether a session was signed out."""
        try:
            return bool(self.connection.exists(f"{KEY_PREFIX}:{session_id}"))
        except redis.RedisError as exc:
            log.warning("cannot check a session in Redis (%s); believing it", exc)
            return False
