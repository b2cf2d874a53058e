"""The REST API: translates HTTP to calls on the services, and nothing more."""

from rag_app.api.app import create_app

__all__ = ["create_app"]
