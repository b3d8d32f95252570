"""The web UI for duty staff, leaders, units and the supervision office, and the app factory."""
from dashboard.app import create_app

__all__ = ["create_app"]
