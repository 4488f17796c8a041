"""Alembic migrations: env.py and versions/. Shipped in the wheel as `enode_scheduler.migrations`.

A package (not a bare folder) so setuptools can map it into the wheel and an editable install can
find it; importing it runs nothing.
"""
