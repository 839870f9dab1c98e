"""Alembic environment: always run programmatically with a connection from
``dashboard.db`` (there is no alembic.ini), so the same code path serves the
command line, demo start-up and the tests."""

from alembic import context

from dashboard.state_tables import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=config.attributes["version_table"],
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
