"""vidscribe: whole channels into a searchable, speaker-attributed transcript database."""

__version__ = "0.1.0"
