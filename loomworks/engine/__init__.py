"""Workflow engine: DSL, graph, variable pool, runner, node types. Knows nothing of HTTP or the database."""
