"""The 通报 archive and the year's summary behind their doors: the JSON API (tokens), the pages
(sessions), and the archive in real headless Chromium."""
from __future__ import annotations

import hashlib
import socket
import threading
from datetime import datetime, timezone
from io import BytesIO

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.serving import make_server

from intake.reports.archive import keep_bulletin
from intake.reports.rates import month_period, quarter_period
from intake.statuses import BulletinPeriod
from intake.store.audit import Actor
from intake.store.models import KeptBulletin
from intake.time.calendar import BureauCalendar
from tests.dashboard_support import sign_in
from tests.report_seed import seed_report_cases

BUILT = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)  # 09:00 on 1 December in Shanghai
CALENDAR = BureauCalendar()
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _keep(demo, kind=BulletinPeriod.MONTH, period=month_period(2026, 11), seen=0):
    kept = keep_bulletin(demo, kind, period, seen_version=seen, now=BUILT, calendar=CALENDAR,
                         actor=Actor("system:sweep"))
    demo.commit()
    return kept


@pytest.fixture
def kept(demo, people):
    seed_report_cases(demo)
    demo.commit()
    return {"november": _keep(demo),
            "q3": _keep(demo, BulletinPeriod.QUARTER, quarter_period(2026, 3))}


def test_the_api_lists_the_archive_and_serves_each_file_byte_for_byte(api, kept):
    listed = api("sup", "GET", "/bulletins")
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["count"] == 2
    november = next(b for b in body["bulletins"] if b["kind"] == "month")
    assert (november["from"], november["to"], november["version"]) == (
        "2026-11-01", "2026-11-30", 1)
    assert november["built_at"] == "2026-12-01T09:00:00+08:00"
    for fmt, content_type in (("docx", DOCX_TYPE), ("pdf", "application/pdf")):
        response = api("admin", "GET", f"/bulletins/{november['id']}.{fmt}")
        assert response.status_code == 200 and response.mimetype == content_type
        assert hashlib.sha256(response.data).hexdigest() == november[f"{fmt}_sha256"]
        assert response.headers["X-Content-SHA256"] == november[f"{fmt}_sha256"]
        assert f"bulletin-month-2026-11-v1.{fmt}" in response.headers["Content-Disposition"]
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(
        api("sup", "GET", f"/bulletins/{november['id']}.pdf").data)).pages)
    assert "本期共受理群众诉求 9 件，办结 4 件，办结率 44.4%" in text
    words = "\n".join(p.text for p in docx.Document(BytesIO(
        api("sup", "GET", f"/bulletins/{november['id']}.docx").data)).paragraphs)
    assert "本期共受理群众诉求 9 件，办结 4 件，办结率 44.4%" in words


@pytest.mark.parametrize("who", ["duty", "wang", "cg"])
def test_others_are_refused_the_archive(api, kept, who):
    assert api(who, "GET", "/bulletins").status_code == 403
    refused = api(who, "GET", f"/bulletins/{kept['november'].id}.pdf")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"


def test_an_unknown_bulletin_is_404_in_the_envelope(api, kept):
    missing = api("sup", "GET", f"/bulletins/{kept['q3'].id + 1}.docx")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert api("sup", "GET", f"/bulletins/{kept['q3'].id}.xlsx").status_code == 404


def test_the_page_rebuilds_a_new_version_and_keeps_the_old(client, demo, kept):
    sign_in(client, "sup")
    page = client.get("/bulletins").get_data(as_text=True)
    assert "2026年11月" in page and "2026年第3季度" in page
    assert page.count('class="rebuild"') == 2
    november = kept["november"]
    old_pdf = bytes(november.pdf)
    answer = client.post(f"/bulletins/{november.id}/rebuild")
    assert answer.status_code == 303
    demo.expire_all()
    versions = demo.scalars(select(KeptBulletin).where(
        KeptBulletin.period_kind == "month").order_by(KeptBulletin.version)).all()
    assert [(v.version, v.built_by) for v in versions] == [(1, "system:sweep"), (2, "user:sup")]
    assert bytes(versions[0].pdf) == old_pdf
    page = client.get("/bulletins").get_data(as_text=True)
    assert "已存档：2026年11月通报第2版。" in page
    assert page.count('class="rebuild"') == 2  # the latest of each period only
    # Rebuilding the superseded version again is refused: someone else acted first.
    client.post(f"/bulletins/{november.id}/rebuild")
    assert "已有人先生成了更新的版本" in client.get("/bulletins").get_data(as_text=True)
    assert demo.scalar(select(KeptBulletin.id).where(KeptBulletin.version == 3)) is None


def test_a_missed_period_is_built_from_the_page_once(client, demo, kept):
    sign_in(client, "admin")
    client.post("/bulletins", data={"kind": "month", "period": "2026-10"})
    client.post("/bulletins", data={"kind": "month", "period": "2026-10"})
    client.post("/bulletins", data={"kind": "month", "period": "十月"})
    page = client.get("/bulletins").get_data(as_text=True)
    assert "已存档：2026年10月通报第1版。" in page and "已有人先生成了更新的版本" in page
    assert "请选择月份、季度或年份。" in page  # period_invalid
    october = demo.scalars(select(KeptBulletin).where(
        KeptBulletin.period_start == month_period(2026, 10).start)).all()
    assert [(b.version, b.built_by) for b in october] == [(1, "user:admin")]


def test_the_year_page_and_its_files_show_the_same_numbers(client, demo, kept):
    sign_in(client, "sup")
    page = client.get("/reports/year?year=2026").get_data(as_text=True)
    assert "2026年度工作总结" in page and 'data-leader="王建国"' in page
    pdf = client.get("/reports/year?year=2026&format=pdf")
    assert pdf.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(pdf.data)).pages)
    assert "民情联线年度工作总结（2026年）" in text and "全年共受理群众诉求 10 件" in text
    word = client.get("/reports/year?year=2026&format=docx")
    assert word.mimetype == DOCX_TYPE
    assert "year-summary-2026.docx" in word.headers["Content-Disposition"]
    assert "年份" in client.get("/reports/year?year=abc").get_data(as_text=True)


# ---------------------------------------------------------------- in Chromium
@pytest.fixture
def site(env, engine, monkeypatch):
    """The real app on a loopback port over the demo directory and two kept bulletins."""
    from dashboard.app import create_app
    from intake.directory.demo import seed_demo
    from intake.store.database import make_session_factory
    from intake.store.runtime import reset_runtime
    from intake.store.settings import load_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PUBLIC_BASE_URL", base)
    reset_runtime()
    app = create_app({"DUTYLINE_SETTINGS": load_settings()})
    session = make_session_factory(engine)()
    seed_demo(session)
    session.commit()
    seed_report_cases(session)
    session.commit()
    _keep(session)
    _keep(session, BulletinPeriod.QUARTER, quarter_period(2026, 3))
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base, session
    finally:
        server.shutdown()
        session.close()


@pytest.mark.browser
@pytest.mark.slow
def test_the_archive_in_chromium_downloads_and_rebuilds(site, browser):
    base, session = site
    page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    problems = []
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.goto(base + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "dutyline-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    page.click("nav >> text=通报")
    page.wait_for_load_state()
    rows = page.locator("#bulletins tbody tr")
    assert rows.count() == 2
    november = page.locator('#bulletins tr[data-kind="month"]')
    assert "2026年11月" in november.inner_text() and "按期自动生成" in november.inner_text()
    with page.expect_download() as waiting:
        november.locator("a.download >> text=PDF").click()
    download = waiting.value
    assert download.suggested_filename == "bulletin-month-2026-11-v1.pdf"
    text = PdfReader(download.path()).pages[0].extract_text()
    assert "本期共受理群众诉求 9 件，办结 4 件，办结率 44.4%" in text
    november.locator("button.rebuild").click()
    page.wait_for_load_state()
    assert "已存档：2026年11月通报第2版。" in page.locator(".flash.success").inner_text()
    assert page.locator('#bulletins tr[data-kind="month"]').count() == 2
    superseded = page.locator('#bulletins tr.superseded')
    assert superseded.count() == 1 and "已有新版本" in superseded.inner_text()
    assert problems == []
