#!/usr/bin/env python3
"""test_pending -- queries parked and answered later.

Runs build/tests/rblmuxd-test: rblmuxd with a test-only source
(tests/support/delay_source.c) that holds every query of the zones named
in RBLMUX_TEST_DELAY ("zone=ms,...") for that long on a timer, then
answers it from the zone's list; a query still held at
RBLMUX_TEST_DEADLINE_MS is answered as if the list contributed nothing
(NXDOMAIN with the SOA). Checks look at outcomes, order and the
pending.* counters of `rblmuxctl stats`; no wall-clock limits.
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

zone:
    name: rbl.test
    answer: bitmask
    bit: 2 spam

zone:
    name: slow.test
    serve: spam
    soa: ns1.slow.test. hostmaster.slow.test. 3600 600 86400 300
    ns: ns1.slow.test.

zone:
    name: fast.test
    serve: spam
    soa: ns1.fast.test. hostmaster.fast.test. 3600 600 86400 300
    ns: ns1.fast.test.
"""
FILES = ["lists/spam.ip4set"]
LISTED = "10.2.0.192"       # 192.0.2.10: 127.0.0.2
LISTED3 = "11.2.0.192"      # 192.0.2.11: 127.0.0.3
UNLISTED = "1.2.0.192"


def server(delay, deadline_ms=20000, maxp=4096, conf=CONF):
    os.environ["RBLMUX_TEST_DELAY"] = delay
    os.environ["RBLMUX_TEST_DEADLINE_MS"] = str(deadline_ms)
    try:
        return h.Server(conf.replace("@MAXP@", str(maxp)), FILES).start()
    finally:
        del os.environ["RBLMUX_TEST_DELAY"]
        del os.environ["RBLMUX_TEST_DEADLINE_MS"]


def stats(srv):
    r = srv.ctl("stats")
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(": ")
        if v.isdigit():
            out[k] = int(v)
    return out


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
    """The query with ID i: (name, expected (rcode, A set))."""
    if i % 3 == 0:
        return LISTED + ".slow.test", ("NOERROR", ["127.0.0.2"])
    if i % 3 == 1:
        return LISTED3 + ".slow.test", ("NOERROR", ["127.0.0.3"])
    return UNLISTED + ".slow.test", ("NXDOMAIN", [])


def many_parked(t):
    """60 UDP and 3 x 20 TCP queries parked at once, each answered
    correctly; a connection with more than SRV_TCP_PARKED_MAX parked
    gets all of them, also when they wait longer than
    tcp-message-timeout (2 s): whole messages held back are no partial
    message."""
    srv = server("slow.test=2500")
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
        r = srv.q(LISTED + ".rbl.test")
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "an undelayed zone still answers at once", repr(r))
    finally:
        u.close()
        for s in conns:
            s.close()
    srv.stop()


def tcp_out_of_order(t):
    """On one connection: slow, fast, undelayed; answers come back
    undelayed, fast, slow, each matched by ID."""
    srv = server("slow.test=1200,fast.test=300")
    s = h.tcp_connect(srv.port, timeout=20)
    try:
        s.sendall(h.tcp_frame(h.make_query(LISTED + ".slow.test", "A",
                                           qid=1)) +
                  h.tcp_frame(h.make_query(LISTED3 + ".fast.test", "A",
                                           qid=2)) +
                  h.tcp_frame(h.make_query(LISTED + ".rbl.test", "A",
                                           qid=3)))
        replies = [h.tcp_read_msg(s, 20) for _ in range(3)]
        t.eq([rid(r) for r in replies], [3, 2, 1],
             "answered when ready: undelayed, fast, slow")
        want = {1: ("NOERROR", ["127.0.0.2"]), 2: ("NOERROR", ["127.0.0.3"]),
                3: ("NOERROR", ["127.0.0.2"])}
        t.eq({rid(r): a_of(r) for r in replies if r}, want,
             "each answer matches its query")
        s.sendall(h.tcp_frame(h.make_query(LISTED + ".rbl.test", "A",
                                           qid=4)))
        t.eq(rid(h.tcp_read_msg(s, 20)), 4,
             "the connection goes on after out-of-order answers")
    finally:
        s.close()
    srv.stop()


def deadline(t):
    """A query the source does not answer in time: answered at the
    deadline as if the delayed list contributed nothing."""
    srv = server("slow.test=60000,fast.test=50", deadline_ms=300)
    r = srv.q(LISTED + ".slow.test", timeout=20)
    t.ok(r is not None and r.rcode_name == "NXDOMAIN" and
         r.soa() is not None,
         "UDP: NXDOMAIN with the SOA at the deadline", repr(r))
    r = srv.q(LISTED + ".slow.test", tcp=True, timeout=20)
    t.ok(r is not None and r.rcode_name == "NXDOMAIN",
         "TCP: NXDOMAIN at the deadline", repr(r))
    r = srv.q(LISTED + ".fast.test", timeout=20)
    t.ok(r is not None and r.a_set() == ["127.0.0.2"],
         "a source in time answers in full", repr(r))
    st = stats(srv)
    t.eq((st.get("pending.parked"), st.get("pending.expired")), (3, 2),
         "3 parked, 2 expired")
    srv.stop()


def tcp_closed(t):
    """A client that resets its connection with queries parked: the late
    answers are dropped, a new connection in its slot gets none."""
    srv = server("slow.test=800")
    s = h.tcp_connect(srv.port, timeout=20)
    s.sendall(b"".join(h.tcp_frame(h.make_query(LISTED + ".slow.test", "A",
                                                qid=100 + i))
                       for i in range(5)))
    t.eq(wait_stat(srv, "pending.parked", 5), 5, "5 queries parked")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 struct.pack("ii", 1, 0))
    s.close()                       # RST: the server closes at once
    n = h.tcp_connect(srv.port, timeout=20)
    try:
        n.sendall(h.tcp_frame(h.make_query(LISTED + ".rbl.test", "A",
                                           qid=7)))
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
    t.ok(srv.q(LISTED + ".rbl.test") is not None, "server still answers")
    srv.stop()


def reload_parked(t):
    """A reload that removes the zone while its queries are parked: they
    are answered from the view they were read under."""
    srv = server("slow.test=1500")
    u = udp_socket()
    s = h.tcp_connect(srv.port, timeout=20)
    try:
        u.sendto(h.make_query(LISTED + ".slow.test", "A", qid=1),
                 ("127.0.0.1", srv.port))
        s.sendall(h.tcp_frame(h.make_query(LISTED3 + ".slow.test", "A",
                                           qid=2)))
        t.eq(wait_stat(srv, "pending.parked", 2), 2, "2 queries parked")
        srv.write_conf(srv.conf_text.split("zone:\n    name: slow.test")[0])
        r = srv.ctl("reload")
        t.ok(r.returncode == 0 and stats(srv).get("pending.peak") == 2,
             "reloaded while 2 are parked", r.stdout + r.stderr)
        got = recv_udp(u, 1)
        t.eq(a_of(got[1]) if 1 in got else None,
             ("NOERROR", ["127.0.0.2"]), "UDP answer from the old view")
        m = h.tcp_read_msg(s, 20)
        t.eq(a_of(m) if m else None, ("NOERROR", ["127.0.0.3"]),
             "TCP answer from the old view")
        r = srv.q(LISTED + ".slow.test")
        t.ok(r is not None and r.rcode_name == "REFUSED",
             "the new view no longer has the zone", repr(r))
    finally:
        u.close()
        s.close()
    srv.stop()


def sigterm_parked(t):
    """SIGTERM with queries parked far from their deadline: each is
    answered (with what is known) before the server exits."""
    srv = server("slow.test=60000", deadline_ms=60000)
    u = udp_socket()
    s = h.tcp_connect(srv.port, timeout=20)
    try:
        for i in range(5):
            u.sendto(h.make_query(LISTED + ".slow.test", "A", qid=i),
                     ("127.0.0.1", srv.port))
        s.sendall(b"".join(h.tcp_frame(h.make_query(
            LISTED + ".slow.test", "A", qid=10 + i)) for i in range(3)))
        t.eq(wait_stat(srv, "pending.parked", 8), 8, "8 queries parked")
        srv.signal(signal.SIGTERM)
        got = recv_udp(u, 5)
        t.eq(sorted(got), list(range(5)), "every UDP query answered")
        t.ok(all(a_of(d)[0] == "NXDOMAIN" for d in got.values()),
             "with what is known: NXDOMAIN")
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
    counted; undelayed ones are still answered."""
    srv = server("slow.test=1000", maxp=5)
    u = udp_socket()
    try:
        for i in range(10):
            u.sendto(h.make_query(LISTED + ".slow.test", "A", qid=i),
                     ("127.0.0.1", srv.port))
        t.eq(wait_stat(srv, "pending.exceeded", 5), 5,
             "5 over the cap counted")
        r = srv.q(LISTED + ".rbl.test")
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "undelayed queries answered at the cap", repr(r))
        got = recv_udp(u, 5)
        t.eq(sorted(got), list(range(5)), "the first 5 answered")
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
    os.environ["RBLMUX_TEST_DELAY"] = "slow.test=300"
    try:
        srv = h.Server(conf.replace("@MAXP@", "4096"), FILES,
                       hosts=["127.0.0.1"],
                       port=h.free_port(["0.0.0.0"])).start()
    finally:
        del os.environ["RBLMUX_TEST_DELAY"]
    for i, dst in enumerate(["127.0.0.2", "127.0.0.5"]):
        u = udp_socket()
        try:
            u.bind(("127.0.0.1", 0))
            u.sendto(h.make_query(LISTED + ".slow.test", "A", qid=i),
                     (dst, srv.port))
            data, addr = u.recvfrom(4096)
            t.eq((addr[0], rid(data), a_of(data)),
                 (dst, i, ("NOERROR", ["127.0.0.2"])),
                 "parked query to %s answered from %s" % (dst, dst))
        finally:
            u.close()
    t.eq(stats(srv).get("pending.parked"), 2, "both were parked")
    srv.stop()


TESTS = [many_parked, tcp_out_of_order, deadline, tcp_closed, reload_parked,
         sigterm_parked, cap, wildcard]

if __name__ == "__main__":
    # names on the command line run those tests alone
    h.run_suite("pending", [f for f in TESTS if not sys.argv[1:] or
                            f.__name__ in sys.argv[1:]])
