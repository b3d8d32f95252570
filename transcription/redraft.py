"""The RQ job that drafts caller details again from an officer's corrected transcript.

    redraft_call(call_id)
      read the stored correction (the model's text if the correction was cleared) ─► extract (directory, caller ID, urgency words)
        ─► intake.calls.voicemail.refresh_draft: kept only if that correction is still the latest,
           else drafted again from the newer one (whose enqueue found this job running)

It needs no speech model, so it runs on the light queue that every worker serves.
Extraction is pure Python; an error propagates so that RQ records the failed job.
"""
from __future__ import annotations

from intake.store.audit import WORKER
from intake.calls.voicemail import draft_source, get_call, refresh_draft
from intake.store.database import session_scope
from intake.store.runtime import get_runtime
from transcription.extraction import extract_caller_details
from transcription.jobs import load_directory_index


# An officer saving corrections faster than this many drafts is re-read on the next save.
REDRAFT_ATTEMPTS = 5


def redraft_call(call_id: int) -> bool:
    """Draft a call's caller details from its latest corrected transcript; True once filed."""
    runtime = get_runtime()
    settings = runtime.settings
    for _attempt in range(REDRAFT_ATTEMPTS):
        with session_scope(runtime.session_factory) as session:
            call = get_call(session, call_id)
            text = draft_source(call)
            if not text:
                return False
            details = extract_caller_details(
                text, language=call.language, directory=load_directory_index(session),
                caller_number=call.from_number,
                urgent_keywords=list(settings.urgent_keywords) or None,
            )
            if refresh_draft(session, call, text, details.to_json(), WORKER):
                return True
    return False
