"""Twilio's side of dutyline: voice and SMS webhooks, TwiML, the RQ queue and the SMS sender."""
