#!/usr/bin/env python3
"""fake_upstream.py -- a scriptable upstream DNSBL for the integration tests.

    fake_upstream.py --port PORT --rules RULES.json --stats STATS.json
                     [--host 127.0.0.1] [--lifetime 300]

Answers DNS queries over UDP and TCP on HOST:PORT as RULES.json says, for
what rbldnsd cannot do: delay, silence, SERVFAIL/REFUSED, error codes,
listing the world, truncated replies and the RFC 5452 misbehaviours (a
wrong ID, a wrong question, a reply from another port) before the real
reply. Standard library only.

Rules (every key optional):

    {
      "world": false,          # true: every A query is answered 127.0.0.2
      "names": {               # exact names, lower case, no final dot
        "2.0.0.127.bl.test": {"A": ACTION, "TXT": ACTION, "*": ACTION}
      },
      "zones": {               # the rest of a zone (longest suffix wins)
        "bl.test": {"A": ACTION, "*": ACTION}
      }
    }

A name found in "names" without a rule for the type asked (nor "*") gets
NODATA; a name under a zone without one gets NXDOMAIN; a name under no
zone gets REFUSED. Both come with the zone's SOA when the zone has a
"soa" entry (a dict like the one of an ACTION).

ACTION (a dict; every key optional):

    "a": ["127.0.0.2", ...]   A records (for A queries)
    "txt": ["text", ...]      TXT records, one string each (for TXT queries)
    "ttl": 300                TTL of those records
    "rcode": "NOERROR"        or NXDOMAIN, NODATA (NOERROR, no records),
                              SERVFAIL, REFUSED, or a number
    "soa": {"minimum": 60, "ttl": 60}   SOA in the authority section of an
                              NXDOMAIN or NODATA answer (default: the
                              zone's "soa"; false: none)
    "silent": true            never answer (after any "bad_first" ones)
    "delay_ms": 0             answer this much later; other queries are
                              answered meanwhile
    "truncate": true          over UDP: TC=1 and no records; over TCP: all
    "bad_first": ["id", "qname", "port"]  before the reply, send it once
                              with a wrong ID, with a wrong question name,
                              and (over UDP) from another source port, in
                              that order
    "world": true             the same as "a": ["127.0.0.2"]

The rules file is read again on SIGHUP and whenever its mtime changes;
a file that does not parse is reported in the stats and the previous
rules stay. A rule that cannot be followed (a bad address) costs that
answer only, reported on stderr; malformed queries are counted and
never answered. SIGUSR1 sets the counts to zero.

Stats: after start-up, after every query received and after each reload
or reset, STATS.json is replaced (write and rename) with

    {"pid": N, "port": P, "reloads": N, "resets": N, "rules_error": null,
     "total": N, "malformed": N, "sent": N,
     "counts": {"NAME QTYPE udp|tcp": N, ...},
     "log": [["NAME", "QTYPE", "udp"], ...]}     (the last 1000 queries)

so a test can assert "exactly one query" without any timing. The process
ends by itself after --lifetime seconds, and on SIGTERM or SIGINT.
"""

import argparse
import heapq
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28, "OPT": 41, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {"NOERROR": 0, "NODATA": 0, "FORMERR": 1, "SERVFAIL": 2,
          "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}
LOG_KEEP = 1000


class Query:
    """One parsed query: the question as sent and what the reply needs."""

    def __init__(self, data):
        if len(data) < 12:
            raise ValueError("short")
        (self.id, flags, qd, _an, _ns, ar) = struct.unpack("!HHHHHH",
                                                           data[:12])
        if flags & 0x8000 or (flags >> 11) & 15 != 0 or qd != 1:
            raise ValueError("not a standard query with one question")
        self.rd = flags & 0x0100
        off = 12
        labels = []
        while True:
            if off >= len(data):
                raise ValueError("name runs past the end")
            ln = data[off]
            if ln == 0:
                off += 1
                break
            if ln > 63 or off + 1 + ln > len(data):
                raise ValueError("bad label")
            labels.append(data[off + 1:off + 1 + ln])
            off += 1 + ln
        if off - 12 > 255:
            raise ValueError("name too long")
        if off + 4 > len(data):
            raise ValueError("no type and class")
        self.wire_name = data[12:off]
        self.qtype, self.qclass = struct.unpack("!HH", data[off:off + 4])
        self.question = data[12:off + 4]
        self.name = b".".join(labels).decode("latin-1").lower()
        self.tname = TYPE_NAMES.get(self.qtype, str(self.qtype))
        # EDNS: only whether there is an OPT record and its buffer size
        self.edns = None
        if ar:
            p = off + 4
            if p + 11 <= len(data) and data[p] == 0 and \
                    struct.unpack("!H", data[p + 1:p + 3])[0] == 41:
                self.edns = max(512, struct.unpack("!H",
                                                   data[p + 3:p + 5])[0])


def rr(rtype, ttl, rdata, owner=b"\xc0\x0c"):
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def soa_rr(zone, soa):
    mname = encode_name("ns." + zone)
    rname = encode_name("hostmaster." + zone)
    minimum = int(soa.get("minimum", 300))
    rdata = mname + rname + struct.pack("!IIIII", int(soa.get("serial", 1)),
                                        3600, 600, 86400, minimum)
    return rr(6, int(soa.get("ttl", minimum)), rdata, encode_name(zone))


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("latin-1")
    return out + b"\0"


class Rules:
    def __init__(self, doc):
        if not isinstance(doc, dict):
            raise ValueError("rules must be a JSON object")
        self.world = bool(doc.get("world"))
        self.names = {k.lower().rstrip("."): v
                      for k, v in (doc.get("names") or {}).items()}
        self.zones = {k.lower().rstrip("."): v
                      for k, v in (doc.get("zones") or {}).items()}
        for table in (self.names, self.zones):
            for v in table.values():
                if not isinstance(v, dict):
                    raise ValueError("a name or zone entry must be an object")

    def zone_of(self, name):
        best = None
        for z in self.zones:
            if name == z or name.endswith("." + z) or z == "":
                if best is None or len(z) > len(best):
                    best = z
        return best

    def action(self, q):
        """(action dict, zone name or None) for a query."""
        zone = self.zone_of(q.name)
        zentry = self.zones.get(zone, {}) if zone is not None else {}
        if self.world:
            return {"a": ["127.0.0.2"]}, zone
        entry = self.names.get(q.name)
        if entry is not None:
            act = entry.get(q.tname, entry.get("*"))
            return (act if act is not None else {"rcode": "NODATA"}), zone
        if zone is None:
            return {"rcode": "REFUSED"}, None
        act = zentry.get(q.tname, zentry.get("*"))
        return (act if act is not None else {"rcode": "NXDOMAIN"}), zone


def build_reply(q, act, zone, zsoa, tcp, qid=None, wire_name=None):
    """The reply bytes for query q under action act."""
    rname = act.get("rcode", "NOERROR")
    rcode = RCODES.get(str(rname).upper(), rname)
    if not isinstance(rcode, int) or not 0 <= rcode < 16:
        rcode = 2
    ttl = int(act.get("ttl", 300))
    answers = []
    if rcode == 0 and str(rname).upper() != "NODATA":
        addrs = act.get("a") or (["127.0.0.2"] if act.get("world") else [])
        if q.qtype in (1, 255):
            answers += [rr(1, ttl, socket.inet_aton(a)) for a in addrs]
        if q.qtype in (16, 255):
            for text in act.get("txt") or []:
                b = text.encode("utf-8")[:255]
                answers.append(rr(16, ttl, bytes([len(b)]) + b))
    auth = []
    soa = act.get("soa", zsoa)
    if zone is not None and soa and not answers and rcode in (0, 3):
        auth.append(soa_rr(zone, soa if isinstance(soa, dict) else {}))
    flags = 0x8000 | 0x0400 | (q.rd and 0x0100) | (rcode & 15)
    add = []
    if q.edns is not None:
        add.append(b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0))
    limit = q.edns or 512
    question = (wire_name or q.wire_name) + q.question[len(q.wire_name):]
    body = b"".join(answers + auth)
    if not tcp and (act.get("truncate") or
                    12 + len(question) + len(body) + 11 > limit):
        flags |= 0x0200
        answers, auth = [], []
        body = b""
    head = struct.pack("!HHHHHH", q.id if qid is None else qid, flags, 1,
                       len(answers), len(auth), len(add))
    return head + question + body + b"".join(add)


class Fake:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.rules = Rules({})
        self.rules_mtime = None
        self.rules_error = None
        self.reloads = 0
        self.resets = 0
        self.counts = {}
        self.log = []
        self.total = 0
        self.malformed = 0
        self.sent = 0
        self.timers = []        # heap of (due, seq, fn)
        self.seq = 0
        self.cond = threading.Condition(self.lock)
        self.stop = threading.Event()
        self.want_reload = False
        self.want_reset = False
        self.load_rules(force=True)

    # --- rules and stats ---------------------------------------------------

    def load_rules(self, force=False):
        path = self.args.rules
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError as e:
            mtime = None
            err = str(e)
        if not force and mtime == self.rules_mtime:
            return
        self.rules_mtime = mtime
        if mtime is not None:
            try:
                with open(path) as f:
                    rules = Rules(json.load(f))
                err = None
            except (OSError, ValueError) as e:
                rules, err = None, "%s: %s" % (path, e)
            with self.lock:
                if rules is not None:
                    self.rules = rules
                self.rules_error = err
                self.reloads += 1
        else:
            with self.lock:
                self.rules_error = err
                self.reloads += 1
        if err:
            print("fake_upstream: %s" % err, file=sys.stderr, flush=True)
        self.write_stats()

    def write_stats(self):
        with self.lock:
            doc = {"pid": os.getpid(), "port": self.args.port,
                   "reloads": self.reloads, "resets": self.resets,
                   "rules_error": self.rules_error, "total": self.total,
                   "malformed": self.malformed, "sent": self.sent,
                   "counts": dict(self.counts), "log": list(self.log)}
            tmp = "%s.tmp.%d" % (self.args.stats, threading.get_ident())
            with open(tmp, "w") as f:
                json.dump(doc, f, sort_keys=True)
            os.replace(tmp, self.args.stats)

    def reset(self):
        with self.lock:
            self.counts = {}
            self.log = []
            self.total = self.malformed = self.sent = 0
            self.resets += 1
        self.write_stats()

    def count(self, q, transport):
        key = "%s %s %s" % (q.name, q.tname, transport)
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.total += 1
            self.log.append([q.name, q.tname, transport])
            del self.log[:-LOG_KEEP]
        self.write_stats()

    def count_malformed(self):
        with self.lock:
            self.malformed += 1
        self.write_stats()

    def count_sent(self, n=1):
        with self.lock:
            self.sent += n

    # --- timers --------------------------------------------------------------

    def later(self, ms, fn):
        with self.cond:
            self.seq += 1
            heapq.heappush(self.timers, (time.monotonic() + ms / 1000.0,
                                         self.seq, fn))
            self.cond.notify()

    def timer_thread(self):
        while not self.stop.is_set():
            with self.cond:
                while not self.timers and not self.stop.is_set():
                    self.cond.wait(0.5)
                if self.stop.is_set():
                    return
                due, _, fn = self.timers[0]
                left = due - time.monotonic()
                if left > 0:
                    self.cond.wait(min(left, 0.5))
                    continue
                heapq.heappop(self.timers)
            fn()

    # --- answering -----------------------------------------------------------

    def handle(self, data, send, transport):
        """Parse, count and answer (now or later) one query."""
        self.load_rules()
        try:
            q = Query(data)
        except (ValueError, struct.error):
            self.count_malformed()
            return
        self.count(q, transport)
        with self.lock:
            rules = self.rules
        act, zone = rules.action(q)
        if not isinstance(act, dict):
            act = {"rcode": "SERVFAIL"}
        zsoa = rules.zones.get(zone, {}).get("soa") if zone is not None \
            else None
        tcp = transport == "tcp"

        def answer():
            for bad in act.get("bad_first") or []:
                if bad == "id":
                    send(build_reply(q, act, zone, zsoa, tcp,
                                     qid=(q.id + 1) & 0xFFFF))
                elif bad == "qname":
                    send(build_reply(q, act, zone, zsoa, tcp,
                                     wire_name=b"\x05wrong" + q.wire_name))
                elif bad == "port":
                    send(build_reply(q, act, zone, zsoa, tcp), other=True)
                self.count_sent()
            if not act.get("silent"):
                send(build_reply(q, act, zone, zsoa, tcp))
                self.count_sent()
            self.write_stats()

        def guarded():
            # a bad rule or a client gone costs this answer only
            try:
                answer()
            except (OSError, ValueError, TypeError, AttributeError) as e:
                print("fake_upstream: %s %s: %s" % (q.name, q.tname, e),
                      file=sys.stderr, flush=True)

        try:
            delay = int(act.get("delay_ms", 0) or 0)
        except (ValueError, TypeError):
            delay = 0
        if delay > 0:
            self.later(delay, guarded)
        else:
            guarded()

    def udp_sender(self, sock, other, peer):
        def send(pkt, other=False):
            (self.other if other else sock).sendto(pkt, peer)
        return send

    def tcp_conn(self, conn):
        wlock = threading.Lock()

        def send(pkt, other=False):
            if other:           # no other port on a connection
                return
            with wlock:
                conn.sendall(struct.pack("!H", len(pkt)) + pkt)

        buf = b""
        conn.settimeout(1.0)
        try:
            while not self.stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 2:
                    ln = struct.unpack("!H", buf[:2])[0]
                    if len(buf) < 2 + ln:
                        break
                    msg, buf = buf[2:2 + ln], buf[2 + ln:]
                    self.handle(msg, send, "tcp")
                if len(buf) > 70000:
                    break
        except OSError:
            pass
        finally:
            # answers still scheduled for this connection are dropped
            conn.close()

    def serve(self):
        a = self.args
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((a.host, a.port))
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind((a.host, 0))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((a.host, a.port))
        self.tcp.listen(64)
        threading.Thread(target=self.timer_thread, daemon=True).start()
        self.write_stats()      # ready: the stats file exists
        deadline = time.monotonic() + a.lifetime
        while not self.stop.is_set() and time.monotonic() < deadline:
            if self.want_reload:
                self.want_reload = False
                self.load_rules(force=True)
            if self.want_reset:
                self.want_reset = False
                self.reset()
            try:
                r, _, _ = select.select([self.udp, self.tcp], [], [], 0.2)
            except InterruptedError:
                continue
            if self.udp in r:
                try:
                    data, peer = self.udp.recvfrom(65535)
                except OSError:
                    data = None
                if data is not None:
                    self.handle(data, self.udp_sender(self.udp, self.other,
                                                      peer), "udp")
            if self.tcp in r:
                try:
                    conn, _ = self.tcp.accept()
                except OSError:
                    conn = None
                if conn is not None:
                    threading.Thread(target=self.tcp_conn, args=(conn,),
                                     daemon=True).start()
            if not r:
                self.load_rules()
        self.stop.set()
        with self.cond:
            self.cond.notify_all()


def main():
    p = argparse.ArgumentParser(description="scriptable fake upstream DNSBL")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--lifetime", type=float, default=300.0)
    args = p.parse_args()
    fake = Fake(args)

    def on_hup(signum, frame):
        fake.want_reload = True

    def on_usr1(signum, frame):
        fake.want_reset = True

    def on_term(signum, frame):
        fake.stop.set()

    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    fake.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
