"""The dutyline domain: directory, calls, cases, deadlines, notifications and the audit log.

This package imports no Flask, RQ, Twilio or Vosk (tests/test_layering.py keeps it so);
the web app, the webhooks and the worker call into it.
"""
