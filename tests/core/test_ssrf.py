"""The SSRF-safe client against real HTTP(S) servers on 127.0.0.1.

Every "public" host in here is a made-up name that the injected resolver maps to 127.0.0.1 and
that the policy allow-lists by name, so no test ever connects anywhere but loopback (and the
autouse guard in conftest fails any test that tries).
"""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from loomworks.core.config import Settings
from loomworks.core.ssrf import (
    EgressPolicy,
    OutboundConnectError,
    OutboundRequestError,
    OutboundTimeoutError,
    ResponseTooLargeError,
    SafeHttpClient,
    SSRFBlockedError,
    TooManyRedirectsError,
    blocked_reason,
    fetch_bytes,
    parse_ip_literal,
    parse_ipv4_like_inet_aton,
)

GZIP_BOMB = gzip.compress(b"\0" * (8 * 1024 * 1024))


@dataclass
class ServerRecord:
    port: int
    hits: list[str] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: C901 - one branch per test route
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.record.hits.append(url.path)
        if url.path == "/ok":
            self._send(200, b"hello", {"Content-Type": "text/plain; charset=utf-8"})
        elif url.path == "/redirect":
            self._send(int(query.get("code", "302")), b"", {"Location": query["to"]})
        elif url.path == "/loop":
            self._send(302, b"", {"Location": "/loop"})
        elif url.path == "/big":
            self._send(200, b"x" * int(query["n"]))
        elif url.path == "/endless":
            # No length: the client has to stop reading by itself.
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b"y" * 65536
            for _ in range(2000):
                self.wfile.write(chunk)
        elif url.path == "/gzip":
            self._send(200, GZIP_BOMB, {"Content-Encoding": "gzip"})
        elif url.path == "/slow":
            time.sleep(float(query.get("s", "2")))
            self._send(200, b"late")
        elif url.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.05)
        elif url.path == "/setcookie":
            self._send(200, b"", {"Set-Cookie": "session=secret; Path=/"})
        elif url.path == "/echo":
            self._send(200, json.dumps(dict(self.headers.items())).encode(), {"Content-Type": "application/json"})
        else:
            self._send(404, b"no")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on purpose (size caps, timeouts) are expected here


@contextmanager
def http_server(ssl_context: ssl.SSLContext | None = None) -> Iterator[ServerRecord]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.record = ServerRecord(port=server.server_address[1])  # type: ignore[attr-defined]
    if ssl_context is not None:
        ssl_context.sni_callback = lambda sock, name, ctx: server.record.sni.append(name)  # type: ignore[attr-defined]
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.record  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def target() -> Iterator[ServerRecord]:
    with http_server() as record:
        yield record


@pytest.fixture
def other() -> Iterator[ServerRecord]:
    with http_server() as record:
        yield record


def fake_dns(table: dict[str, Sequence[str]]) -> Callable[[str], Sequence[str]]:
    def resolve(host: str) -> Sequence[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


LOOPBACK_ALLOWED = EgressPolicy.build(allow_networks="127.0.0.1/32")
PUBLIC_NAME = EgressPolicy.build(allow_hosts="public.test")


# --- refused by default -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "LOCALHOST.",
        "0.0.0.0",
        "[::1]",
        "[::]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "2130706433",
        "0x7f.1",
        "0x7f000001",
        "0177.0.0.1",
        "017700000001",
        "127.1",
        "127.0.0.1.",
    ],
)
async def test_loopback_in_every_encoding_is_refused(target: ServerRecord, host: str) -> None:
    async with SafeHttpClient() as client:
        with pytest.raises(SSRFBlockedError):
            await client.get(f"http://{host}:{target.port}/ok")
    assert target.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://0xa9fea9fe/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fec0::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "ftp://public.test/",
        "file:///etc/passwd",
        "gopher://public.test:70/_x",
    ],
)
async def test_private_metadata_and_other_schemes_are_refused(url: str) -> None:
    # Refused before any lookup or connection; the conftest guard would fail a connection attempt.
    async with SafeHttpClient(PUBLIC_NAME, resolver=fake_dns({"public.test": ["127.0.0.1"]})) as client:
        with pytest.raises(SSRFBlockedError):
            await client.get(url)


async def test_metadata_stays_blocked_even_when_its_network_is_allowed() -> None:
    policy = EgressPolicy.build(allow_networks="169.254.0.0/16", allow_hosts="meta.test")
    async with SafeHttpClient(policy, resolver=fake_dns({"meta.test": ["169.254.169.254"]})) as client:
        for url in ("http://169.254.169.254/", "http://meta.test/"):
            with pytest.raises(SSRFBlockedError, match="metadata"):
                await client.get(url)


async def test_a_name_resolving_to_loopback_is_refused(target: ServerRecord) -> None:
    dns = fake_dns({"evil.test": ["127.0.0.1"], "mixed.test": ["93.184.216.34", "127.0.0.1"]})
    async with SafeHttpClient(resolver=dns) as client:
        with pytest.raises(SSRFBlockedError, match="loopback"):
            await client.get(f"http://evil.test:{target.port}/ok")
        # One bad answer refuses the name; the public one is never tried.
        with pytest.raises(SSRFBlockedError, match="loopback"):
            await client.get(f"http://mixed.test:{target.port}/ok")
    assert target.hits == []


async def test_the_system_resolver_is_checked_too(target: ServerRecord) -> None:
    # allow-listing the name lifts the by-name refusal: the system's answer (127.0.0.1) is checked.
    async with SafeHttpClient(EgressPolicy.build(allow_hosts="localhost")) as client:
        assert (await client.get(f"http://localhost:{target.port}/ok")).text == "hello"
    async with SafeHttpClient(EgressPolicy.build(allow_hosts="localhost", deny_hosts="127.0.0.0/8")) as client:
        with pytest.raises(SSRFBlockedError, match="deny"):
            await client.get(f"http://localhost:{target.port}/ok")
    assert target.hits == ["/ok"]


async def test_a_name_is_resolved_once_and_the_checked_address_is_used(target: ServerRecord) -> None:
    """DNS rebinding: a second lookup would answer 10.0.0.1; there must be none for one connection."""
    calls: list[str] = []

    def rebinding(host: str) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.0.0.1"]

    async with SafeHttpClient(LOOPBACK_ALLOWED, resolver=rebinding) as client:
        response = await client.get(f"http://rebind.test:{target.port}/echo", headers={"Connection": "close"})
        assert response.status_code == 200
        # The Host header (and so virtual hosting) keeps the name; the socket went to the checked address.
        assert response.json()["Host"] == f"rebind.test:{target.port}"
        assert calls == ["rebind.test"]
        # A new connection resolves again and checks the new answer.
        with pytest.raises(SSRFBlockedError, match="private"):
            await client.get(f"http://rebind.test:{target.port}/ok")
    assert calls == ["rebind.test", "rebind.test"]
    assert target.hits == ["/echo"]


# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/ok",
        "http://localhost:{port}/ok",
        "http://[::ffff:127.0.0.1]:{port}/ok",
        "http://2130706433:{port}/ok",
        "//127.0.0.1:{port}/ok",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(
    target: ServerRecord, other: ServerRecord, location: str
) -> None:
    """The first server is allowed by its (public-looking) name; the redirect target is not."""
    to = location.format(port=other.port)
    async with SafeHttpClient(PUBLIC_NAME, resolver=fake_dns({"public.test": ["127.0.0.1"]})) as client:
        with pytest.raises(SSRFBlockedError):
            await client.get(f"http://public.test:{target.port}/redirect", params={"to": to})
    assert target.hits == ["/redirect"]
    assert other.hits == []


async def test_an_allowed_redirect_is_followed_with_get(target: ServerRecord, other: ServerRecord) -> None:
    async with SafeHttpClient(PUBLIC_NAME, resolver=fake_dns({"public.test": ["127.0.0.1"]})) as client:
        to = f"http://public.test:{other.port}/ok"
        response = await client.get(f"http://public.test:{target.port}/redirect", params={"to": to})
    assert (response.status_code, response.text) == (200, "hello")
    assert [r.status_code for r in response.history] == [302]
    assert other.hits == ["/ok"]


async def test_redirects_are_capped(target: ServerRecord) -> None:
    async with SafeHttpClient(LOOPBACK_ALLOWED, max_redirects=3) as client:
        with pytest.raises(TooManyRedirectsError):
            await client.get(f"http://127.0.0.1:{target.port}/loop")
        not_followed = await client.get(f"http://127.0.0.1:{target.port}/loop", follow_redirects=False)
    assert target.hits == ["/loop"] * 5
    assert not_followed.status_code == 302


# --- allowed, and the caps ----------------------------------------------------------------------


async def test_the_loopback_server_is_reachable_when_allow_listed(target: ServerRecord) -> None:
    async with SafeHttpClient(LOOPBACK_ALLOWED) as client:
        response = await client.get(f"http://127.0.0.1:{target.port}/ok")
        assert (response.status_code, response.text) == (200, "hello")
        # Only the listed address: another loopback address stays refused.
        with pytest.raises(SSRFBlockedError):
            await client.get(f"http://127.0.0.2:{target.port}/ok")
    async with SafeHttpClient(LOOPBACK_ALLOWED) as client:
        assert await fetch_bytes(f"http://127.0.0.1:{target.port}/ok", 100, client=client) == b"hello"
    with pytest.raises(SSRFBlockedError):
        await fetch_bytes(f"http://127.0.0.1:{target.port}/ok", 100)


async def _drain(response: httpx.Response, seen: list[int]) -> None:
    async for chunk in response.aiter_raw():
        seen.append(len(chunk))


async def test_response_size_is_capped(target: ServerRecord) -> None:
    base = f"http://127.0.0.1:{target.port}"
    async with SafeHttpClient(LOOPBACK_ALLOWED, max_response_bytes=100_000) as client:
        assert len((await client.get(f"{base}/big", params={"n": 100_000})).content) == 100_000
        with pytest.raises(ResponseTooLargeError):  # announced by Content-Length
            await client.get(f"{base}/big", params={"n": 100_001})
        started = time.monotonic()
        with pytest.raises(ResponseTooLargeError):  # no length: stopped while streaming
            await client.get(f"{base}/endless")
        assert time.monotonic() - started < 2
        with pytest.raises(ResponseTooLargeError):  # small on the wire, 8 MB decoded
            await client.get(f"{base}/gzip", max_bytes=1024 * 1024)
        assert await client.fetch_bytes(f"{base}/ok", 5) == b"hello"
        with pytest.raises(ResponseTooLargeError):
            await client.fetch_bytes(f"{base}/ok", 4)
        async with client.stream("GET", f"{base}/endless", max_bytes=300_000) as response:
            seen: list[int] = []
            with pytest.raises(ResponseTooLargeError):
                await _drain(response, seen)
            assert 0 < sum(seen) <= 300_000


async def test_total_time_is_capped(target: ServerRecord) -> None:
    base = f"http://127.0.0.1:{target.port}"
    async with SafeHttpClient(LOOPBACK_ALLOWED, timeout=0.4) as client:
        for path in ("/slow?s=3", "/drip"):
            started = time.monotonic()
            with pytest.raises(OutboundTimeoutError):
                await client.get(f"{base}{path}")
            assert time.monotonic() - started < 1.5
        # A per-call deadline overrides the client's.
        assert (await client.get(f"{base}/slow?s=0.6", timeout=3)).text == "late"


async def test_cookies_are_never_kept_between_requests(target: ServerRecord) -> None:
    async with SafeHttpClient(LOOPBACK_ALLOWED) as client:
        await client.get(f"http://127.0.0.1:{target.port}/setcookie")
        echoed = (await client.get(f"http://127.0.0.1:{target.port}/echo")).json()
    assert "Cookie" not in echoed


async def test_connection_errors_are_our_errors() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
    async with SafeHttpClient(LOOPBACK_ALLOWED, resolver=fake_dns({})) as client:
        with pytest.raises(OutboundConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
        with pytest.raises(OutboundConnectError):
            await client.get("http://no-such-name.test/")
        with pytest.raises(OutboundRequestError):
            await client.get("http://[::1/")


def test_the_client_is_built_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        ssrf_allow_hosts="ollama.lan, *.corp.test",
        ssrf_deny_hosts="bad.test,8.8.8.0/24",
        ssrf_allow_private_networks="10.0.5.0/24",
        http_max_redirects=2,
        http_max_response_mb=0.5,
        http_timeout_seconds=7,
    )
    client = SafeHttpClient.from_settings(settings)
    assert (client.options.max_redirects, client.options.max_response_bytes, client.options.timeout) == (2, 524288, 7)
    policy = client.policy
    policy.check_address(ipaddress.ip_address("10.0.5.9"), host="x")
    policy.check_address(ipaddress.ip_address("192.168.0.9"), host="a.corp.test")
    policy.check_address(ipaddress.ip_address("192.168.0.9"), host="ollama.lan")
    for host, address in [("x", "10.0.6.1"), ("x", "8.8.8.8"), ("ollama.lan", "169.254.169.254")]:
        with pytest.raises(SSRFBlockedError):
            policy.check_address(ipaddress.ip_address(address), host=host)
    with pytest.raises(SSRFBlockedError, match="deny"):
        policy.check_host("BAD.test.")


# --- TLS keeps the name -------------------------------------------------------------------------


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_tls_verifies_and_sends_sni_for_the_url_name(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, "secure.test")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=str(cert))
    with http_server(server_context) as server:
        policy = EgressPolicy.build(allow_hosts="secure.test", allow_networks="127.0.0.1/32")
        dns = fake_dns({"secure.test": ["127.0.0.1"]})
        async with SafeHttpClient(policy, resolver=dns, verify=trust) as client:
            response = await client.get(f"https://secure.test:{server.port}/ok")
            assert response.text == "hello"
            # The same server by address: the certificate does not name it, so verification fails.
            with pytest.raises(OutboundConnectError):
                await client.get(f"https://127.0.0.1:{server.port}/ok")
    assert server.sni[0] == "secure.test"
    assert server.hits == ["/ok"]


# --- the address checker, by property ------------------------------------------------------------

# Written out here independently of the module's own tables (from the IANA special-purpose registries).
BLOCKED_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
]
BLOCKED_V6 = ["::1/128", "::/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "2001:db8::/32", "64:ff9b:1::/48"]


def _blocked_v4() -> st.SearchStrategy[ipaddress.IPv4Address]:
    return st.one_of(*(st.ip_addresses(network=n) for n in BLOCKED_V4))  # type: ignore[arg-type]


def _wrapped(v4: ipaddress.IPv4Address) -> list[ipaddress.IPv6Address]:
    n = int(v4)
    return [
        ipaddress.IPv6Address(0xFFFF << 32 | n),  # ::ffff:a.b.c.d
        ipaddress.IPv6Address(n),  # ::a.b.c.d
        ipaddress.IPv6Address(0x64FF9B << 96 | n),  # 64:ff9b::a.b.c.d
        ipaddress.IPv6Address(0x2002 << 112 | n << 80),  # 2002:aabb:ccdd::
        ipaddress.IPv6Address(0x20010000 << 96 | (n ^ 0xFFFFFFFF)),  # Teredo client
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        _blocked_v4(),
        st.one_of(*(st.ip_addresses(network=n) for n in BLOCKED_V6)),  # type: ignore[arg-type]
        _blocked_v4().flatmap(lambda v4: st.sampled_from(_wrapped(v4))),
    )
)
def test_no_address_in_a_blocked_network_is_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert blocked_reason(address) is not None
    with pytest.raises(SSRFBlockedError):
        EgressPolicy().check_address(address, host=str(address))
    with pytest.raises(SSRFBlockedError):
        EgressPolicy().check_host(f"[{address}]" if address.version == 6 else str(address))


@settings(max_examples=300, deadline=None)
@given(st.ip_addresses())
def test_the_checker_never_crashes(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    reason = blocked_reason(address)
    assert reason is None or isinstance(reason, str)
    if reason is None:
        mapped = getattr(address, "ipv4_mapped", None)
        assert (mapped or address).is_global


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789abcdefxX.", max_size=24))
def test_ipv4_literals_are_read_like_inet_aton(text: str) -> None:
    try:
        expected: ipaddress.IPv4Address | None = ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    assert parse_ipv4_like_inet_aton(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_host_text_is_refused_or_passed_never_crashes(text: str) -> None:
    with suppress(SSRFBlockedError):
        EgressPolicy().check_host(text)
    parse_ip_literal(text)
