"""Notifiers: Twilio's REST API when credentials are set, the outbox log otherwise."""
from __future__ import annotations

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from intake.exceptions import ConfigurationError
from intake.outbox.notifications import SendReceipt
from intake.store.settings import Settings
from intake.statuses import NotificationStatus

# Twilio error codes that will never succeed on retry (invalid number, unsubscribed, ...).
PERMANENT_ERROR_CODES = {21211, 21214, 21408, 21610, 21612, 21614}


class PermanentSendError(Exception):
    """Twilio refused the message for a reason a retry cannot fix."""

    def __init__(self, code: int | None, message: str):
        super().__init__(f"Twilio error {code}: {message}")
        self.code = code


def make_twilio_client(settings: Settings) -> Client:
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token)
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url
    return client


class TwilioNotifier:
    """Sends SMS through Twilio's Messages API."""

    def __init__(self, settings: Settings, client: Client | None = None):
        if not (settings.twilio_from_number or settings.twilio_messaging_service_sid):
            raise ConfigurationError("set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        self.settings = settings
        self.client = client or make_twilio_client(settings)

    def send_sms(self, to: str, body: str, status_callback: str | None) -> SendReceipt:
        sender = {"messaging_service_sid": self.settings.twilio_messaging_service_sid} if (
            self.settings.twilio_messaging_service_sid) else {"from_": self.settings.twilio_from_number}
        options = {"status_callback": status_callback} if status_callback else {}
        try:
            message = self.client.messages.create(to=to, body=body, **sender, **options)
        except TwilioRestException as exc:
            if exc.code in PERMANENT_ERROR_CODES or exc.status in (400, 404):
                raise PermanentSendError(exc.code, exc.msg) from exc
            raise
        try:
            status = NotificationStatus(message.status)
        except ValueError:
            status = NotificationStatus.QUEUED
        return SendReceipt(sid=message.sid, status=status)


class OutboxNotifier:
    """Without a Twilio account, SMS are kept in the outbox that the dashboard shows."""

    def send_sms(self, to: str, body: str, status_callback: str | None) -> SendReceipt:
        return SendReceipt(sid=None, status=NotificationStatus.OUTBOX)


def make_notifier(settings: Settings):
    """Return the notifier the settings call for."""
    return TwilioNotifier(settings) if settings.has_twilio_account else OutboxNotifier()
