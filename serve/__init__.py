"""Serve a published transit snapshot folder over HTTP."""

from serve.app import create_app, run
from serve.errors import SnapshotError

__all__ = ["SnapshotError", "create_app", "run"]
