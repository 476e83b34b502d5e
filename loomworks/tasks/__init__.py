"""Background jobs: thin wrappers that call services (in-process runner by default, Celery when scaled)."""
