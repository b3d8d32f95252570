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
