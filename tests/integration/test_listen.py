#!/usr/bin/env python3
"""test_listen -- wildcard listeners and the query counters.

rblmuxd on tests/data/conf/protocol.conf with its listen: lines turned
into 0.0.0.0 and :: (the wildcard addresses that need IP_PKTINFO to
answer from the address asked) and access-control rules for 127.0.0.3
(refuse) and 127.0.0.4 (deny). Counters are read with `rblmuxctl stats`
before and after each step and compared exactly.
"""
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FILES = ["lists/spam.ip4set"] + ["lists/tc%d.ip4set" % i for i in range(1, 7)]
V6 = h.have_ipv6()
BIG = "200.2.0.192.big.test"        # 1295-byte TXT answer: TC=1 over UDP
SMALL = "10.2.0.192.rbl.test"       # 127.0.0.2
COUNTERS = ("queries.udp", "queries.tcp", "answers.noerror",
            "answers.refused", "answers.truncated", "acl.refused",
            "acl.dropped", "tcp.accepted", "tcp.denied")


def wildcard_server():
    conf = h.read_data("conf/protocol.conf")
    lines = []
    for line in conf.splitlines():
        if "listen:" in line:
            if "127.0.0.1" in line:
                lines += ["    listen: 0.0.0.0@@PORT@",
                          "    access-control: 127.0.0.3/32 refuse",
                          "    access-control: 127.0.0.4/32 deny"]
            elif V6:
                lines.append("    listen: ::@@PORT@")
            continue
        lines.append(line)
    hosts = ["127.0.0.1"] + (["::1"] if V6 else [])
    port = h.free_port(["0.0.0.0"] + (["::1"] if V6 else []))
    return h.Server("\n".join(lines) + "\n", FILES, hosts=hosts,
                    port=port).start()


def stats(srv):
    """rblmuxctl stats as a dict of counters"""
    r = srv.ctl("stats")
    return {k: int(v) for k, _, v in
            (line.partition(": ") for line in r.stdout.splitlines())
            if v.isdigit()}


def counted(srv, before):
    after = stats(srv)
    return {n: after[n] - before[n] for n in COUNTERS
            if after[n] != before[n]}


def reply_source(dst, port, src, qid):
    """Send one query to dst from a socket bound to src; the address
    the reply came from, or None."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.bind((src, 0))
        s.settimeout(2.0)
        s.sendto(h.make_query(SMALL, "A", qid=qid), (dst, port))
        while True:
            data, addr = s.recvfrom(4096)
            if data[:2] == qid.to_bytes(2, "big"):
                return addr[0]
    except OSError:
        return None
    finally:
        s.close()


def pktinfo(t):
    srv = wildcard_server()
    p = srv.port
    t.eq(reply_source("127.0.0.2", p, "127.0.0.1", 11), "127.0.0.2",
         "0.0.0.0 listener: a query to 127.0.0.2 from 127.0.0.1 is "
         "answered from 127.0.0.2")
    t.eq(reply_source("127.0.0.5", p, "127.0.0.1", 12), "127.0.0.5",
         "... and one to 127.0.0.5 from 127.0.0.5")
    t.eq(reply_source("127.0.0.1", p, "127.0.0.1", 13), "127.0.0.1",
         "... and one to 127.0.0.1 from 127.0.0.1")
    if V6:
        t.eq(reply_source("::1", p, "::1", 14), "::1",
             ":: listener: a query to ::1 is answered from ::1")
    else:
        t.skip(":: listener answers from ::1", "no IPv6 loopback")
    r = h.tcp_exchange([h.make_query(SMALL, "A", qid=15)], p,
                       host="127.0.0.2")
    t.ok(r[0] is not None and r[0][:2] == b"\x00\x0f",
         "0.0.0.0 listener: TCP to 127.0.0.2 answered")
    srv.stop()


def counters(t):
    srv = wildcard_server()
    p = srv.port

    before = stats(srv)
    msgs = [srv.q(BIG, "TXT", qid=100 + i) for i in range(3)]
    t.ok(all(m is not None and m.tc for m in msgs),
         "3 big TXT answers over UDP without EDNS: TC=1", repr(msgs))
    msgs = [srv.q(SMALL, "A", qid=110 + i) for i in range(2)]
    t.ok(all(m is not None and not m.tc for m in msgs),
         "2 small answers: no TC", repr(msgs))
    m = srv.q(BIG, "TXT", tcp=True, qid=120)
    t.ok(m is not None and not m.tc, "the big answer over TCP: no TC")
    t.eq(counted(srv, before),
         {"queries.udp": 5, "queries.tcp": 1, "answers.noerror": 6,
          "answers.truncated": 3, "tcp.accepted": 1},
         "answers.truncated counts exactly the 3 truncated replies")

    before = stats(srv)
    msgs = [srv.q(SMALL, "A", src="127.0.0.3", qid=200 + i)
            for i in range(4)]
    msgs.append(srv.q(SMALL, "A", src="127.0.0.3", tcp=True, qid=210))
    t.ok(all(m is not None and m.rcode_name == "REFUSED" for m in msgs),
         "127.0.0.3 (refuse): 4 UDP and 1 TCP query answered REFUSED",
         repr(msgs))
    t.eq(counted(srv, before),
         {"queries.udp": 4, "queries.tcp": 1, "answers.refused": 5,
          "acl.refused": 5, "tcp.accepted": 1},
         "acl.refused and answers.refused count exactly those 5")

    before = stats(srv)
    msgs = [srv.q(SMALL, "A", src="127.0.0.4", qid=300 + i, timeout=0.5)
            for i in range(2)]
    t.eq(msgs, [None, None], "127.0.0.4 (deny): UDP queries dropped")
    s = h.tcp_connect(p, src="127.0.0.4")
    try:
        closed = h.is_closed(s, 5.0) is not None
    finally:
        s.close()
    t.ok(closed, "127.0.0.4 (deny): TCP connection closed at accept")
    t.eq(counted(srv, before),
         {"queries.udp": 2, "acl.dropped": 2, "tcp.denied": 1},
         "acl.dropped counts the 2 datagrams, tcp.denied the connection")
    srv.stop()


if __name__ == "__main__":
    h.run_suite("listen", [pktinfo, counters])
