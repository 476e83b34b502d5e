"""Model runtime: provider and model schemas, registry, wire adapters, usage and pricing."""
