"""`python -m vidscribe` runs the CLI."""

from vidscribe.cli import app

app()
