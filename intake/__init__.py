"""The dutyline domain: directory, calls, cases, deadlines, notifications and the audit log.

This package imports no Flask, RQ, Twilio or Vosk (tests/test_layering.py keeps it so);
the web app, the webhooks and the worker call into it.

Its rooms stand on floors, drawn here from the top down; a module imports its own room or a
lower floor only (tests/test_layering.py checks it):

    sweep                 asks every part what the clock makes due            (top)
    cases                 a case's life: handling, transfers, supervision, feedback, replies
    calls  reports        a call up to its draft;  the figures the bureau reads back
    outbox  time          SMS composed and queued;  calendar, deadlines, duty hours
    directory             who is who: units, leaders, liaisons, accounts, phones
    rules                 the permission table, the one place a status changes, the lifecycle,
                          the registers of criticism and accountability
    store                 engine, models, audit log, settings, write lock, heartbeats, spreadsheets
    statuses exceptions clock                                                 (foundations)
"""
