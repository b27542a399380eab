"""The web UI and JSON API: FastAPI routes over ``storydesk.api.Desk``."""

from __future__ import annotations

from storydesk.web.app import create_app

__all__ = ["create_app"]
