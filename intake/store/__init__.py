"""Where the data lives: engine, models, audit log, settings, write lock, spreadsheets."""
