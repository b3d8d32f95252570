"""Issue 24: urgency in everyday words and names beside places and roles, as table tests.

The cases live in cli/data/extraction_everyday.jsonl so that `dutyline eval extraction
cli/data/extraction_everyday.jsonl` scores the same lines these tests assert. They were
written before the extractor was changed for them; the held-back set stays untouched.
"""
from pathlib import Path

import pytest

from cli.eval import EXTRACTION_FIELDS, read_extraction_set
from transcription.extraction import extract_caller_details

EVERYDAY_SET = Path(__file__).resolve().parent.parent / "cli" / "data" / "extraction_everyday.jsonl"
CASES = read_extraction_set(EVERYDAY_SET)


def test_the_everyday_set_covers_both_classes_mandarin_first():
    kinds = [case.kind for case in CASES]
    assert len(CASES) >= 40
    assert sum(k.startswith("urgent") for k in kinds) >= 20
    assert sum(k.startswith("name") for k in kinds) >= 20
    assert sum(case.language.startswith("en") for case in CASES) >= 5
    assert CASES[0].language == "zh-CN"
    # Controls keep the rule honest: a list that marks everything urgent would fail them.
    assert sum(not case.expected["urgent"] for case in CASES if case.kind.startswith("urgent")) >= 8


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}:{c.text[:20]}" for c in CASES])
def test_everyday_line(case):
    found = extract_caller_details(case.text, language=case.language).to_json()
    assert {name: found[name] for name in EXTRACTION_FIELDS} == case.expected
