"""The one way dutyline returns TwiML."""
from __future__ import annotations

from flask import Response
from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

from ivr.prompts import SAY_LANGUAGE, prompt


def twiml(response: TwiML, status: int = 200) -> Response:
    """Return a TwiML document as an XML HTTP response."""
    return Response(str(response), status=status, mimetype="text/xml")


def add_prompt(verb, language: str, key: str, voice: str, audio_url: str | None = None,
               **values) -> None:
    """Append a prompt as <Play> (admin-uploaded audio) or <Say> in the caller's language."""
    if audio_url:
        verb.play(audio_url)
    else:
        verb.say(prompt(language, key, **values), language=SAY_LANGUAGE[language], voice=voice)


def fallback_response(language: str, voice: str, record_kwargs: dict) -> VoiceResponse:
    """Polite TwiML for an unexpected error: still take the message."""
    response = VoiceResponse()
    add_prompt(response, language, "fallback", voice)
    response.record(**record_kwargs)
    return response
