"""The inbox tells the duty officer when calls are kept but not being transcribed."""
from datetime import timedelta

from intake.store.heartbeat import beat
from intake.store.models import WorkerHeartbeat, utcnow
from tests.dashboard_support import sign_in


def _inbox(client) -> str:
    return client.get("/inbox").get_data(as_text=True)


def test_no_worker_then_no_model_then_ready(client, demo):
    sign_in(client, "duty")
    assert "转写进程未运行" in _inbox(client)

    beat(demo, "w1", None, None, "idle")
    demo.commit()
    page = _inbox(client)
    assert "未加载语音识别模型" in page and "dutyline fetch-model" in page

    beat(demo, "w2", "vosk-model-small-cn-0.22", "zh-CN", "idle")
    demo.commit()
    assert 'id="speech-status"' not in _inbox(client)


def test_a_stale_heartbeat_counts_as_no_worker(client, demo):
    demo.add(WorkerHeartbeat(name="old", seen_at=utcnow() - timedelta(minutes=5),
                             model_name="vosk-model-small-cn-0.22", model_language="zh-CN"))
    demo.commit()
    sign_in(client, "duty")
    assert "转写进程未运行" in _inbox(client)
