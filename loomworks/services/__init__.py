"""Use cases. Each module owns one aggregate; functions take a session first, then keyword arguments."""
