"""The bureau's time: the working calendar, deadlines and duty hours."""
