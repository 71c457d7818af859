#!/usr/bin/env python3
"""test_tcp -- DNS over TCP (RFC 7766) and the limits on TCP clients.

rblmuxd on tests/data/conf/protocol.conf: tcp-idle-timeout 2s,
tcp-max-clients 3.
"""
import os
import socket
import struct
import sys
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

    # a response (QR=1) over TCP gets no reply, the connection survives
    s = h.tcp_connect(p)
    try:
        s.sendall(h.tcp_frame(h.make_query("10.2.0.192.rbl.test", "A",
                                           qid=6006, qr=True)))
        junk_reply = h.tcp_read_msg(s, 0.7)
        t.ok(junk_reply is None, "QR=1 over TCP: no reply",
             repr(junk_reply))
    finally:
        s.close()

    if srv.v6:
        replies = h.tcp_exchange([q1, q2], p, host="::1")
        t.eq([rid(x) for x in replies], [1001, 1002],
             "pipelined queries over ::1")
    else:
        t.skip("pipelined queries over ::1", "no IPv6 loopback")
    srv.stop()


def limits(t):
    srv = h.Server(CONF, FILES).start()
    p = srv.port

    # idle connection with no query: closed after tcp-idle-timeout
    s = h.tcp_connect(p)
    try:
        took = h.is_closed(s, IDLE + 3.0)
    finally:
        s.close()
    t.ok(took is not None and IDLE * 0.5 <= took <= IDLE + 2.5,
         "idle connection closed after tcp-idle-timeout (%s s)" %
         ("%.2f" % took if took is not None else "never"),
         "expected about %.1f s" % IDLE)

    # after an answer, an idle connection is closed too
    s = h.tcp_connect(p)
    try:
        s.sendall(h.tcp_frame(h.make_query("10.2.0.192.rbl.test", "A",
                                           qid=7)))
        first = h.tcp_read_msg(s, 2.0)
        took = h.is_closed(s, IDLE + 3.0)
    finally:
        s.close()
    t.ok(rid(first) == 7 and took is not None and took <= IDLE + 2.5,
         "connection idle after an answer closed (%s s)" %
         ("%.2f" % took if took is not None else "never"))

    # half a message, then silence: closed, the server does not wait
    s = h.tcp_connect(p)
    try:
        data = h.tcp_frame(h.make_query("10.2.0.192.rbl.test", "A"))
        s.sendall(data[:len(data) // 2])
        took = h.is_closed(s, IDLE + 3.0)
    finally:
        s.close()
    t.ok(took is not None and took <= IDLE + 2.5,
         "slow client with half a message closed by the idle timeout")

    # tcp-max-clients: MAXC connections work, one more is closed at once
    conns = []
    try:
        for i in range(MAXC):
            c = h.tcp_connect(p)
            conns.append(c)
            c.sendall(h.tcp_frame(h.make_query("10.2.0.192.rbl.test", "A",
                                               qid=100 + i)))
            t.eq(rid(h.tcp_read_msg(c, 2.0)), 100 + i,
                 "connection %d of %d answered" % (i + 1, MAXC))
        extra = h.tcp_connect(p)
        try:
            try:
                extra.sendall(h.tcp_frame(h.make_query(
                    "10.2.0.192.rbl.test", "A", qid=199)))
            except OSError:
                pass
            got = h.tcp_read_msg(extra, 1.5)
            closed = h.is_closed(extra, 1.0) is not None if got is None \
                else False
        finally:
            extra.close()
        t.ok(got is None and closed,
             "connection %d over tcp-max-clients=%d closed without an "
             "answer" % (MAXC + 1, MAXC), "got %r" % (got,))

        # while the TCP slots are full and idle, UDP answers at once
        t0 = time.monotonic()
        m = srv.q("10.2.0.192.rbl.test", "A", timeout=1.0)
        dt = time.monotonic() - t0
        t.ok(m is not None and m.a_set() == ["127.0.0.2"] and dt < 0.5,
             "UDP answered while TCP clients sit idle (%.3f s)" % dt,
             repr(m))
        r = srv.kdig("11.2.0.192.rbl.test", "A")
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "kdig over UDP answered while TCP is full", repr(r))

        # the first connections still answer
        for i, c in enumerate(conns):
            c.sendall(h.tcp_frame(h.make_query("11.2.0.192.rbl.test", "A",
                                               qid=300 + i)))
            t.eq(rid(h.tcp_read_msg(c, 2.0)), 300 + i,
                 "connection %d still answers after the extra one" %
                 (i + 1))
    finally:
        for c in conns:
            c.close()

    # slots come back once connections close
    ok = h.poll_until(lambda: _one_tcp(p, 400), timeout=3.0, interval=0.2)
    t.ok(ok, "a new connection is served once the others closed")

    # many idle clients cannot starve UDP: fill, then hammer UDP
    conns = [h.tcp_connect(p) for _ in range(MAXC + 3)]
    try:
        answered = 0
        t0 = time.monotonic()
        for i in range(100):
            m = srv.q("%d.2.0.192.rbl.test" % i, "A", timeout=1.0)
            answered += m is not None
        dt = time.monotonic() - t0
        t.ok(answered == 100 and dt < 5.0,
             "100 UDP queries answered with %d TCP connections open "
             "(%.2f s)" % (len(conns), dt), "answered %d" % answered)
    finally:
        for c in conns:
            c.close()
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
    h.run_suite("tcp", [framing, limits])
