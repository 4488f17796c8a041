"""One module per schema revision (alembic skips this file). Never edit a released one."""
