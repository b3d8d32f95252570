"""Twilio webhooks: verify the signature, read the form, call one intake function, return.

An unexpected error while a caller is on the line returns polite TwiML that still records
the message, never a 500 that Twilio would read aloud as "an application error".
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from flask import Blueprint, Response, g, jsonify, request, url_for
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from intake.calls import voicemail as call_service
from intake.cases import replies as inbound
from intake.calls.dispatch import QueuedWork, commit_and_dispatch, dispatch_after_recording
from intake.store.audit import TWILIO
from intake.calls.voicemail import RegisteredCall
from intake.clock import Clock
from intake.directory.roster import Caller, load_callers
from intake.time.duty import DutySchedule, load_duty_schedule, prompt_audio_urls
from intake.time.calendar import load_calendar
from intake.store.models import utcnow
from intake.outbox.notifications import record_delivery_status
from intake.store.change_tokens import VersionedCache
from intake.store.write_lock import write_transaction
from web.services import get_db, get_job_queue, get_settings, get_sms_context, services
from ivr.prompts import spell_digits
from ivr.stream import STREAM_PATH
from ivr.stream import bp as stream_bp
from ivr.signature import public_url_for, verify_twilio_signature, websocket_url
from ivr.twiml import add_prompt, fallback_response, twiml

log = logging.getLogger(__name__)
bp = Blueprint("ivr", __name__)
bp.register_blueprint(stream_bp)  # its endpoint is ivr.ivr_stream.stream, signed like the rest

RECORDING_EVENTS = "completed absent"
MENU_TIMEOUT_SECONDS = 4
HOTLINE_CACHE_KEY = "hotline"


def _callback(endpoint: str) -> str:
    """Return a webhook URL for TwiML, with the operator's connection-override fragment."""
    fragment = get_settings().webhook_fragment
    return url_for(endpoint) + (f"#{fragment}" if fragment else "")


def _record_kwargs() -> dict:
    settings = get_settings()
    return {
        "action": _callback("ivr.recorded"),
        "method": "POST",
        "recording_status_callback": _callback("ivr.recording_status"),
        "recording_status_callback_method": "POST",
        "recording_status_callback_event": RECORDING_EVENTS,
        "max_length": settings.max_recording_seconds,
        "finish_on_key": "#",
        "trim": "trim-silence",
        "play_beep": True,
    }


@dataclass(frozen=True)
class HotlineConfig:
    """What answering a ring reads: known callers, the duty schedule, uploaded prompts."""

    callers: dict[str, Caller]
    schedule: DutySchedule
    prompts: dict[str, str]


def _load_hotline_config(db) -> HotlineConfig:
    return HotlineConfig(load_callers(db), load_duty_schedule(db),
                         prompt_audio_urls(db, get_settings().language))


def hotline_config() -> HotlineConfig:
    """Return this process's copy of the hotline's configuration, current as of this request.

    Answering a ring is the hot path and these change a few times a year, so each web
    process keeps them and checks one version row per request (intake.store.change_tokens).
    """
    if "hotline_config" not in g:
        cache = services().cache.get(HOTLINE_CACHE_KEY)
        if cache is None:
            cache = services().cache.setdefault(HOTLINE_CACHE_KEY,
                                                VersionedCache(_load_hotline_config))
        g.hotline_config = cache.get(get_db())
    return g.hotline_config


def _say(verb, key: str, **values) -> None:
    settings = get_settings()
    add_prompt(verb, settings.language, key, settings.voice_name,
               hotline_config().prompts.get(key), **values)


def voice_webhook(view):
    """Turn an unexpected error on a live call into polite TwiML that still records."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Exception:  # a caller is on the line: never answer 500
            log.exception("voice webhook %s failed; answering with fallback TwiML", request.path)
            get_db().rollback()
            settings = get_settings()
            return twiml(fallback_response(settings.language, settings.voice_name,
                                           _record_kwargs()))

    return wrapper


def _register_call(language: str) -> RegisteredCall:
    """Return the call for this webhook's CallSid, registering it on first sight, committed."""
    db = get_db()
    callers = hotline_config().callers
    # Committed (visible to every later webhook) before the TwiML goes back, but without
    # waiting for the disk: if an OS or database crash lost this row, the recording
    # callbacks register the call again (intake.calls.voicemail.attach_recording).
    with write_transaction(db, durable=False):
        return call_service.register_call(db, request.form.get("CallSid", ""),
                                          request.form.get("From", ""),
                                          request.form.get("To", ""), language, TWILIO,
                                          callers)


def _start_stream(response: VoiceResponse) -> None:
    """Stream the caller's audio live to /ivr/stream while the message is recorded.

    Only with DUTYLINE_LIVE_STREAMS above 0; the recording is taken either way and stays
    the source of truth. The CallSid travels as a custom parameter, so the stream is tied
    to the call the webhooks registered.
    """
    if get_settings().live_streams <= 0:
        return
    start = response.start()
    stream = start.stream(url=websocket_url(public_url_for(STREAM_PATH)))
    stream.parameter(name="CallSid", value=request.form.get("CallSid", ""))


def _voicemail(response: VoiceResponse) -> VoiceResponse:
    gather = response.gather(num_digits=1, timeout=MENU_TIMEOUT_SECONDS,
                             action=_callback("ivr.menu"), method="POST")
    _say(gather, "menu")
    _start_stream(response)
    response.record(**_record_kwargs())
    return response


@bp.post("/ivr/voice")
@verify_twilio_signature
@voice_webhook
def voice() -> Response:
    """Greet the caller (by name if known), put them through to duty staff or to voicemail."""
    settings = get_settings()
    call = _register_call(settings.language)
    response = VoiceResponse()
    if call.liaison_name is not None:
        _say(response, "greeting_known", name=call.liaison_name)
    else:
        _say(response, "greeting")
    duty_phone = hotline_config().schedule.phone_at(utcnow(), settings.timezone)
    if duty_phone:
        _say(response, "connecting")
        response.dial(duty_phone, timeout=settings.dial_timeout_seconds,
                      action=_callback("ivr.dial_status"), method="POST")
        return twiml(response)
    return twiml(_voicemail(response))


@bp.post("/ivr/dial-status")
@verify_twilio_signature
@voice_webhook
def dial_status() -> Response:
    """After the duty phone rang: hang up if answered, otherwise take a voicemail."""
    db = get_db()
    dial_outcome = request.form.get("DialCallStatus", "")
    call = call_service.find_call_by_sid(db, request.form.get("CallSid", ""))
    if call is not None:
        call_service.record_dial_outcome(db, call, dial_outcome, TWILIO)
        db.commit()
    response = VoiceResponse()
    if dial_outcome == call_service.DIAL_ANSWERED:
        _say(response, "dial_done")
        response.hangup()
        return twiml(response)
    return twiml(_voicemail(response))


@bp.post("/ivr/menu")
@verify_twilio_signature
@voice_webhook
def menu() -> Response:
    """Handle the keypad choice: 1 marks the message urgent; then record."""
    response = VoiceResponse()
    if request.form.get("Digits") == "1":
        db = get_db()
        call = call_service.find_call_by_sid(db, request.form.get("CallSid", ""))
        if call is not None:
            call_service.mark_call_urgent(db, call, "keypad", TWILIO)
            db.commit()
        _say(response, "urgent_ack")
    else:
        _say(response, "record")
    _start_stream(response)
    response.record(**_record_kwargs())
    return twiml(response)


@bp.post("/ivr/recorded")
@verify_twilio_signature
@voice_webhook
def recorded() -> Response:
    """Thank the caller, tell the reference number digit by digit, and hang up."""
    settings = get_settings()
    # Normally /ivr/voice created the call; if that request was lost, make it now so the
    # caller still hears a reference number.
    call = _register_call(settings.language)
    response = VoiceResponse()
    duration = _int_field("RecordingDuration")
    if duration <= 0:
        _say(response, "no_message")
    else:
        _say(response, "thanks", reference=spell_digits(call.reference, settings.language))
    response.hangup()
    return twiml(response)


@bp.post("/ivr/recording-status")
@verify_twilio_signature
def recording_status() -> Response:
    """Store the recording once per RecordingSid, commit, then enqueue its transcription."""
    settings = get_settings()
    db = get_db()
    form = request.form
    outcome = call_service.attach_recording(
        db,
        call_sid=form.get("CallSid", ""),
        recording_sid=form.get("RecordingSid", ""),
        recording_url=form.get("RecordingUrl", ""),
        duration_seconds=_int_field("RecordingDuration"),
        recording_status=form.get("RecordingStatus", ""),
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
        language=settings.language,
        actor=TWILIO,
    )
    db.commit()  # the recording is kept even if alerting or enqueueing fails below
    if outcome.is_new:
        dispatch_after_recording(db, outcome, get_job_queue(), settings.link_base_url, TWILIO)
    return Response("", status=204)


def _int_field(name: str) -> int:
    try:
        return int(request.form.get(name, "0") or 0)
    except ValueError:
        return 0


@bp.post("/sms/status")
@verify_twilio_signature
def sms_status() -> Response:
    """Record an SMS delivery state reported by Twilio."""
    db = get_db()
    record_delivery_status(db, request.form.get("MessageSid", ""),
                           request.form.get("MessageStatus", ""),
                           request.form.get("ErrorCode"), TWILIO)
    db.commit()
    return Response("", status=204)


@bp.post("/sms/inbound")
@verify_twilio_signature
def sms_inbound() -> Response:
    """Take a leader's "1" (acknowledge) or a liaison's satisfaction reply."""
    db = get_db()
    settings = get_settings()
    handled = inbound.handle_inbound_sms(
        db, request.form.get("From", ""), request.form.get("Body", ""),
        request.form.get("MessageSid", ""), TWILIO, settings.language,
        Clock(settings.timezone), load_calendar(db),
        get_sms_context())
    commit_and_dispatch(db, QueuedWork(sms=handled.sms), get_job_queue(), TWILIO)
    response = MessagingResponse()
    if handled.reply:
        response.message(handled.reply)
    return twiml(response)


@bp.get("/ivr/calls/<call_sid>")
@verify_twilio_signature
def call_state(call_sid: str):
    """Report one call's state as JSON to a client holding the webhook token (simulate-call).

    The request is signed exactly as Twilio signs a webhook, so only someone with the auth
    token (the development token when there is no Twilio account) can read a call here.
    """
    call = call_service.find_call_by_sid(get_db(), call_sid)
    if call is None:
        return jsonify({"error": {"code": "not_found", "message": f"no call {call_sid}"}}), 404
    return jsonify(call_service.describe_call(call))
