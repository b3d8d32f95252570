"""Settings come from the environment once, with embedded defaults for a fresh checkout."""
import pytest

from intake.exceptions import ConfigurationError
from intake.store.settings import DEV_AUTH_TOKEN, load_settings, load_webhook_signing


def test_a_fresh_checkout_runs_on_embedded_defaults(tmp_path):
    settings = load_settings({"DUTYLINE_INSTANCE": str(tmp_path / "inst")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'inst' / 'dutyline.sqlite3'}"
    assert settings.redis_url is None
    assert settings.effective_redis_url == f"unix://{tmp_path / 'inst' / 'redis.sock'}"
    assert settings.language == "zh-CN"
    assert settings.voice_name == "Polly.Zhiyu"
    # No Twilio account: the only recordings come from `simulate-call` on this machine.
    assert settings.recording_hosts == ("api.twilio.com", "127.0.0.1", "localhost")
    assert settings.twilio_auth_token == DEV_AUTH_TOKEN and not settings.has_twilio_account
    assert settings.vosk_model_path.name == "vosk-model-small-cn-0.22"
    assert settings.recordings_dir == tmp_path / "inst" / "recordings"


def test_the_secret_key_is_generated_once_and_kept(tmp_path):
    first = load_settings({"DUTYLINE_INSTANCE": str(tmp_path)}).secret_key
    second = load_settings({"DUTYLINE_INSTANCE": str(tmp_path)}).secret_key
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_overrides(tmp_path):
    settings = load_settings({
        "DUTYLINE_INSTANCE": str(tmp_path), "DATABASE_URL": "postgresql://db/dutyline",
        "REDIS_URL": "redis://cache:6379/2", "DUTYLINE_LANGUAGE": "en-US",
        "TWILIO_RECORDING_HOSTS": "api.twilio.com, 127.0.0.1:9000",
        "PUBLIC_BASE_URL": "https://line.example.gov.cn/", "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "real-token", "TWILIO_FROM_NUMBER": "+8657100001111",
        "TWILIO_WEBHOOK_FRAGMENT": "#rc=2&rp=all",
        "DUTYLINE_URGENT_KEYWORDS": "紧急, 中毒"})
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.voice_name == "Polly.Joanna"
    assert settings.recording_hosts == ("api.twilio.com", "127.0.0.1:9000")
    assert settings.public_base_url == "https://line.example.gov.cn"
    assert settings.has_twilio_account
    assert settings.webhook_fragment == "rc=2&rp=all"
    assert settings.urgent_keywords == ("紧急", "中毒")


@pytest.mark.parametrize("credentials", [
    {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "real-token",
     "TWILIO_MESSAGING_SERVICE_SID": "MG1"},
    {"TWILIO_AUTH_TOKEN": "real-token"},
])  # an account SID alone refuses to start (tests/test_probes.py, issue 12 item 4), and so
#     does an account without a sender (tests/test_ops.py, issue 16 item 11)
def test_with_twilio_credentials_only_twilio_serves_recordings_by_default(tmp_path, credentials):
    settings = load_settings({"DUTYLINE_INSTANCE": str(tmp_path), **credentials})
    assert settings.recording_hosts == ("api.twilio.com",)


def test_webhook_signing_is_read_without_creating_an_instance_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    signing = load_webhook_signing({"PUBLIC_BASE_URL": "https://line.example.gov.cn/"})
    assert signing.auth_token == DEV_AUTH_TOKEN
    assert signing.public_base_url == "https://line.example.gov.cn"
    assert load_webhook_signing({"TWILIO_AUTH_TOKEN": "t"}).auth_token == "t"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("env, message", [
    ({"DUTYLINE_LANGUAGE": "fr-FR"}, "DUTYLINE_LANGUAGE"),
    ({"MAX_RECORDING_SECONDS": "five"}, "MAX_RECORDING_SECONDS"),
])
def test_bad_settings_are_refused_with_the_variable_named(tmp_path, env, message):
    with pytest.raises(ConfigurationError, match=message):
        load_settings({"DUTYLINE_INSTANCE": str(tmp_path), **env})
