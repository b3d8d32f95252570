"""The in-process RQ worker the tests run jobs with: RQ's SimpleWorker with the service's
prompt shutdown (jobs.worker.PromptShutdown), so that a burst ends when its jobs do instead
of sometimes a minute later."""
from __future__ import annotations

from rq import SimpleWorker as RQSimpleWorker

from jobs.worker import PromptShutdown


class SimpleWorker(PromptShutdown, RQSimpleWorker):
    """Runs each job in this process (no fork), and stops within a second of its burst."""
