"""The pipeline's stages as plain functions, each with its model loader, its errors and its settings section.

Callable without Prefect (tests, scripts, benchmarks); `tasks/` wraps each once as a cached, retried Prefect
task, and `vidscribe.pipeline` puts them in order.
"""
