"""Pull the caller's name, unit, address, phone and urgency out of a transcript.

Input is text as Vosk emits it: Mandarin as space-separated tokens
("我 是 城关镇 卫生院 的 张 伟 电话 一 三 八 ..."), English in lower case.
Everything here is a pure function of its arguments (no database); the duty
room confirms or corrects each guess, so every field carries where it came
from, how sure we are, and the words that gave it away.

Order of trust: the caller ID matched against the directory (the phone the
liaison registered) beats the directory matched against what was said, which
beats what was said alone. Small recognisers often pick the wrong character
for a name with the right sound (张伟/章伟, 李明/黎明), so directory names are
compared by pinyin, not by characters.

It runs on every call, so patterns are compiled once at import.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import phonenumbers
from pypinyin import lazy_pinyin

from intake.store.models import join_tokens
from intake.directory.phones import to_e164

# The words of a form ("火灾") and the words callers use at 3 a.m. ("着火", "抽搐"). The
# bureau's own words (DUTYLINE_URGENT_KEYWORDS) are added to these, never put in their place.
DEFAULT_URGENT_KEYWORDS_ZH = (
    "紧急", "急救", "死亡", "疫情",
    # fire and explosion
    "火灾", "着火", "起火", "失火", "烧起来", "冒烟", "爆炸",
    # the body
    "昏迷", "不省人事", "晕倒", "昏倒", "晕过去", "昏过去", "抽搐", "抽风", "口吐白沫",
    "呼吸困难", "窒息", "大出血", "血流不止", "流血不止", "休克", "心脏病发作", "心脏病犯",
    "心梗", "心肌梗", "中风", "脑梗", "脑出血", "脑溢血",
    # accidents
    "车祸", "撞车", "被车撞", "溺水", "落水", "触电", "坍塌", "倒塌", "塌方",
    # outbreaks
    "上吐下泻",
    # poisoning
    "中毒", "误服", "误食", "吃错药", "毒蘑菇", "老鼠药", "耗子药", "敌敌畏", "百草枯",
)
DEFAULT_URGENT_KEYWORDS_EN = (
    "urgent", "emergency", "death", "died", "outbreak", "unconscious", "collapsed",
    "fire", "caught fire", "explosion", "exploded",
    "seizure", "seizures", "convulsions", "heart attack", "stroke", "overdose",
    "car crash", "car accident", "hit by a car", "drowned", "drowning", "electrocuted",
    "poisoning", "poisoned", "pesticide", "swallowed",
)
DEFAULT_LANGUAGE = "zh-CN"

# Scores at or above this count as a directory match.
MATCH_THRESHOLD = 0.7

Source = Literal["caller_id", "directory", "transcript"]

# --- characters and words -------------------------------------------------

# Han ideographs, the characters a Chinese name or place name is written in.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

_ZH_DIGITS = {
    "零": "0", "〇": "0", "洞": "0",
    "一": "1", "幺": "1", "妖": "1",
    "二": "2", "两": "2",
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}
# A Chinese digit followed by one of these is a quantity ("两个人", "三天"),
# not part of a phone number.
_ZH_MEASURE_WORDS = set("个人次天点岁名位户家年月日号楼层组栋单元辆只块元斤小分周")
_DIGIT_SEPARATORS = set(" -—–_,，.、")
# Said between the digits of one number: hesitations, and the dash of a written landline
# ("零五七七杠八八..."). They only join digits on both sides; elsewhere they are words.
_ZH_DIGIT_FILLERS = ("横杠", "那个", "这个", "就是", "杠", "嗯", "呃", "额", "啊", "唔")
# "转 八零一" / "分机 八零一": an extension of the number just said, never a phone itself.
_ZH_EXTENSION_WORDS = ("分机号", "分机", "转")
_ZH_EXTENSION_MAX_DIGITS = 6
# Long digit strings callers read out that are not phone numbers. The nearest label before
# a run decides: after 身份证号 it is an ID, after 电话 a phone.
_ZH_ID_LABELS = ("身份证", "证件", "医保", "社保", "卡号", "户号", "账号", "帐号", "编号", "证号",
                 "工号", "学号", "单号", "病历号", "住院号", "档案号", "车牌")
_ZH_PHONE_LABELS = ("电话", "手机", "座机", "号码是", "联系", "打", "拨", "找我")
_LABEL_WINDOW = 10
# A run this long that is not wholly phone numbers is something else read out (an ID); a
# phone found inside it by sliding along would be a coincidence.
_LONG_RUN_DIGITS = 14

_EN_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0",
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
_EN_REPEATS = {"double": 2, "triple": 3}
_EN_TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
             "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19"}
_EN_TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6",
            "seventy": "7", "eighty": "8", "ninety": "9"}
_EN_MULTIPLIERS = {"hundred": "00", "thousand": "000"}
# Hesitations and spoken dashes inside a number; they join digits on both sides only.
_EN_DIGIT_FILLERS = {"uh", "um", "er", "erm", "ah", "hmm", "mm", "dash", "hyphen", "and", "then"}
# An area code, a pause with a few words ("the number is"), then the seven digits.
_EN_AREA_CODE_GAP = 4
_EN_EXTENSION_WORDS = {"extension", "ext"}
_EN_ID_LABELS = {"medicare", "medicaid", "account", "card", "id", "security", "ssn", "policy",
                 "member", "membership", "insurance", "reference", "case", "order", "zip",
                 "passport", "license", "licence", "claim"}
_EN_PHONE_LABELS = {"phone", "cell", "mobile", "call", "reach", "telephone", "landline", "text"}

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")

# Particles and words that end a name (or a place) in Mandarin speech.
_ZH_STOP_WORDS = (
    "电话", "手机", "号码", "联系", "今天", "昨天", "现在", "这边", "那边", "这里", "那里",
    "反映", "报告", "想要", "打电话", "我们", "他们", "你好", "您好", "请问", "一下", "有个", "有人",
    "座机", "办公", "地址", "紧急", "情况", "事情", "这个", "那个",
    # Words that follow a name in speech; without them a two-character name takes the
    # next character too ("谢云联络员" -> 谢云联).
    "联络员", "同志", "医生", "护士", "老师", "主任", "疫情", "身份", "医保", "社保", "户号",
)
_ZH_STOP_CHARS = set("的是在我你他她它们想要来给跟和与及反报打说找问有住从也就呢啊吧呀了吗嘛哦嗯这那，。、！？,.!? ")
# Characters that never appear in a person's name but do in units and places.
_ZH_PLACE_CHARS = set("院镇乡村局所站医社街路县市区省组楼号心室校司厂")

# Common surnames (single and compound); a name guessed without a directory
# must start with one, which stops "我是想问一下" from yielding a name.
_ZH_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "章常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单"
    "季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚"
    "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
    "查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴"
)
_ZH_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "司徒")

# Surnames whose everyday reading differs from the surname reading; pypinyin
# reads characters, not names, so 曾红 would otherwise be "ceng hong".
_SURNAME_READINGS = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "区": "ou", "查": "zha",
    "盖": "ge", "乐": "yue", "覃": "qin", "缪": "miao", "任": "ren", "华": "hua", "尉": "yu", "员": "yun",
}

_ZH_NUMERAL = "零〇一二两三四五六七八九十百幺0-9"
_NAME_CHAR = rf"[{_HAN}]"
# A place-name character: CJK but not a particle that starts the next phrase.
# "反映一下县妇幼保健院": the 下 of 一下 does not start a place name.
_PLACE_CHAR = rf"(?:(?!{'|'.join(_ZH_STOP_WORDS)})(?!(?<=一)下)[^\W\d_的是在我你他她们想要来给跟和与住从也就呢啊吧呀了吗嘛哦嗯这那有到去说叫姓{_ZH_NUMERAL}])"

_ZH_NAME_TRIGGERS = re.compile(
    # The lookahead keeps "rest" unconsumed, so "我是东风村的联络员陈芳" also
    # finds the 联络员 trigger inside the first one's span. "Rest" is long enough for a
    # unit, a role and the name after them ("石桥镇中心卫生院的院长何伟").
    rf"(?:我是|我叫|本人是|本人|这里是|这边是|联络员|名字叫|名字是|叫做)(?=(?P<rest>{_NAME_CHAR}{{1,24}}))"
)
_ZH_NAME_BEFORE_LIAISON = re.compile(rf"(?P<name>{_NAME_CHAR}{{2,3}})(?:联络员|同志)")
_ZH_SURNAME_ONLY = re.compile(rf"我姓(?P<surname>{_NAME_CHAR})(?!{_NAME_CHAR}*?叫)")

# What a caller is, said between their place and their name ("南山乡的联络员李明"): a name
# follows one of these more often than it follows a place. Longest first, so that 妇女主任
# is one word and not 妇女 before 主任.
_ZH_ROLE_WORDS = tuple(sorted((
    "民情联络员", "联络员", "乡村医生", "村医", "医生", "大夫", "护士长", "护士", "妇女主任", "副主任",
    "主任", "村支书", "支书", "副书记", "书记", "村长", "组长", "副院长", "院长", "所长", "站长", "会计",
    "出纳", "网格员", "卫生员", "防保员", "计生员", "专干", "村干部", "干部", "校长", "老师", "队长", "村民",
), key=len, reverse=True))
_ZH_ROLE_TRIGGER = re.compile(rf"(?:{'|'.join(_ZH_ROLE_WORDS)})(?=(?P<rest>{_NAME_CHAR}{{1,12}}))")
_ZH_INTRODUCTION = re.compile(r"我是|我叫|本人|这里是|这边是|我们是")
_ZH_INTRODUCTION_SPAN = 16
_ZH_GREETINGS = re.compile(r"你好|您好|喂|领导")
# Everyday words that start with a surname character and may follow a role word
# ("医生马上来", "主任全部知道").
_ZH_NOT_NAMES = ("马上", "高烧", "高热", "高血压", "全身", "全部", "全家", "全村", "方便", "明天",
                 "明白", "时候", "时间", "连续", "常常", "向上", "和我", "都是", "安排", "关心")
# A surname stated, then the full name: "我姓钱，钱建国", "免贵姓孙，孙立新", "我姓李，木子李，李红霞".
_ZH_STATED_SURNAME = re.compile(
    rf"(?:我|免贵|本人)姓(?P<surname>{'|'.join(_ZH_COMPOUND_SURNAMES)}|{_NAME_CHAR})")
# How a surname is spelled out ("木子李", "弓长张", "赵钱孙李的赵"): that 李 does not start the name.
_ZH_SURNAME_SPELLINGS = ("木子", "弓长", "口天", "耳东", "立早", "文刀", "双木", "草头", "古月", "三横",
                         "言午", "走肖", "人可", "禾呈", "双人", "赵钱孙李", "百家姓")
_ZH_GIVEN_NAME_INTROS = ("名字叫", "名字是", "全名是", "名叫", "叫做", "叫")
# How far after "我姓钱" the full name may come.
_ZH_SURNAME_WINDOW = 14

_ZH_UNIT = re.compile(
    rf"(?P<unit>"
    rf"{_PLACE_CHAR}{{1,6}}?(?:镇|乡|街道)(?:中心)?卫生院"
    rf"|{_PLACE_CHAR}{{0,4}}?县(?:第[一二三四五六七八九十]+)?人民医院"
    rf"|{_PLACE_CHAR}{{0,4}}?县中医院"
    rf"|{_PLACE_CHAR}{{1,6}}?社区卫生服务(?:中心|站)"
    rf"|{_PLACE_CHAR}{{0,4}}?县?(?:疾控中心|疾病预防控制中心)"
    rf"|{_PLACE_CHAR}{{0,4}}?县?妇幼保健(?:院|计划生育服务中心)"
    rf"|{_PLACE_CHAR}{{0,4}}?县?(?:卫生健康局|卫健局|卫生监督所|人民医院|中医院)"
    rf"|{_PLACE_CHAR}{{1,4}}?村卫生室"
    rf")"
)
_ZH_ADDRESS = re.compile(
    rf"(?P<address>"
    rf"(?:{_PLACE_CHAR}{{1,4}}?(?:镇|乡))?{_PLACE_CHAR}{{1,5}}?(?:村|社区|小区)"
    rf"(?:[{_ZH_NUMERAL}]{{1,4}}(?:组|号楼|栋|幢|单元|号))?(?!卫生)"
    rf"|{_PLACE_CHAR}{{1,5}}?(?:路|街|大道|巷)(?:[{_ZH_NUMERAL}]{{1,5}}号)?(?!道)"
    rf")"
)

# A place (or the village committee) said before a role and a name: "南山乡", "张庄村村委会",
# "城南社区". Not 村里/镇上/县长..., where the same character starts a word of its own.
_ZH_PLACE_PHRASE = re.compile(
    rf"{_PLACE_CHAR}{{1,6}}?(?:村委会|居委会|村委|(?:街道|社区|小区|乡|镇|村|县|市|区)"
    rf"(?![里口子头上下外内边医长支干场部]))"
)
_ZH_ORGANISATION = re.compile(r"村委会|居委会|村委|党支部|支部|卫生室|卫生所|诊所|门诊部")
# "南山的联络员": a place without its suffix, known as one because a role follows.
_ZH_POSSESSIVE_PLACE = re.compile(rf"{_PLACE_CHAR}{{1,6}}?的(?=(?:{'|'.join(_ZH_ROLE_WORDS)}))")
_ZH_PLACE_SUFFIX = re.compile(r"(?:街道|社区|小区|[乡镇村县市区])(?![里口子头上下外内边医长支干场部])")

_EN_STOP_WORDS = {
    "a", "an", "the", "from", "at", "of", "in", "on", "with", "and", "or", "calling", "speaking", "here",
    "i", "i'm", "im", "my", "me", "we", "our", "is", "am", "are", "was", "this", "that", "it", "about",
    "regarding", "phone", "number", "call", "calling", "to", "for", "urgent", "emergency", "just", "so",
    "um", "uh", "hello", "hi", "yes", "no", "not", "please", "there", "reporting", "report", "liaison",
    "going", "trying", "sorry", "very", "really", "okay", "ok", "well", "live", "living", "near",
}
# "this is nurse helen brown", "this is the village liaison john miller": a name follows a title
# or a role, which is not itself the name.
_EN_TITLES = {"nurse", "doctor", "dr", "mr", "mrs", "ms", "miss", "director", "secretary"}
_EN_ROLE_WORDS = {"liaison", "doctor", "nurse", "director", "secretary", "officer", "head", "chief",
                  "leader", "worker", "coordinator", "chair", "chairman", "volunteer"}
_EN_DETERMINERS = {"the", "a", "an", "your", "our"}
_EN_ROLE_GAP = 4
_EN_NAME_TRIGGER = re.compile(r"\b(?:my name is|my name's|this is|i am|i'm|im|it's|name is)\s+(?P<rest>[a-z' ]+)")
_EN_UNIT = re.compile(
    r"(?P<head>(?:[a-z'.]+ ){0,3}?)(?P<kind>health (?:centre|center)|county (?:people's |peoples )?hospital"
    r"|community health (?:centre|center|station)|hospital|clinic|cdc|center for disease control)\b"
)
_EN_ADDRESS = re.compile(
    r"(?P<head>(?:[a-z0-9'.]+ ){1,3}?)(?P<kind>road|street|village|avenue|lane|drive|estate|st|rd)\b"
)
_EN_NEGATIONS = {"not", "no", "never", "isn't", "wasn't", "aren't", "don't", "didn't", "nobody", "without"}
_ZH_NEGATIONS = ("不", "没", "无", "非", "未")
_ZH_FALSE_NEGATIONS = ("非常", "不小心", "不慎", "不明", "不停", "不断", "不得了", "不好了", "无法",
                       "没想到", "不知道", "不知", "未成年")
# Emergencies said with a negation ("没有呼吸", "叫不醒"): urgent whatever the keyword list,
# and the negation rule does not apply to them. The lookaheads keep "没有呼吸道症状" (no
# respiratory symptoms) and "没有意识到" (did not realise) out.
_ZH_URGENT_SITUATIONS = (
    ("没有呼吸", re.compile(r"(?:没有|没|无)了?(?:呼吸|气息)(?!道|科|机|器)")),
    ("没有心跳", re.compile(r"(?:没有|没|无)了?(?:心跳|脉搏)")),
    ("没有意识", re.compile(r"(?:没有|没|无|失去|丧失)了?(?:意识|知觉)(?!到)")),
    ("叫不醒", re.compile(r"(?:叫|喊|唤|摇|拍)(?:也|都)?(?:叫|喊|唤|摇|拍)?不醒")),
    ("不省人事", re.compile(r"不省人事")),
    ("喘不上气", re.compile(r"(?:喘|透)不(?:上|过)来?气")),
    ("呼吸停止", re.compile(r"(?:呼吸|心跳)(?:停止|停了|骤停|没了)")),
    ("没有反应", re.compile(r"(?:叫|喊|拍|碰|推)\S{0,3}(?:没|没有|不)反应")),
)
# Emergencies said in two parts; the words heard are shown as the reason. The part named
# `second` is checked for a negation of its own ("摔伤了但没流血" is not urgent).
#   a fall with bleeding or unconsciousness ("摔伤了头上一直流血");
#   several people ill at once ("十几个人同时发烧", "一桌人都吐了"), either order;
#   something exploding said as 炸 ("煤气罐炸了", but not "气炸了" or "油炸");
#   poison swallowed ("喝了农药": 农药 alone is also "农药残留", a complaint);
#   a seizure said as 抽筋 after a fever or of the whole body (a leg cramp is not urgent);
#   a building come down ("房子塌了").
_ZH_FALL = r"(?:摔伤|摔倒|摔|跌倒|跌|坠楼|坠|掉下来|掉下)"
_ZH_BLEEDING_OR_OUT = (r"(?:流血|出血|流了\S{0,3}血|血流|血止不住|头破了|昏过去|晕过去|昏倒|晕倒"
                       r"|昏迷|不醒|不省人事|(?:没|没有)(?:反应|意识))")
_ZH_GROUP = (r"(?:好几|十几|二十几|几十|好多|很多|不少|[两三四五六七八九十]+几?|几)"
             r"(?:个|名|位|户|家)?(?:人|学生|孩子|小孩|村民|老人|工人|病人|同学|小朋友|家人|员工)"
             r"|一家(?:人|[两三四五六七八九]口)|全家|一桌人|一个班|全班|全村|集体")
_ZH_ILL = (r"(?:上吐下泻|发烧|发热|高烧|拉肚子|腹泻|呕吐|吐了|肚子疼|肚子痛|腹痛|头晕"
           r"|出疹子|起疹子|不舒服|病倒|发病)")
_ZH_URGENT_COMBINATIONS = (
    re.compile(rf"{_ZH_FALL}\S{{0,10}}?(?P<second>{_ZH_BLEEDING_OR_OUT})"),
    re.compile(rf"(?:{_ZH_GROUP})\S{{0,8}}?(?P<second>{_ZH_ILL})"),
    re.compile(rf"(?P<second>{_ZH_ILL})\S{{0,4}}?(?:{_ZH_GROUP})"),
    re.compile(r"(?:煤气罐|液化气罐|气罐|锅炉|炉子|瓶子|管道|鞭炮|烟花|炸药|雷管)\S{0,2}?"
               r"(?<![气油])炸(?:了|开|伤|死)"),
    re.compile(r"(?:喝|吃|服|吞|沾|溅)\S{0,3}?农药|农药中毒"),
    re.compile(r"(?:高烧|发烧|烧|全身|浑身)\S{0,3}?(?P<second>抽筋)"),
    re.compile(r"(?:房子|房|屋|墙|楼|桥|棚|顶|井|矿|山)\S{0,2}?塌了"),
)
_ZH_COMBINATION_LABEL_MAX = 12
# Said of something that already happened or keeps happening, an emergency word is history
# or a complaint ("前年中风过", "烟囱天天冒烟", "中风后遗症"); the word has to follow the time
# word closely, so "去年盖的房子着火了" stays urgent. 以前/之前 are left out on purpose:
# "十分钟之前晕倒了" is now. 过 marks what has been ("中风过"), but not 过去/过来 (昏过去),
# 过后 (爆炸过后) or 过世.
_ZH_NOT_NOW_BEFORE = ("去年", "前年", "年前", "上次", "上回", "上个月", "上月", "上周",
                      "曾经", "早年", "天天", "每天", "经常", "老是", "总是", "常常", "每次")
_ZH_NOT_NOW_GAP = 2
_ZH_NOT_NOW_AFTER = re.compile(r"后遗症|史|过(?![去来后世])")
# Words an emergency word sits in without being one.
_ZH_URGENT_EXCEPTIONS = {"冒烟": re.compile(r"烟囱\S{0,4}$")}
# English: a place in time that makes an emergency word history ("had a stroke last year").
_EN_NOT_NOW = re.compile(r"\b(?:last (?:year|month|week|time)|years? ago|months? ago|weeks? ago"
                         r"|in the past|used to)\b")
_EN_NOT_NOW_WORDS = 5
_EN_URGENT_COMBINATIONS = (
    re.compile(r"\bbleeding (?:badly|heavily|a lot|profusely)\b"
               r"|\b(?:won't|will not|can't|doesn't) stop bleeding\b|\blot of blood\b"),
    re.compile(r"\b(?:several|many|lots of|a lot of|dozens of|some|two|three|four|five|six|seven|eight"
               r"|nine|ten|\d+) (?:\w+ ){0,1}(?:people|children|kids|students|pupils|workers|villagers"
               r"|residents|families)\b(?: \w+){0,6}? (?:vomiting|vomit|diarrh(?:o)?ea|fever|fevers"
               r"|sick|ill|throwing up)\b"),
)
_EN_URGENT_SITUATIONS = (
    ("not breathing", re.compile(r"\b(?:not|isn't|wasn't|stopped|no longer) breathing\b"
                                 r"|\b(?:can't|cannot|can not|couldn't) breathe\b")),
    ("won't wake up", re.compile(r"\b(?:can't|cannot|can not|couldn't|won't|will not|wouldn't|"
                                 r"doesn't|didn't) (?:wake|be woken)\b")),
    ("not responding", re.compile(r"\b(?:not|isn't|wasn't) (?:responding|responsive|conscious)\b"
                                  r"|\bunresponsive\b")),
    ("no pulse", re.compile(r"\bno (?:pulse|heartbeat)\b")),
)


@dataclass
class DirectoryEntry:
    """A liaison or unit as the directory knows it."""

    kind: Literal["liaison", "unit"]
    id: int
    name: str
    phone: str | None = None
    unit_name: str | None = None


@dataclass
class FieldGuess:
    """One extracted field, with where it came from and how sure we are."""

    value: str
    source: Source
    confidence: float
    evidence: str

    def to_json(self) -> dict:
        return {"value": self.value, "source": self.source, "confidence": round(self.confidence, 3), "evidence": self.evidence}


@dataclass
class CallerDetails:
    """Everything the extractor found about the caller."""

    phones: list[str] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)  # phone -> extension (转/ext.)
    name: FieldGuess | None = None
    unit: FieldGuess | None = None
    address: FieldGuess | None = None
    phone: FieldGuess | None = None
    urgent: bool = False
    urgent_keywords: list[str] = field(default_factory=list)
    liaison_id: int | None = None
    unit_id: int | None = None

    def to_json(self) -> dict:
        """Return plain values for display plus the full guesses under "fields"."""
        guesses = {"name": self.name, "unit": self.unit, "address": self.address, "phone": self.phone}
        return {
            "phones": list(self.phones),
            "extensions": dict(self.extensions),
            "name": self.name.value if self.name else None,
            "unit": self.unit.value if self.unit else None,
            "address": self.address.value if self.address else None,
            "phone": self.phone.value if self.phone else None,
            "urgent": self.urgent,
            "urgent_keywords": list(self.urgent_keywords),
            "liaison_id": self.liaison_id,
            "unit_id": self.unit_id,
            "fields": {key: guess.to_json() if guess else None for key, guess in guesses.items()},
        }


@dataclass
class _Indexed:
    entry: DirectoryEntry
    chars: str
    syllables: tuple[str, ...]
    fuzzy: tuple[str, ...]


class DirectoryIndex:
    """Liaisons and units with their names in pinyin, for matching misheard names."""

    def __init__(self, entries: list[DirectoryEntry]):
        self.entries = list(entries)
        self._liaisons = [self._index(e) for e in self.entries if e.kind == "liaison"]
        self._units = [self._index(e) for e in self.entries if e.kind == "unit"]
        self._by_phone: dict[str, DirectoryEntry] = {}
        # Liaisons last so that they win when a unit shares their number.
        for e in sorted(self.entries, key=lambda e: e.kind == "liaison"):
            key = _phone_key(e.phone) if e.phone else None
            if key:
                self._by_phone[key] = e

    @staticmethod
    def _index(entry: DirectoryEntry) -> _Indexed:
        chars = _squash(entry.name)
        syllables = _name_syllables(chars) if entry.kind == "liaison" else tuple(lazy_pinyin(chars))
        return _Indexed(entry, chars, syllables, tuple(_fuzzy(s) for s in syllables))

    def match_name(self, text_fragment: str) -> tuple[DirectoryEntry, float] | None:
        """Return the liaison whose name sounds like `text_fragment`, with a score, or None."""
        return _best_match(self._liaisons, _squash(text_fragment), partial=False, names=True)

    def match_unit(self, text_fragment: str) -> tuple[DirectoryEntry, float] | None:
        """Return the unit whose name sounds like `text_fragment`, with a score, or None."""
        return _best_match(self._units, _squash(text_fragment), partial=True)

    def find_by_phone(self, digits: str) -> DirectoryEntry | None:
        """Return the liaison (or failing that, unit) registered with this phone number."""
        key = _phone_key(digits)
        return self._by_phone.get(key) if key else None

    def unit_named(self, name: str | None) -> DirectoryEntry | None:
        """Return the unit entry with exactly this name."""
        if not name:
            return None
        for indexed in self._units:
            if indexed.chars == _squash(name):
                return indexed.entry
        return None

    def scan_names(self, text: str) -> tuple[DirectoryEntry, float, str] | None:
        """Find a liaison name anywhere in squashed `text` by sound; return (entry, score, heard)."""
        return _scan(self._liaisons, text)

    def scan_units(self, text: str) -> tuple[DirectoryEntry, float, str] | None:
        """Find a unit name anywhere in squashed `text` by sound; return (entry, score, heard)."""
        return _scan(self._units, text)


def extract_caller_details(
    text: str,
    *,
    language: str = DEFAULT_LANGUAGE,
    directory: DirectoryIndex | None = None,
    caller_number: str | None = None,
    urgent_keywords: list[str] | None = None,
) -> CallerDetails:
    """Guess who called, from where, on what number, and whether it is urgent.

    Args:
        text: the transcript as the recogniser emitted it.
        language: "zh-CN" or "en-US".
        directory: liaisons and units to match names, units and numbers against.
        caller_number: the caller ID in any format (+86..., 0086..., national).
        urgent_keywords: the bureau's own words that mark a call urgent, added to the
            language's defaults (which they never replace).
    """
    english = language.lower().startswith("en")
    if english:
        found = _extract_en(text)
        keywords = _with_defaults(DEFAULT_URGENT_KEYWORDS_EN, urgent_keywords)
        urgent_found = _urgent_en(text, keywords)
        region = "US"
    else:
        found = _extract_zh(text)
        keywords = _with_defaults(DEFAULT_URGENT_KEYWORDS_ZH, urgent_keywords)
        urgent_found = _urgent_zh(_squash(text), keywords)
        region = "CN"

    details = CallerDetails(
        phones=found.phones,
        extensions=found.extensions,
        name=found.name,
        unit=found.unit,
        address=found.address,
        urgent=bool(urgent_found),
        urgent_keywords=urgent_found,
    )
    if found.phones:
        details.phone = FieldGuess(found.phones[0], "transcript", 0.9, found.phone_evidence)

    caller = normalise_phone(caller_number, region) if caller_number else None
    if directory is not None:
        _apply_directory(details, directory, found, caller, caller_number, squashed=_squash(text) if not english else "")
    if details.phone is None and caller:
        details.phone = FieldGuess(caller, "caller_id", 0.6, f"caller ID {caller_number}")
    return details


def _with_defaults(defaults: tuple[str, ...], extra: list[str] | None) -> tuple[str, ...]:
    """Return the default keywords followed by the bureau's own, each once."""
    return tuple(dict.fromkeys([*defaults, *(word.strip() for word in extra or () if word.strip())]))


def normalise_phone(number: str | None, region: str = "CN") -> str | None:
    """Return a phone number as national digits (with trunk 0 for CN landlines), or None."""
    e164 = to_e164(number, region)
    if e164 is None:
        return None
    parsed = phonenumbers.parse(e164)
    if parsed.country_code == 86:
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        return re.sub(r"\D", "", national)
    if parsed.country_code == phonenumbers.country_code_for_region(region):
        return phonenumbers.national_significant_number(parsed)
    return f"{parsed.country_code}{phonenumbers.national_significant_number(parsed)}"


# --- Mandarin -------------------------------------------------------------


@dataclass
class _Found:
    phones: list[str] = field(default_factory=list)
    phone_evidence: str = ""
    extensions: dict[str, str] = field(default_factory=dict)
    name: FieldGuess | None = None
    name_candidates: list[tuple[str, str]] = field(default_factory=list)  # (name, evidence)
    unit: FieldGuess | None = None
    address: FieldGuess | None = None


def _extract_zh(text: str) -> _Found:
    squashed = _squash(text)
    found = _Found()
    found.phones, found.phone_evidence, found.extensions = _phones_zh(squashed)
    unit_match = _ZH_UNIT.search(squashed)
    unit_span = unit_match.span() if unit_match else (0, 0)
    if unit_match:
        found.unit = FieldGuess(unit_match["unit"], "transcript", 0.8, unit_match.group(0))
    found.name_candidates = _name_candidates_zh(squashed)
    if found.name_candidates:
        name, evidence = found.name_candidates[0]
        found.name = FieldGuess(name, "transcript", 0.6, evidence)
    for m in _ZH_ADDRESS.finditer(squashed):
        start, end = m.span()
        if start < unit_span[1] and unit_span[0] < end:
            continue  # part of the unit's own name
        found.address = FieldGuess(m["address"], "transcript", 0.6, m.group(0))
        break
    return found


def _name_candidates_zh(squashed: str) -> list[tuple[str, str]]:
    # A surname stated and then the full name is the most explicit a caller gets.
    candidates: list[tuple[str, str]] = _stated_surname_names(squashed)
    for m in _ZH_NAME_TRIGGERS.finditer(squashed):
        # "我是城关镇卫生院的张伟", "我是南山乡的联络员李明": skip the unit, place and role
        # named before the name.
        rest = _skip_preamble(m["rest"])
        name = _cut_name(rest)
        if name and not _ZH_PLACE_SUFFIX.match(rest, len(name)):
            candidates.append((name, squashed[m.start() : m.start("rest") + len(m["rest"]) - len(rest) + len(name)]))
    # "我是东岭村的李书记李国强": a name right after a role word, while the caller is still
    # saying who they are ("书记高度重视" later in the message names nobody).
    introductions = [m.end() for m in _ZH_INTRODUCTION.finditer(squashed)]
    for m in _ZH_ROLE_TRIGGER.finditer(squashed):
        opening = _ZH_GREETINGS.sub("", squashed[: m.start()])
        if _skip_preamble(opening) and not any(0 <= m.start() - end <= _ZH_INTRODUCTION_SPAN
                                               for end in introductions):
            continue
        name = _cut_name(m["rest"])
        if name and not name.startswith(_ZH_NOT_NAMES) and not _ZH_PLACE_SUFFIX.match(m["rest"], len(name)):
            candidates.append((name, squashed[m.start() : m.start("rest") + len(name)]))
    # "县人民医院的赵刚反映...": a name right after a unit.
    for m in _ZH_UNIT.finditer(squashed):
        rest = _skip_preamble(squashed[m.end() :])
        name = _cut_name(rest)
        if name:
            candidates.append((name, squashed[m.start() : m.end()] + squashed[m.end() :].split(name, 1)[0] + name))
    for m in _ZH_NAME_BEFORE_LIAISON.finditer(squashed):
        name = _trim_name_start(m["name"])
        if name:
            candidates.append((name, m.group(0)))
    if not candidates:
        m = _ZH_SURNAME_ONLY.search(squashed)
        if m and m["surname"] in _ZH_SURNAMES:
            candidates.append((m["surname"], m.group(0)))
    return candidates


def _skip_preamble(rest: str) -> str:
    """Drop the units, places, committees and roles said before a name; return what follows."""
    while True:
        before = rest
        for pattern in (_ZH_UNIT, _ZH_PLACE_PHRASE, _ZH_ORGANISATION, _ZH_POSSESSIVE_PLACE):
            m = pattern.match(rest)
            if m:
                rest = rest[m.end() :]
        rest = rest[1:] if rest.startswith("的") else rest
        rest = rest[len(role):] if (role := next((r for r in _ZH_ROLE_WORDS if rest.startswith(r)), None)) else rest
        if rest == before:
            return rest


def _stated_surname_names(squashed: str) -> list[tuple[str, str]]:
    """Return the full names said after "我姓钱": "钱建国" from "我姓钱钱建国" or "我姓钱叫建国"."""
    names = []
    for m in _ZH_STATED_SURNAME.finditer(squashed):
        surname = m["surname"]
        if not _has_surname(surname):
            continue
        rest = squashed[m.end() :]
        # Blank out the spelling ("木子李") so that its 李 is not taken for the name's.
        spelled = rf"(?:{'|'.join(_ZH_SURNAME_SPELLINGS)})的?{re.escape(surname)}"
        rest = re.sub(spelled, lambda x: "、" * len(x.group(0)), rest)
        name = None
        i = rest.find(surname)
        while name is None and i != -1 and i < _ZH_SURNAME_WINDOW:
            # "钱钱建国": the surname said twice in a row; the name starts at the last one.
            while rest.startswith(surname, i + len(surname)):
                i += len(surname)
            cut = _cut_name(rest[i:])
            if cut and cut.startswith(surname) and len(cut) > len(surname) and not _ZH_PLACE_SUFFIX.match(rest, i + len(cut)):
                name = cut
            else:
                i = rest.find(surname, i + len(surname))
        if name is None:
            # "我姓钱，叫建国": the given name alone.
            intro = next((w for w in _ZH_GIVEN_NAME_INTROS if rest.startswith(w)), None)
            given = _cut_given_name(rest[len(intro):]) if intro else None
            if given:
                name, i = surname + given, len(intro)
        if name:
            end = m.end() + i + len(name) - (len(surname) if not rest.startswith(name, i) else 0)
            names.append((name, squashed[m.start() : end]))
    return names


def _cut_given_name(rest: str) -> str | None:
    """Return the 1-2 character given name at the start of `rest`, or None."""
    given = ""
    for ch in rest[:2]:
        if ch in _ZH_STOP_CHARS or ch in _ZH_PLACE_CHARS or ch in _ZH_DIGITS or not re.match(_NAME_CHAR, ch):
            break
        given += ch
    return given if given and not any(given.startswith(w) for w in _ZH_STOP_WORDS) else None


def _cut_name(rest: str) -> str | None:
    """Return the 2-3 character name (4 with a compound surname) at the start of `rest`, or None."""
    for word in (*_ZH_STOP_WORDS, *_ZH_ROLE_WORDS):
        index = rest.find(word)
        if index != -1:
            rest = rest[:index]
    longest = 4 if rest[:2] in _ZH_COMPOUND_SURNAMES else 3
    name = ""
    for i, ch in enumerate(rest):
        if ch in _ZH_STOP_CHARS or ch in _ZH_PLACE_CHARS or (ch in _ZH_DIGITS and _starts_number(rest, i)):
            break
        name += ch
        if len(name) == longest:
            break
    if len(name) < 2 or not _has_surname(name):
        return None
    return name


def _starts_number(text: str, i: int) -> bool:
    """Tell whether the digit character at `i` starts a number or a quantity, not a name.

    "丁一凡" and "李一鸣" have 一 in the name; "张伟一三八..." and "李明一个人" do not.
    """
    following = text[i + 1 : i + 2]
    return not following or following in _ZH_DIGITS or following in _ZH_MEASURE_WORDS


def _trim_name_start(chunk: str) -> str | None:
    # "...的张伟联络员" captures up to three characters before 联络员; drop a
    # leading particle or place character.
    while chunk and (chunk[0] in _ZH_STOP_CHARS or chunk[0] in _ZH_PLACE_CHARS):
        chunk = chunk[1:]
    if len(chunk) < 2 or any(ch in _ZH_PLACE_CHARS or ch in _ZH_STOP_CHARS for ch in chunk):
        return None
    return chunk if _has_surname(chunk) else None


def _has_surname(name: str) -> bool:
    return name[0] in _ZH_SURNAMES or name[:2] in _ZH_COMPOUND_SURNAMES


def _phones_zh(squashed: str) -> tuple[list[str], str, dict[str, str]]:
    phones: list[str] = []
    extensions: dict[str, str] = {}
    evidence = ""
    for digits, span_text, start in _digit_runs_zh(squashed):
        if _is_extension(squashed, start, digits):
            if phones and phones[-1] not in extensions:
                extensions[phones[-1]] = digits
            continue
        if _labelled_as_id(squashed[max(0, start - _LABEL_WINDOW) : start], _ZH_ID_LABELS,
                           _ZH_PHONE_LABELS):
            continue
        for number in _split_numbers(digits):
            if number not in phones:
                phones.append(number)
                evidence = evidence or span_text
    return phones, evidence, extensions


def _is_extension(text: str, start: int, digits: str) -> bool:
    before = text[:start].rstrip(" ")
    return len(digits) <= _ZH_EXTENSION_MAX_DIGITS and before.endswith(_ZH_EXTENSION_WORDS)


def _labelled_as_id(before: str, id_labels, phone_labels) -> bool:
    """Tell whether the last label said before a run of digits names an ID, not a phone."""
    last_id = max((before.rfind(label) for label in id_labels), default=-1)
    last_phone = max((before.rfind(label) for label in phone_labels), default=-1)
    return last_id > last_phone


def _digit_runs_zh(text: str):
    """Yield (digits, original span, start) for each run of spoken or written digits."""
    run, start, last_digit_end = "", None, None
    i = 0
    while i <= len(text):
        ch = text[i] if i < len(text) else "\n"
        digit = _digit_at(text, i)
        if digit is not None:
            if start is None:
                start = i
            run += digit
            last_digit_end = i + 1
        elif ch in _DIGIT_SEPARATORS and run:
            pass
        elif run and (filler := _filler_between_digits(text, i)):
            i += len(filler)
            continue
        elif run:
            yield run, text[start:last_digit_end], start
            run, start = "", None
        i += 1


def _digit_at(text: str, i: int) -> str | None:
    if i >= len(text):
        return None
    ch = text[i]
    if ch.isascii():
        return ch if ch.isdigit() else None
    digit = _ZH_DIGITS.get(ch)
    if digit is not None and _followed_by_measure(text, i):
        return None
    return digit


def _filler_between_digits(text: str, i: int) -> str | None:
    """Return the filler word at `i` if a digit follows it (after spaces), else None."""
    for filler in _ZH_DIGIT_FILLERS:
        if text.startswith(filler, i):
            j = i + len(filler)
            while j < len(text) and text[j] == " ":
                j += 1
            if _digit_at(text, j) is not None:
                return filler
    return None


def _followed_by_measure(text: str, i: int) -> bool:
    j = i + 1
    while j < len(text) and text[j] == " ":
        j += 1
    # "...七八分机808": 分 starts 分机 (extension) here, not 分 (minutes).
    return (j < len(text) and text[j] in _ZH_MEASURE_WORDS
            and not text.startswith(_ZH_EXTENSION_WORDS, j))


def _split_numbers(digits: str) -> list[str]:
    """Return the valid phone numbers in a run of digits, left to right."""
    if _valid_cn_phone(digits):
        return [digits]
    numbers, i = [], 0
    while i < len(digits):
        taken = None
        if digits[i] == "1" and _MOBILE.match(digits[i : i + 11]):
            taken = digits[i : i + 11]
        elif digits[i] == "0":
            # Prefer the longest landline that validates: area codes are 3-4 digits with the 0.
            for length in (12, 11, 10):
                if _valid_cn_phone(digits[i : i + length]):
                    taken = digits[i : i + length]
                    break
        if taken:
            numbers.append(taken)
            i += len(taken)
        else:
            i += 1
    if len(digits) >= _LONG_RUN_DIGITS and sum(map(len, numbers)) < len(digits) - 1:
        return []
    return numbers


def _valid_cn_phone(digits: str) -> bool:
    if _MOBILE.match(digits):
        return True
    if not _LANDLINE.match(digits):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN"))
    except phonenumbers.NumberParseException:
        return False


def _urgent_zh(squashed: str, keywords) -> list[str]:
    """Return the words that make the message urgent, as shown to the duty room."""
    hits = []
    for word in keywords:
        for m in re.finditer(re.escape(word), squashed):
            if not _negated_zh(squashed, m.start()) and _said_of_now_zh(squashed, word, m):
                hits.append(word)
                break
    hits += [label for label, pattern in _ZH_URGENT_SITUATIONS
             if pattern.search(squashed) and label not in hits]
    for pattern in _ZH_URGENT_COMBINATIONS:
        for m in pattern.finditer(squashed):
            heard = m.group(0)[:_ZH_COMBINATION_LABEL_MAX]
            # Both parts must stand unnegated: "没有人发烧", "摔了一跤没流血".
            second = m.start("second") if "second" in pattern.groupindex else m.start()
            if (_negated_zh(squashed, m.start()) or _negated_zh(squashed, second)
                    or not _said_of_now_zh(squashed, heard, m)):
                continue
            hits.append(heard)
            break
    return _longest_first_once(hits)


def _longest_first_once(hits: list[str]) -> list[str]:
    """Drop a reason that is part of another ("fire" in "caught fire"), keeping the order."""
    return [hit for i, hit in enumerate(hits)
            if not any(hit in other and (hit != other or j < i) for j, other in enumerate(hits) if j != i)]


def _said_of_now_zh(squashed: str, word: str, m: re.Match) -> bool:
    """Tell whether an emergency word speaks of now, not of history, habit or a complaint."""
    before = squashed[max(0, m.start() - 8) : m.start()]
    for time_word in _ZH_NOT_NOW_BEFORE:
        index = before.rfind(time_word)
        if index != -1 and len(before) - (index + len(time_word)) <= _ZH_NOT_NOW_GAP:
            return False
    if _ZH_NOT_NOW_AFTER.match(squashed, m.end()):
        return False
    exception = _ZH_URGENT_EXCEPTIONS.get(word)
    return not (exception and exception.search(before))


def _negated_zh(squashed: str, start: int) -> bool:
    """Tell whether a negation word stands just before position `start`."""
    before = squashed[max(0, start - 6) : start]
    # "非常紧急" and "不小心中毒" contain 非 and 不 but negate nothing.
    for phrase in _ZH_FALSE_NEGATIONS:
        before = before.replace(phrase, "、" * len(phrase))
    return any(neg in before[-3:] for neg in _ZH_NEGATIONS)


# --- English --------------------------------------------------------------


def _extract_en(text: str) -> _Found:
    lowered = re.sub(r"\s+", " ", text.lower()).strip()
    found = _Found()
    found.phones, found.phone_evidence, found.extensions = _phones_en(lowered)
    m = _EN_NAME_TRIGGER.search(lowered)
    while m:
        words = []
        for word in _after_role_en(m["rest"].split()):
            if word in _EN_STOP_WORDS or word in _EN_DIGIT_WORDS or len(words) == 2:
                break
            words.append(word)
        if words:
            heard = m["rest"][: m["rest"].index(" ".join(words)) + len(" ".join(words))]
            found.name = FieldGuess(" ".join(w.capitalize() for w in words), "transcript", 0.6, m.group(0)[: m.start("rest") - m.start()] + heard)
            break
        m = _EN_NAME_TRIGGER.search(lowered, m.end("rest") - len(m["rest"]) + 1)
    unit = _en_phrase(_EN_UNIT, lowered)
    if unit:
        found.unit = FieldGuess(unit, "transcript", 0.7, unit)
    address = _en_phrase(_EN_ADDRESS, lowered, keep_numbers=True)
    if address and unit and address in unit:
        address = None  # "oak street clinic" names the unit, not where the caller is
    if address:
        found.address = FieldGuess(address, "transcript", 0.6, address)
    return found


def _after_role_en(words: list[str]) -> list[str]:
    """Skip a title or a role said before the name: "nurse helen brown", "the village liaison john"."""
    if words and words[0] in _EN_DETERMINERS:
        role = next((i for i, word in enumerate(words[1 : 1 + _EN_ROLE_GAP], start=1) if word in _EN_ROLE_WORDS), None)
        words = words[role + 1 :] if role is not None else words
    while words and words[0] in _EN_TITLES:
        words = words[1:]
    return words


def _en_phrase(pattern: re.Pattern, lowered: str, keep_numbers: bool = False) -> str | None:
    m = pattern.search(lowered)
    if not m:
        return None
    head = m["head"].split()
    kept: list[str] = []
    for word in reversed(head):
        if word in _EN_STOP_WORDS or (not keep_numbers and word in _EN_DIGIT_WORDS):
            break
        kept.insert(0, word)
    return " ".join(kept + [m["kind"]])


def _phones_en(lowered: str) -> tuple[list[str], str, dict[str, str]]:
    tokens = re.findall(r"[a-z']+|\+?\d[\d\-.()]*|[()]", lowered)
    runs = _join_area_codes(_digit_runs_en(tokens))
    phones: list[str] = []
    extensions: dict[str, str] = {}
    evidence = ""
    for digits, start, end in runs:
        before = tokens[max(0, start - 6) : start]
        if before and before[-1] in _EN_EXTENSION_WORDS and len(digits) <= 6:
            if phones and phones[-1] not in extensions:
                extensions[phones[-1]] = digits
            continue
        if not 7 <= len(digits) <= 15 or _last_label_is_id(before):
            continue
        if digits not in phones:
            phones.append(digits)
            evidence = evidence or " ".join(tokens[start:end])
    return phones, evidence, extensions


def _digit_runs_en(tokens: list[str]) -> list[tuple[str, int, int]]:
    """Return (digits, first token, end token) for each number said in words or figures."""
    runs = []
    run, start, repeat = "", None, 1
    i = 0
    while i <= len(tokens):
        token = tokens[i] if i < len(tokens) else "<end>"
        said, used = _digits_said(tokens, i)
        if token in _EN_REPEATS:
            repeat = _EN_REPEATS[token]
            start = i if start is None else start
        elif said is not None:
            start = i if start is None else start
            run += said * repeat if len(said) == 1 else said
            repeat = 1
            i += used
            continue
        elif token in _EN_MULTIPLIERS and run:
            run += _EN_MULTIPLIERS[token]
        elif token in ("(", ")") or (run and token in _EN_DIGIT_FILLERS
                                     and _digits_follow(tokens, i + 1)):
            pass
        else:
            if run:
                runs.append((run, start, i))
            run, start, repeat = "", None, 1
        i += 1
    return runs


def _digits_said(tokens: list[str], i: int) -> tuple[str | None, int]:
    """Return the digits spoken at tokens[i] and how many tokens they took."""
    if i >= len(tokens):
        return None, 1
    token = tokens[i]
    if token in _EN_DIGIT_WORDS:
        return _EN_DIGIT_WORDS[token], 1
    if token in _EN_TEENS:
        return _EN_TEENS[token], 1
    if token in _EN_TENS:
        unit = tokens[i + 1] if i + 1 < len(tokens) else ""
        if unit in _EN_DIGIT_WORDS and _EN_DIGIT_WORDS[unit] != "0" and unit not in ("o", "oh"):
            return _EN_TENS[token] + _EN_DIGIT_WORDS[unit], 2
        return _EN_TENS[token] + "0", 1
    bare = token.strip("()")
    if bare and re.fullmatch(r"\+?[\d\-.()]+", bare):
        return re.sub(r"\D", "", bare), 1
    return None, 1


def _digits_follow(tokens: list[str], i: int) -> bool:
    while i < len(tokens) and tokens[i] in _EN_DIGIT_FILLERS:
        i += 1
    return _digits_said(tokens, i)[0] is not None


def _join_area_codes(runs: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Join "four one five ... the number is five five five zero one three four"."""
    joined: list[tuple[str, int, int]] = []
    for digits, start, end in runs:
        if joined:
            prev_digits, prev_start, prev_end = joined[-1]
            if len(prev_digits) == 3 and len(digits) == 7 and start - prev_end <= _EN_AREA_CODE_GAP:
                joined[-1] = (prev_digits + digits, prev_start, end)
                continue
        joined.append((digits, start, end))
    return joined


def _last_label_is_id(before: list[str]) -> bool:
    last_id = max((i for i, word in enumerate(before) if word in _EN_ID_LABELS), default=-1)
    last_phone = max((i for i, word in enumerate(before) if word in _EN_PHONE_LABELS), default=-1)
    return last_id > last_phone


def _urgent_en(text: str, keywords) -> list[str]:
    """Return the words that make the message urgent, as shown to the duty room."""
    lowered = text.lower()
    words = re.findall(r"[a-z']+|\d+", lowered)
    hits = []
    for keyword in keywords:
        target = keyword.lower().split()
        for i in range(len(words) - len(target) + 1):
            if (words[i : i + len(target)] == target
                    and not (set(words[max(0, i - 2) : i]) & _EN_NEGATIONS)
                    and not _EN_NOT_NOW.search(" ".join(words[max(0, i - _EN_NOT_NOW_WORDS)
                                                              : i + len(target) + _EN_NOT_NOW_WORDS]))):
                hits.append(keyword)
                break
    spaced = " ".join(words)
    hits += [label for label, pattern in _EN_URGENT_SITUATIONS
             if pattern.search(spaced) and label not in hits]
    for pattern in _EN_URGENT_COMBINATIONS:
        m = pattern.search(spaced)
        if m and not (set(spaced[: m.start()].split()[-2:]) & _EN_NEGATIONS):
            hits.append(m.group(0))
    return _longest_first_once(hits)


# --- directory ------------------------------------------------------------


def _apply_directory(details: CallerDetails, directory: DirectoryIndex, found: _Found, caller, caller_number, squashed):
    liaison = directory.find_by_phone(caller) if caller else None
    if liaison is not None and liaison.kind == "liaison":
        evidence = f"caller ID {caller_number}"
        details.liaison_id = liaison.id
        details.name = FieldGuess(liaison.name, "caller_id", 1.0, evidence)
        details.phone = FieldGuess(caller, "caller_id", 1.0, evidence)
        if liaison.unit_name:
            details.unit = FieldGuess(liaison.unit_name, "caller_id", 1.0, evidence)
            unit = directory.unit_named(liaison.unit_name)
            details.unit_id = unit.id if unit else None
        return

    # A liaison's registered number said aloud.
    for number in found.phones:
        entry = directory.find_by_phone(number)
        if entry is not None and entry.kind == "liaison":
            _set_liaison(details, directory, entry, 0.95, f"said {number}")
            break

    if details.liaison_id is None:
        matched = _match_spoken_name(directory, found, squashed)
        if matched:
            entry, score, heard = matched
            _set_liaison(details, directory, entry, score, heard)

    if found.unit is not None:
        unit_match = directory.match_unit(found.unit.value)
        if unit_match:
            entry, score = unit_match
            details.unit = FieldGuess(entry.name, "directory", score, found.unit.evidence)
            details.unit_id = entry.id
    elif squashed and details.unit_id is None:
        scanned = directory.scan_units(squashed)
        if scanned:
            entry, score, heard = scanned
            details.unit = FieldGuess(entry.name, "directory", score * 0.9, heard)
            details.unit_id = entry.id


def _match_spoken_name(directory: DirectoryIndex, found: _Found, squashed: str):
    for name, evidence in found.name_candidates:
        # The guess may have swallowed a following character: try 3 then 2.
        for candidate in dict.fromkeys([name, name[:2]]):
            matched = directory.match_name(candidate)
            if matched:
                return matched[0], matched[1], evidence
    if found.name is not None and not squashed:
        matched = directory.match_name(found.name.value)
        if matched:
            return matched[0], matched[1], found.name.evidence
    if squashed:
        scanned = directory.scan_names(squashed)
        if scanned:
            entry, score, heard = scanned
            return entry, score * 0.9, heard
    return None


def _set_liaison(details, directory, entry, score, evidence):
    details.liaison_id = entry.id
    details.name = FieldGuess(entry.name, "directory", score, evidence)
    if entry.unit_name and details.unit is None:
        details.unit = FieldGuess(entry.unit_name, "directory", score * 0.9, f"unit of {entry.name}")
        unit = directory.unit_named(entry.unit_name)
        details.unit_id = unit.id if unit else None


def _best_match(indexed: list[_Indexed], fragment: str, *, partial: bool, names: bool = False):
    if not fragment:
        return None
    syllables = _name_syllables(fragment) if names else tuple(lazy_pinyin(fragment))
    fuzzy = tuple(_fuzzy(s) for s in syllables)
    scored = []
    for item in indexed:
        score = _similarity(fragment, syllables, fuzzy, item, partial)
        if score >= MATCH_THRESHOLD:
            scored.append((score, item.entry))
    if not scored:
        return None
    scored.sort(key=lambda pair: -pair[0])
    best_score, best = scored[0]
    # Two entries that sound the same and neither spelled as heard: we cannot choose.
    if len(scored) > 1 and scored[1][0] == best_score and scored[1][1] is not best:
        return None
    return best, best_score


def _similarity(fragment, syllables, fuzzy, item: _Indexed, partial: bool) -> float:
    if fragment == item.chars:
        return 1.0
    if syllables == item.syllables:
        return 0.9
    if fuzzy == item.fuzzy:
        return 0.8
    if partial:
        ratio = difflib.SequenceMatcher(None, fuzzy, item.fuzzy, autojunk=False).ratio()
        return round(ratio * 0.9, 3)
    return 0.0


def _scan(indexed: list[_Indexed], text: str):
    text_syllables = lazy_pinyin(text)
    if len(text_syllables) != len(text):
        # Non-CJK runs come back grouped; fall back to a per-character list.
        text_syllables = [lazy_pinyin(ch)[0] for ch in text]
    best = None
    for item in indexed:
        n = len(item.chars)
        if n < 2:
            continue
        for start in range(len(text) - n + 1):
            window = text[start : start + n]
            if window == item.chars:
                score = 1.0
            else:
                heard = list(text_syllables[start : start + n])
                if item.entry.kind == "liaison":
                    heard[0] = _SURNAME_READINGS.get(window[0], heard[0])
                if tuple(heard) == item.syllables:
                    score = 0.9
                elif tuple(_fuzzy(s) for s in heard) == item.fuzzy:
                    score = 0.8
                else:
                    continue
            if best is None or score > best[1]:
                best = (item.entry, score, window)
    return best


def _name_syllables(chars: str) -> tuple[str, ...]:
    syllables = lazy_pinyin(chars)
    if syllables and chars[:1] in _SURNAME_READINGS:
        syllables[0] = _SURNAME_READINGS[chars[0]]
    return tuple(syllables)


@lru_cache(maxsize=4096)
def _fuzzy(syllable: str) -> str:
    """Fold the sound distinctions southern speakers and small models blur."""
    s = syllable
    for retroflex, flat in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if s.startswith(retroflex):
            s = flat + s[2:]
    if s.startswith("l"):
        s = "n" + s[1:]
    if s.endswith("ng") and s[-3] in "aei":
        s = s[:-1]
    return s


def _squash(text: str) -> str:
    """Remove the spaces the recogniser puts between Chinese characters."""
    return join_tokens(text.strip())


def _phone_key(number: str | None) -> str | None:
    """Return a comparable key: national significant number, so 0571... and +86 571... agree."""
    if not number:
        return None
    digits = re.sub(r"\D", "", number)
    try:
        parsed = phonenumbers.parse(number if number.strip().startswith("+") else digits, "CN")
    except phonenumbers.NumberParseException:
        return digits or None
    return phonenumbers.national_significant_number(parsed) or digits or None
