"""ORM rows. Import every table module here so `Base.metadata` knows them all (migrations use it)."""

from loomworks.store.tables._base import Base
from loomworks.store.tables.accounts import Account, AccountSession, Invitation, Setup, Tenant, TenantAccountJoin
from loomworks.store.tables.annotations import Annotation, AnnotationHit, AnnotationSetting
from loomworks.store.tables.app_tests import AppTestCase, AppTestRun
from loomworks.store.tables.apps import ApiToken, App, AppModelConfig, EndUser, Site, UploadFile
from loomworks.store.tables.conversations import Conversation, Message, MessageFeedback, MessageFile
from loomworks.store.tables.datasets import (
    ChildChunk,
    Dataset,
    DatasetMetadataField,
    Document,
    Segment,
    Tag,
    TagBinding,
)
from loomworks.store.tables.external_knowledge import ExternalKnowledgeApi
from loomworks.store.tables.jobs import Job
from loomworks.store.tables.models import CustomModel, DefaultModel, ModelCall, ProviderCredential
from loomworks.store.tables.tools import (
    ApiToolProvider,
    AppMcpServer,
    BuiltinToolCredential,
    McpToolProvider,
    WorkflowToolProvider,
)
from loomworks.store.tables.tracing import TraceConfig, TraceOutbox, TraceSetting
from loomworks.store.tables.workflows import (
    ConversationVariable,
    PendingImport,
    Workflow,
    WorkflowAppLog,
    WorkflowNodeExecution,
    WorkflowRun,
)

__all__ = [
    "AppTestCase",
    "AppTestRun",
    "Annotation",
    "AnnotationHit",
    "AnnotationSetting",
    "ChildChunk",
    "Dataset",
    "DatasetMetadataField",
    "Document",
    "ExternalKnowledgeApi",
    "Segment",
    "Tag",
    "TagBinding",
    "Account",
    "AccountSession",
    "ApiToken",
    "App",
    "AppModelConfig",
    "Base",
    "Conversation",
    "ConversationVariable",
    "CustomModel",
    "DefaultModel",
    "EndUser",
    "Invitation",
    "Job",
    "Message",
    "MessageFeedback",
    "MessageFile",
    "ModelCall",
    "PendingImport",
    "ProviderCredential",
    "Setup",
    "Site",
    "Tenant",
    "TenantAccountJoin",
    "TraceConfig",
    "TraceOutbox",
    "TraceSetting",
    "UploadFile",
    "Workflow",
    "WorkflowAppLog",
    "WorkflowNodeExecution",
    "WorkflowRun",
    "ApiToolProvider",
    "AppMcpServer",
    "BuiltinToolCredential",
    "McpToolProvider",
    "WorkflowToolProvider",
]
