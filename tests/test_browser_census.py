"""The browser census: every page every role reaches, in real Chromium, in Chinese and in English.

Each role signs in on its own device (the duty room, the admin and the supervision office at a
desk; leaders and units on a 390×844 phone) and walks every link it is shown, from its home,
over the cases of tests/route_scene.py. On every page (issue 19):

- item 14: axe-core (tests/axe_support.py) finds no violation of WCAG 2.0/2.1 A and AA;
- item 2: on a phone the page is no wider than the screen (no sideways scrolling);
- item 3: in zh-CN no ASCII word but names, numbers and the codes the bureau uses
  (ALLOWED_WORDS); in en-US no Han character outside user data.

User data (what people typed: names, summaries, reasons, the demo directory) is Chinese in
both languages; every text the database holds is taken out of a page before its words are
judged, so that what is left is the interface's own text.
"""
from __future__ import annotations

import re
import secrets
import threading
from collections import Counter
from datetime import timedelta
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from sqlalchemy import JSON, String, Text, select
from werkzeug.serving import make_server

from intake.store.settings import load_settings
from tests.axe_support import AXE_TAGS, ensure_axe

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
# Who walks, on what: the demo accounts of every role.
WALKERS = {"duty": DESKTOP, "admin": DESKTOP, "duban": DESKTOP, "wang": PHONE, "li": PHONE,
           "chengguan": PHONE, "renmin": PHONE}
LANGUAGES = {"zh-CN": "zh_CN", "en-US": "en_US"}
# ASCII words a Chinese page may show: codes, formats and names the bureau itself uses, the
# language switch's own name, and what a screen shows as typed (an email address's parts).
ALLOWED_WORDS = {"PDF", "SMS", "CSV", "XLSX", "DOCX", "API", "ID", "JPEG", "PNG", "MB", "Twilio",
                 "YYYY", "MM", "DD", "HH", "Q", "dutyline",
                 # the calendar file's kind codes, and the package its official years come from
                 "holiday", "workday", "chinese-calendar"}
# A command to type, `dutyline worker`, is a code as a whole.
COMMAND = re.compile(r"`[^`]*`")
HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z'’_-]*")
# Links that are not pages: downloads, audio, the API, sign-out (a POST anyway).
NOT_PAGES = re.compile(r"(\.xlsx|\.pdf|\.docx|/audio|/api/|/static/|/reports/export|"
                       r"/attachments/|format=|/logout)")
# How many pages of one shape (same path with ids taken out, same query keys) a walk opens:
# a few drill-downs of the report, a few accounts; but every case page, whose state decides
# what it shows.
PAGES_PER_SHAPE = 4
EVERY_ONE = {"/cases/N?"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed_census(session) -> dict:
    """The route scene, plus what only some pages show: a call in the inbox, categories for
    the weekly analysis, an extension the office overruled."""
    from intake.calls.voicemail import attach_recording, mark_call_enqueued
    from intake.cases.supervision import extend_deadline, overrule_extension
    from intake.clock import Clock
    from intake.directory.demo import seed_demo
    from intake.store.audit import TWILIO
    from intake.store.models import Case, User
    from tests.route_scene import seed_routes

    seed_demo(session)
    session.commit()
    ids = seed_routes(session)
    sid = secrets.token_hex(8)
    call = attach_recording(session, call_sid=f"CA{sid}", recording_sid=f"RE{sid}",
                            recording_url="https://api.twilio.com/r", duration_seconds=18,
                            recording_status="completed", from_number="+8613812345678",
                            to_number="+8657112345", language="zh-CN", actor=TWILIO).call
    session.commit()
    mark_call_enqueued(session, call, TWILIO)
    users = {u.username: u for u in session.scalars(select(User))}
    waiting = session.get(Case, ids["waiting"])
    clock = Clock()
    extend_deadline(session, users["chengguan"], waiting,
                    waiting.deadline_at + timedelta(days=2), "需等待设备到货", clock)
    overrule_extension(session, users["duban"], waiting, "三个工作日内可以办结", clock)
    for number, key in enumerate(session.scalars(select(Case).order_by(Case.id))):
        key.category = ("public_health", "medical_service", "")[number % 3]
    session.commit()
    return {**ids, "call": call.id}


@pytest.fixture
def scene(env, engine):
    """The real app (CSRF on) on a loopback port over the census's cases."""
    from dashboard.app import create_app
    from intake.store.database import make_session_factory
    from intake.store.runtime import reset_runtime

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    reset_runtime()
    session = make_session_factory(engine)()
    ids = _seed_census(session)
    app = create_app({"DUTYLINE_SETTINGS": load_settings()})
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"base": base, "ids": ids, "user_data": _user_data(session)}
    finally:
        server.shutdown()
        session.close()


def _user_data(session) -> list[str]:
    """Every text the database holds (and the cuts a list shows of it), longest first."""
    from intake.store.models import Base

    found = set()

    def add(value) -> None:
        if isinstance(value, dict):
            for item in value.values():
                add(item)
        elif isinstance(value, list):
            for item in value:
                add(item)
        elif isinstance(value, str) and len(value.strip()) >= 2:
            value = value.strip()
            found.update({value, value[:20], value[:40], value[:60]})

    for table in Base.metadata.sorted_tables:
        # Audit rows' JSON carries what was typed along the way (an earlier answer, a reason).
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        if columns:
            for row in session.execute(select(*columns)):
                for value in row:
                    add(value)
    return sorted(found, key=len, reverse=True)


def _typed_by_people(run: str, user_data: list[str]) -> bool:
    """Tell whether a run of text is part of what people typed (a topic, a township, a cut)."""
    return any(run in value for value in user_data)


def _without_user_data(text: str, user_data: list[str]) -> str:
    for value in user_data:
        if value not in text:
            continue
        if value.isascii():  # a username such as "li" is not the "li" in "English"
            text = re.sub(rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])", " ", text)
        else:
            text = text.replace(value, " ")
    return text


def _shape(url: str) -> str:
    parts = urlparse(url)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def _start_urls(base: str, username: str, ids: dict) -> list[str]:
    """The home, plus pages reached by a form rather than a link."""
    urls = [base + "/"]
    if username in ("admin", "duban"):
        today = __import__("datetime").date.today().isoformat()
        urls.append(f"{base}/reports/weekly?week={today}")
    if username == "wang":
        urls.append(f"{base}/cases/{ids['answered']}/feedback/preview?note=已开放")
    if username == "duty":
        urls.append(f"{base}/calls/{ids['call']}")
    return urls


# The page's text as a person meets it, less anything marked as another language (the
# language switch, lang="zh-CN" on an English page, lang="en" on a Chinese one).
PAGE_TEXT = """() => {
  const own = document.documentElement.lang.slice(0, 2);
  const other = Array.from(document.querySelectorAll('body [lang]'))
    .filter(e => e.lang.slice(0, 2) !== own);
  const saved = other.map(e => [e, e.style.display]);
  for (const e of other) e.style.display = 'none';
  const parts = [document.title, document.body.innerText];
  for (const [e, display] of saved) e.style.display = display;
  for (const e of document.querySelectorAll('[placeholder],[aria-label],[title],[alt]')) {
    for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {
      if (e.getAttribute(a)) parts.push(e.getAttribute(a));
    }
  }
  for (const o of document.querySelectorAll('select option')) parts.push(o.textContent);
  return parts.join('\\n');
}"""
LINKS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"


def _walk(browser, base: str, username: str, language: str, ids: dict, user_data: list[str],
          axe_source: str) -> tuple[list[str], dict]:
    """Walk a role's pages; return the pages seen and the problems found, by kind."""
    device = WALKERS[username]
    # bypass_csp: the app's Content-Security-Policy refuses inline scripts, axe among them.
    context = browser.new_context(**device, bypass_csp=True)
    context.add_cookies([{"name": "dutyline_locale", "value": LANGUAGES[language],
                          "url": base}])
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "dutyline-demo")
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    problems: dict[str, list[str]] = {"axe": [], "width": [], "words": [], "status": []}
    queue, seen, shapes = _start_urls(base, username, ids), set(), Counter()
    while queue:
        url = urldefrag(queue.pop(0))[0]
        if url in seen or not url.startswith(base) or NOT_PAGES.search(url):
            continue
        seen.add(url)
        if shapes[_shape(url)] >= PAGES_PER_SHAPE and _shape(url) not in EVERY_ONE:
            continue
        shapes[_shape(url)] += 1
        response = page.goto(url)
        where = page.url.removeprefix(base)
        if response is None or response.status >= 400:
            problems["status"].append(f"{where}: {response and response.status}")
            continue
        if page.evaluate("document.documentElement.scrollWidth") > device["viewport"]["width"]:
            width = page.evaluate("document.documentElement.scrollWidth")
            problems["width"].append(f"{where}: {width}px")
        page.add_script_tag(content=axe_source)
        found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                              ".then(r => r.violations.map(v => v.id + ' ' + v.nodes.map("
                              "n => n.target.join(' ')).slice(0, 4).join(' | ')))",
                              list(AXE_TAGS))
        problems["axe"] += [f"{where}: {v}" for v in found]
        text = _without_user_data(page.evaluate(PAGE_TEXT), user_data)
        if language == "zh-CN":
            words = sorted({w for w in ASCII_WORD.findall(COMMAND.sub(" ", text))
                            if w not in ALLOWED_WORDS and not _typed_by_people(w, user_data)})
        else:
            words = sorted({run for run in HAN_RUN.findall(text)
                            if not _typed_by_people(run, user_data)})
        if words:
            problems["words"].append(f"{where}: {' '.join(words)}")
        queue += [urljoin(url, link) for link in page.evaluate(LINKS)]
    context.close()
    return sorted(seen), problems


@pytest.fixture(scope="session")
def axe_source() -> str:
    return ensure_axe().read_text(encoding="utf-8")


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("username", list(WALKERS))
def test_every_page_of_every_role_is_accessible_fits_and_speaks_one_language(
        scene, browser, axe_source, username, language):
    pages, problems = _walk(browser, scene["base"], username, language, scene["ids"],
                            scene["user_data"], axe_source)
    assert len(pages) >= 3  # the walk really went somewhere: home and at least two more
    found = [f"{kind} {line}" for kind, lines in problems.items() for line in lines]
    assert found == [], "\n".join(found)


CARD = """row => {
  const style = getComputedStyle(row);
  const shown = cls => { const e = row.querySelector('.' + cls);
                         return e && getComputedStyle(e).display !== 'none' ? e : null; };
  const summary = shown('card-summary');
  const right = Math.max(...Array.from(row.querySelectorAll('td'),
                                       e => e.getBoundingClientRect().right));
  return {display: style.display, number: !!shown('card-number'), state: !!shown('card-state'),
          due: shown('card-due') ? shown('card-due').innerText : '',
          hidden: Array.from(row.querySelectorAll('.card-hide'), e => getComputedStyle(e).display),
          oneLine: !!summary && getComputedStyle(summary).whiteSpace === 'nowrap'
                   && summary.getBoundingClientRect().height
                      < 2 * parseFloat(getComputedStyle(summary).lineHeight),
          right: right};
}"""


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_a_leaders_case_list_is_cards_on_a_phone(scene, browser, language):
    """Issue 19 item 2: number and state, time left, one line of summary; nothing wider."""
    context = browser.new_context(**PHONE)
    context.add_cookies([{"name": "dutyline_locale", "value": LANGUAGES[language],
                          "url": scene["base"]}])
    page = context.new_page()
    page.goto(scene["base"] + "/login")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", "dutyline-demo")
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    page.goto(scene["base"] + "/cases")
    assert page.evaluate("getComputedStyle(document.querySelector('#cases thead')).display") \
        == "none"
    cards = [page.locator("#cases tr[data-number]").nth(i).evaluate(CARD)
             for i in range(page.locator("#cases tr[data-number]").count())]
    assert len(cards) >= 3
    for card in cards:
        assert card["display"] == "grid" and card["number"] and card["state"] and card["oneLine"]
        assert card["hidden"] == ["none", "none"] and card["right"] <= 390
    left = "剩余" if language == "zh-CN" else "left"
    assert any(left in card["due"] for card in cards)
    context.close()
