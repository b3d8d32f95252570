"""`dutyline bench dashboard`: seed a fresh database with many calls and time the inbox.

The figures are server time: each request runs through the real app (routing, access check,
query, template) in-process, without a network in between. Targets: every page under 200 ms at
50,000 calls, and every search's p95 under 100 ms at 500,000 (docs/scaling.md).

The searches cover each path of intake.calls.inbox: a phrase and a number through the trigram
index (the whole number and the last four digits), a liaison's name, and one and two Chinese
characters, which no trigram serves: a common character and a rare pair.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import click

from cli.output import add_bench_command, database_size_mib

from intake.store.database import scratch_database

TARGET_MS = 200.0
SEARCH_TARGET_P95_MS = 100.0
CHUNK = 5000
# Vosk writes Mandarin with spaces between words; the seeded transcripts do the same.
PHRASES = ["我 是 城关镇 的 联络员", "村里 卫生室 的 医生 不在", "药店 没有 降压药", "医保 报销 太 慢",
           "疫苗 接种 要 排队 很久", "希望 领导 关心 一下", "救护车 来 得 很 慢", "乡 卫生院 收费 不 合理",
           "老人 看病 不 方便", "家庭 医生 签约 的 事情", "请 尽快 处理", "谢谢"]
NEEDLE = "饮用 水 有 异味"  # appears in a few calls; the search looks for "饮用水有异味"
SEARCHES = {
    "inbox": {},
    "inbox_page_3": {"page": "3", "state": "all"},
    "search_text": {"q": "饮用水有异味", "state": "all"},
    "search_phone": {"q": "13812340042", "state": "all"},
    "search_name_open": {"q": "联络员7"},
    "search_phone_last4": {"q": "0042", "state": "all"},
    "search_one_char": {"q": "药", "state": "all"},
    "search_two_chars_rare": {"q": "异味", "state": "all"},
}


@click.command("dashboard")
@click.option("--calls", "n_calls", default=50_000, show_default=True)
@click.option("--database-url", default=None,
              help="A PostgreSQL server URL; a fresh database is made on it and dropped after. "
                   "Default: a new SQLite file.")
@click.option("--repeat", default=15, show_default=True, help="Timed requests per page.")
@click.option("--json", "as_json", is_flag=True)
def bench_dashboard(n_calls: int, database_url: str | None, repeat: int, as_json: bool) -> None:
    """Seed a fresh database with --calls calls and time the inbox and searches."""
    with tempfile.TemporaryDirectory(prefix="dutyline-bench-") as tmp:
        with scratch_database(database_url, Path(tmp), "dutyline_bench") as url:
            seed_started = time.perf_counter()
            _seed(url, n_calls)
            seed_seconds = time.perf_counter() - seed_started
            size_mib = database_size_mib(url)
            timings = _measure(url, Path(tmp), repeat)
            backend = url.split(":", 1)[0].split("+", 1)[0]
    searches = [t for name, t in timings.items() if name.startswith("search")]
    report = {"calls": n_calls, "backend": backend, "seed_seconds": round(seed_seconds, 1),
              "database_mib": size_mib, "load_average": [round(x, 2) for x in os.getloadavg()],
              "cpus": os.cpu_count(), "target_ms": TARGET_MS,
              "search_target_p95_ms": SEARCH_TARGET_P95_MS, "pages": timings,
              "meets_target": all(t["median_ms"] < TARGET_MS for t in timings.values()),
              "searches_meet_p95_target": all(t["p95_ms"] <= SEARCH_TARGET_P95_MS
                                              for t in searches)}
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(f"{n_calls} calls on {backend} (seeded in {report['seed_seconds']} s), "
               f"{size_mib} MiB on disk")
    for name, t in timings.items():
        click.echo(f"  {name:<22} p50 {t['median_ms']:7.1f} ms   p95 {t['p95_ms']:7.1f} ms"
                   f"   rows {t['rows']}")
    load = ", ".join(f"{x:.2f}" for x in report["load_average"])
    click.echo(f"  load average at the end: {load} on {os.cpu_count()} CPUs")
    click.echo("meets the 200 ms target" if report["meets_target"] else "MISSES the 200 ms target")
    click.echo(f"every search's p95 within {SEARCH_TARGET_P95_MS:.0f} ms"
               if report["searches_meet_p95_target"]
               else f"a search's p95 MISSES {SEARCH_TARGET_P95_MS:.0f} ms")


def _seed(url: str, n_calls: int) -> None:
    from sqlalchemy import insert

    from intake.store.audit import Actor
    from intake.store.database import make_engine, make_session_factory, session_scope
    from intake.directory.roster import add_leader, add_liaison, create_user
    from intake.store.models import Call, utcnow
    from intake.statuses import CallStatus, Role

    engine = make_engine(url)
    rng = random.Random(20261126)
    actor = Actor("bench")
    with session_scope(make_session_factory(engine)) as session:
        leaders = [add_leader(session, f"领导{i}", f"+86139000{i:05d}", actor) for i in range(20)]
        liaisons = [add_liaison(session, f"联络员{i}", f"+861381234{i:04d}", leaders[i % 20], actor,
                                work_unit=f"第{i}社区") for i in range(100)]
        create_user(session, username="bench", role=Role.DUTY, name="bench",
                    password=secrets.token_hex(8), actor=actor)
        pairs = [(liaison.id, liaison.leader_id, liaison.phone) for liaison in liaisons]
    now = utcnow()
    # Most calls in the table are history (confirmed); a few dozen wait for review.
    open_states = [CallStatus.DRAFT, CallStatus.FAILED, CallStatus.NO_MESSAGE,
                   CallStatus.TRANSCRIBING, CallStatus.QUEUED]
    rows = []
    with engine.begin() as conn:
        for i in range(n_calls):
            known = rng.random() < 0.8
            liaison_id, leader_id, phone = rng.choice(pairs) if known else (None, None, None)
            status = rng.choice(open_states) if rng.random() < 0.002 or i >= n_calls - 40 \
                else CallStatus.CONFIRMED
            text = " ".join(rng.sample(PHRASES, 3)) + (f" {NEEDLE}" if i % 5000 == 17 else "")
            number = phone or f"+86137{rng.randrange(10**8):08d}"
            rows.append({
                "call_sid": f"CA{i:032x}", "reference": f"{1000000 + i}",
                "from_number": number, "from_e164": number, "to_number": "+8657112345",
                "liaison_id": liaison_id, "leader_id": leader_id, "language": "zh-CN",
                "urgent": rng.random() < 0.01, "status": status.value,
                "recording_duration": rng.randint(5, 120), "transcript_text": text,
                "words": None, "no_speech": False, "progress": 1.0, "attempts": 1,
                "started_at": now - timedelta(minutes=10 * (n_calls - i)),
                "updated_at": now,
            })
            if len(rows) == CHUNK:
                conn.execute(insert(Call.__table__), rows)
                rows = []
        if rows:
            conn.execute(insert(Call.__table__), rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _measure(url: str, tmp: Path, repeat: int) -> dict:
    from dashboard.app import create_app
    from intake.store.settings import load_settings

    env = dict(os.environ, DATABASE_URL=url, DUTYLINE_INSTANCE=str(tmp / "instance"),
               SECRET_KEY="bench")
    app = create_app({"DUTYLINE_SETTINGS": load_settings(env), "TESTING": True})
    client = app.test_client()
    user_id, generation = _bench_user(app)
    with client.session_transaction() as session:
        session["user_id"] = user_id
        session["generation"] = generation  # what a real sign-in stores (dashboard/auth.py)
    results = {}
    for name, params in SEARCHES.items():
        samples = []
        rows = 0
        for attempt in range(repeat + 2):
            started = time.perf_counter()
            response = client.get("/inbox", query_string=params)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise click.ClickException(f"/inbox {params} answered {response.status_code}")
            if attempt >= 2:  # the first two warm caches and the template
                samples.append(elapsed)
            rows = response.get_data(as_text=True).count("<tr class=") if attempt == 0 else rows
        samples.sort()
        results[name] = {"params": params, "rows": rows,
                         "median_ms": round(statistics.median(samples), 1),
                         "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1)}
    return results


def _bench_user(app) -> tuple[int, int]:
    from sqlalchemy import select

    from intake.store.models import User
    from web.services import EXTENSION_KEY

    with app.extensions[EXTENSION_KEY].session_factory() as session:
        user = session.scalar(select(User).where(User.username == "bench"))
        return user.id, user.session_generation


def register(main: click.Group) -> None:
    add_bench_command(main, bench_dashboard)
