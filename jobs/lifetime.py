"""Tie a child process's life to its parent's (Linux PR_SET_PDEATHSIG).

A SIGKILLed parent runs no cleanup, so its children must be told by the kernel: a
work-horse or scheduler that outlives its worker decodes a job a second time and holds
hundreds of MB. Elsewhere than Linux this does nothing, and Ctrl-C/SIGTERM handling is
the only way children are stopped.
"""
from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1
_parent_at_fork: int | None = None
_tie_forks = False
_hook_registered = False


def die_with_parent(sig: int = signal.SIGKILL, parent_pid: int | None = None) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies; return False if unsupported.

    Args:
        parent_pid: the parent as it was before the fork. If it has already died (this
            process was re-parented before the request took effect), `sig` is sent now.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return False
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)
    return True


def tie_forked_children(enabled: bool) -> None:
    """Make every os.fork() of this process (and of its children) die with its parent.

    Covers what RQ forks itself, the work-horse and the scheduler process, without
    copying RQ's fork code.
    """
    global _tie_forks, _hook_registered
    _tie_forks = enabled
    if enabled and not _hook_registered:
        os.register_at_fork(before=_remember_parent, after_in_child=_tie_child)
        _hook_registered = True


def _remember_parent() -> None:
    global _parent_at_fork
    _parent_at_fork = os.getpid()


def _tie_child() -> None:
    if _tie_forks:
        die_with_parent(signal.SIGKILL, _parent_at_fork)
