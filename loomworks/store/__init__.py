"""Persistence: the database (SQLite or PostgreSQL), ORM rows, migrations and file storage."""
