"""`python -m vidscribe` runs the CLI."""

from vidscribe.app.cli import run

run()
