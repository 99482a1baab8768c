"""Where a channel may post, and the post itself (docs/signals-channels.md, "Where a webhook may point").

A channel's URL is typed by sales ops, and the hub posts to it from inside its own network, next to its database,
its Redis and (in a cloud) the metadata service that hands out the machine's credentials. So a URL may only lead
to a host on the internet: one whose name is, or resolves to, an address that is not globally routable (loopback
127.0.0.0/8 and ::1, the private ranges 10/8, 172.16/12, 192.168/16 and fc00::/7, link-local 169.254/16, where
the cloud metadata service answers at 169.254.169.254, and fe80::/10, carrier-grade NAT 100.64/10, 0.0.0.0,
multicast and reserved ranges, and such an address written as IPv6, e.g. ::ffff:127.0.0.1) is refused when the
channel is saved and again at every attempt. A receiver inside your own network is allowed by naming its network
in settings.SIGNALS_ALLOWED_NETWORKS (environment variable of the same name).

At each attempt the host is resolved once, every address it resolves to is checked, and the connection goes to an
address that was checked (for https the certificate is still verified against the host's name): a DNS answer
that changes between the check and the connection (DNS rebinding) cannot move the post inside. Redirects are never
followed, and no proxy is used; a user and password written in the URL are sent as Basic credentials. Time is
bounded twice: `timeout` seconds for resolving, for connecting and for each read, and `deadline` seconds for the
whole attempt, so a receiver sending its answer a byte at a time cannot hold a worker (and the delivery's row
lock) for longer.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits: it is checked as that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(Exception):
    """The URL leads inside the hub's own network (the message says which host and address)."""


class InvalidHost(ValueError):
    """The URL's host is no name a resolver can be asked (an empty label, a label over 63 characters)."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    body: bytes  # the first bytes of the answer's body (at most `keep` of them)
    retry_after: str | None


def allowed_networks() -> list[IPNetwork]:
    """settings.SIGNALS_ALLOWED_NETWORKS as networks (a bad entry is a configuration error, raised at once)."""
    return [ipaddress.ip_network(str(n).strip(), strict=False) for n in settings.SIGNALS_ALLOWED_NETWORKS if n]


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return None


def address_refused(address: IPAddress, networks: list[IPNetwork] | None = None) -> bool:
    """Whether a post may not go to `address`: not globally routable (or multicast), and in no allowed network."""
    networks = allowed_networks() if networks is None else networks
    if any(address in network for network in networks if network.version == address.version):
        return False
    inner = _embedded_ipv4(address)
    if inner is not None:  # judged as the IPv4 address it carries
        return address_refused(inner, networks)
    return not address.is_global or address.is_multicast


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve(host: str, port: int, *, timeout: float) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order; OSError (TimeoutError after `timeout` seconds)
    when it does not resolve. getaddrinfo takes no timeout, so it runs in a thread that is left behind if slow."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    found: dict[str, Any] = {}

    def lookup() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except UnicodeError:  # the name cannot be put in IDNA form: it is no host name (never a network error)
            found["error"] = InvalidHost(
                f"The URL's host {host} is not a host name (a part between dots is empty or longer than 63 characters)."
            )
        except Exception as error:  # OSError, or anything else: raised in the caller's thread, never lost here
            found["error"] = error

    worker = threading.Thread(target=lookup, name="signals-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"resolving {host} took longer than {timeout:g} s")
    if "error" in found:
        raise found["error"]
    addresses: list[IPAddress] = []
    for *_, sockaddr in found["infos"]:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # an IPv6 zone (%eth0) is no address
        if address not in addresses:
            addresses.append(address)
    return addresses


def _refusal(host: str, address: IPAddress) -> str:
    named = "" if _literal(host) is not None else f" resolves to {address}, which"
    return (
        f"The URL's host {host}{named} is an address inside the hub's own network: channels post only to hosts "
        "on the internet (sales ops' administrator may allow a network of receivers in SIGNALS_ALLOWED_NETWORKS)."
    )


def checked_addresses(host: str, port: int, *, timeout: float) -> list[IPAddress]:
    """The addresses of `host`, every one of them allowed; DestinationRefused naming the first that is not."""
    addresses = resolve(host, port, timeout=timeout)
    networks = allowed_networks()
    for address in addresses:
        if address_refused(address, networks):
            raise DestinationRefused(_refusal(host, address))
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    return addresses


def destination_problem(url: str, *, timeout: float) -> str | None:
    """What is wrong with posting to `url` (a sentence), or None: for saving a channel. A host that does not
    resolve now is accepted (its attempts will say so); one that leads inside is refused."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "The URL's port is not a number from 1 to 65535."
    try:
        checked_addresses(host, port, timeout=timeout)
    except (DestinationRefused, InvalidHost) as refused:
        return str(refused)
    except OSError:
        return None
    return None


class _PinnedConnection(http.client.HTTPConnection):
    """A connection to `host` made to one checked address (the Host header and, for https, the certificate's
    name stay the host's)."""

    def __init__(self, host: str, port: int, address: IPAddress, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._address = str(address)
        self._create_connection = self._connect_pinned  # type: ignore[method-assign]

    def _connect_pinned(
        self, target: tuple[str, int], timeout: float | None = None, source_address: Any = None
    ) -> socket.socket:
        return socket.create_connection((self._address, target[1]), timeout, source_address)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: IPAddress, **kwargs: Any) -> None:
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = str(address)
        self._create_connection = self._connect_pinned  # type: ignore[method-assign]

    def _connect_pinned(
        self, target: tuple[str, int], timeout: float | None = None, source_address: Any = None
    ) -> socket.socket:
        return socket.create_connection((self._address, target[1]), timeout, source_address)


class _Watchdog(threading.Thread):
    """Calls `_cut` once `seconds` have passed, unless cancelled first. It sleeps in short steps and reads the clock,
    rather than waiting on a condition with a timeout (threading.Timer): such a wait never ends under a shifted
    clock (faketime, which the test suite runs under), and the attempt then had no deadline."""

    STEP = 0.05

    def __init__(self, seconds: float, connection: http.client.HTTPConnection, expired: threading.Event) -> None:
        super().__init__(daemon=True)
        self._until = time.monotonic() + seconds
        self._connection, self._expired = connection, expired
        self._cancelled = False
        # The check and the cut are one step under this lock, as is cancel: once cancel returns, no cut follows
        # (the attempt cancelled it with its answer read; a cut then marked a complete answer as timed out).
        self._lock = threading.Lock()

    def run(self) -> None:
        while True:
            left = self._until - time.monotonic()
            with self._lock:
                if self._cancelled:
                    return
                if left <= 0:
                    _cut(self._connection, self._expired)
                    return
            time.sleep(min(left, self.STEP))

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True


def _cut(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """The deadline passed: end the connection under the reading thread (its read returns at once)."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # closed already: nothing to cut
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: under TLS too


def _basic_auth(parts: SplitResult) -> dict[str, str]:
    """A user and password written in the URL (https://user:password@host/…) sent as HTTP Basic credentials, as
    curl and browsers send them; the connection goes to the host alone, so they were otherwise dropped."""
    if parts.username is None:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, deadline: float, keep: int) -> Answer:
    """POST `body` to `url` (http or https) within the rules above; the answer's status and its first `keep`
    bytes. Raises DestinationRefused, InvalidHost, OSError (TimeoutError past either bound),
    http.client.HTTPException or ValueError (a URL http.client will not send)."""
    started = time.monotonic()
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {**headers, **_basic_auth(parts)}
    addresses = checked_addresses(host, port, timeout=timeout)
    remaining = deadline - (time.monotonic() - started)
    if remaining <= 0:
        raise TimeoutError(f"no answer within {deadline:g} s")
    kind = _PinnedHTTPSConnection if secure else _PinnedConnection
    expired = threading.Event()
    connection: http.client.HTTPConnection | None = None
    error: OSError | None = None
    for address in addresses:  # the first address that takes the connection, as a browser does
        connection = kind(host, port, address, timeout=timeout)
        watchdog = _Watchdog(remaining, connection, expired)
        watchdog.start()
        try:
            connection.connect()
        except OSError as failed:
            watchdog.cancel()
            connection.close()
            error, connection = failed, None
            remaining = deadline - (time.monotonic() - started)
            if expired.is_set() or remaining <= 0:
                raise TimeoutError(f"no answer within {deadline:g} s") from failed
            continue
        except BaseException:  # anything else (the task's time limit, a host name the codec refuses): no watchdog left
            watchdog.cancel()
            connection.close()
            raise
        try:
            if expired.is_set():  # the deadline passed while connecting, with no socket yet to cut: send nothing
                raise TimeoutError(f"no answer within {deadline:g} s")
            connection.request("POST", target, body=body, headers=dict(headers))
            response = connection.getresponse()
            content = response.read(keep)
            answer = Answer(response.status, response.reason, content, response.getheader("Retry-After"))
        except (OSError, http.client.HTTPException) as failed:
            if expired.is_set():
                raise TimeoutError(f"no complete answer within {deadline:g} s") from failed
            raise
        finally:
            watchdog.cancel()
            connection.close()
        if expired.is_set():  # cut short: what was read may be a truncated answer (headers ended by the cut)
            raise TimeoutError(f"no complete answer within {deadline:g} s")
        return answer
    assert error is not None
    raise error
