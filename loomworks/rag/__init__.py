"""RAG: extraction, cleaning, splitting, embedding, indexes, retrieval and rerank."""
