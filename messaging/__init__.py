"""The Twilio REST side of SMS: the client, and the Notifiers that intake's interface names.

It may import intake and twilio. jobs/ sends through it; the web side never does.
"""
