"""S3-compatible object storage for files (the scaled mode), over httpx with AWS Signature V4.

Path-style addressing (`<endpoint>/<bucket>/<key>`), which AWS, MinIO, Ceph, R2 and moto all accept.
Signing follows AWS's "Signature Version 4 signing process": a canonical request (method, URI,
sorted query, lower-cased signed headers, payload SHA-256), a string to sign scoped to
`date/region/s3/aws4_request`, and a key derived by HMAC-SHA256 from the secret. No SDK is needed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import httpx
from defusedxml.ElementTree import fromstring

from loomworks.store.storage import check_key

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Error(Exception):
    """An S3 request failed with a status we do not map to a Storage outcome."""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    payload_sha256: str,
    access_key: str,
    secret_key: str,
    region: str,
    at: datetime,
    service: str = "s3",
) -> dict[str, str]:
    """The headers of a SigV4-signed request (`headers` plus `x-amz-date`, `x-amz-content-sha256`, auth).

    Args:
        method: HTTP method.
        url: the full URL, query included (already percent-encoded as sent).
        headers: headers to sign besides `host` and the `x-amz-*` ones added here.
        payload_sha256: hex SHA-256 of the body.
        access_key: the access key id.
        secret_key: the secret access key.
        region: the region in the credential scope.
        at: the signing time (UTC).
        service: the service in the credential scope.
    """
    parts = urlsplit(url)
    amz_date = at.strftime("%Y%m%dT%H%M%SZ")
    day = at.strftime("%Y%m%d")
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed.update({"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256})
    names = sorted(signed)
    query_pairs = sorted((pair.split("=", 1) if "=" in pair else [pair, ""]) for pair in parts.query.split("&") if pair)
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            "&".join(f"{k}={v}" for k, v in query_pairs),
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {k: v for k, v in signed.items() if k != "host"}
    out["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


class S3Storage:
    """The `Storage` protocol on an S3 bucket; keys are checked like `LocalStorage`'s."""

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        prefix: str = "",
        timeout: float = 30.0,
    ) -> None:
        self.endpoint = (endpoint or f"https://s3.{region}.amazonaws.com").rstrip("/")
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.prefix = prefix.strip("/")
        self._client = httpx.Client(timeout=timeout)

    def _url(self, key: str | None = None, query: str = "") -> str:
        url = f"{self.endpoint}/{quote(self.bucket)}"
        if key is not None:
            full = f"{self.prefix}/{check_key(key)}" if self.prefix else check_key(key)
            url += "/" + quote(full, safe="/-_.~")
        return f"{url}?{query}" if query else url

    def _request(self, method: str, url: str, body: bytes = b"") -> httpx.Response:
        digest = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        headers = sign(
            method=method,
            url=url,
            headers={},
            payload_sha256=digest,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            at=datetime.now(UTC),
        )
        return self._client.request(method, url, content=body or None, headers=headers)

    @staticmethod
    def _check(response: httpx.Response, *ok: int) -> httpx.Response:
        if response.status_code not in ok:
            raise S3Error(f"S3 {response.request.method} answered {response.status_code}: {response.text[:300]}")
        return response

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (an install's first start)."""
        response = self._request("PUT", self._url())
        if response.status_code == 409 and "BucketAlreadyOwnedByYou" in response.text:
            return
        self._check(response, 200, 409)

    def save(self, key: str, data: bytes) -> None:
        self._check(self._request("PUT", self._url(key), data), 200)

    def load(self, key: str) -> bytes:
        response = self._request("GET", self._url(key))
        if response.status_code == 404:
            raise FileNotFoundError(key)
        return self._check(response, 200).content

    def exists(self, key: str) -> bool:
        response = self._request("HEAD", self._url(key))
        if response.status_code == 404:
            return False
        self._check(response, 200)
        return True

    def delete(self, key: str) -> None:
        self._check(self._request("DELETE", self._url(key)), 204, 200, 404)

    def keys(self) -> Iterator[str]:
        """Every key under the prefix (ListObjectsV2, page by page)."""
        token: str | None = None
        lead = f"{self.prefix}/" if self.prefix else ""
        while True:
            query = f"list-type=2&prefix={quote(lead, safe='')}"
            if token:
                query += f"&continuation-token={quote(token, safe='')}"
            root = fromstring(self._check(self._request("GET", self._url(query=query)), 200).content)
            for item in root.iter(f"{_S3_NS}Contents"):
                name = item.findtext(f"{_S3_NS}Key") or ""
                yield name[len(lead) :]
            if root.findtext(f"{_S3_NS}IsTruncated") != "true":
                return
            token = root.findtext(f"{_S3_NS}NextContinuationToken")

    def close(self) -> None:
        self._client.close()
