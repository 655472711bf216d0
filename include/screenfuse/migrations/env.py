"""Alembic environment of the warehouse. It runs inside `screenfuse db upgrade` (screenfuse.schema),
on the connection and transaction that command opened; there is no alembic.ini and no URL here."""
from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError('the warehouse is migrated by "screenfuse db upgrade", not by the alembic command')

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
