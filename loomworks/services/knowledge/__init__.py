"""Knowledge bases: datasets, documents and segments, indexing jobs, retrieval."""
