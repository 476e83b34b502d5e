"""The Service API's knowledge package (`loomworks.api.service.datasets`): its names and route order."""

from __future__ import annotations

from fastapi import FastAPI

import loomworks.api.service.datasets as service_datasets
from loomworks.api.knowledge_handlers import knowledge_runtime
from loomworks.api.knowledge_views import datasets_public


def test_the_export_list_is_pinned() -> None:
    assert sorted(service_datasets.__all__) == [
        "ChildChunkBody",
        "DatasetCreate",
        "DocumentText",
        "DocumentsMetadata",
        "HitTestingBody",
        "MetadataCreate",
        "MetadataRename",
        "SegmentUpdate",
        "SegmentsCreate",
        "StatusBody",
        "TagBindingBody",
        "TagCreate",
        "TagDelete",
        "TagUnbindingBody",
        "TagUpdate",
        "children_page",
        "dataset_tag_ids",
        "datasets_public",
        "document_detail",
        "documents_public",
        "external_hit_testing_public",
        "forget_document",
        "hit_testing_public",
        "knowledge_runtime",
        "router",
        "run_hit_testing",
        "sync_later",
        "upload_file_public",
    ]
    # The helpers the console shares are the shared modules' own, not copies.
    assert service_datasets.knowledge_runtime is knowledge_runtime
    assert service_datasets.datasets_public is datasets_public


def test_bodies_named_like_the_console_s_keep_their_openapi_module() -> None:
    # The OpenAPI document tells these apart from the console's by module: `loomworks__api__service__datasets__…`.
    for body in (service_datasets.DatasetCreate, service_datasets.TagBindingBody, service_datasets.TagUnbindingBody):
        assert body.__module__ == "loomworks.api.service.datasets"


def test_routes_register_tags_first_and_the_resources_in_their_old_order() -> None:
    app = FastAPI()
    app.include_router(service_datasets.router)
    paths = list(app.openapi()["paths"])
    assert paths[:4] == ["/datasets/tags", "/datasets/tags/binding", "/datasets/tags/unbinding", "/datasets"]
    assert paths[4] == "/datasets/{dataset_id}"
    firsts = [
        "/datasets/{dataset_id}/document/create-by-text",
        "/datasets/{dataset_id}/documents/{document_id}/segments",
        "/datasets/{dataset_id}/retrieve",
        "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks",
        "/datasets/{dataset_id}/metadata",
    ]
    assert [paths.index(p) for p in firsts] == sorted(paths.index(p) for p in firsts)
    assert paths[-1] == "/datasets/{dataset_id}/tags"
