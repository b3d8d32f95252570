"""Every sentence the hotline speaks, per language, in one place.

An admin can replace any prompt with an audio file (setting "prompt_audio.<key>" holds its
URL), which is then played with <Play> instead of spoken with <Say>.
"""
from __future__ import annotations

SAY_LANGUAGE = {"zh-CN": "cmn-CN", "en-US": "en-US"}

PROMPTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "greeting_known": "{name}联络员，您好。",
        "greeting": "您好，这里是县卫生健康局民情联线。",
        "connecting": "正在为您转接值班室，请稍候。",
        "menu": "如有急事，请按1。普通留言，请在提示音后开始讲话，讲完请按井号键。",
        "urgent_ack": "已为您标记为急事，值班领导会尽快处理。请在提示音后讲述情况，讲完请按井号键。",
        "record": "请在提示音后留言，讲完请按井号键。",
        "thanks": "感谢您的留言。您的留言编号是：{reference}。我们会尽快处理。再见。",
        "no_message": "没有录到您的留言。如需留言，请重新拨打。再见。",
        "dial_done": "感谢您的来电，再见。",
        "fallback": "很抱歉，系统暂时出现问题。请在提示音后留言，我们会尽快处理。",
    },
    "en-US": {
        "greeting_known": "Hello, {name}.",
        "greeting": "Hello, this is the county health bureau liaison line.",
        "connecting": "Connecting you to the duty room. Please hold.",
        "menu": "If this is urgent, press 1. Otherwise, leave your message after the tone "
                "and press the pound key when you are done.",
        "urgent_ack": "Your message is marked urgent; the leader on duty will be alerted. "
                      "Please speak after the tone and press the pound key when you are done.",
        "record": "Please leave your message after the tone and press the pound key when done.",
        "thanks": "Thank you for your message. Your reference number is {reference}. Goodbye.",
        "no_message": "We did not record a message. Please call again to leave one. Goodbye.",
        "dial_done": "Thank you for calling. Goodbye.",
        "fallback": "Sorry, we have a technical problem. Please leave a message after the tone.",
    },
}

_ZH_DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))


def spell_digits(number: str, language: str) -> str:
    """Spell a reference number digit by digit, so it is not read as one big number."""
    if language == "zh-CN":
        return "，".join(_ZH_DIGITS.get(d, d) for d in number)
    return ", ".join(number)


def prompt(language: str, key: str, **values) -> str:
    return PROMPTS[language][key].format(**values)
