"""Tracing export (LLMOps): runs sent to Langfuse, LangSmith or any OTLP/HTTP collector, per app.

Importing the package registers the built-in exporters (each subclass of `TraceExporter` registers
itself). See README.md for the flow and how to add a provider.
"""

from loomworks.services.tracing import langfuse, langsmith, otlp
from loomworks.services.tracing.config import PROVIDERS, Destination
from loomworks.services.tracing.dispatcher import DispatchOptions, DispatchStats, TraceDispatcher, TraceSink
from loomworks.services.tracing.events import Cost, Span, TokenUsage, Trace, message_trace, workflow_trace
from loomworks.services.tracing.exporter import EXPORTERS, ExportError, SendResult, TraceExporter

__all__ = [
    "EXPORTERS",
    "PROVIDERS",
    "Cost",
    "Destination",
    "DispatchOptions",
    "DispatchStats",
    "ExportError",
    "SendResult",
    "Span",
    "TokenUsage",
    "Trace",
    "TraceDispatcher",
    "TraceExporter",
    "TraceSink",
    "langfuse",
    "langsmith",
    "message_trace",
    "otlp",
    "workflow_trace",
]
