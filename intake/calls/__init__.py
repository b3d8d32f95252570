"""A call from the first webhook to its draft: voicemail, routing, urgency, the inbox."""
