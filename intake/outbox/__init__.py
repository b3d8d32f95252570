"""What leaves as SMS: notifications composed and queued, and the links they carry."""
