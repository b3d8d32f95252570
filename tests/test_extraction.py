"""Caller details from transcripts as Vosk emits them (Mandarin first, English second)."""

import time

import pytest

from transcription.extraction import (
    DEFAULT_URGENT_KEYWORDS_EN,
    DEFAULT_URGENT_KEYWORDS_ZH,
    CallerDetails,
    DirectoryEntry,
    DirectoryIndex,
    FieldGuess,
    extract_caller_details,
    normalise_phone,
)

# (transcript, phones, name, unit, address, urgent)
ZH_LINES = [
    # Mobiles spoken digit by digit, in groups, with 幺/两 and mixed with Arabic digits.
    ("我 是 城关镇 卫生院 的 张 伟 电话 一 三 八 一 二 三 四 五 六 七 八", ["13812345678"], "张伟", "城关镇卫生院", None, False),
    ("我 叫 李明 我 的 电话 是 幺 三 八 幺 二 三 四 五 六 七 八", ["13812345678"], "李明", None, None, False),
    ("我 是 王小明 联络员 手机 号码 138 1234 五 六 七 八", ["13812345678"], "王小明", None, None, False),
    ("我 是 石桥 镇 中心 卫生院 联络员 孙 丽 电话 是 一八九 一二三四 五六七八 谢谢", ["18912345678"], "孙丽", "石桥镇中心卫生院", None, False),
    ("电话 幺三八幺二三四五六七八", ["13812345678"], None, None, None, False),
    ("我 的 手机 一 五 零 两 两 三 三 四 四 五 五", ["15022334455"], None, None, None, False),
    ("手机 13912345678 我 是 周 杰", ["13912345678"], "周杰", None, None, False),
    ("号码 是 一 七 七 零 零 零 零 一 一 一 一", ["17700001111"], None, None, None, False),
    ("联系 电话 一 九 九 八 八 八 八 七 七 七 七", ["19988887777"], None, None, None, False),
    ("我 叫 吴 强 电话 一 三 五 七 九 二 四 六 八 零 一 再 说 一 遍", ["13579246801"], "吴强", None, None, False),
    # Landlines with area codes.
    ("座机 是 零 五 七 一 八 八 八 八 六 六 六 六", ["057188886666"], None, None, None, False),
    ("您好 我 是 县 疾控 中心 欧阳 明 电话 零 一 零 六 二 三 四 五 六 七 八", ["01062345678"], "欧阳明", "县疾控中心", None, False),
    ("办公室 电话 零二零 八七六五 四三二一", ["02087654321"], None, None, None, False),
    ("打 这个 电话 0755 1234 5678 找 我", ["075512345678"], None, None, None, False),
    ("我 是 县 中医院 的 何 平 座机 零 五 七 七 八 八 一 二 三 四 五 六", ["057788123456"], "何平", "县中医院", None, False),
    # Two numbers in one message.
    ("我 的 手机 一 三 八 一 二 三 四 五 六 七 八 办公室 零 五 七 一 八 八 八 八 六 六 六 六", ["13812345678", "057188886666"], None, None, None, False),
    # Invalid or too short digit strings are discarded.
    ("电话 是 一 二 三 四 五 六 七 八 九 零 一", [], None, None, None, False),
    ("我 的 电话 一 三 八 一 二 三", [], None, None, None, False),
    ("电话 一 零 八 一 二 三 四 五 六 七 八", [], None, None, None, False),
    ("打 的 是 八 八 八 八 六 六 六 六", [], None, None, None, False),
    # Quantities are not phone digits.
    ("我们 村 有 两 个 人 三 天 没 吃饭 了", [], None, None, None, False),
    ("手机 一 三 八 一 二 三 四 五 六 七 八 两 个 人 中毒", ["13812345678"], None, None, None, True),
    # Names.
    ("我 是 东风村 的 联络员 陈 芳 我们 村 有 两 个 人 食物 中毒 了 请 尽快 处理", [], "陈芳", None, "东风村", True),
    ("县 人民医院 的 赵 刚 反映 门诊 排队 时间 太长", [], "赵刚", "县人民医院", None, False),
    ("你好 我 是 黄 丽 华 住 在 幸福 小区 三 栋", [], "黄丽华", None, "幸福小区三栋", False),
    ("我 姓 刘 是 新华 社区 卫生 服务 中心 的", [], "刘", "新华社区卫生服务中心", None, False),
    ("我 是 想 问 一下 医保 报销 的 问题", [], None, None, None, False),
    ("我 是 来 反映 情况 的", [], None, None, None, False),
    ("本人 是 马 红 梅 联系 方式 一 八 六 零 零 零 零 二 二 二 二", ["18600002222"], "马红梅", None, None, False),
    ("郭 军 联络员 这边 有个 情况", [], "郭军", None, None, False),
    ("我 叫 林 涛 今天 想 说 一下 卫生 院 的 事", [], "林涛", None, None, False),
    ("我 是 诸葛 亮 电话 一 三 三 零 零 零 零 零 零 零 零", ["13300000000"], "诸葛亮", None, None, False),
    # Units.
    ("这里 是 县 妇幼保健院 有 一个 事情 要 报告", [], None, "县妇幼保健院", None, False),
    ("我 是 县 第二 人民医院 的 医生", [], None, "县第二人民医院", None, False),
    ("大桥 乡 卫生院 的 药品 不够 了", [], None, "大桥乡卫生院", None, False),
    ("南湖 街道 卫生院 门口 堵车", [], None, "南湖街道卫生院", None, False),
    ("县 疾病预防控制中心 的 电话 打 不通", [], None, "县疾病预防控制中心", None, False),
    # Addresses.
    ("我 住 在 人民路 十二 号 这边 路灯 坏 了 不是 很 紧急", [], None, None, "人民路十二号", False),
    ("地址 是 清河 镇 柳树 村 三 组", [], None, None, "清河镇柳树村三组", False),
    ("阳光 社区 有 一 条 狗 咬 人", [], None, None, "阳光社区", False),
    ("解放 街 的 诊所 没 开门", [], None, None, "解放街", False),
    # Urgency, with negation.
    ("我们 小区 发生 火灾 有人 昏迷 电话 一 五 九 八 七 六 五 四 三 二 一", ["15987654321"], None, None, None, True),
    ("没有 人 中毒 就是 想 问 一下 疫苗 的 事情", [], None, None, None, False),
    ("紧急 情况 学校 有 学生 食物 中毒", [], None, None, None, True),
    ("工厂 发生 爆炸 需要 急救", [], None, None, None, True),
    ("村里 老人 死亡 原因 不明", [], None, None, None, True),
    ("这 不 紧急 只是 反映 一下 垃圾 的 问题", [], None, None, None, False),
    ("疫情 防控 有 新 情况 请 联系 我 一 三 七 一 一 一 一 二 二 二 二", ["13711112222"], None, None, None, True),
    ("卫生院 的 服务 态度 不好", [], None, None, None, False),
]

EN_LINES = [
    ("hello my name is john smith from riverside health center my number is four one five five five five zero one three four",
     ["4155550134"], "John Smith", "riverside health center", None, False),
    ("this is mary calling from the county hospital there is an outbreak of flu in maple village",
     [], "Mary", "county hospital", "maple village", True),
    ("i'm david chen from oak street clinic call me back on 138 1234 5678",
     ["13812345678"], "David Chen", "oak street clinic", None, False),
    ("hi this is an emergency someone is unconscious at 12 elm street phone double five five one two three four",
     ["5551234"], None, None, "12 elm street", True),
    ("this is not urgent my name is sarah lee", [], "Sarah Lee", None, None, False),
    ("my name's tom my phone is oh seven seven triple nine one two three four five six",
     ["077999123456"], "Tom", None, None, False),
    ("i am peter wong calling about the water on green road", [], "Peter Wong", None, "green road", False),
    ("there was a fire at the school nobody was hurt call 555 0199", ["5550199"], None, None, None, True),
    ("this is linda from lakeside community health centre", [], "Linda", "lakeside community health centre", None, False),
    ("a child died after eating mushrooms near hill village", [], None, None, "hill village", True),
    ("no one died it is just a complaint about the queue", [], None, None, None, False),
    ("please call me at (415) 555-0134 thank you", ["4155550134"], None, None, None, False),
    ("suspected food poisoning at the market on king street this is james",
     [], "James", None, "king street", True),
    ("my name is anna my number is plus eight six one three nine one two three four five six seven eight",
     ["8613912345678"], "Anna", None, None, False),
]


# Issue 13 item 5: what real callers say that a tidy transcript does not have.
# (transcript, phones, name, unit, address, urgent), as in ZH_LINES / EN_LINES.
SPEECH_ZH = [
    # Filler syllables inside a spoken number.
    ("电话 一 三 八 嗯 一 二 三 四 五 六 七 八", ["13812345678"], None, None, None, False),
    ("我 的 手机 是 一 八 九 呃 一 二 三 四 呃 五 六 七 八", ["18912345678"], None, None, None, False),
    ("号码 一 五 零 那个 二 二 三 三 那个 四 四 五 五", ["15022334455"], None, None, None, False),
    ("我 叫 吴 强 电话 幺 三 五 额 七 九 二 四 啊 六 八 零 一", ["13579246801"], "吴强", None, None, False),
    ("座机 零 五 七 一 嗯 八 八 八 八 嗯 六 六 六 六", ["057188886666"], None, None, None, False),
    ("一 三 七 就是 一 一 一 一 就是 二 二 二 二 是 我 的 手机", ["13711112222"], None, None, None, False),
    # A filler between a number and the next words is not part of the number.
    ("手机 一 三 九 一 二 三 四 五 六 七 八 嗯 我 是 周 杰", ["13912345678"], "周杰", None, None, False),
    # Spoken separators in landlines: 杠 (dash) and 转 (extension).
    ("座机 零 五 七 一 杠 八 八 八 八 六 六 六 六", ["057188886666"], None, None, None, False),
    ("电话 零 一 零 杠 六 二 三 四 杠 五 六 七 八", ["01062345678"], None, None, None, False),
    ("办公室 零 五 七 七 横杠 八 八 一 二 三 四 五 六 转 三 零 二", ["057788123456"], None, None, None, False),
    ("打 零 二 零 八 七 六 五 四 三 二 一 转 六 六 找 我", ["02087654321"], None, None, None, False),
    ("总机 零 七 五 五 杠 一 二 三 四 五 六 七 八 分机 八 零 八", ["075512345678"], None, None, None, False),
    ("我 是 何 平 座机 零 五 七 七 杠 八 八 一 二 三 四 五 六", ["057788123456"], "何平", None, None, False),
    # Long digit strings that are not phones: IDs, insurance cards, account numbers.
    ("身份证 号 一 一 零 一 零 一 一 九 九 零 零 三 零 七 一 二 三 四", [], None, None, None, False),
    ("医保卡 号 是 一 三 八 零 零 一 二 三 四 五 六 七 八", [], None, None, None, False),
    ("户号 一 八 六 零 零 零 零 二 二 二 二", [], None, None, None, False),
    ("我 的 社保卡 号 一 五 零 二 二 三 三 四 四 五 五 电话 一 三 八 一 二 三 四 五 六 七 八",
     ["13812345678"], None, None, None, False),
    ("病历号 一 三 七 一 一 一 一 二 二 二 二 手机 一 九 九 八 八 八 八 七 七 七 七",
     ["19988887777"], None, None, None, False),
    ("三 三 零 一 零 二 一 九 八 八 零 一 零 一 一 三 八 九", [], None, None, None, False),
    ("我 是 马 红 梅 身份证 是 三 三 零 三 二 六 一 九 八 零 零 五 零 五 四 四 二 一", [], "马红梅", None, None, False),
    # Emergencies phrased with a negation, and negations that negate nothing.
    ("老人 摔倒 了 没有 呼吸", [], None, None, None, True),
    ("孩子 高烧 一直 叫 不 醒", [], None, None, None, True),
    ("有 个 人 倒 在 路边 已经 没有 意识 了", [], None, None, None, True),
    ("我 妈 喊 也 喊 不 醒 快 来", [], None, None, None, True),
    ("病人 失去 意识 呼吸 停止 了", [], None, None, None, True),
    ("学生 不 慎 中毒 送 到 卫生院", [], None, None, None, True),
    ("这 事 非常 紧急 请 马上 回电", [], None, None, None, True),
    ("大家 都 没有 意识 到 垃圾 的 问题", [], None, None, None, False),
    ("孩子 没有 呼吸道 感染 就是 咳嗽", [], None, None, None, False),
    ("反映 的 事情 没有 回音 也 不 紧急", [], None, None, None, False),
]

SPEECH_EN = [
    # Phone numbers said as words, with hesitations and pauses.
    ("my number is four one five um five five five uh zero one three four", ["4155550134"], None, None, None, False),
    ("call me on two one two dash five five five dash zero one nine nine", ["2125550199"], None, None, None, False),
    ("this is tom my cell is six four six and then five five five zero one two three",
     ["6465550123"], "Tom", None, None, False),
    ("reach me at three one two the number is five five five zero one eight eight", ["3125550188"], None, None, None, False),
    ("phone eight hundred five five five one two one two", ["8005551212"], None, None, None, False),
    ("my phone is four one five five five five twelve thirty four", ["4155551234"], None, None, None, False),
    ("my account number is nine eight seven six five four three two one call me at four one five five five five zero one three four",
     ["4155550134"], None, None, None, False),
    ("call me on four one five five five five zero one three four extension two one two",
     ["4155550134"], None, None, None, False),
    # Emergencies said with a negation.
    ("my father is not breathing", [], None, None, None, True),
    ("we can't wake him up", [], None, None, None, True),
    ("she is unresponsive on the floor", [], None, None, None, True),
    ("it is not an emergency nobody is unconscious", [], None, None, None, False),
]


def _plain(details: CallerDetails):
    data = details.to_json()
    return data["phones"], data["name"], data["unit"], data["address"], data["urgent"]


@pytest.mark.parametrize("text, phones, name, unit, address, urgent", ZH_LINES, ids=[line[0][:24] for line in ZH_LINES])
def test_mandarin_lines(text, phones, name, unit, address, urgent):
    assert _plain(extract_caller_details(text)) == (phones, name, unit, address, urgent)


@pytest.mark.parametrize("text, phones, name, unit, address, urgent", EN_LINES, ids=[line[0][:24] for line in EN_LINES])
def test_english_lines(text, phones, name, unit, address, urgent):
    assert _plain(extract_caller_details(text, language="en-US")) == (phones, name, unit, address, urgent)


@pytest.mark.parametrize("text, phones, name, unit, address, urgent", SPEECH_ZH, ids=[line[0][:24] for line in SPEECH_ZH])
def test_mandarin_speech(text, phones, name, unit, address, urgent):
    assert _plain(extract_caller_details(text)) == (phones, name, unit, address, urgent)


@pytest.mark.parametrize("text, phones, name, unit, address, urgent", SPEECH_EN, ids=[line[0][:24] for line in SPEECH_EN])
def test_english_speech(text, phones, name, unit, address, urgent):
    assert _plain(extract_caller_details(text, language="en-US")) == (phones, name, unit, address, urgent)


def test_table_sizes():
    assert len(ZH_LINES) >= 45 and len(EN_LINES) >= 12
    assert len(SPEECH_ZH) + len(SPEECH_EN) >= 30


def test_an_extension_is_kept_beside_its_number_not_as_a_phone():
    details = extract_caller_details("座机 零 五 七 七 杠 八 八 一 二 三 四 五 六 转 八 零 一")
    assert details.phones == ["057788123456"]
    assert details.to_json()["extensions"] == {"057788123456": "801"}
    english = extract_caller_details("call four one five five five five zero one three four ext two one",
                                     language="en-US")
    assert english.phones == ["4155550134"] and english.extensions == {"4155550134": "21"}


def test_urgent_situations_are_named_and_stay_urgent_with_custom_keywords():
    details = extract_caller_details("奶奶 叫 不 醒 了", urgent_keywords=["井水"])
    assert details.urgent and details.urgent_keywords == ["叫不醒"]
    assert extract_caller_details("奶奶 睡 得 很 好", urgent_keywords=["井水"]).urgent is False


def test_transcript_guesses_say_where_they_came_from():
    details = extract_caller_details("我 是 城关镇 卫生院 的 张 伟 电话 一 三 八 一 二 三 四 五 六 七 八")
    assert details.name == FieldGuess("张伟", "transcript", details.name.confidence, details.name.evidence)
    assert 0 < details.name.confidence < 1
    assert "张伟" in details.name.evidence
    assert details.phone.value == "13812345678" and details.phone.source == "transcript"
    assert details.phone.evidence == "一三八一二三四五六七八"
    assert details.liaison_id is None and details.unit_id is None


def test_to_json_shape():
    data = extract_caller_details("我 是 赵 刚 紧急 情况 电话 一 三 八 一 二 三 四 五 六 七 八").to_json()
    assert data["phones"] == ["13812345678"]
    assert data["name"] == "赵刚"
    assert data["unit"] is None and data["address"] is None
    assert data["urgent"] is True and data["urgent_keywords"] == ["紧急"]
    assert data["fields"]["name"]["source"] == "transcript"
    assert data["fields"]["unit"] is None
    assert data["fields"]["phone"]["value"] == "13812345678"
    assert data["liaison_id"] is None and data["unit_id"] is None


def test_the_bureaus_urgent_keywords_add_to_the_defaults():
    # Issue 24: DUTYLINE_URGENT_KEYWORDS used to replace the list, so a bureau that added
    # 井水 lost 中毒, 着火 and every other default.
    text = "村 里 井水 发 黑 有人 中毒"
    assert extract_caller_details(text, urgent_keywords=["井水"]).urgent_keywords == ["中毒", "井水"]
    assert extract_caller_details(text).urgent_keywords == ["中毒"]
    added = extract_caller_details("家 里 着火 了", urgent_keywords=["井水", " ", "着火"])
    assert added.urgent_keywords == ["着火"]  # a bureau word that is also a default counts once
    assert extract_caller_details("没有 井水 的 问题", urgent_keywords=["井水"]).urgent is False
    english = extract_caller_details("the well water is black", language="en-US", urgent_keywords=["black water"])
    assert english.urgent is False
    assert extract_caller_details("the kitchen caught fire", language="en-US",
                                  urgent_keywords=["black water"]).urgent_keywords == ["caught fire"]
    assert "紧急" in DEFAULT_URGENT_KEYWORDS_ZH and "outbreak" in DEFAULT_URGENT_KEYWORDS_EN
    for word in ("着火", "起火", "冒烟", "爆炸", "抽搐", "呼吸困难", "昏迷", "不省人事", "大出血", "休克",
                 "心脏病发作", "中风", "车祸", "溺水", "触电", "坍塌", "上吐下泻", "中毒", "误服"):
        assert word in DEFAULT_URGENT_KEYWORDS_ZH, word


# --- directory -------------------------------------------------------------

DIRECTORY = [
    DirectoryEntry("unit", 1, "城关镇中心卫生院", phone="057788000001"),
    DirectoryEntry("unit", 2, "县人民医院", phone="057788000002"),
    DirectoryEntry("unit", 3, "大桥乡卫生院"),
    DirectoryEntry("liaison", 10, "张伟", phone="13812345678", unit_name="城关镇中心卫生院"),
    DirectoryEntry("liaison", 11, "黎明", phone="13900001111", unit_name="县人民医院"),
    DirectoryEntry("liaison", 12, "王小明", phone="0577-8812-3456", unit_name="大桥乡卫生院"),
    DirectoryEntry("liaison", 13, "陈芳", phone="15011112222"),
    DirectoryEntry("liaison", 14, "曾红", phone="18600003333"),
]


@pytest.fixture(scope="module")
def directory():
    return DirectoryIndex(DIRECTORY)


@pytest.mark.parametrize(
    "heard, expected_id, min_score",
    [
        ("张伟", 10, 1.0),
        ("章伟", 10, 0.9),  # same pinyin, different character
        ("张玮", 10, 0.9),
        ("李明", 11, 0.9),  # li ming = 黎明
        ("王晓明", 12, 0.9),
        ("陈方", 13, 0.9),
        ("增红", 14, 0.8),  # 曾 as a surname reads zeng
        ("沈芳", 13, 0.0),  # chen/shen differ: must not match (checked below)
    ],
)
def test_match_name_by_pinyin(directory, heard, expected_id, min_score):
    result = directory.match_name(heard)
    if min_score == 0.0:
        assert result is None
    else:
        entry, score = result
        assert entry.id == expected_id
        assert score >= min_score


def test_match_name_rejects_unrelated_names(directory):
    assert directory.match_name("赵刚") is None
    assert directory.match_name("张") is None


def test_match_name_ambiguous_homophones_gives_none():
    index = DirectoryIndex([DirectoryEntry("liaison", 1, "张伟"), DirectoryEntry("liaison", 2, "章伟")])
    assert index.match_name("张伟")[0].id == 1  # exact spelling decides
    assert index.match_name("章伟")[0].id == 2
    assert index.match_name("彰炜") is None  # sounds like both, spelled like neither


def test_match_unit(directory):
    entry, score = directory.match_unit("城关镇卫生院")  # heard without 中心
    assert entry.id == 1 and MATCH_OK(score)
    assert directory.match_unit("县人民医院") == (DIRECTORY[1], 1.0)
    assert directory.match_unit("大乔乡卫生院")[0].id == 3  # homophone 桥/乔
    assert directory.match_unit("县中医院") is None


def MATCH_OK(score):
    return 0.7 <= score < 1.0


def test_find_by_phone_normalises_formats(directory):
    assert directory.find_by_phone("+8613812345678").id == 10
    assert directory.find_by_phone("008613812345678").id == 10
    assert directory.find_by_phone("057788123456").id == 12
    assert directory.find_by_phone("+86 577 8812 3456").id == 12
    assert directory.find_by_phone("057788000002").id == 2
    assert directory.find_by_phone("13700000000") is None


def test_homophone_name_in_transcript_finds_the_liaison(directory):
    details = extract_caller_details("我 是 章 伟 我们 镇 上 有 情况", directory=directory)
    assert details.name.value == "张伟"
    assert details.name.source == "directory"
    assert details.liaison_id == 10
    assert details.unit.value == "城关镇中心卫生院" and details.unit_id == 1
    assert details.unit.source == "directory"


def test_homophone_without_trigger_words_is_found_by_scanning(directory):
    details = extract_caller_details("李明 反映 医院 停车 难", directory=directory)
    assert (details.name.value, details.name.source, details.liaison_id) == ("黎明", "directory", 11)
    assert details.unit.value == "县人民医院"


def test_spoken_unit_matched_to_directory_spelling(directory):
    details = extract_caller_details("我 是 城关镇 卫生院 的 赵 刚", directory=directory)
    assert details.unit.value == "城关镇中心卫生院"
    assert details.unit.source == "directory" and details.unit_id == 1
    assert details.name.value == "赵刚" and details.name.source == "transcript"
    assert details.liaison_id is None


def test_liaison_number_said_aloud_identifies_them(directory):
    details = extract_caller_details("电话 一 五 零 一 一 一 一 二 二 二 二 有 事 找 你们", directory=directory)
    assert details.liaison_id == 13
    assert details.name.value == "陈芳" and details.name.source == "directory"


@pytest.mark.parametrize("caller_number", ["+8613812345678", "13812345678", "008613812345678", "+86 138 1234 5678"])
def test_caller_id_comes_first(directory, caller_number):
    # The transcript names someone else (misheard); the registered phone wins.
    details = extract_caller_details("我 是 李明 电话 一 三 九 零 零 零 零 一 一 一 一", directory=directory, caller_number=caller_number)
    assert details.liaison_id == 10
    assert details.name == FieldGuess("张伟", "caller_id", 1.0, f"caller ID {caller_number}")
    assert details.phone.value == "13812345678" and details.phone.source == "caller_id"
    assert details.unit.value == "城关镇中心卫生院" and details.unit.source == "caller_id"
    assert details.unit_id == 1
    assert details.phones == ["13900001111"]  # what was said is still reported


def test_caller_id_landline_matches_formatted_directory_phone(directory):
    details = extract_caller_details("喂", directory=directory, caller_number="+86 577 8812 3456")
    assert details.liaison_id == 12 and details.name.source == "caller_id"
    assert details.phone.value == "057788123456"


def test_unknown_caller_id_is_kept_as_a_weak_phone_guess(directory):
    details = extract_caller_details("我 想 反映 一下 情况", directory=directory, caller_number="+8613700000000")
    assert details.liaison_id is None and details.name is None
    assert details.phone == FieldGuess("13700000000", "caller_id", 0.6, "caller ID +8613700000000")


def test_anonymous_caller_id_is_ignored(directory):
    details = extract_caller_details("我 想 反映 一下 情况", directory=directory, caller_number="anonymous")
    assert details.phone is None and details.liaison_id is None


@pytest.mark.parametrize(
    "raw, expected",
    [("+8613812345678", "13812345678"), ("008613812345678", "13812345678"), ("13812345678", "13812345678"),
     ("+86 571 8888 6666", "057188886666"), ("0571-8888-6666", "057188886666"), ("anonymous", None), ("", None)],
)
def test_normalise_phone(raw, expected):
    assert normalise_phone(raw) == expected


def test_extractor_is_fast(directory):
    text = ZH_LINES[0][0]
    extract_caller_details(text, directory=directory)
    started = time.perf_counter()
    for _ in range(200):
        extract_caller_details(text, directory=directory)
    assert (time.perf_counter() - started) / 200 < 0.005


def test_eval_extraction_scores_each_transcript_on_all_four_fields(tmp_path):
    import json

    from click.testing import CliRunner

    from cli.main import main

    dataset = tmp_path / "set.jsonl"
    rows = [
        {"class": "a", "text": "我 叫 李明 电话 幺 三 八 幺 二 三 四 五 六 七 八",
         "phones": ["13812345678"], "name": "李明", "unit": None, "urgent": False},
        # Right phones and name, wrong expectation for urgency: the line counts as wrong.
        {"class": "b", "text": "我 叫 李明 电话 幺 三 八 幺 二 三 四 五 六 七 八",
         "phones": ["13812345678"], "name": "李明", "unit": None, "urgent": True},
        {"class": "b", "language": "en-US", "text": "my name is anna",
         "phones": [], "name": "Anna", "unit": None, "urgent": False},
    ]
    dataset.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")

    result = CliRunner().invoke(main, ["eval", "extraction", str(dataset), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["cases"], report["right"], report["score"]) == (3, 2, 0.6667)
    assert report["fields"] == {"phones": 1.0, "name": 1.0, "unit": 1.0, "urgent": 0.6667}
    assert report["classes"]["b"] == {"right": 1, "cases": 2, "score": 0.5}
    assert report["misses"][0]["wrong"] == {"urgent": {"expected": True, "found": False}}


def test_the_shipped_heldback_set_is_scored_by_default():
    from click.testing import CliRunner

    from cli.main import main

    result = CliRunner().invoke(main, ["eval", "extraction"])
    assert result.exit_code == 0, result.output
    assert "transcripts fully right" in result.output.splitlines()[-1]
