"""Chat assistants and text generators: prompts, memory, moderation, the answer pipeline, stop."""
