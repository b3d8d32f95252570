"""A case's life: handling, transfers, supervision, feedback, SMS replies, history."""
