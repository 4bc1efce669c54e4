"""What starts flows for a person: the command line, the doctor, exports, the benchmark, the progress view.

The only part of the package that may import `flows/` (see the import-linter contract in pyproject.toml).
"""
