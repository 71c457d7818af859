#!/usr/bin/env python3
"""test_tcp -- DNS over TCP (RFC 7766) and the limits on TCP clients.

rblmuxd on tests/data/conf/protocol.conf (tcp-idle-timeout 2s,
tcp-max-clients 3), with server: settings changed per check. Timing is
never asserted: checks look at order (which connection the server
closes first), outcome (replies, closes) and the counters of
`rblmuxctl stats`; every wait is bounded.
"""
import os
import re
import select
import signal
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FILES = ["lists/spam.ip4set"] + ["lists/tc%d.ip4set" % i for i in range(1, 7)]
CONF = h.read_data("conf/protocol.conf")
IDLE = 2.0
MAXC = 3


def rid(data):
    return struct.unpack("!H", data[:2])[0] if data and len(data) >= 2 \
        else None


def framing(t):
    srv = h.Server(CONF, FILES).start()
    p = srv.port

    r = srv.kdig("10.2.0.192.rbl.test", "A", opts=["+tcp"])
    t.ok(r is not None and r.status == "NOERROR" and
         r.a_set() == ["127.0.0.2"] and r.aa, "kdig +tcp answered",
         repr(r) if r else h.kdig.last_error)
    r = srv.kdig("1.0.0.127.rbl.test", "A", opts=["+tcp"])
    t.ok(r is not None and r.status == "NXDOMAIN" and r.soa_in_authority(),
         "kdig +tcp NXDOMAIN with SOA", repr(r))

    # two queries pipelined in one segment, answered in order
    q1 = h.make_query("10.2.0.192.rbl.test", "A", qid=1001)
    q2 = h.make_query("11.2.0.192.rbl.test", "TXT", qid=1002)
    replies = h.tcp_exchange([q1, q2], p)
    ids = [rid(x) for x in replies]
    t.eq(ids, [1001, 1002], "two pipelined queries answered in order")
    ok = all(replies)
    if ok:
        m1, m2 = h.parse_msg(replies[0]), h.parse_msg(replies[1])
        ok = m1.a_set() == ["127.0.0.2"] and \
            m2.txt_set() == ["spam: Snowshoe 192.0.2.11"]
    t.ok(ok, "pipelined answers carry the right data", repr(replies))

    # many queries on one connection
    s = h.tcp_connect(p)
    try:
        qs = [h.make_query("%d.2.0.192.rbl.test" % (i % 250), "A",
                           qid=2000 + i) for i in range(50)]
        s.sendall(b"".join(h.tcp_frame(q) for q in qs))
        got = [rid(h.tcp_read_msg(s, 2.0)) for _ in qs]
    finally:
        s.close()
    t.eq(got, list(range(2000, 2050)),
         "50 pipelined queries on one connection, in order")

    # a message split into single bytes, the length prefix too
    s = h.tcp_connect(p)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = h.tcp_frame(h.make_query("10.2.0.192.rbl.test", "A",
                                        qid=3003))
        for b in data:
            s.sendall(bytes([b]))
            time.sleep(0.002)
        reply = h.tcp_read_msg(s, 2.0)
    finally:
        s.close()
    t.eq(rid(reply), 3003, "query sent one byte at a time answered")

    # half-close after the query: the answer still comes back
    s = h.tcp_connect(p)
    try:
        s.sendall(h.tcp_frame(h.make_query("10.2.0.192.rbl.test", "A",
                                           qid=3004)))
        s.shutdown(socket.SHUT_WR)
        reply = h.tcp_read_msg(s, 2.0)
    finally:
        s.close()
    t.eq(rid(reply), 3004, "answered after the client's half-close")

    # sequential queries, reading each answer before the next
    s = h.tcp_connect(p)
    try:
        seq = []
        for i in range(5):
            s.sendall(h.tcp_frame(h.make_query("1.0.0.127.rbl.test", "A",
                                               qid=4000 + i)))
            seq.append(rid(h.tcp_read_msg(s, 2.0)))
    finally:
        s.close()
    t.eq(seq, [4000, 4001, 4002, 4003, 4004],
         "query, answer, query ... on one connection")

    # a large answer over TCP is not truncated
    replies = h.tcp_exchange([h.make_query("200.2.0.192.big.test", "TXT",
                                           qid=5005)], p)
    m = h.parse_msg(replies[0]) if replies[0] else None
    t.ok(m is not None and not m.tc and len(m.answer) == 1 and
         m.size > 1232, "over TCP a %s-byte answer is whole" %
         (m.size if m else "?"), repr(m))

    # a response (QR=1) over TCP gets no reply, the connection survives:
    # the next reply is the one to the query after it
    s = h.tcp_connect(p)
    try:
        s.sendall(h.tcp_frame(h.make_query("10.2.0.192.rbl.test", "A",
                                           qid=6006, qr=True)) +
                  h.tcp_frame(h.make_query("10.2.0.192.rbl.test", "A",
                                           qid=6007)))
        t.eq(rid(h.tcp_read_msg(s, 2.0)), 6007,
             "QR=1 over TCP: no reply, the next query answered")
    finally:
        s.close()

    if srv.v6:
        replies = h.tcp_exchange([q1, q2], p, host="::1")
        t.eq([rid(x) for x in replies], [1001, 1002],
             "pipelined queries over ::1")
    else:
        t.skip("pipelined queries over ::1", "no IPv6 loopback")
    srv.stop()


def stats(srv):
    """rblmuxctl stats as a dict of counters"""
    r = srv.ctl("stats")
    return {k: int(v) for k, _, v in
            (line.partition(": ") for line in r.stdout.splitlines())
            if v.isdigit()}


def delta(before, after, *names):
    return {n: after.get(n, 0) - before.get(n, 0) for n in names}


def server(**settings):
    """protocol.conf with server: settings replaced or added"""
    conf = CONF
    for key, value in settings.items():
        key = key.replace("_", "-")
        line = "    %s: %s" % (key, value)
        if "    %s:" % key in conf:
            conf = "\n".join(line if l.startswith("    %s:" % key) else l
                             for l in conf.splitlines())
        else:
            conf = conf.replace("server:\n", "server:\n%s\n" % line, 1)
    return h.Server(conf, FILES).start()


def ask(s, qid, name="10.2.0.192.rbl.test"):
    """one query on an open connection; the id of the reply or None"""
    try:
        s.sendall(h.tcp_frame(h.make_query(name, "A", qid=qid)))
    except OSError:
        return None
    return rid(h.tcp_read_msg(s, 5.0))


def watch_closes(socks, timeout, tick=None):
    """Wait until every socket in the dict name->socket is closed by the
    peer (or timeout); tick() runs about every 0.25 s meanwhile. Returns
    the names in the order they were closed."""
    order = []
    deadline = time.monotonic() + timeout
    next_tick = time.monotonic()
    while len(order) < len(socks) and time.monotonic() < deadline:
        if tick is not None and time.monotonic() >= next_tick:
            tick(order)
            next_tick += 0.25
        open_ = {s: n for n, s in socks.items() if n not in order}
        ready, _, _ = select.select(list(open_), [], [], 0.05)
        for s in ready:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                order.append(open_[s])
    return order


def idle_and_partial(t):
    """The idle timeout runs from the last answered message; a partial
    message has its own, shorter deadline that trickled bytes do not
    extend (tcp-idle-timeout 3s, tcp-message-timeout 1s)."""
    srv = server(tcp_idle_timeout="3s", tcp_message_timeout="1s")
    p = srv.port
    before = stats(srv)
    fresh = h.tcp_connect(p)                    # never sends a byte
    answered = h.tcp_connect(p)
    loris = h.tcp_connect(p)
    socks = {"fresh": fresh, "answered": answered, "loris": loris}
    try:
        t.eq(ask(answered, 7), 7, "a query is answered before going idle")
        # announce a 65535-byte message, then one byte every 0.25 s
        loris.sendall(b"\xff\xff\x00")

        def trickle(closed):
            if "loris" not in closed:
                try:
                    loris.send(b"\x00")
                except OSError:
                    pass

        order = watch_closes(socks, 15.0, trickle)
    finally:
        for s in socks.values():
            s.close()
    t.eq(order[:1], ["loris"],
         "a client trickling a partial message is closed first, at "
         "tcp-message-timeout, although it keeps sending bytes")
    t.eq(sorted(order[1:]), ["answered", "fresh"],
         "idle connections are closed later, at tcp-idle-timeout")
    t.eq(delta(before, stats(srv), "tcp.timeouts", "tcp.evicted"),
         {"tcp.timeouts": 3, "tcp.evicted": 0},
         "all three counted as timeouts")
    srv.stop()


def denied_at_accept(t):
    """Clients that access-control denies are closed at accept and take
    no TCP slot (tcp-max-clients 3)."""
    srv = server(access_control="127.0.0.2/32 deny")
    p = srv.port
    before = stats(srv)
    denied = [h.tcp_connect(p, src="127.0.0.2") for _ in range(5)]
    try:
        gone = [h.is_closed(s, 5.0) is not None for s in denied]
        t.ok(all(gone), "5 denied clients closed without a query",
             repr(gone))
        allowed = [h.tcp_connect(p) for _ in range(MAXC)]
        try:
            ids = [ask(s, 500 + i) for i, s in enumerate(allowed)]
        finally:
            for s in allowed:
                s.close()
        t.eq(ids, [500, 501, 502],
             "all %d slots still serve allowed clients" % MAXC)
    finally:
        for s in denied:
            s.close()
    t.eq(delta(before, stats(srv), "tcp.denied", "tcp.accepted",
               "tcp.evicted", "tcp.rejected"),
         {"tcp.denied": 5, "tcp.accepted": 3, "tcp.evicted": 0,
          "tcp.rejected": 0},
         "denied clients counted apart, none held a slot")
    srv.stop()


def eviction(t):
    """At tcp-max-clients a new client closes the connection idle the
    longest (tcp-max-clients 3, tcp-idle-timeout 60s)."""
    srv = server(tcp_idle_timeout="60s")
    p = srv.port
    conns = {n: h.tcp_connect(p) for n in ("a", "b", "c")}
    try:
        for i, n in enumerate(("a", "b", "c", "a")):
            t.eq(ask(conns[n], 600 + i), 600 + i,
                 "connection %s answered (activity order a b c a)" % n)
        before = stats(srv)
        conns["d"] = h.tcp_connect(p)
        t.eq(ask(conns["d"], 700), 700,
             "a fourth client is served at the cap")
        t.ok(h.is_closed(conns["b"], 5.0) is not None,
             "b, idle the longest, was closed to make room")
        t.eq([ask(conns[n], 710 + i) for i, n in enumerate("acd")],
             [710, 711, 712], "a, c and d still answer")
        t.eq(delta(before, stats(srv), "tcp.evicted", "tcp.rejected",
                   "tcp.accepted"),
             {"tcp.evicted": 1, "tcp.rejected": 0, "tcp.accepted": 1},
             "one eviction counted")
    finally:
        for s in conns.values():
            s.close()
    srv.stop()


BIG = "200.2.0.192.big.test"        # a 1295-byte TXT answer
SMALL = "10.2.0.192.rbl.test"       # a small A answer
CAP = 16384                         # reply bytes that pause answering
PIPELINED = 5000


def pipeline_unread(p, name=BIG, qtype="TXT"):
    """A connection with a small receive buffer that writes PIPELINED
    queries, big TXT ones unless told (from a thread: the server stops
    reading) and reads nothing yet. Returns (socket, thread)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30.0)
    s.connect(("127.0.0.1", p))
    data = b"".join(h.tcp_frame(h.make_query(name, qtype, qid=i))
                    for i in range(PIPELINED))

    def send():
        try:
            s.sendall(data)
        except OSError:
            pass
    th = threading.Thread(target=send, daemon=True)
    th.start()
    return s, th


def read_all(s, want):
    """read up to want replies; the ids, the longest, and whether EOF
    followed"""
    ids, longest = [], 0
    for _ in range(want):
        m = h.tcp_read_msg(s, 10.0)
        if m is None:
            return ids, longest, True
        ids.append(rid(m))
        longest = max(longest, len(m))
    return ids, longest, h.is_closed(s, 0.5) is not None


def at_cap(srv):
    return h.poll_until(lambda: stats(srv).get("tcp.queued.peak", 0) >= CAP,
                        timeout=20.0, interval=0.1)


def stalled(srv):
    """status: connections whose client leaves its replies unread"""
    m = re.search(r"^tcp-stalled: (\d+)$", srv.ctl("status").stdout, re.M)
    return int(m.group(1)) if m else -1


def stall(srv, n, **query):
    """Open a client that pipelines and does not read, and wait until the
    server counts n stalled connections; the (socket, thread)"""
    st = pipeline_unread(srv.port, **query)
    if not h.poll_until(lambda: stalled(srv) >= n, timeout=20.0,
                        interval=0.1):
        raise AssertionError("no stall: %d stalled, want %d" %
                             (stalled(srv), n))
    return st


def output_cap(t):
    """A client that pipelines and does not read: the server stops
    answering at a small queue, keeps serving UDP, and delivers every
    answer once the client reads; while it does not read, a newcomer
    takes its place (tcp-max-clients 1)."""
    srv = server(tcp_max_clients=1, tcp_idle_timeout="60s")
    p = srv.port
    s, th = pipeline_unread(p)
    try:
        t.ok(at_cap(srv), "the reply queue reached the cap",
             repr(stats(srv)))
        before = stats(srv)
        paused = before.get("queries.tcp", PIPELINED)
        t.ok(paused < PIPELINED,
             "answering paused: %d of %d answered while the client does "
             "not read" % (paused, PIPELINED))
        udp = [srv.q("%d.2.0.192.rbl.test" % i, "A") for i in range(50)]
        t.ok(all(m is not None for m in udp),
             "50 UDP queries answered meanwhile")
        ids, longest, _ = read_all(s, PIPELINED)
    finally:
        s.close()
        th.join(10)
    t.ok(ids == list(range(PIPELINED)),
         "all %d answers arrive in order once the client reads" % PIPELINED,
         "got %d, first wrong at %s" % (len(ids), next(
             (i for i, x in enumerate(ids) if x != i), None)))
    after = stats(srv)
    peak = after.get("tcp.queued.peak", -1)
    t.eq(after.get("queries.tcp"), PIPELINED, "every query answered once")
    t.ok(CAP <= peak <= CAP + 2 + longest,
         "queued bytes never above the cap plus one reply (%d <= %d)" %
         (peak, CAP + 2 + longest))

    # the same client again, now not reading: a newcomer takes its slot
    s, th = stall(srv, 1)
    before = stats(srv)
    extra = h.tcp_connect(p)
    try:
        t.eq(ask(extra, 999), 999,
             "a new client is answered while the only slot is stalled")
        t.ok(h.peer_closed(s, 10.0),
             "the client that does not read was closed to make room")
        t.eq(delta(before, stats(srv), "tcp.rejected", "tcp.evicted",
                   "tcp.evicted.stalled"),
             {"tcp.rejected": 0, "tcp.evicted": 1, "tcp.evicted.stalled": 1},
             "counted as evicted, stalled")
    finally:
        extra.close()
        s.close()
        th.join(10)
    srv.stop()


def stalled_evicted(t):
    """At the cap, a client that has left its replies unread the longest
    gives way to a new one; a client that reads keeps its place, and an
    idle connection still goes first (tcp-max-clients 3,
    tcp-idle-timeout 1h). a and b stall with 16 KB of big replies queued
    in the server; c's small replies never reach that: the kernel's
    buffer is full before, with nothing queued in the server."""
    srv = server(tcp_idle_timeout="1h")
    p = srv.port
    held = []
    try:
        held.append(stall(srv, 1))
        held.append(stall(srv, 2))
        held.append(stall(srv, 3, name=SMALL, qtype="A"))
        t.eq(stalled(srv), MAXC, "%d clients that do not read: all "
             "stalled, in the order a b c" % MAXC)
        a, b, c = (x[0] for x in held)
        # a reads some of its replies: room in the kernel's buffer again,
        # the server answers more of a's queries (only a can take them)
        # and fills it once more, so a's stall starts again, after c's
        answered = stats(srv).get("queries.tcp")
        got = [rid(h.tcp_read_msg(a, 10.0)) for _ in range(60)]
        t.eq(got, list(range(60)), "a reads 60 replies, in order")
        t.ok(h.poll_until(lambda: stats(srv).get("queries.tcp") > answered
                          and stalled(srv) == MAXC, timeout=20.0,
                          interval=0.1),
             "the server wrote to a again, and a stalled again")
        before = stats(srv)
        d = h.tcp_connect(p)
        held.append((d, None))
        t.eq(ask(d, 800), 800, "a fourth client is answered at the cap")
        t.ok(h.peer_closed(b, 10.0),
             "b, stalled the longest, was closed to make room")
        t.ok(not h.peer_closed(a, 0) and not h.peer_closed(c, 0),
             "a (which read) and c (stalled later) keep their places")
        t.eq(delta(before, stats(srv), "tcp.evicted", "tcp.evicted.stalled",
                   "tcp.rejected"),
             {"tcp.evicted": 1, "tcp.evicted.stalled": 1, "tcp.rejected": 0},
             "one stalled connection evicted, none rejected")

        before = stats(srv)
        e = h.tcp_connect(p)
        held.append((e, None))
        t.eq(ask(e, 801), 801, "a fifth client is answered")
        t.ok(h.peer_closed(d, 10.0) and not h.peer_closed(a, 0) and
             not h.peer_closed(c, 0),
             "the idle connection d gave way, not the stalled a or c")
        t.eq(delta(before, stats(srv), "tcp.evicted", "tcp.evicted.stalled"),
             {"tcp.evicted": 1, "tcp.evicted.stalled": 0},
             "counted as an idle eviction")
    finally:
        for s, th in held:
            s.close()
            if th is not None:
                th.join(10)
    t.ok(srv.alive(), "server alive")
    srv.stop()


def drain(t):
    """SIGTERM: replies queued for a client that has not read them yet
    still reach it, all of them, then the connection closes and the
    daemon exits 0."""
    srv = server(tcp_idle_timeout="60s")
    s, th = pipeline_unread(srv.port)
    try:
        t.ok(at_cap(srv), "the reply queue reached the cap",
             repr(stats(srv)))
        answered = stats(srv).get("queries.tcp", -1)
        srv.signal(signal.SIGTERM)
        ids, _, eof = read_all(s, PIPELINED)
    finally:
        s.close()
        th.join(10)
    t.ok(len(ids) >= answered and ids == list(range(len(ids))),
         "after SIGTERM all %d answered replies arrive, in order" %
         answered, "got %d" % len(ids))
    t.ok(eof, "then the server closes the connection")
    h.poll_until(lambda: srv.proc.poll() is not None, timeout=10.0)
    t.eq(srv.proc.poll(), 0, "the daemon exits 0 after the drain")
    srv.stop()


def udp_beside_tcp(t):
    """Idle TCP clients over the cap cannot starve UDP; slots come back."""
    srv = h.Server(CONF, FILES).start()
    p = srv.port
    conns = [h.tcp_connect(p) for _ in range(MAXC + 3)]
    try:
        answered = sum(srv.q("%d.2.0.192.rbl.test" % i, "A") is not None
                       for i in range(100))
        t.eq(answered, 100, "100 UDP queries answered with %d TCP "
             "connections open" % len(conns))
        r = srv.kdig("11.2.0.192.rbl.test", "A")
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "kdig over UDP answered while TCP is full", repr(r))
    finally:
        for c in conns:
            c.close()
    ok = h.poll_until(lambda: _one_tcp(p, 400), timeout=5.0, interval=0.2)
    t.ok(ok, "a new connection is served once the others closed")
    t.ok(srv.alive(), "server alive after the TCP limits checks")
    srv.stop()


def _one_tcp(port, qid):
    try:
        r = h.tcp_exchange([h.make_query("10.2.0.192.rbl.test", "A",
                                         qid=qid)], port, timeout=1.0)
    except OSError:
        return False
    return rid(r[0]) == qid


if __name__ == "__main__":
    h.run_suite("tcp", [framing, idle_and_partial, denied_at_accept, eviction,
                       output_cap, stalled_evicted, drain, udp_beside_tcp])
