"""Wire adapters: one module per vendor wire format (OpenAI, Azure OpenAI, Anthropic, …).

Each module defines `WireAdapter` subclasses that register themselves by their `wire=` keyword; the
model runtime imports the modules. `_sse` holds the server-sent-events reader they share.
"""
