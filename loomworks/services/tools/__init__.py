"""Tools: the contract (`base`), built-in providers, OpenAPI, MCP and workflow tools, the engine port."""
