"""The one way Loomworks makes outbound requests on behalf of users (DESIGN §6).

HTTP nodes, tools, remote files, DSL-from-URL and webhooks all go through `SafeHttpClient`:

- Only `http` and `https`. Host literals are read the way `inet_aton` reads them (decimal
  `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`), IPv6 literals with their
  embedded IPv4 (mapped, compatible, NAT64, 6to4, Teredo) looked at too.
- A name is resolved once, off the event loop; every address it resolves to is checked, and the
  socket is opened to the checked address itself, so a second lookup (DNS rebinding) never
  happens. TLS still verifies the certificate against, and sends SNI for, the name in the URL.
- Redirects are followed here, not by httpx, and every hop is checked again; their number, the
  response size (read as a stream, stopped past the cap) and the total time are capped.
- Environment proxies are ignored (a proxy would see the name, not our checked address) and
  cookies are never kept, because one pooled client serves every workspace.

The admin may allow private networks (e.g. a model server on the LAN) or host names, and may
deny more hosts or networks; cloud-metadata addresses stay blocked whatever the settings say.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpcore
import httpx

from loomworks.core.errors import LoomworksError

if TYPE_CHECKING:
    from loomworks.core.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Sequence[str]]
"""Turns a host name into address strings; called in a worker thread (it may block)."""


class OutboundRequestError(LoomworksError):
    """An outbound request on a user's behalf failed (base of the errors below)."""

    code, status, default_message = "outbound_request_failed", 400, "The outbound request failed."


class SSRFBlockedError(OutboundRequestError):
    """The URL, or an address its host resolves to, is not one we may connect to."""

    code, status, default_message = "url_not_allowed", 400, "The URL is not allowed."

    def __init__(self, reason: str, *, url: str = "") -> None:
        self.reason = reason
        self.url = url
        super().__init__(f"The URL is not allowed: {reason}.")


class ResponseTooLargeError(OutboundRequestError):
    code, status, default_message = "response_too_large", 400, "The response is larger than allowed."


class TooManyRedirectsError(OutboundRequestError):
    code, status, default_message = "too_many_redirects", 400, "Too many redirects."


class OutboundTimeoutError(OutboundRequestError):
    code, status, default_message = "outbound_timeout", 400, "The outbound request timed out."


class OutboundConnectError(OutboundRequestError):
    code, status, default_message = "outbound_connect_error", 400, "Could not connect to the remote server."


# --- addresses ----------------------------------------------------------------------------------

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.169.253", "100.100.100.200", "fd00:ec2::254", "fd00:ec2::23")
)
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)

# Checked in order; the first match names the reason. ipaddress's own flags are not enough on
# this Python (3.11.7 calls multicast and 6to4 "global"), so the networks are listed.
_V4_BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified or 'this network' address"),
        ("127.0.0.0/8", "loopback address"),
        ("10.0.0.0/8", "private address"),
        ("172.16.0.0/12", "private address"),
        ("192.168.0.0/16", "private address"),
        ("169.254.0.0/16", "link-local address"),
        ("100.64.0.0/10", "shared (CGNAT) address"),
        ("192.0.0.0/24", "reserved address"),
        ("192.0.2.0/24", "documentation address"),
        ("198.51.100.0/24", "documentation address"),
        ("203.0.113.0/24", "documentation address"),
        ("192.88.99.0/24", "6to4 relay address"),
        ("198.18.0.0/15", "benchmarking address"),
        ("224.0.0.0/4", "multicast address"),
        ("255.255.255.255/32", "broadcast address"),
        ("240.0.0.0/4", "reserved address"),
    )
)
_V6_BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("::/128", "unspecified address"),
        ("::1/128", "loopback address"),
        ("::/96", "IPv4-compatible IPv6 address"),
        ("64:ff9b:1::/48", "local-use NAT64 address"),
        ("100::/64", "discard-only address"),
        ("2001::/23", "IETF protocol assignment (incl. Teredo)"),
        ("2001:db8::/32", "documentation address"),
        ("2002::/16", "6to4 address"),
        ("3fff::/20", "documentation address"),
        ("5f00::/16", "segment routing address"),
        ("fc00::/7", "unique local address"),
        ("fe80::/10", "link-local address"),
        ("fec0::/10", "site-local address"),
        ("ff00::/8", "multicast address"),
    )
)
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries for a transition mechanism, if any."""
    if address in _MAPPED:
        return "IPv4-mapped", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        return "Teredo", address.teredo[1]
    if address in ipaddress.IPv6Network("::/96") and int(address) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(int(address))
    return None


def blocked_reason(address: IPAddress) -> str | None:
    """Why `address` must not be connected to by default, or None for a public unicast address."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
        embedded = _embedded_v4(address)
        if embedded is not None:
            inner = blocked_reason(embedded[1])
            if inner is not None:
                return f"{embedded[0]} IPv6 address of a {inner}"
        if address in _MAPPED or address in _NAT64:
            return None  # carries a public IPv4 address: as good as that address
        networks = _V6_BLOCKED
    else:
        networks = _V4_BLOCKED
    for network, reason in networks:
        if address in network:
            return reason
    if not address.is_global:
        return "non-public address"
    return None


_INET_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def _inet_aton_part(text: str) -> int | None:
    # A full regex match first: Python's int() would also take signs, spaces and underscores.
    if not _INET_PART.fullmatch(text):
        return None
    if text[:2] in ("0x", "0X"):
        return int(text[2:], 16)
    return int(text, 8) if text[0] == "0" else int(text)


def parse_ipv4_like_inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """Read `text` as glibc's `inet_aton` does: 1-4 dot-separated parts in decimal, octal or hex,
    the last part filling the remaining bytes (`127.1`, `2130706433`, `0x7f.0.0.01`)."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_inet_aton_part(part) for part in parts]
    if any(v is None for v in values):
        return None
    numbers: list[int] = [v for v in values if v is not None]
    *head, last = numbers
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = last
    for index, part in enumerate(head):
        value |= part << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a URL host names literally (in any encoding), or None for a name."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return parse_ipv4_like_inet_aton(text[:-1] if text.endswith(".") else text)


def _split(values: str | Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    items = values.split(",") if isinstance(values, str) else values
    return [item.strip().lower().rstrip(".") for item in items if item.strip()]


def _host_matches(host: str, patterns: frozenset[str]) -> bool:
    """Exact names, or `*.example.com` / `.example.com` for a domain and its subdomains."""
    if host in patterns:
        return True
    for pattern in patterns:
        suffix = pattern[1:] if pattern.startswith("*.") else pattern
        if suffix.startswith(".") and (host.endswith(suffix) or host == suffix[1:]):
            return True
    return False


@dataclass(frozen=True)
class EgressPolicy:
    """Which hosts and addresses outbound requests may reach.

    allow_hosts: names whose addresses may be private (never metadata); `*.lan` matches subdomains.
    allow_networks: private networks that may be reached (e.g. `10.0.5.0/24` for a model server).
    deny_hosts / deny_networks: refused even when public; deny wins over allow.
    """

    allow_hosts: frozenset[str] = frozenset()
    deny_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()
    deny_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        allow_hosts: str | Iterable[str] | None = None,
        deny_hosts: str | Iterable[str] | None = None,
        allow_networks: str | Iterable[str] | None = None,
    ) -> EgressPolicy:
        """From comma-separated (or listed) entries; a deny entry that parses as an IP/CIDR denies a network."""
        denied_names, denied_nets = set(), []
        for entry in _split(deny_hosts):
            try:
                denied_nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                denied_names.add(entry)
        return cls(
            allow_hosts=frozenset(_split(allow_hosts)),
            deny_hosts=frozenset(denied_names),
            allow_networks=tuple(ipaddress.ip_network(n, strict=False) for n in _split(allow_networks)),
            deny_networks=tuple(denied_nets),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls.build(
            allow_hosts=settings.ssrf_allow_hosts,
            deny_hosts=settings.ssrf_deny_hosts,
            allow_networks=settings.ssrf_allow_private_networks,
        )

    def check_host(self, host: str) -> None:
        """Refuse a host by its name (or literal address) alone, before any lookup."""
        name = host.strip().lower().rstrip(".").strip("[]")
        if not name:
            raise SSRFBlockedError("the URL has no host")
        if name in METADATA_HOSTS:
            raise SSRFBlockedError("cloud metadata host")
        if _host_matches(name, self.deny_hosts):
            raise SSRFBlockedError(f"host {name} is deny-listed")
        # RFC 6761: these names are loopback whatever a resolver says.
        if (name == "localhost" or name.endswith(".localhost")) and not _host_matches(name, self.allow_hosts):
            raise SSRFBlockedError(f"{name} is a loopback host name")
        literal = parse_ip_literal(name)
        if literal is not None:
            self.check_address(literal, host=name)

    def check_address(self, address: IPAddress, *, host: str) -> None:
        """Refuse `address` (one that `host` names or resolves to) unless it is public or allowed."""
        if address in METADATA_ADDRESSES:
            raise SSRFBlockedError(f"{host} is a cloud metadata address")
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_v4(address)) is not None:
            candidates.append(embedded[1])
        if any(c.version == n.version and c in n for c in candidates for n in self.deny_networks):
            raise SSRFBlockedError(f"{host} resolves to a deny-listed address")
        reason = blocked_reason(address)
        if reason is None:
            return
        if any(c in METADATA_ADDRESSES for c in candidates):
            raise SSRFBlockedError(f"{host} resolves to a {reason}")
        if _host_matches(host.strip().lower().rstrip("."), self.allow_hosts):
            return
        if any(c.version == n.version and c in n for c in candidates for n in self.allow_networks):
            return
        raise SSRFBlockedError(f"{host} resolves to a {reason} ({address})")

    def check_url(self, url: httpx.URL) -> None:
        if url.scheme not in ("http", "https"):
            raise SSRFBlockedError(f"scheme {url.scheme or '(none)'} is not allowed; use http or https")
        self.check_host(url.host)


def system_resolver(host: str) -> list[str]:
    """All TCP addresses of `host` from the system resolver, in its order, without repeats."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- the network backend: resolve once, check, connect to the checked address -------------------


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend whose every TCP connection goes to an address the policy allowed."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver | None = None) -> None:
        self.policy = policy
        self._resolver = resolver or system_resolver
        self._inner = httpcore.AnyIOBackend()

    async def resolve(self, host: str) -> list[IPAddress]:
        """The checked addresses of `host`; refuses when any one of them is not allowed."""
        self.policy.check_host(host)
        literal = parse_ip_literal(host)
        if literal is not None:
            return [literal]
        try:
            found = await anyio.to_thread.run_sync(self._resolver, host)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        addresses: list[IPAddress] = []
        for text in found:
            try:
                address = ipaddress.ip_address(text)
            except ValueError as exc:
                raise SSRFBlockedError(f"{host} resolved to something that is not an address") from exc
            # One bad answer refuses the name: a mix of public and private answers is an attack.
            self.policy.check_address(address, host=host)
            addresses.append(address)
        if not addresses:
            raise httpcore.ConnectError(f"could not resolve {host}")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last_error: Exception | None = None
        for address in await self.resolve(host):
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:  # noqa: ARG002
        raise SSRFBlockedError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: GuardedNetworkBackend, *, verify: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        # httpx 0.28 takes no network backend, so its pool is replaced by one that has ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


# --- the client ---------------------------------------------------------------------------------


class _CappedStream(httpx.AsyncByteStream):
    """A response body that stops past `max_bytes` raw bytes or at the deadline."""

    def __init__(self, inner: httpx.AsyncByteStream, max_bytes: int, deadline: float) -> None:
        self._inner = inner
        self._max_bytes = max_bytes
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        iterator = self._inner.__aiter__()
        while True:
            try:
                with anyio.fail_after(max(self._deadline - anyio.current_time(), 0)):
                    chunk = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise OutboundTimeoutError() from exc
            seen += len(chunk)
            if seen > self._max_bytes:
                raise ResponseTooLargeError(f"The response is larger than {self._max_bytes} bytes.")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class _Options:
    max_redirects: int
    max_response_bytes: int
    timeout: float


class SafeHttpClient:
    """An async HTTP client for requests on users' behalf; one connection pool, reusable.

    Use as `async with SafeHttpClient(...) as client:` or keep one for the process and call
    `aclose()` at shutdown (it reopens on next use, e.g. after a server restart in tests).
    `resolver` replaces the system resolver (a test seam; it is called in a worker thread).
    Every method raises `OutboundRequestError` subclasses, never httpx's own errors.
    """

    def __init__(
        self,
        policy: EgressPolicy | None = None,
        *,
        resolver: Resolver | None = None,
        max_redirects: int = 5,
        max_response_bytes: int = 10 * 1024 * 1024,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 100,
    ) -> None:
        self.policy = policy or EgressPolicy()
        self.options = _Options(max_redirects, max_response_bytes, timeout)
        self._backend = GuardedNetworkBackend(self.policy, resolver)
        self._verify = verify
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> SafeHttpClient:
        return cls(
            EgressPolicy.from_settings(settings),
            max_redirects=settings.http_max_redirects,
            max_response_bytes=int(settings.http_max_response_mb * 1024 * 1024),
            timeout=settings.http_timeout_seconds,
            **kwargs,
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                transport=_GuardedTransport(self._backend, verify=self._verify, limits=self._limits),
                follow_redirects=False,
                trust_env=False,
                # A jar that takes no cookies: the pool is shared by every workspace.
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
                timeout=httpx.Timeout(self.options.timeout),
                headers={"User-Agent": "Loomworks"},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> SafeHttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _build(self, method: str, url: str | httpx.URL, timeout: float, **kwargs: Any) -> httpx.Request:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            # httpx refuses some literals (e.g. octal dotted quads); name the SSRF reason when there is one.
            try:
                host = urlsplit(str(url)).hostname or ""
            except ValueError:
                host = ""
            literal = parse_ip_literal(host)
            if literal is not None:
                self.policy.check_address(literal, host=host)
            raise OutboundRequestError(f"Invalid URL: {exc}") from exc
        self.policy.check_url(parsed)
        return self._http().build_request(method, parsed, timeout=httpx.Timeout(timeout), **kwargs)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Any = None,
        params: Any = None,
        content: Any = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a total deadline we enforce ourselves
        follow_redirects: bool = True,
        max_bytes: int | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Send a request and yield the final response with its body unread.

        Its body (`aiter_bytes`, `aread`) stops with `ResponseTooLargeError` past `max_bytes` raw
        bytes and with `OutboundTimeoutError` at the total deadline, which covers redirects too.
        """
        total = self.options.timeout if timeout is None else timeout
        cap = self.options.max_response_bytes if max_bytes is None else max_bytes
        deadline = anyio.current_time() + total
        request = self._build(
            method, url, total, headers=headers, params=params, content=content, json=json, data=data, files=files
        )
        response = await self._send(request, deadline=deadline, follow_redirects=follow_redirects)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            await response.aclose()
            raise ResponseTooLargeError(f"The response is larger than {cap} bytes.")
        response.stream = _CappedStream(response.stream, cap, deadline)  # type: ignore[arg-type]
        try:
            yield response
        except httpx.TimeoutException as exc:
            raise OutboundTimeoutError() from exc
        except httpx.TransportError as exc:
            raise OutboundConnectError(f"Could not read the response: {exc}") from exc
        finally:
            await response.aclose()

    async def _send(self, request: httpx.Request, *, deadline: float, follow_redirects: bool) -> httpx.Response:
        history: list[httpx.Response] = []
        client = self._http()
        while True:
            self.policy.check_url(request.url)
            try:
                with anyio.fail_after(max(deadline - anyio.current_time(), 0)):
                    response = await client.send(request, stream=True)
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise OutboundTimeoutError() from exc
            except httpx.TransportError as exc:
                raise OutboundConnectError(f"Could not connect to {request.url.host}: {exc}") from exc
            next_request = response.next_request if follow_redirects else None
            if next_request is None:
                response.history = history
                return response
            await response.aclose()
            history.append(response)
            if len(history) > self.options.max_redirects:
                raise TooManyRedirectsError(f"More than {self.options.max_redirects} redirects.")
            request = next_request

    async def request(self, method: str, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """Send a request (same keywords as `stream`) and return the response with its body read.

        The decoded body is capped as well as the raw one, so a compressed bomb stops at the cap.
        """
        cap = kwargs.get("max_bytes")
        cap = self.options.max_response_bytes if cap is None else cap
        async with self.stream(method, url, **kwargs) as response:
            chunks, seen = [], 0
            async for chunk in response.aiter_bytes():
                seen += len(chunk)
                if seen > cap:
                    raise ResponseTooLargeError(f"The response is larger than {cap} bytes.")
                chunks.append(chunk)
        # The body is already decoded: the new response must not decode it again.
        headers = [(k, v) for k, v in response.headers.multi_items() if k not in ("content-encoding", "content-length")]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=response.request,
            history=response.history,
            extensions={"http_version": response.http_version.encode()},
        )

    async def get(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def fetch_bytes(self, url: str, max_bytes: int) -> bytes:
        """GET `url` and return its body; a status of 400 or more is an `OutboundRequestError`."""
        response = await self.request("GET", url, max_bytes=max_bytes)
        if response.status_code >= 400:
            raise OutboundRequestError(f"The server answered {response.status_code} for {url}.")
        return response.content

    async def fetch_text(self, url: str, max_bytes: int) -> str:
        """Like `fetch_bytes`, decoded with the response's charset (UTF-8 when it names none)."""
        response = await self.request("GET", url, max_bytes=max_bytes)
        if response.status_code >= 400:
            raise OutboundRequestError(f"The server answered {response.status_code} for {url}.")
        return response.text


async def fetch_bytes(url: str, max_bytes: int, *, client: SafeHttpClient | None = None) -> bytes:
    """GET `url` under the default policy (or `client`'s): the shape of the DSL `fetch_url` seam."""
    if client is not None:
        return await client.fetch_bytes(url, max_bytes)
    async with SafeHttpClient() as one_off:
        return await one_off.fetch_bytes(url, max_bytes)
