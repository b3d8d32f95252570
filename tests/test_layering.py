"""The import graph between dutyline's packages, stated once and checked on every file.

    intake         the domain                         imports none of the others, nor
                                                      Flask, RQ, Redis, Twilio or Vosk
    messaging      Twilio REST: client, notifiers     intake, twilio
    jobs           RQ adapter, retry policies,        intake, messaging, rq, redis
                   reconciler, worker class, SMS and
                   deletion jobs, scheduled jobs
    web            the per-request services context   intake, flask
    transcription  download, Vosk, extraction, jobs   intake, jobs (the adapter), rq
    ivr            Twilio webhooks                    intake, web, twilio (TwiML), flask
    dashboard      app factory and UI                 intake, web, jobs (wiring the queue
                                                      and Redis), ivr (its blueprint only)
    cli            the composition root               everything

Neither ivr/ nor dashboard/ imports rq; only the app factory imports ivr.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"intake", "messaging", "jobs", "web", "transcription", "ivr", "dashboard", "cli"}
ALLOWED_PROJECT_IMPORTS = {
    "intake": {"intake"},
    "messaging": {"messaging", "intake"},
    "jobs": {"jobs", "intake", "messaging"},
    "web": {"web", "intake"},
    "transcription": {"transcription", "intake", "jobs"},
    "ivr": {"ivr", "intake", "web"},
    "dashboard": {"dashboard", "intake", "web", "jobs", "ivr"},
}
FORBIDDEN_LIBRARIES = {
    "intake": {"flask", "flask_babel", "flask_wtf", "rq", "twilio", "vosk", "redis"},
    "messaging": {"flask", "rq", "redis", "vosk"},
    "jobs": {"flask", "vosk"},
    "web": {"rq", "redis", "twilio", "vosk"},
    "transcription": {"flask", "twilio"},
    "ivr": {"rq", "redis", "vosk"},
    "dashboard": {"rq", "vosk"},
}
# Where dashboard may import ivr: only to register its blueprint.
IVR_IMPORTERS_IN_DASHBOARD = {"dashboard/app.py"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(ALLOWED_PROJECT_IMPORTS))
def test_package_imports_respect_the_layers(package):
    offenders = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        roots = _imported_roots(path)
        bad = ((roots & PROJECT) - ALLOWED_PROJECT_IMPORTS[package]) | (
            roots & FORBIDDEN_LIBRARIES[package])
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_dashboard_imports_ivr_only_to_register_its_blueprint():
    importers = {str(path.relative_to(ROOT)) for path in sorted((ROOT / "dashboard").rglob("*.py"))
                 if "ivr" in _imported_roots(path)}
    assert importers == IVR_IMPORTERS_IN_DASHBOARD


def test_every_package_is_in_the_graph_and_installed():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "scripts"}
    assert packages - {"migrations"} == PROJECT
    include = (ROOT / "pyproject.toml").read_text()
    assert all(f'"{name}*"' in include for name in PROJECT)


def test_the_layering_check_sees_real_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import flask\nfrom rq.job import Job\nfrom . import local\n")
    assert _imported_roots(sample) == {"flask", "rq"}


# --- intake/'s floors (written by issue 20's restructure.py, which rewrites this block) ---
# intake/ is in rooms: a sub-package per part of the bureau's work, plus the few modules left at
# its top. The floors are listed lowest first; a module may import its own room or a room on a
# lower floor, never one on its own floor or above. So no import runs back up and no cycle forms.
INTAKE_FLOORS = [
    ['statuses', 'exceptions', 'clock'],
    ['store'],
    ['rules'],
    ['directory'],
    ['outbox', 'time'],
    ['calls', 'reports'],
    ['cases'],
    ['sweep'],
]


def _intake_imports(path: Path, base: Path) -> set[str]:
    """Every intake.* module one file imports, at any depth, relative imports resolved."""
    package = list(path.relative_to(base).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                module = ".".join(package[:len(package) - node.level + 1] + [node.module or ""])
                module = module.rstrip(".")
            if module == "intake":
                found.update(f"intake.{alias.name}" for alias in node.names)
            elif module:
                found.add(module)
    return {name for name in found if name.startswith("intake.")}


def _intake_room_imports(intake_root: Path) -> dict[str, set[str]]:
    rooms = {}
    for path in sorted(intake_root.rglob("*.py")):
        parts = path.relative_to(intake_root).with_suffix("").parts
        if parts == ("__init__",):
            continue
        room = parts[0]
        targets = {name.split(".")[1] for name in _intake_imports(path, intake_root.parent)}
        rooms.setdefault(room, set()).update(targets - {room})
    return rooms


def _floor_offences(rooms: dict[str, set[str]]) -> list[str]:
    level = {room: n for n, floor in enumerate(INTAKE_FLOORS) for room in floor}
    offences = [f"{room} is on no floor" for room in sorted(rooms) if room not in level]
    offences += [f"{room} -> {target}" for room, targets in sorted(rooms.items())
                 for target in sorted(targets)
                 if room in level and level.get(target, len(INTAKE_FLOORS)) >= level[room]]
    return offences


def _cycles(rooms: dict[str, set[str]]) -> list[str]:
    seen, stack, found = set(), [], []

    def visit(room):
        if room in stack:
            found.append(" -> ".join(stack[stack.index(room):] + [room]))
            return
        if room in seen:
            return
        seen.add(room)
        stack.append(room)
        for target in sorted(rooms.get(room, ())):
            visit(target)
        stack.pop()

    for room in sorted(rooms):
        visit(room)
    return found


def test_intake_rooms_import_only_downwards_and_form_no_cycle():
    rooms = _intake_room_imports(ROOT / "intake")
    assert {room for floor in INTAKE_FLOORS for room in floor} == set(rooms)
    assert _floor_offences(rooms) == []
    assert _cycles(rooms) == []


def test_every_intake_sub_package_says_what_it_is_for():
    for init in sorted((ROOT / "intake").glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(docstring.splitlines()) == 1 and docstring.endswith("."), init


def test_the_floor_check_sees_an_import_up_a_floor_and_a_cycle(tmp_path):
    intake_root = tmp_path / "intake"
    for name, text in {"store/models.py": "from intake.cases.handling import x\n",
                        "cases/handling.py": "from intake.store.models import Case\n"
                                            "from .history import x\n",
                        "cases/history.py": "",
                        "statuses.py": "def f():\n    from intake import sweep\n"}.items():
        (intake_root / name).parent.mkdir(parents=True, exist_ok=True)
        (intake_root / name).write_text(text)
    rooms = _intake_room_imports(intake_root)
    assert rooms == {"store": {"cases"}, "cases": {"store"}, "statuses": {"sweep"}}
    assert _floor_offences(rooms) == ["statuses -> sweep", "store -> cases"]
    assert _cycles(rooms) == ["cases -> store -> cases"]
# --- end of intake/'s floors ---
