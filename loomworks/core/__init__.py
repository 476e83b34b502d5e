"""Core: settings, errors, ids, clock, crypto and the SSRF-safe client. Imports nothing above it."""
