"""`S3Storage` against moto's S3 server: the Storage contract, signatures checked by the server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from loomworks.store.s3 import S3Storage, sign
from tests.scale._services import moto_s3

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_s3() as url:
        yield url


def storage(endpoint: str, **overrides: str) -> S3Storage:
    options = {"bucket": "files", "access_key": "AKIDTEST", "secret_key": "secret", "prefix": "install-1"}
    options.update(overrides)
    store = S3Storage(endpoint=endpoint, **options)
    store.ensure_bucket()
    return store


def test_save_load_exists_delete_and_list(endpoint: str) -> None:
    store = storage(endpoint)
    assert not store.exists("upload_files/t1/a.txt")
    store.save("upload_files/t1/a.txt", b"hello")
    store.save("upload_files/t1/b.bin", bytes(range(256)) * 100)
    assert store.exists("upload_files/t1/a.txt")
    assert store.load("upload_files/t1/a.txt") == b"hello"
    assert store.load("upload_files/t1/b.bin") == bytes(range(256)) * 100
    assert sorted(store.keys()) == ["upload_files/t1/a.txt", "upload_files/t1/b.bin"]
    store.delete("upload_files/t1/a.txt")
    store.delete("upload_files/t1/never-there")
    assert not store.exists("upload_files/t1/a.txt")
    with pytest.raises(FileNotFoundError):
        store.load("upload_files/t1/a.txt")
    store.ensure_bucket()  # a second start finds the bucket


def test_keys_are_checked_before_any_request(endpoint: str) -> None:
    store = storage(endpoint)
    for bad in ("../x", "a/../../b", "/abs", "a b"):
        with pytest.raises(ValueError, match="invalid storage key"):
            store.save(bad, b"x")


def test_signature_matches_the_aws_documentation_example() -> None:
    # "GET Object" example of AWS's SigV4 documentation for S3 (examplebucket, Range header).
    headers = sign(
        method="GET",
        url="https://examplebucket.s3.amazonaws.com/test.txt",
        headers={"Range": "bytes=0-9"},
        payload_sha256=hashlib.sha256(b"").hexdigest(),
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        at=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["authorization"].endswith(
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_signature_matches_botocore_with_a_query_and_a_body() -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b"some bytes"
    url = "http://127.0.0.1:9000/files/install-1/a.txt?list-type=2&prefix=install-1%2F"
    at = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    ours = sign(
        method="PUT",
        url=url,
        headers={},
        payload_sha256=hashlib.sha256(body).hexdigest(),
        access_key="AK",
        secret_key="SK",
        region="eu-west-1",
        at=at,
    )
    request = AWSRequest(method="PUT", url=url, data=body)
    signer = S3SigV4Auth(Credentials("AK", "SK"), "s3", "eu-west-1")
    # botocore signs "now"; its own steps, fed the fixed time, give the signature for comparison.
    request.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = request.context["timestamp"]
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    assert ours["authorization"].endswith("Signature=" + signer.signature(string_to_sign, request))
