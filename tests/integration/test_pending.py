#!/usr/bin/env python3
"""test_pending -- queries parked for remote results and answered later.

Runs build/tests/rblmuxd-test: rblmuxd with a test-only source
(tests/support/delay_source.c) that stands in for the upstream "far", a
member of the bitmask zone rbl.test next to the local list "spam".
RBLMUX_TEST_UPSTREAM ("addr=code|none|never@ms,...") says what "far"
answers for an address and after how long; a query is parked with its
answer state and answered once far's result arrives, or at
RBLMUX_TEST_DEADLINE_MS with the local bits only. Checks look at
outcomes, order and the pending.* counters of `rblmuxctl stats`; no
wall-clock limits.
"""
import os
import signal
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

# the test daemon next to the binaries under test: build/tests for bin/,
# build/san/tests for build/san/bin
if os.path.basename(os.path.dirname(h.BIN)) == "san":
    h.RBLMUXD = os.path.join(os.path.dirname(h.BIN), "tests", "rblmuxd-test")
else:
    h.RBLMUXD = os.path.join(h.ROOT, "build", "tests", "rblmuxd-test")

CONF = """
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
    max-pending: @MAXP@

local-list:
    name: spam
    file: @TMP@/spam.ip4set

local-list:
    name: allow
    file: @TMP@/allow.ip4set
    allow: yes

upstream:
    name: far
    zone: far.test
    server: 127.0.0.1@1

zone:
    name: local.test
    answer: bitmask
    bit: 2 spam

zone:
    name: rbl.test
    answer: bitmask
    bit: 2 spam
    bit: 4 far
    exempt: allow
"""
FILES = ["lists/spam.ip4set", "lists/allow.ip4set"]
# subjects (reversed, rbl.test): spam lists BOTH and SPAM, not FAR/NONE;
# allow lists ALLOWED (also in spam)
BOTH = "10.2.0.192.rbl.test"        # 192.0.2.10
SPAM = "11.2.0.192.rbl.test"        # 192.0.2.11
FAR = "1.2.0.192.rbl.test"          # 192.0.2.1
NONE = "12.2.0.192.rbl.test"        # 192.0.2.12
ALLOWED = "99.2.0.192.rbl.test"     # 192.0.2.99
LOCAL = "10.2.0.192.local.test"     # no upstream member: never parked
# far's answers for them: listed (bit 4), or not
LISTED_BY_FAR = {"both": "192.0.2.10=127.0.0.2", "spam": "192.0.2.11=none",
                 "far": "192.0.2.1=127.0.0.2", "none": "192.0.2.12=none"}


def rules(ms, never=()):
    """far answers each subject after ms, or never for those named."""
    return ",".join(r.split("=")[0] + "=never" if k in never
                    else "%s@%d" % (r, ms)
                    for k, r in LISTED_BY_FAR.items())


def server(upstream, deadline_ms=20000, maxp=4096, conf=CONF):
    env = {"RBLMUX_TEST_UPSTREAM": upstream,
           "RBLMUX_TEST_DEADLINE_MS": str(deadline_ms)}
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        return h.Server(conf.replace("@MAXP@", str(maxp)), FILES).start()
    finally:
        for k in env:
            os.environ.pop(k, None)


def stats(srv):
    return h.ctl_stats(srv)


def wait_stat(srv, key, want, timeout=20.0):
    """Poll stats until key reaches want; returns the last value."""
    got = h.poll_until(lambda: stats(srv).get(key, -1) >= want,
                       timeout=timeout, interval=0.05)
    return stats(srv).get(key) if not got else want


def rid(data):
    return struct.unpack("!H", data[:2])[0] if data and len(data) >= 2 \
        else None


def a_of(data):
    m = h.parse_msg(data)
    return (m.rcode_name, sorted(m.a_set()))


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(20)
    return s


def recv_udp(s, n, timeout=20.0):
    """Up to n datagrams, by ID; stops at timeout."""
    got = {}
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            break
        got[rid(data)] = data
    return got


def want_for(i):
    """The query with ID i: (name, expected (rcode, A set)) -- the local
    bit and far's bit combined once far has answered."""
    if i % 3 == 0:
        return BOTH, ("NOERROR", ["127.0.0.6"])
    if i % 3 == 1:
        return SPAM, ("NOERROR", ["127.0.0.2"])
    return FAR, ("NOERROR", ["127.0.0.4"])


def many_parked(t):
    """60 UDP and 3 x 20 TCP queries parked at once, each answered with
    the local and the upstream bits; a connection with more than
    SRV_TCP_PARKED_MAX parked gets all of them, also when they wait
    longer than tcp-message-timeout (2 s): whole messages held back are
    no partial message."""
    srv = server(rules(2500))
    u = udp_socket()
    conns = []
    try:
        for i in range(60):
            u.sendto(h.make_query(want_for(i)[0], "A", qid=i),
                     ("127.0.0.1", srv.port))
        for c in range(3):
            s = h.tcp_connect(srv.port, timeout=20)
            s.sendall(b"".join(h.tcp_frame(h.make_query(
                want_for(i)[0], "A", qid=1000 * (c + 1) + i))
                for i in range(20)))
            conns.append(s)
        got = recv_udp(u, 60)
        t.eq(sorted(got), list(range(60)), "every UDP query answered")
        bad = [i for i in got if a_of(got[i]) != want_for(i)[1]]
        t.eq(bad, [], "each UDP answer right for its ID")
        for c, s in enumerate(conns):
            replies = [h.tcp_read_msg(s, 20) for _ in range(20)]
            ids = [rid(r) for r in replies]
            t.eq(sorted(x for x in ids if x is not None),
                 [1000 * (c + 1) + i for i in range(20)],
                 "TCP connection %d: all 20 answered" % c)
            bad = [x for x, r in zip(ids, replies) if r is None or
                   a_of(r) != want_for(x % 1000)[1]]
            t.eq(bad, [], "TCP connection %d: each answer right" % c)
        st = stats(srv)
        t.eq(st.get("pending.parked"), 120, "120 queries parked")
        # all are sent long before the first is ready; a connection
        # parks 16 at most, its next ones once those are answered
        t.eq(st.get("pending.peak"), 60 + 3 * 16,
             "all UDP and 16 per TCP connection parked at once")
        t.eq(st.get("pending.expired"), 0, "none reached its deadline")
        t.eq(st.get("tcp.timeouts"), 0, "no connection timed out")
        r = srv.q(LOCAL)
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "a zone without upstream still answers at once", repr(r))
        st = stats(srv)
        t.eq(st.get("pending.parked"), 120, "and is not parked")
        t.eq((st.get("pending.answered"), st.get("pending.now")), (120, 0),
             "every parked query answered, none parked now")
    finally:
        u.close()
        for s in conns:
            s.close()
    srv.stop()


def tcp_out_of_order(t):
    """On one connection: slow, fast, local; answers come back local,
    fast, slow, each matched by ID and with far's bit."""
    srv = server("192.0.2.10=127.0.0.2@1200,192.0.2.1=127.0.0.2@300")
    s = h.tcp_connect(srv.port, timeout=20)
    try:
        s.sendall(h.tcp_frame(h.make_query(BOTH, "A", qid=1)) +
                  h.tcp_frame(h.make_query(FAR, "A", qid=2)) +
                  h.tcp_frame(h.make_query(LOCAL, "A", qid=3)))
        replies = [h.tcp_read_msg(s, 20) for _ in range(3)]
        t.eq([rid(r) for r in replies], [3, 2, 1],
             "answered when ready: local, fast, slow")
        want = {1: ("NOERROR", ["127.0.0.6"]), 2: ("NOERROR", ["127.0.0.4"]),
                3: ("NOERROR", ["127.0.0.2"])}
        t.eq({rid(r): a_of(r) for r in replies if r}, want,
             "each answer matches its query")
        s.sendall(h.tcp_frame(h.make_query(LOCAL, "A", qid=4)))
        t.eq(rid(h.tcp_read_msg(s, 20)), 4,
             "the connection goes on after out-of-order answers")
    finally:
        s.close()
    srv.stop()


def deadline(t):
    """far does not answer in time: at the deadline the local bits
    alone answer (fail-open); far in time adds its bit."""
    srv = server(rules(50, never=("both", "none")), deadline_ms=300)
    r = srv.q(BOTH, timeout=20)
    t.ok(r is not None and r.a_set() == ["127.0.0.2"],
         "UDP: the local bit only at the deadline", repr(r))
    r = srv.q(BOTH, tcp=True, timeout=20)
    t.ok(r is not None and r.a_set() == ["127.0.0.2"],
         "TCP: the local bit only at the deadline", repr(r))
    r = srv.q(NONE, timeout=20)
    t.ok(r is not None and r.rcode_name == "NXDOMAIN" and
         r.soa() is not None,
         "nothing local: NXDOMAIN with the SOA at the deadline", repr(r))
    r = srv.q(FAR, timeout=20)
    t.ok(r is not None and r.a_set() == ["127.0.0.4"],
         "far in time adds its bit", repr(r))
    st = stats(srv)
    t.eq((st.get("pending.parked"), st.get("pending.expired")), (4, 3),
         "4 parked, 3 expired")
    srv.stop()


def not_parked(t):
    """An allowlisted subject and a test point need no upstream result:
    answered at once, never parked. Without the test source registered
    the upstream client of bin/rblmuxd asks far's server, which refuses:
    far contributes nothing."""
    srv = server("192.0.2.99=127.0.0.2@60000,127.0.0.2=127.0.0.2@60000",
                 deadline_ms=60000)
    r = srv.q(ALLOWED, timeout=20)
    t.ok(r is not None and r.rcode_name == "NXDOMAIN",
         "allowlisted: NXDOMAIN", repr(r))
    r = srv.q("2.0.0.127.rbl.test", timeout=20)
    t.ok(r is not None and r.a_set() == ["127.0.0.6"],
         "test point: every bit", repr(r))
    t.eq(stats(srv).get("pending.parked"), 0, "neither was parked")
    u = udp_socket()
    u.sendto(h.make_query(BOTH, "A", qid=1), ("127.0.0.1", srv.port))
    t.eq(wait_stat(srv, "pending.parked", 1), 1,
         "a query waiting for far is parked")
    u.close()
    srv.stop()
    srv = server(None)
    r = srv.q(BOTH, timeout=20)
    t.ok(r is not None and r.a_set() == ["127.0.0.2"],
         "far refuses: the local bit", repr(r))
    srv.stop()


def tcp_closed(t):
    """A client that resets its connection with queries parked: the late
    answers are dropped, a new connection in its slot gets none."""
    srv = server(rules(800))
    s = h.tcp_connect(srv.port, timeout=20)
    s.sendall(b"".join(h.tcp_frame(h.make_query(BOTH, "A", qid=100 + i))
                       for i in range(5)))
    t.eq(wait_stat(srv, "pending.parked", 5), 5, "5 queries parked")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 struct.pack("ii", 1, 0))
    s.close()                       # RST: the server closes at once
    n = h.tcp_connect(srv.port, timeout=20)
    try:
        n.sendall(h.tcp_frame(h.make_query(LOCAL, "A", qid=7)))
        t.eq(rid(h.tcp_read_msg(n, 20)), 7, "the new connection answered")
        t.eq(wait_stat(srv, "pending.gone", 5), 5,
             "5 late answers dropped: their connection is gone")
        n.setblocking(False)
        try:
            extra = n.recv(4096)
        except BlockingIOError:
            extra = None
        t.eq(extra, None, "no late answer reached the new connection")
    finally:
        n.close()
    t.ok(srv.q(LOCAL) is not None, "server still answers")
    srv.stop()


def reload_parked(t):
    """A reload that removes the zone while its queries are parked: they
    are completed and answered from the view they were read under."""
    srv = server(rules(1500))
    u = udp_socket()
    s = h.tcp_connect(srv.port, timeout=20)
    try:
        u.sendto(h.make_query(BOTH, "A", qid=1), ("127.0.0.1", srv.port))
        s.sendall(h.tcp_frame(h.make_query(FAR, "A", qid=2)))
        t.eq(wait_stat(srv, "pending.parked", 2), 2, "2 queries parked")
        srv.write_conf(srv.conf_text.split("zone:\n    name: rbl.test")[0])
        r = srv.ctl("reload")
        t.ok(r.returncode == 0 and stats(srv).get("pending.peak") == 2,
             "reloaded while 2 are parked", r.stdout + r.stderr)
        got = recv_udp(u, 1)
        t.eq(a_of(got[1]) if 1 in got else None,
             ("NOERROR", ["127.0.0.6"]), "UDP answer from the old view")
        m = h.tcp_read_msg(s, 20)
        t.eq(a_of(m) if m else None, ("NOERROR", ["127.0.0.4"]),
             "TCP answer from the old view")
        r = srv.q(BOTH)
        t.ok(r is not None and r.rcode_name == "REFUSED",
             "the new view no longer has the zone", repr(r))
    finally:
        u.close()
        s.close()
    srv.stop()


def sigterm_parked(t):
    """SIGTERM with queries parked far from their deadline: each is
    answered with what is known (the local bit) before the server
    exits."""
    srv = server(rules(60000), deadline_ms=60000)
    u = udp_socket()
    s = h.tcp_connect(srv.port, timeout=20)
    try:
        for i in range(5):
            u.sendto(h.make_query(BOTH, "A", qid=i), ("127.0.0.1", srv.port))
        s.sendall(b"".join(h.tcp_frame(h.make_query(
            BOTH, "A", qid=10 + i)) for i in range(3)))
        t.eq(wait_stat(srv, "pending.parked", 8), 8, "8 queries parked")
        srv.signal(signal.SIGTERM)
        got = recv_udp(u, 5)
        t.eq(sorted(got), list(range(5)), "every UDP query answered")
        t.ok(all(a_of(d) == ("NOERROR", ["127.0.0.2"])
                 for d in got.values()),
             "with what is known: the local bit")
        ids = [rid(h.tcp_read_msg(s, 20)) for _ in range(3)]
        t.eq(sorted(ids), [10, 11, 12], "every TCP query answered")
        try:
            rc = srv.proc.wait(timeout=10)
        except Exception:
            rc = None
        t.eq(rc, 0, "the server stopped cleanly")
    finally:
        u.close()
        s.close()
    srv.stop()


def cap(t):
    """max-pending: 5 -- the sixth and later queries are dropped and
    counted; queries that need no upstream are still answered."""
    srv = server(rules(1000), maxp=5)
    u = udp_socket()
    try:
        for i in range(10):
            u.sendto(h.make_query(BOTH, "A", qid=i), ("127.0.0.1", srv.port))
        t.eq(wait_stat(srv, "pending.exceeded", 5), 5,
             "5 over the cap counted")
        r = srv.q(LOCAL)
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "local queries answered at the cap", repr(r))
        got = recv_udp(u, 5)
        t.eq(sorted(got), list(range(5)), "the first 5 answered")
        t.ok(all(a_of(d) == ("NOERROR", ["127.0.0.6"])
                 for d in got.values()), "with far's bit")
        u.setblocking(False)
        try:
            extra = u.recv(4096)
        except BlockingIOError:
            extra = None
        t.eq(extra, None, "the rest dropped")
        st = stats(srv)
        t.eq((st.get("pending.parked"), st.get("pending.exceeded")), (5, 5),
             "counters: 5 parked, 5 exceeded")
    finally:
        u.close()
    srv.stop()


def wildcard(t):
    """A 0.0.0.0 listener answers a parked query from the address it was
    sent to (its PKTINFO is kept with the query)."""
    conf = CONF.replace("listen: 127.0.0.1@@PORT@", "listen: 0.0.0.0@@PORT@")
    os.environ["RBLMUX_TEST_UPSTREAM"] = rules(300)
    try:
        srv = h.Server(conf.replace("@MAXP@", "4096"), FILES,
                       hosts=["127.0.0.1"],
                       port=h.free_port(["0.0.0.0"])).start()
    finally:
        del os.environ["RBLMUX_TEST_UPSTREAM"]
    for i, dst in enumerate(["127.0.0.2", "127.0.0.5"]):
        u = udp_socket()
        try:
            u.bind(("127.0.0.1", 0))
            u.sendto(h.make_query(BOTH, "A", qid=i), (dst, srv.port))
            data, addr = u.recvfrom(4096)
            t.eq((addr[0], rid(data), a_of(data)),
                 (dst, i, ("NOERROR", ["127.0.0.6"])),
                 "parked query to %s answered from %s" % (dst, dst))
        finally:
            u.close()
    t.eq(stats(srv).get("pending.parked"), 2, "both were parked")
    srv.stop()


def tcp_parked_evicted(t):
    """At tcp-max-clients, connections that only wait for parked answers
    give way to a new client, the one waiting longest first (its late
    answer is dropped): one parked query per connection cannot hold
    every slot until its deadline."""
    conf = CONF.replace("max-pending: @MAXP@",
                        "max-pending: @MAXP@\n    tcp-max-clients: 2")
    srv = server("192.0.2.10=never", deadline_ms=1500, conf=conf)
    held = []
    try:
        for i in range(2):
            s = h.tcp_connect(srv.port, timeout=20)
            s.sendall(h.tcp_frame(h.make_query(BOTH, "A", qid=i)))
            held.append(s)
            t.eq(wait_stat(srv, "pending.parked", i + 1), i + 1,
                 "connection %d has a query parked" % i)
        r = srv.q(LOCAL, tcp=True, timeout=20)
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "a new client is answered at the cap", repr(r))
        st = stats(srv)
        t.eq((st.get("tcp.evicted"), st.get("tcp.rejected")), (1, 0),
             "one waiting connection closed to make room, none rejected")
        t.ok(h.peer_closed(held[0], 20), "the one waiting longest closed")
        m = h.tcp_read_msg(held[1], 20)
        t.eq(a_of(m) if m else None, ("NOERROR", ["127.0.0.2"]),
             "the other answered at the deadline")
        t.eq(wait_stat(srv, "pending.gone", 1), 1,
             "the closed one's late answer dropped")
    finally:
        for s in held:
            s.close()
    srv.stop()


def padded(name, qid, pad):
    """A query with an OPT record carrying pad bytes of EDNS padding
    (RFC 7830): a valid message of up to 64 KB over TCP."""
    q = bytearray(h.make_query(name, "A", qid=qid))
    q[10:12] = struct.pack("!H", 1)
    return bytes(q) + b"\x00" + struct.pack("!HHIH", 41, 4096, 0, pad + 4) \
        + struct.pack("!HH", 12, pad) + b"\x00" * pad


def rss_kb(srv):
    with open("/proc/%d/status" % srv.pid) as f:
        return next(int(line.split()[1]) for line in f
                    if line.startswith("VmRSS:"))


def parked_padded(t):
    """A parked query keeps its question, not the whole message: 960
    queries padded to 64 KB parked at once hold a few MB, not 60 (each
    connection's read buffer is counted in both), and are answered with
    their question and OPT as any other."""
    srv = server("192.0.2.10=never,192.0.2.1=127.0.0.2@50",
                 deadline_ms=60000)
    conns = []
    try:
        before = rss_kb(srv)
        for c in range(60):
            s = h.tcp_connect(srv.port, timeout=20)
            s.sendall(b"".join(h.tcp_frame(padded(BOTH, i, 64000))
                               for i in range(16)))
            conns.append(s)
        t.eq(wait_stat(srv, "pending.parked", 960, timeout=60), 960,
             "960 padded queries parked")
        grown = rss_kb(srv) - before
        t.ok(grown < 30000, "memory grew by %d KB, under 30 MB" % grown)
        u = udp_socket()
        try:
            u.sendto(padded(FAR, 78, 1000), ("127.0.0.1", srv.port))
            got = recv_udp(u, 1)
        finally:
            u.close()
        m = h.parse_msg(got[78]) if 78 in got else None
        t.ok(m is not None and m.a_set() == ["127.0.0.4"] and
             m.opt is not None and m.qdcount == 1,
             "UDP: answered with far's bit, the question and OPT", repr(m))
    finally:
        for s in conns:
            s.close()
    srv.stop()


def rate_limited(t):
    """rate-limit: 5, slip 1: of 40 parked UDP queries from one address
    answered together, the answers over the rate go out truncated; 10
    parked over TCP at the same time are all answered in full."""
    conf = CONF.replace("max-pending: @MAXP@", "max-pending: @MAXP@\n"
                        "    rate-limit: 5\n    rate-limit-slip: 1")
    srv = server(rules(300), conf=conf)
    u = udp_socket()
    s = h.tcp_connect(srv.port, timeout=20)
    try:
        for i in range(40):
            u.sendto(h.make_query(FAR, "A", qid=i), ("127.0.0.1", srv.port))
        s.sendall(b"".join(h.tcp_frame(h.make_query(FAR, "A", qid=100 + i))
                           for i in range(10)))
        got = recv_udp(u, 40)
        replies = [h.tcp_read_msg(s, 20) for _ in range(10)]
    finally:
        u.close()
        s.close()
    full = [i for i in got if a_of(got[i]) == ("NOERROR", ["127.0.0.4"])]
    tc = [i for i in got if h.parse_msg(got[i]).tc and
          not h.parse_msg(got[i]).a_set()]
    t.ok(len(got) == 40 and len(full) >= 5 and len(tc) >= 20 and
         len(full) + len(tc) == 40, "parked UDP answers over the rate are "
         "sent truncated", (len(got), len(full), len(tc)))
    t.ok(all(r is not None and a_of(r) == ("NOERROR", ["127.0.0.4"])
             for r in replies), "parked TCP answers are never limited")
    st = stats(srv)
    t.eq((st.get("pending.parked"), st.get("rrl.slipped"),
          st.get("rrl.dropped")), (50, len(tc), 0),
         "50 parked; rrl.slipped counts the truncated answers")
    srv.stop()


TESTS = [many_parked, tcp_out_of_order, deadline, not_parked, tcp_closed,
         tcp_parked_evicted, parked_padded, reload_parked, sigterm_parked, cap,
         wildcard, rate_limited]

if __name__ == "__main__":
    # names on the command line run those tests alone
    h.run_suite("pending", [f for f in TESTS if not sys.argv[1:] or
                            f.__name__ in sys.argv[1:]])
