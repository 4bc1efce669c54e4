"""Alembic environment: runs on the connection that `vidscribe.db.engine.ensure_schema` hands over.

Why no URL or ini here: the engine (embedded pgserver or DATABASE_URL) and the embedding dimension are
decided by vidscribe's settings, so migrations only run programmatically, inside the caller's transaction.
"""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("vidscribe migrations run through vidscribe.db.ensure_schema, not the alembic CLI")

context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
