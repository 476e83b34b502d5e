"""A dataset's metadata fields (Dify 1.1+), the documents' values, and the dataset's tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from loomworks.api import knowledge_handlers
from loomworks.api.deps import DatasetCaller, State
from loomworks.api.knowledge_handlers import DocumentsMetadata, MetadataCreate, MetadataRename
from loomworks.services.knowledge import datasets, metadata

router = APIRouter()


@router.post("/{dataset_id}/metadata", status_code=201)
def create_metadata(dataset_id: str, body: MetadataCreate, caller: DatasetCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.create_metadata(state, caller, dataset_id, body, api=True)


@router.get("/{dataset_id}/metadata")
def list_metadata(dataset_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.list_metadata(state, caller, dataset_id, api=True)


@router.get("/{dataset_id}/metadata/built-in")
def built_in_metadata(dataset_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    with state.db.session() as session:
        datasets.get(session, caller=caller, dataset_id=dataset_id, api=True)
    return {"fields": metadata.built_in_fields()}


@router.post("/{dataset_id}/metadata/built-in/{action}")
def toggle_built_in_metadata(dataset_id: str, action: str, caller: DatasetCaller, state: State) -> dict[str, str]:
    return knowledge_handlers.toggle_built_in_metadata(state, caller, dataset_id, action, api=True)


@router.patch("/{dataset_id}/metadata/{metadata_id}")
def rename_metadata(
    dataset_id: str, metadata_id: str, body: MetadataRename, caller: DatasetCaller, state: State
) -> dict[str, Any]:
    return knowledge_handlers.rename_metadata(state, caller, dataset_id, metadata_id, body, api=True)


@router.delete("/{dataset_id}/metadata/{metadata_id}", status_code=204)
def delete_metadata(dataset_id: str, metadata_id: str, caller: DatasetCaller, state: State) -> Response:
    knowledge_handlers.delete_metadata(state, caller, dataset_id, metadata_id, api=True)
    return Response(status_code=204)


@router.post("/{dataset_id}/documents/metadata")
def set_documents_metadata(
    dataset_id: str, body: DocumentsMetadata, caller: DatasetCaller, state: State
) -> dict[str, str]:
    return knowledge_handlers.set_documents_metadata(state, caller, dataset_id, body, api=True)


@router.get("/{dataset_id}/tags")
def get_dataset_tags(dataset_id: str, caller: DatasetCaller, state: State) -> dict[str, Any]:
    return knowledge_handlers.dataset_tags(state, caller, dataset_id, api=True)
