"""Loomworks: build, ground, ship and watch LLM applications."""

__version__ = "0.1.0"
