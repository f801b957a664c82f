"""A real authoritative DNS server on 127.0.0.1 for the probe tests (UDP and TCP, a free port).

It serves master-format zone files (tests/data/zones/*.zone) with dnspython's wire format, and
simulates trouble by name: a query for a name whose first label is `servfail` gets SERVFAIL, one
whose first label is `timeout` is dropped (the client times out), names listed in `refuse` get
REFUSED. `drop_all=True` makes a server that never answers anything. Answers larger than the
client's UDP payload are truncated (TC) so the client retries over TCP.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

ZONES = Path(__file__).resolve().parent / "data" / "zones"


def load_zones(folder: Path = ZONES) -> list[dns.zone.Zone]:
    zones = []
    for path in sorted(folder.glob("*.zone")):
        origin = path.stem  # file name = zone origin, e.g. partner.example.zone
        zones.append(dns.zone.from_file(str(path), origin=origin, relativize=False, check_origin=True))
    return zones


class DnsServer:
    def __init__(self, zones: list[dns.zone.Zone] | None = None, *, drop_all: bool = False) -> None:
        self.zones = zones if zones is not None else load_zones()
        self.drop_all = drop_all
        self.log: list[tuple[str, str, str]] = []  # (qname, qtype, transport) of every query received
        self._udp = _UDP(("127.0.0.1", 0), _UdpHandler)
        self._udp.owner = self
        port = self._udp.server_address[1]
        self._tcp = _TCP(("127.0.0.1", port), _TcpHandler)  # same port number over TCP
        self._tcp.owner = self
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
                         for s in (self._udp, self._tcp)]

    def start(self) -> DnsServer:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        for s in (self._udp, self._tcp):
            s.shutdown()
            s.server_close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def queries_for(self, qname: str) -> list[tuple[str, str, str]]:
        return [q for q in self.log if q[0] == qname.lower().rstrip(".")]

    # -- answering ---------------------------------------------------------------------------------
    def respond(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # garbage on the socket: ignore it like a real server
            return None
        if not query.question:
            return None
        q = query.question[0]
        qname = q.name.to_text(omit_final_dot=True).lower()
        self.log.append((qname, dns.rdatatype.to_text(q.rdtype), transport))
        first = q.name.labels[0].lower() if q.name.labels else b""
        if self.drop_all or first == b"timeout":
            return None
        response = dns.message.make_response(query)
        if first == b"servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        zone = self._zone_for(q.name)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        response.flags |= dns.flags.AA
        self._answer(zone, q.name, q.rdtype, response, depth=0)
        if transport == "udp":
            limit = query.payload if query.edns >= 0 else 512
            try:
                too_big = len(response.to_wire(max_size=65535)) > limit
            except dns.exception.TooBig:
                too_big = True
            if too_big:
                response.answer.clear()
                response.authority.clear()
                response.flags |= dns.flags.TC
            return response.to_wire()
        return response.to_wire(max_size=65535)

    def _zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        best = None
        for z in self.zones:
            if name.is_subdomain(z.origin) and (best is None or len(z.origin) > len(best.origin)):
                best = z
        return best

    def _answer(self, zone: dns.zone.Zone, name: dns.name.Name, rdtype: int, response: dns.message.Message,
                depth: int) -> None:
        node = zone.get_node(name)
        soa = zone.find_rrset(zone.origin, dns.rdatatype.SOA)
        if node is None:
            if depth == 0:
                response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(soa)
            return
        rds = node.get_rdataset(dns.rdataclass.IN, rdtype)
        if rds is not None:
            response.answer.append(_rrset(name, rds))
            return
        cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is not None and depth < 8:
            response.answer.append(_rrset(name, cname))
            target = cname[0].target
            if target.is_subdomain(zone.origin):
                self._answer(zone, target, rdtype, response, depth + 1)
            return
        response.authority.append(soa)  # NOERROR, no data


def _rrset(name: dns.name.Name, rds: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, rds.rdclass, rds.rdtype)
    rrset.update(rds)
    rrset.ttl = rds.ttl
    return rrset


class _UDP(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: DnsServer


class _TCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: DnsServer


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        out = self.server.owner.respond(data, "udp")  # type: ignore[attr-defined]
        if out is not None:
            sock.sendto(out, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(2.0)
        try:
            head = _recv_exact(conn, 2)
            data = _recv_exact(conn, int.from_bytes(head, "big"))
        except OSError:
            return
        out = self.server.owner.respond(data, "tcp")  # type: ignore[attr-defined]
        if out is not None:
            conn.sendall(len(out).to_bytes(2, "big") + out)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise OSError("short read")
        buf += chunk
    return buf

