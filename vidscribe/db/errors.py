"""Database errors that carry a message a user can act on.

Why separate classes: the CLI and the flows catch these to print one clear line instead of a driver
traceback, and the messages must never include the password from DATABASE_URL.
"""

from __future__ import annotations


class DatabaseUnavailableError(RuntimeError):
    """PostgreSQL could not be reached (or refused the login); the message names host/port/db only."""


class SchemaMismatchError(RuntimeError):
    """The database was built for another text-embedding dimension than the settings ask for."""
