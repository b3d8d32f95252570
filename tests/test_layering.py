"""intake/ is the domain: it imports no Flask, RQ, Twilio or Vosk; ivr/ and transcription/
import only intake of the project's packages."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "intake": {"flask", "flask_babel", "flask_wtf", "rq", "twilio", "vosk", "redis", "ivr",
               "transcription", "dashboard", "cli"},
    "ivr": {"transcription", "dashboard", "cli", "vosk"},
    "transcription": {"ivr", "dashboard", "cli", "flask", "twilio"},
    "dashboard": {"transcription", "cli", "vosk"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layers(package):
    offenders = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_the_layering_check_sees_real_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import flask\nfrom rq.job import Job\nfrom . import local\n")
    assert _imported_roots(sample) == {"flask", "rq"}
