"""Transcribe recordings offline and pull caller details out of the text."""
