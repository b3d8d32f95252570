"""Issue 24: urgency in everyday words and names beside places and roles, as table tests.

The cases live in cli/data/extraction_everyday.jsonl so that `dutyline eval extraction
cli/data/extraction_everyday.jsonl` scores the same lines these tests assert. They were
written before the extractor was changed for them; the held-back set stays untouched.
"""
from pathlib import Path

import pytest

from cli.eval import EXTRACTION_FIELDS, read_extraction_set
from transcription.extraction import DirectoryEntry, DirectoryIndex, extract_caller_details

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


# --- names: what the table does not show ----------------------------------------------------


def test_the_name_says_where_it_was_heard():
    details = extract_caller_details("我 是 南山 乡 的 联络员 李 明")
    assert (details.name.value, details.name.source) == ("李明", "transcript")
    assert details.name.evidence == "我是南山乡的联络员李明"
    stated = extract_caller_details("我 姓 钱 叫 建国 电话 一 三 八 一 二 三 四 五 六 七 八").name
    assert (stated.value, stated.evidence) == ("钱建国", "我姓钱叫建国")


@pytest.mark.parametrize("text, name", [
    ("我 是 张 伟 我们 村 医生 不够", "张伟"),  # the introduction wins over a later role word
    ("上次 反映 的 事 书记 高度 重视", None),  # a role word late in the message names nobody
    ("医生 马上 就 来", None),
    ("我 是 李 明 村里 有人 中毒 了", "李明"),  # 村里 is "in the village", not a place's suffix
    ("我 是 李 明 一 个 人 在 家", "李明"),  # 一 starts a quantity here, not the name
    ("我 是 张 伟 一 三 八 一 二 三 四 五 六 七 八", "张伟"),
    ("我 是 东风村 的 联络员", None),  # a place and a role, and no name said
    ("我 姓 王 王家村 的", "王"),  # 王家 is the village, so only the surname is known
])
def test_places_roles_and_everyday_words_are_not_names(text, name):
    found = extract_caller_details(text).name
    assert (found.value if found else None) == name


DIRECTORY = DirectoryIndex([
    DirectoryEntry("unit", 1, "南山乡卫生院", phone="057788000001"),
    DirectoryEntry("liaison", 10, "黎明", phone="13900001111", unit_name="南山乡卫生院"),
    DirectoryEntry("liaison", 11, "钱建国", phone="13900002222"),
    DirectoryEntry("liaison", 12, "南珊", phone="13900003333"),
])


def test_the_directory_name_wins_for_a_known_caller():
    # By caller ID: the name registered, not the one heard, even when the heard one is a name.
    by_id = extract_caller_details("我 是 南山 乡 的 联络员 李 明", directory=DIRECTORY,
                                   caller_number="+8613900001111")
    assert (by_id.name.value, by_id.name.source, by_id.liaison_id) == ("黎明", "caller_id", 10)
    # Said aloud: 李明 sounds like the directory's 黎明, and 南山 (a place) is not matched to 南珊.
    said = extract_caller_details("我 是 南山 乡 的 联络员 李 明", directory=DIRECTORY)
    assert (said.name.value, said.name.source, said.liaison_id) == ("黎明", "directory", 10)
    stated = extract_caller_details("我 姓 钱 钱 建国", directory=DIRECTORY)
    assert (stated.name.value, stated.liaison_id) == ("钱建国", 11)


@pytest.mark.parametrize("text, name", [
    ("this is nurse helen brown at the county hospital", "Helen Brown"),
    ("hi this is the village liaison john miller from south hill", "John Miller"),
    ("this is the village doctor", None),
    ("this is mary calling from the county hospital", "Mary"),
])
def test_english_names_after_a_title_or_role(text, name):
    found = extract_caller_details(text, language="en-US").name
    assert (found.value if found else None) == name
