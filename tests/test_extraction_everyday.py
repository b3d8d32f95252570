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


# --- urgency: what the table does not show ------------------------------------------------


@pytest.mark.parametrize("text, reasons", [
    ("我 家 孩子 突然 抽搐 口吐白沫", ["抽搐", "口吐白沫"]),
    ("我们 村 十 几 个 人 同时 发烧 拉肚子", ["十几个人同时发烧"]),
    ("老人 摔倒 了 昏迷 不 醒", ["摔倒了昏迷"]),  # 昏迷 alone is part of the longer reason
    ("镇上 饭馆 的 煤气 罐 炸 了", ["煤气罐炸了"]),
    ("叔叔 喝 了 农药", ["喝了农药"]),
    ("十 分钟 之前 晕倒 了", ["晕倒"]),  # 之前 is a moment ago, not history
    ("去年 盖 的 房子 着火 了", ["着火"]),  # 去年 is about the house
    ("仓库 爆炸 过后 有 人 受伤", ["爆炸"]),
])
def test_the_words_that_made_a_draft_urgent_are_named(text, reasons):
    details = extract_caller_details(text)
    assert details.urgent and details.urgent_keywords == reasons


@pytest.mark.parametrize("text", [
    "摔 了 一 跤 没 流血",
    "好 几 个 人 都 没 发烧",
    "我 都 气 炸 了",  # angry, not an explosion
    "腿 抽筋 了 想 问 一下 补钙",
    "鼻子 流血 想 挂 个 号",
    "我 爸 中风 过 两 次 想 办 慢病 卡",
    "没有 着火 也 没有 人 受伤",
    "前年 家里 着火 的 补助 还 没 到",
])
def test_negated_past_and_everyday_uses_are_not_urgent(text):
    details = extract_caller_details(text)
    assert (details.urgent, details.urgent_keywords) == (False, [])


def test_english_reasons_are_the_longest_words_heard():
    details = extract_caller_details("the kitchen caught fire and a man is bleeding heavily", language="en-US")
    assert details.urgent_keywords == ["caught fire", "bleeding heavily"]
    assert extract_caller_details("nobody is bleeding badly", language="en-US").urgent is False
