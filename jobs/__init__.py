"""Background work: everything that runs on RQ, and the adapter the web side enqueues through.

    queue.py        JobQueue (the one RQ adapter), job ids, retry policies, connect_redis
    reconciler.py   re-enqueue what a Redis outage or a dead worker left behind
    worker.py       DutylineWorker: heartbeat, reconciler as maintenance, children that
                    die with it, liveness that covers the work-horse
    telephony.py    the SMS and Twilio-recording-deletion jobs
    lifetime.py     PR_SET_PDEATHSIG: a child dies with its parent
    schedule.py     where scheduled (time-driven) jobs live

It may import intake, rq, redis and messaging (the Twilio REST client); never ivr, web,
dashboard, transcription or cli. Transcription jobs stay in transcription/ (they need Vosk)
and are enqueued here by dotted path.
"""
