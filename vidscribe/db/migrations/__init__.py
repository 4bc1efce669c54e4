"""Alembic migrations of the vidscribe schema (a package only so that setuptools ships these files)."""
