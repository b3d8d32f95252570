"""Sign-in attempt counters in Redis, shared by every gunicorn worker.

Each attempt is counted before the password is checked, in one Redis step (a Lua script):
if a counter is already at its limit the attempt is refused and nothing is counted,
otherwise both counters go up. Checking and counting in one step means that 40 guesses
sent at once get at most the limit checked, where a read-then-write let 11 through.

Two counters, each a fixed window that starts with its first attempt:
- per (account, address): 5 — guessing one account's password from one place. It is not
  per account alone, or five anonymous failures from anywhere would lock the shared duty
  account for everybody;
- per address: 20 — trying many accounts from one place.
A successful sign-in gives back its attempt and clears its (account, address) counter, so
a busy duty room behind one address is never locked by its own sign-ins. An admin can
clear an account's locks (the accounts screen, or `dutyline users unlock`).

When Redis is unreachable the check lets the attempt through and logs it: the duty room must
be able to sign in during a Redis outage, and argon2 already makes each guess slow.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 15 * 60
KEY_PREFIX = "dutyline:signin"

# KEYS: pair counter, address counter, the account's set of pair keys.
# ARGV: pair limit, address limit, window seconds. Returns 1 if the attempt may go ahead.
_ATTEMPT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1])
   or tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then
  return 0
end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[3]) end
end
redis.call('SADD', KEYS[3], KEYS[1])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
"""

# KEYS: pair counter, address counter. Give back a successful attempt.
_SUCCEED = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1
"""


@dataclass
class SignInLimiter:
    """Count sign-in attempts per (account, address) and per address within a window."""

    connection: redis.Redis
    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window_seconds: int = WINDOW_SECONDS

    def _keys(self, username: str, address: str | None) -> list[str]:
        account = _account(username)
        # An IP address never holds "/", so the pair key splits one way only.
        return [f"{KEY_PREFIX}:pair:{address or 'unknown'}/{account}",
                f"{KEY_PREFIX}:address:{address or 'unknown'}",
                f"{KEY_PREFIX}:locks:{account}"]

    def begin_attempt(self, username: str, address: str | None) -> bool:
        """Count one attempt and tell whether it may be checked (False: over a limit)."""
        try:
            return bool(self.connection.eval(
                _ATTEMPT, 3, *self._keys(username, address),
                self.account_limit, self.address_limit, self.window_seconds))
        except redis.RedisError as exc:
            log.warning("sign-in limiter cannot reach Redis (%s); allowing the attempt", exc)
            return True

    def succeed(self, username: str, address: str | None) -> None:
        """Give back a successful attempt and clear its (account, address) counter."""
        try:
            self.connection.eval(_SUCCEED, 2, *self._keys(username, address)[:2])
        except redis.RedisError as exc:
            log.warning("sign-in limiter cannot reach Redis (%s)", exc)

    def unlock(self, username: str) -> int:
        """Clear every (account, address) lock of an account; return how many were counted."""
        index = self._keys(username, None)[2]
        pairs = [key.decode() for key in self.connection.smembers(index)]
        self.connection.delete(index, *pairs)
        return len(pairs)


def _account(username: str) -> str:
    return username.strip().lower()
