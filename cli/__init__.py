"""The `dutyline` command: the composition root that wires intake, ivr, transcription and dashboard."""
