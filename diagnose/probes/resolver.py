"""The one DNS client every probe uses: one query, one `Answer` with status, TTL, resolver and time.

Queries go straight to one name server with dnspython's wire-level API (dns.query), so that
timeout, SERVFAIL and NXDOMAIN stay distinct (dns.resolver folds them into exceptions and retries
other servers). Every query obeys a per-query timeout and the caller's `Budget`, so no probe can
hang a command. `--offline` makes no query; a `ProbeCache` replays answers saved earlier.
"""

from __future__ import annotations

import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

if TYPE_CHECKING:
    from diagnose.probes.cache import ProbeCache

from diagnose.model import InputError

STATUSES = ("ok", "nxdomain", "servfail", "timeout", "error", "skipped")
DEFAULT_QUERY_TIMEOUT = 2.0  # seconds for one query (UDP, then TCP on truncation)
DEFAULT_RUN_BUDGET = 20.0  # seconds for a whole command's probes
MAX_RECORDS = 100  # an answer bigger than this is cut: DNS data is untrusted


class Budget:
    """A deadline on the monotonic clock; `child()` gives a probe its own, never longer than the run's."""

    def __init__(self, seconds: float, parent: Budget | None = None) -> None:
        self.seconds = seconds
        end = time.monotonic() + max(0.0, seconds)
        self.deadline = min(end, parent.deadline) if parent else end

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def child(self, seconds: float) -> Budget:
        return Budget(seconds, parent=self)

    def extend(self, seconds: float) -> None:
        """Give back time the command spent on other work (reading logs) between probes."""
        self.deadline += max(0.0, seconds)


@dataclass
class Answer:
    """One DNS question and what came back (or why nothing did)."""

    qname: str
    rdtype: str
    status: str  # ok | nxdomain | servfail | timeout | error | skipped
    resolver: str
    time: str  # ISO time (UTC) the answer was received
    records: list[str] = field(default_factory=list)  # presentation text; TXT strings joined and decoded
    ttl: int | None = None  # smallest TTL of the answer; for NXDOMAIN/no data the SOA negative TTL
    error: str = ""
    rcode: str = ""
    cached: bool = False  # replayed from a probe cache

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def void(self) -> bool:
        """RFC 7208 4.6.4: NXDOMAIN or an empty NOERROR answer."""
        return self.status == "nxdomain" or (self.status == "ok" and not self.records)

    @property
    def failed(self) -> bool:
        return self.status in ("servfail", "timeout", "error", "skipped")

    def describe(self) -> str:
        if self.status == "ok":
            return ", ".join(self.records) if self.records else "no records"
        return f"{self.status}{': ' + self.error if self.error else ''}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Answer:
        status = d.get("status") if d.get("status") in STATUSES else "error"
        records = d.get("records") or []
        return cls(
            qname=printable(str(d.get("qname", "")), 300), rdtype=printable(str(d.get("rdtype", "")), 10),
            status=str(status), resolver=printable(str(d.get("resolver", "")), 100),
            time=printable(str(d.get("time", "")), 40),
            records=[printable(str(r)) for r in records][:MAX_RECORDS] if isinstance(records, list) else [],
            ttl=d.get("ttl") if isinstance(d.get("ttl"), int) else None,
            error=printable(str(d.get("error", "")), 300), rcode=printable(str(d.get("rcode", "")), 20), cached=True,
        )


def parse_nameserver(text: str) -> tuple[str, int]:
    """`HOST[:PORT]`, `[v6]:PORT` or a bare IPv6 address -> (address, port)."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, p = text.split(":")
        port = _port(p, text)
    if not host:
        raise InputError(f"--nameserver {text!r}: expected HOST[:PORT]")
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        try:  # a host name: resolve it once, with the system resolver
            host = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][0]
        except (OSError, UnicodeError) as exc:
            raise InputError(f"--nameserver {text!r}: cannot resolve {host!r} ({exc})") from None
    return host, port


def _port(p: str, text: str) -> int:
    if not p.isdigit() or not 0 < int(p) < 65536:
        raise InputError(f"--nameserver {text!r}: bad port {p!r}")
    return int(p)


def now_text() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def printable(text: str, limit: int = 2000) -> str:
    """DNS data is untrusted: no control characters (terminal escapes) and a bounded length."""
    text = text[:limit]
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _rdata_text(rdata: Any) -> str:
    if rdata.rdtype in (dns.rdatatype.TXT, dns.rdatatype.SPF):
        return printable(b"".join(rdata.strings).decode("utf-8", "replace"))
    if rdata.rdtype == dns.rdatatype.MX:
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}"
    if rdata.rdtype in (dns.rdatatype.PTR, dns.rdatatype.CNAME):
        return rdata.target.to_text(omit_final_dot=True)
    return rdata.to_text()


class Resolver:
    """Ask one name server (or the system's first) with timeouts, a budget, offline mode and a cache."""

    def __init__(
        self,
        nameserver: str | None = None,
        *,
        offline: bool = False,
        timeout: float = DEFAULT_QUERY_TIMEOUT,
        cache: ProbeCache | None = None,
    ) -> None:
        self.offline = offline
        self.timeout = timeout
        self.cache = cache
        self.queries = 0  # queries actually sent over the wire
        self.failed: list[Answer] = []  # answers that did not come (timeout, SERVFAIL, error, budget)
        self._memo: dict[tuple[str, str], Answer] = {}
        self.address: str | None = None
        self.port = 53
        self.setup_error = ""
        if nameserver:
            self.address, self.port = parse_nameserver(nameserver)
        elif not offline:
            try:
                self.address = dns.resolver.Resolver(configure=True).nameservers[0]
            except (dns.exception.DNSException, OSError, IndexError) as exc:
                self.setup_error = f"no system resolver configured ({exc.__class__.__name__})"
        self.label = self._label()

    def _label(self) -> str:
        if self.offline and not self.address:
            return "offline"
        if not self.address:
            return "none"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return host if self.port == 53 else f"{host}:{self.port}"

    def query(self, qname: str, rdtype: str, budget: Budget | None = None) -> Answer:
        """One question; never raises for DNS trouble, never waits past the budget."""
        try:
            name = dns.name.from_text(qname)
            qname = name.to_text(omit_final_dot=True).lower()
        except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
            return Answer(qname, rdtype, "error", self.label, now_text(), error=f"invalid name: {exc}")
        key = (qname, rdtype)
        if key in self._memo:
            return self._memo[key]
        answer = None
        if self.cache is not None:
            answer = self.cache.get(qname, rdtype, self.label, any_resolver=self.offline)
        if answer is None:
            answer = self._ask(name, qname, rdtype, budget)
            if self.cache is not None and answer.status != "skipped":
                self.cache.put(answer)
        self._memo[key] = answer
        if answer.failed and not (self.offline and answer.status == "skipped"):
            self.failed.append(answer)
        return answer

    def _ask(self, name: dns.name.Name, qname: str, rdtype: str, budget: Budget | None) -> Answer:
        def fail(status: str, error: str) -> Answer:
            return Answer(qname, rdtype, status, self.label, now_text(), error=error)

        if self.offline:
            return fail("skipped", "offline: no query sent")
        if not self.address:
            return fail("error", self.setup_error or "no name server")
        timeout = self.timeout if budget is None else min(self.timeout, budget.remaining())
        if timeout <= 0.05:
            return fail("skipped", "time budget exhausted before the query")
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        start = time.monotonic()
        self.queries += 1
        try:
            response = dns.query.udp(query, self.address, port=self.port, timeout=timeout,
                                     ignore_unexpected=True)
            if response.flags & dns.flags.TC:
                left = timeout - (time.monotonic() - start)
                if left <= 0.05:
                    return fail("timeout", "answer truncated and no time left to retry over TCP")
                response = dns.query.tcp(query, self.address, port=self.port, timeout=left)
        except dns.exception.Timeout:
            return fail("timeout", f"no answer within {timeout:.1f}s")
        except (dns.exception.DNSException, OSError, ValueError, EOFError) as exc:
            return fail("error", f"{exc.__class__.__name__}: {exc}"[:200])
        return self._decode(response, qname, rdtype)

    def _decode(self, response: dns.message.Message, qname: str, rdtype: str) -> Answer:
        rcode = response.rcode()
        rname = dns.rcode.to_text(rcode)
        if rcode == dns.rcode.NXDOMAIN:
            status = "nxdomain"
        elif rcode == dns.rcode.SERVFAIL:
            status = "servfail"
        elif rcode != dns.rcode.NOERROR:
            status = "error"
        else:
            status = "ok"
        records: list[str] = []
        ttls: list[int] = []
        want = dns.rdatatype.from_text(rdtype)
        for rrset in response.answer:
            if rrset.rdtype == want or rrset.rdtype == dns.rdatatype.CNAME and want != dns.rdatatype.CNAME:
                ttls.append(rrset.ttl)
                if rrset.rdtype == want:
                    records.extend(_rdata_text(r) for r in rrset)
        if not records:  # negative answer: the SOA minimum bounds how long it is cached (RFC 2308)
            ttls = [min(rr.ttl, rr[0].minimum) for rr in response.authority
                    if rr.rdtype == dns.rdatatype.SOA and len(rr)]
        return Answer(
            qname, rdtype, status, self.label, now_text(), records=records[:MAX_RECORDS],
            ttl=min(ttls) if ttls else None, rcode=rname,
            error="" if status == "ok" else f"rcode {rname}",
        )
