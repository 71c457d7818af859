#!/usr/bin/env python3
"""test_rrl -- response rate limiting of UDP replies (rate-limit:).

One rblmuxd with rate-limit: 20, slip 2, an aggregate zone and a served
zone over a local list, and 127.0.2.0/24 exempt. A burst of UDP queries
from 127.0.0.1 is mostly dropped or answered truncated (TC=1, every
second limited reply); meanwhile TCP from the same address, a client in
another /24 of 127/8 and an exempt client are answered in full. After a
pause the limited client is answered again; the rrl.* counters match
what the client saw; with rate-limit unset (reload) the same burst is
answered in full, and set again it is limited again. Every wait is
bounded; nothing asserts time.
"""
import os
import select
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

RRL = """    rate-limit: 20
    rate-limit-slip: 2
    rate-limit-exempt: 127.0.2.0/24
"""
CONF = """
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
@RRL@
local-list:
    name: spam
    file: @TMP@/spam.ip4set

zone:
    name: rbl.test
    answer: bitmask
    bit: 2 spam

zone:
    name: bl.test
    serve: spam
    soa: ns1.bl.test. hostmaster.bl.test. 3600 600 86400 300
    ns: ns1.bl.test.
"""
FILES = ["lists/spam.ip4set"]
LISTED = "10.2.0.192.rbl.test"      # 192.0.2.10: 127.0.0.2
SERVED = "10.2.0.192.bl.test"
BURST = 300
OTHER = "127.0.1.1"                 # another /24 of 127/8
EXEMPT = "127.0.2.1"


def conf(rrl=True):
    return CONF.replace("@RRL@", RRL if rrl else "")


def stats(srv):
    return h.ctl_stats(srv)


def kind(data):
    """'full' (an answer), 'tc' (TC=1, question only) or 'other'."""
    m = h.parse_msg(data)
    flags, qd, an, ns, ar = struct.unpack("!HHHHH", data[2:12])
    if flags & 0x0200:
        return "tc" if qd == 1 and an == ns == ar == 0 else "other"
    return "full" if m.a_set() == ["127.0.0.2"] else "other"


class Burst:
    """Send queries for name from src in batches of 20, reading replies
    as they come; count them by kind. between(i) runs after batch i."""

    def __init__(self, port, name=LISTED, src="127.0.0.1"):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((src, 0))
        self.port, self.name = port, name
        self.got = {}

    def drain(self, quiet):
        """Read replies until none came for quiet seconds."""
        while True:
            r, _, _ = select.select([self.s], [], [], quiet)
            if not r:
                return
            data, _ = self.s.recvfrom(65535)
            if len(data) >= 12:
                self.got.setdefault(struct.unpack("!H", data[:2])[0],
                                    kind(data))

    def run(self, n, between=None):
        for i in range(0, n, 20):
            for qid in range(i, min(n, i + 20)):
                self.s.sendto(h.make_query(self.name, "A", qid=qid),
                              ("127.0.0.1", self.port))
            self.drain(0.02)
            if between is not None:
                between(i // 20)
        self.drain(0.5)
        self.s.close()
        c = {"full": 0, "tc": 0, "other": 0}
        for k in self.got.values():
            c[k] += 1
        c["none"] = n - len(self.got)
        return c


def answered_full(srv, name, src, n):
    """How many of n queries, one at a time from src, got the answer."""
    ok = 0
    for _ in range(n):
        d = h.udp_exchange(h.make_query(name, "A"), srv.port, src=src,
                           timeout=2.0)
        ok += d is not None and kind(d) == "full"
    return ok


def flood(t):
    srv = h.Server(conf(), FILES, hosts=["127.0.0.1"]).start()
    st = srv.ctl("status").stdout
    t.ok("rate-limit: 20/s, slip 2, /24 and /56 buckets" in st and
         "1 exempt prefix" in st, "status shows the rate limit", st)
    before = stats(srv)
    side = {}

    def between(i):
        if i != 5:
            return
        # the burst's bucket is empty by now
        r = srv.kdig(LISTED, "A", opts=["+tcp"])
        side["tcp"] = r is not None and r.a_set() == ["127.0.0.2"] and \
            not r.tc
        side["other"] = answered_full(srv, LISTED, OTHER, 10)
        side["served"] = answered_full(srv, SERVED, OTHER, 10)
        b = Burst(srv.port, src=EXEMPT)
        side["exempt"] = b.run(100)

    c = Burst(srv.port).run(BURST, between)
    limited = c["tc"] + c["none"]
    t.note("burst of %d: %r" % (BURST, c))
    t.ok(c["other"] == 0 and c["full"] >= 20 and limited > BURST // 2,
         "a burst from one /24 is mostly limited (20 a second)", c)
    t.ok(abs(c["tc"] - limited / 2) <= 1,
         "every second limited reply is sent truncated (slip 2)", c)
    t.ok(side.get("tcp"), "the same query over TCP is answered in full "
         "during the flood", side)
    t.eq(side.get("other"), 10, "a client in another /24 is answered "
         "during the flood")
    t.eq(side.get("served"), 10, "... in the served zone too")
    t.eq(side.get("exempt"), {"full": 100, "tc": 0, "other": 0, "none": 0},
         "an exempt client is never limited")
    after = stats(srv)
    t.eq(after["queries.udp"] - before["queries.udp"], BURST + 120,
         "the server read every datagram")
    t.eq((after["rrl.dropped"] - before["rrl.dropped"],
          after["rrl.slipped"] - before["rrl.slipped"]),
         (c["none"], c["tc"]), "rrl.dropped and rrl.slipped count what "
         "the client missed and got truncated")

    # a pause refills the bucket
    got = h.poll_until(lambda: answered_full(srv, LISTED, "127.0.0.1", 1),
                       timeout=10.0, interval=0.1)
    t.ok(got, "after a pause the limited client is answered again")
    st = srv.ctl("status").stdout
    t.ok(any(line.startswith("rate-limit:") and " of 65536 used" in line
             and " 0 of " not in line for line in st.splitlines()),
         "status counts the buckets in use", st)
    srv.stop()


def reload_off_on(t):
    srv = h.Server(conf(), FILES, hosts=["127.0.0.1"]).start()
    c = Burst(srv.port).run(BURST)
    t.ok(c["full"] < BURST // 2, "limited with rate-limit: 20", c)

    srv.write_conf(conf(rrl=False))
    r = srv.ctl("reload")
    t.ok(r.returncode == 0, "reload without rate-limit", r.stdout + r.stderr)
    before = stats(srv)
    c = Burst(srv.port).run(BURST)
    t.eq(c, {"full": BURST, "tc": 0, "other": 0, "none": 0},
         "with rate-limit unset the same burst is answered in full")
    after = stats(srv)
    t.eq((after["rrl.dropped"], after["rrl.slipped"]),
         (before["rrl.dropped"], before["rrl.slipped"]),
         "nothing counted as limited")
    t.ok("rate-limit:" not in srv.ctl("status").stdout,
         "status shows no rate limit when off")

    srv.write_conf(conf().replace("rate-limit-slip: 2",
                                  "rate-limit-slip: 1"))
    r = srv.ctl("reload")
    t.ok(r.returncode == 0, "reload with rate-limit again",
         r.stdout + r.stderr)
    c = Burst(srv.port).run(BURST)
    t.ok(c["full"] < BURST // 2 and c["none"] == 0 and c["other"] == 0,
         "limited again, every limited reply truncated (slip 1)", c)
    srv.stop()


def unset(t):
    srv = h.Server(conf(rrl=False), FILES, hosts=["127.0.0.1"]).start()
    c = Burst(srv.port).run(BURST)
    t.eq(c, {"full": BURST, "tc": 0, "other": 0, "none": 0},
         "without rate-limit a burst is answered in full")
    srv.stop()


def slip_keeps_opt(t):
    """A truncated reply to an EDNS query carries an OPT (RFC 6891
    6.1.1): its UDP size, and BADVERS in its extended RCODE."""
    srv = h.Server(conf().replace("rate-limit-slip: 2",
                                  "rate-limit-slip: 1"), FILES,
                   hosts=["127.0.0.1"]).start()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("127.0.0.1", 0))
    for qid in range(120):
        # 0-59: EDNS; 60-119: EDNS version 1, answered BADVERS
        s.sendto(h.make_query(LISTED, "A", qid=qid, edns=1232,
                              edns_version=qid // 60), ("127.0.0.1",
                                                        srv.port))
    got = {}
    while True:
        r, _, _ = select.select([s], [], [], 0.5)
        if not r:
            break
        m = h.parse_msg(s.recvfrom(65535)[0])
        got[m.id] = m
    s.close()
    tc = [m for m in got.values() if m.tc]
    shape = sorted({(m.id >= 60, m.qdcount, m.ancount, m.nscount,
                     m.arcount, m.opt is not None and m.opt["udp"],
                     m.rcode, m.trailing) for m in tc})
    t.ok(len([m for m in tc if m.id < 60]) >= 20 and
         len([m for m in tc if m.id >= 60]) >= 20,
         "both kinds of reply are limited and slipped", len(tc))
    t.eq(shape, [(False, 1, 0, 0, 1, 1232, 0, 0),
                 (True, 1, 0, 0, 1, 1232, 16, 0)],
         "each truncated reply is the question and the OPT: its UDP size,"
         " NOERROR or BADVERS")
    srv.stop()


def bad_values(t):
    tmp = h.make_tmpdir()
    for line, what in (("rate-limit: -1", "rate-limit"),
                       ("rate-limit-slip: 101", "rate-limit-slip"),
                       ("rate-limit-ipv4-prefix: 0", "rate-limit-ipv4"),
                       ("rate-limit-ipv6-prefix: 129", "rate-limit-ipv6"),
                       ("rate-limit-size: 0", "rate-limit-size"),
                       ("rate-limit-exempt: 192.0.2.1/24",
                        "rate-limit-exempt")):
        path = os.path.join(tmp, "bad.conf")
        with open(path, "w") as f:
            f.write("server:\n    listen: 127.0.0.1@5353\n    %s\n" % line)
        r = h.run([h.RBLMUXD, "-n", "-c", path])
        t.ok(r.returncode != 0 and "bad.conf:3:" in r.stderr and
             what in r.stderr, "%s is an error at file:line" % line,
             r.stderr[-500:])


TESTS = [flood, reload_off_on, unset, slip_keeps_opt, bad_values]

if __name__ == "__main__":
    h.run_suite("rrl", [f for f in TESTS if not sys.argv[1:] or
                        f.__name__ in sys.argv[1:]])
