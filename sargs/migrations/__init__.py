"""Alembic migrations of the whole Sargs schema (kernel and domains)."""
