#!/usr/bin/env python3
"""test_protocol -- DNS protocol rules of rblmuxd (SPEC section 4).

Real rblmuxd on loopback; kdig for ordinary queries, hand-built packets
for everything a normal client would not send.
"""
import os
import random
import socket
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FILES = ["lists/spam.ip4set"] + ["lists/tc%d.ip4set" % i for i in range(1, 7)]
CONF = h.read_data("conf/protocol.conf")


def tc_reason(i):
    return "tc%d-" % i + "abcdef"[i - 1] * 196


def big_txt(n):
    return "; ".join("tc%d: %s" % (i, tc_reason(i)) for i in range(1, n + 1))


def is_soa(rrs, zone, mname):
    """rrs is one SOA record owned by zone with the fixture's fields:
    MNAME mname, RNAME hostmaster.ZONE, 3600 600 86400 300, TTL 300
    (soa-ttl defaults to the minimum), and a serial."""
    if len(rrs) != 1:
        return False
    r = rrs[0]
    return r.type == 6 and r.name == zone + "." and r.ttl == 300 and \
        r.value[:2] == (mname, "hostmaster.%s." % zone) and \
        r.value[2] > 0 and r.value[3:] == (3600, 600, 86400, 300)


def main_server():
    return h.Server(CONF, FILES).start()


def answers(t):
    srv = main_server()
    p = srv.port

    r = srv.kdig("2.0.0.127.rbl.test", "A")
    t.ok(r is not None and r.status == "NOERROR" and
         r.a_set() == ["127.0.0.2"], "kdig: test point 127.0.0.2 listed",
         repr(r) if r else h.kdig.last_error)
    t.ok(r is not None and r.aa, "AA set on a positive answer", repr(r))
    t.ok(r is not None and not r.ra, "RA never set", repr(r))

    r = srv.kdig("10.2.0.192.rbl.test", "TXT")
    want = "spam: Spam source 192.0.2.10, see " \
        "http://example.invalid/spam?192.0.2.10"
    t.ok(r is not None and r.txt_set() == [want],
         "kdig: TXT names the list and its expanded reason",
         "want %r, got %r" % (want, r))

    r = srv.kdig("1.0.0.127.rbl.test", "A")
    t.ok(r is not None and r.status == "NXDOMAIN" and not r.answer and
         r.soa_in_authority() and r.aa,
         "127.0.0.1 never listed: NXDOMAIN, AA, SOA in authority", repr(r))

    r = srv.kdig("99.99.99.99.rbl.test", "TXT")
    t.ok(r is not None and r.status == "NXDOMAIN" and r.soa_in_authority(),
         "unlisted address, TXT: NXDOMAIN with SOA", repr(r))

    for name in ("www.example.org", "test", "xrbl.test", "rbl.test.example"):
        r = srv.kdig(name, "A")
        t.ok(r is not None and r.status == "REFUSED" and not r.answer,
             "name outside the zones (%s): REFUSED" % name, repr(r))

    r = srv.kdig("rbl.test", "SOA")
    t.ok(r is not None and r.status == "NOERROR" and r.aa and
         r.types() == ["SOA"] and not r.authority, "kdig: apex SOA answered",
         repr(r))
    r = srv.kdig("rbl.test", "NS")
    t.ok(r is not None and r.status == "NOERROR" and r.aa and
         r.types() == ["NS"] and not r.authority, "kdig: apex NS answered",
         repr(r))
    r = srv.kdig("rbl.test", "A")
    t.ok(r is not None and r.status == "NOERROR" and not r.answer and
         r.soa_in_authority(), "apex A: NOERROR, no data, SOA", repr(r))

    # the defaults: SOA rbl.test. hostmaster.rbl.test., NS rbl.test.
    for zone, ns in (("rbl.test", "rbl.test."), ("bl.test", "ns1.bl.test.")):
        mname = "rbl.test." if zone == "rbl.test" else "ns1.bl.test."
        for tcp in (False, True):
            how = "TCP" if tcp else "UDP"
            m = srv.q(zone, "SOA", tcp=tcp)
            t.ok(m is not None and m.rcode == 0 and m.aa and
                 is_soa(m.answer, zone, mname) and not m.authority and
                 not m.additional,
                 "%s %s SOA: the answer is exactly the SOA with the "
                 "configured fields" % (how, zone), repr(m))
            m = srv.q(zone, "NS", tcp=tcp)
            t.ok(m is not None and m.rcode == 0 and m.aa and
                 [(r.name, r.type, r.ttl, r.value) for r in m.answer] ==
                 [(zone + ".", 2, 300, ns)] and not m.authority,
                 "%s %s NS: the answer is exactly the configured NS" %
                 (how, zone), repr(m))

    r = srv.kdig("10.2.0.192.rbl.test", "ANY")
    t.ok(r is not None and r.status == "NOERROR" and r.types() == ["A"],
         "ANY gets a minimal answer (the A record only)", repr(r))
    r = srv.kdig("10.2.0.192.rbl.test", "AAAA")
    t.ok(r is not None and r.status == "NOERROR" and not r.answer and
         r.soa_in_authority(), "AAAA of a listed name: NOERROR, no data",
         repr(r))
    for zone in ("rbl.test", "bl.test"):
        mname = "rbl.test." if zone == "rbl.test" else "ns1.bl.test."
        m = srv.q("10.2.0.192." + zone, "AAAA")
        t.ok(m is not None and m.rcode == 0 and m.aa and m.ancount == 0 and
             not m.answer and is_soa(m.authority, zone, mname),
             "%s AAAA of a listed name: empty answer section, the zone's "
             "SOA alone in authority" % zone, repr(m))
    r = srv.kdig("10.2.0.192.rbl.test", "MX")
    t.ok(r is not None and r.status == "NOERROR" and not r.answer,
         "MX of a listed name: NOERROR, no data", repr(r))

    pkt = h.make_query("10.2.0.192.RBL.Test", "A", qid=0x1234)
    m = h.parse_msg(h.udp_exchange(pkt, p) or b"\0" * 12)
    t.ok(m.id == 0x1234 and m.qr and m.rcode == 0 and
         m.a_set() == ["127.0.0.2"], "mixed-case query answered, ID echoed",
         repr(m))
    t.ok(m.question and m.question[0][0] == "10.2.0.192.RBL.Test.",
         "question echoed in the client's case", repr(m.question))

    m = srv.q("10.2.0.192.rbl.test", "A", rd=False)
    t.ok(m is not None and not m.rd and m.aa, "RD=0 is copied", repr(m))
    m = srv.q("10.2.0.192.rbl.test", "A", rd=True)
    t.ok(m is not None and m.rd, "RD=1 is copied", repr(m))

    m = srv.q("10.2.0.192.rbl.test", "TXT", qclass=3)
    t.ok(m is not None and m.rcode_name == "REFUSED",
         "class CH: REFUSED", repr(m))
    m = srv.q("bl.test", "AXFR", tcp=True)
    t.ok(m is not None and m.rcode_name == "REFUSED" and not m.answer,
         "AXFR without allow-transfer: REFUSED", repr(m))

    if srv.v6:
        r = srv.kdig("10.2.0.192.rbl.test", "A", server="::1")
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "answers over ::1", repr(r) if r else h.kdig.last_error)
        r = srv.kdig("1.0.0.127.rbl.test", "A", server="::1", opts=["+tcp"])
        t.ok(r is not None and r.status == "NXDOMAIN",
             "answers over ::1 TCP", repr(r) if r else h.kdig.last_error)
    else:
        t.skip("answers over ::1", "no IPv6 loopback")

    # a burst of queries on one socket: every one answered
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    ids = set(range(1000, 1200))
    for i in ids:
        s.sendto(h.make_query("%d.2.0.192.rbl.test" % (i % 256), "A",
                              qid=i), ("127.0.0.1", p))
    got = set()
    try:
        while len(got) < len(ids):
            data, _ = s.recvfrom(4096)
            got.add(struct.unpack("!H", data[:2])[0])
    except socket.timeout:
        pass
    s.close()
    t.eq(len(got & ids), len(ids), "200 back-to-back UDP queries answered")
    srv.stop()


def errors(t):
    srv = main_server()
    p = srv.port

    pkt = h.make_query("10.2.0.192.rbl.test", "A", qid=77,
                       extra_question=("11.2.0.192.rbl.test", "A"))
    m = srv_reply(pkt, p)
    t.ok(m is not None and m.rcode_name == "FORMERR" and m.id == 77 and
         m.qr and not m.answer, "QDCOUNT=2: FORMERR", repr(m))
    pkt = struct.pack("!HHHHHH", 78, 0x0100, 0, 0, 0, 0)
    m = srv_reply(pkt, p)
    t.ok(m is not None and m.rcode_name == "FORMERR" and m.id == 78,
         "QDCOUNT=0: FORMERR", repr(m))

    for opcode, name in ((1, "IQUERY"), (2, "STATUS"), (4, "NOTIFY"),
                         (5, "UPDATE")):
        pkt = h.make_query("rbl.test", "SOA", qid=80 + opcode,
                           opcode=opcode)
        m = srv_reply(pkt, p)
        t.ok(m is not None and m.rcode_name == "NOTIMP" and
             m.opcode == opcode and m.qr,
             "opcode %s: NOTIMP" % name, repr(m))

    silent = [
        ("a response (QR=1)", h.make_query("10.2.0.192.rbl.test", "A",
                                           qr=True, qid=90)),
        ("an empty datagram", b""),
        ("a 5-byte datagram", b"\x12\x34\x01\x00\x00"),
        ("a bare header with QR=1", struct.pack("!HHHHHH", 91, 0x8000,
                                                1, 0, 0, 0)),
    ]
    rnd = random.Random(5)
    for i in range(5):
        junk = bytearray(rnd.randrange(256) for _ in range(rnd.randrange(
            12, 120)))
        junk[2] |= 0x80              # QR=1: a response, never answered
        silent.append(("random junk with QR=1 #%d" % (i + 1), bytes(junk)))
    # each from its own socket, followed by a good query: the first
    # datagram back must be the good query's reply (answers leave in the
    # order queries arrive), so a reply to the junk would come first
    for n, (what, pkt) in enumerate(silent):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3.0)
        s.sendto(pkt, ("127.0.0.1", p))
        s.sendto(h.make_query("10.2.0.192.rbl.test", "A", qid=4000 + n),
                 ("127.0.0.1", p))
        try:
            data = s.recv(4096)
        except socket.timeout:
            data = None
        s.close()
        m = h.parse_msg(data) if data else None
        t.ok(m is not None and m.id == 4000 + n and
             m.a_set() == ["127.0.0.2"], "%s: no reply" % what,
             "first datagram back: %r" % (data[:40] if data else data))
    r = srv.kdig("10.2.0.192.rbl.test", "A")
    t.ok(r is not None and r.a_set() == ["127.0.0.2"],
         "still answering after junk", repr(r))

    # a question cut short: the header promises more than is there
    full = h.make_query("10.2.0.192.rbl.test", "A", qid=92)
    m = srv_reply(full[:20], p)
    t.ok(m is not None and m.rcode_name == "FORMERR" and m.id == 92,
         "question cut short: FORMERR", repr(m))
    # a compression pointer in the question name
    ptr = struct.pack("!HHHHHH", 93, 0x0100, 1, 0, 0, 0) + \
        b"\x0210\xc0\x0c" + struct.pack("!HH", 1, 1)
    m = srv_reply(ptr, p)
    t.ok(m is not None and m.rcode_name == "FORMERR" and m.id == 93,
         "compression pointer in the question: FORMERR", repr(m))
    # labels holding a dot or a NUL byte are not names of anything
    for what, label in (("a dot", b"a.b"), ("a NUL byte", b"a\0b")):
        pkt = struct.pack("!HHHHHH", 94, 0x0100, 1, 0, 0, 0) + \
            bytes([len(label)]) + label + h.encode_name("rbl.test") + \
            struct.pack("!HH", 1, 1)
        m = srv_reply(pkt, p)
        t.ok(m is not None and m.rcode_name == "NXDOMAIN" and
             not m.answer, "label with %s under a zone: NXDOMAIN" % what,
             repr(m))
    # the longest name there can be (255 bytes)
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 52]) + ".rbl.test"
    m = srv_reply(h.make_query(name, "A", qid=96), p)
    t.ok(m is not None and m.rcode_name == "NXDOMAIN" and m.id == 96,
         "a 255-byte name: NXDOMAIN", repr(m))
    r = srv.kdig("10.2.0.192.rbl.test", "A", opts=["+cookie", "+nsid"])
    t.ok(r is not None and r.a_set() == ["127.0.0.2"],
         "EDNS options (cookie, NSID) are ignored, the query answered",
         repr(r) if r else h.kdig.last_error)

    m = srv_reply(h.make_query("10.2.0.192.rbl.test", "A", edns=1232,
                               edns_version=1, qid=95), p)
    t.ok(m is not None and m.rcode_name == "BADVERS" and m.opt is not None
         and m.opt["version"] == 0 and not m.answer,
         "EDNS version 1: BADVERS with an OPT of version 0", repr(m))
    r = srv.kdig("10.2.0.192.rbl.test", "A", opts=["+edns=1"])
    t.ok(r is not None and not r.answer,
         "kdig +edns=1: no answer records", repr(r))

    m = srv_reply(h.make_query("10.2.0.192.rbl.test", "A", edns=4096,
                               do=True), p)
    t.ok(m is not None and m.rcode == 0 and m.a_set() == ["127.0.0.2"] and
         m.opt is not None and not m.opt["do"] and m.opt["version"] == 0,
         "EDNS with DO: answered, OPT version 0, DO clear", repr(m))
    t.ok(m is not None and m.opt is not None and m.opt["udp"] == 1232,
         "OPT announces edns-buffer-size 1232",
         repr(m.opt if m else m))
    m = srv_reply(h.make_query("10.2.0.192.rbl.test", "A"), p)
    t.ok(m is not None and m.opt is None and m.arcount == 0,
         "no EDNS in the query: no OPT in the reply", repr(m))
    m = srv_reply(h.make_query("1.0.0.127.rbl.test", "A", edns=1232), p)
    t.ok(m is not None and m.rcode_name == "NXDOMAIN" and
         m.opt is not None, "NXDOMAIN with EDNS carries OPT", repr(m))
    srv.stop()


def srv_reply(pkt, port, host="127.0.0.1", timeout=2.0):
    data = h.udp_exchange(pkt, port, host, timeout)
    return h.parse_msg(data) if data else None


def sizes(t):
    srv = main_server()
    p = srv.port
    three = "201.2.0.192.big.test"
    six = "200.2.0.192.big.test"

    m = srv.q(six, "A")
    t.ok(m is not None and m.a_set() == ["127.0.0.126"],
         "six lists: A 127.0.0.126 (all member bits)", repr(m))

    m = srv.q(three, "TXT")
    t.ok(m is not None and m.tc and not m.answer and m.size <= 512,
         "TXT over 512 bytes without EDNS: TC=1, no records, <= 512 B",
         repr(m))
    m = srv.q(three, "TXT", edns=512)
    t.ok(m is not None and m.tc and m.size <= 512 and m.opt is not None,
         "EDNS buffer 512: TC=1 with OPT", repr(m))
    full = srv.q(three, "TXT", edns=1232)
    t.ok(full is not None and not full.tc and
         full.txt_set() == [big_txt(3)] and full.size <= 1232,
         "EDNS buffer 1232: the whole merged TXT",
         "got %r" % (full.txt_set() if full else full))
    t.ok(full is not None and len(full.answer) == 1 and
         all(len(s) <= 255 for s in full.answer[0].value) and
         len(full.answer[0].value) >= 3,
         "a TXT over 255 bytes is split into character-strings",
         repr([len(s) for s in full.answer[0].value]) if full and
         full.answer else repr(full))
    if full is not None and not full.tc:
        n = full.size
        m = srv.q(three, "TXT", edns=n)
        t.ok(m is not None and not m.tc and m.size == n,
             "EDNS buffer exactly the reply size (%d): fits" % n, repr(m))
        m = srv.q(three, "TXT", edns=n - 1)
        t.ok(m is not None and m.tc and m.size <= n - 1,
             "EDNS buffer one byte short (%d): TC=1" % (n - 1), repr(m))
    m = srv.q(six, "TXT", edns=4096)
    t.ok(m is not None and m.tc and m.size <= 1232,
         "client buffer 4096 capped at edns-buffer-size 1232: TC=1",
         repr(m))
    m = srv.q(six, "TXT", tcp=True)
    t.ok(m is not None and not m.tc and m.txt_set() == [big_txt(6)] and
         m.size > 1232, "over TCP: the whole %s-byte answer" %
         (m.size if m else "?"), repr(m))
    m = srv.q("202.2.0.192.big.test", "TXT", edns=100)
    t.ok(m is not None and not m.tc and m.txt_set() == [big_txt(1)],
         "EDNS buffer below 512 counts as 512", repr(m))

    r = srv.kdig(three, "TXT", opts=["+noedns", "+ignore"])
    t.ok(r is not None and r.tc and not r.answer,
         "kdig +noedns +ignore: TC flag", repr(r))
    r = srv.kdig(three, "TXT", opts=["+bufsize=512", "+ignore"])
    t.ok(r is not None and r.tc, "kdig +bufsize=512 +ignore: TC flag",
         repr(r))
    r = srv.kdig(three, "TXT", opts=["+noedns"])
    t.ok(r is not None and not r.tc and r.txt_set() == [big_txt(3)],
         "kdig without EDNS retries over TCP and gets it all", repr(r))
    r = srv.kdig(six, "TXT", opts=["+tcp"])
    t.ok(r is not None and not r.tc and r.txt_set() == [big_txt(6)],
         "kdig +tcp: whole answer", repr(r))
    srv.stop()


ACL_REFUSE = CONF.replace("server:\n", """server:
    access-control: 127.0.0.0/8 refuse
    access-control: 127.0.0.5 allow
""", 1)
ACL_DENY = CONF.replace("server:\n", """server:
    access-control: 127.0.0.0/8 deny
    access-control: 127.0.0.9/32 allow
""", 1)


def acl_refuse(t):
    srv = h.Server(ACL_REFUSE, FILES).start()
    name = "10.2.0.192.rbl.test"
    m = srv.q(name, "A")
    t.ok(m is not None and m.rcode_name == "REFUSED" and not m.answer,
         "access-control refuse: 127.0.0.1 gets REFUSED", repr(m))
    m = srv.q(name, "A", tcp=True)
    t.ok(m is not None and m.rcode_name == "REFUSED",
         "access-control refuse: REFUSED over TCP too", repr(m))
    r = srv.kdig(name, "A")
    t.ok(r is not None and r.status == "REFUSED", "kdig sees REFUSED",
         repr(r) if r else h.kdig.last_error)
    m = srv.q(name, "A", src="127.0.0.5")
    t.ok(m is not None and m.rcode == 0 and m.a_set() == ["127.0.0.2"],
         "more specific allow (127.0.0.5) wins over 127.0.0.0/8 refuse",
         repr(m))
    m = srv.q(name, "A", src="127.0.0.6")
    t.ok(m is not None and m.rcode_name == "REFUSED",
         "127.0.0.6 is still refused", repr(m))
    if srv.v6:
        m = srv.q(name, "A", host="::1")
        t.ok(m is not None and m.rcode == 0 and m.a_set() == ["127.0.0.2"],
             "::1 (default loopback allow) still answered", repr(m))
        r = srv.kdig(name, "A", server="::1")
        t.ok(r is not None and r.a_set() == ["127.0.0.2"],
             "kdig over ::1 answered", repr(r))
    else:
        t.skip("::1 still answered", "no IPv6 loopback")
    srv.stop()


def acl_deny(t):
    srv = h.Server(ACL_DENY, FILES, probe_src="127.0.0.9").start()
    name = "10.2.0.192.rbl.test"
    m = srv.q(name, "A", timeout=1.0)
    t.ok(m is None, "access-control deny: 127.0.0.1 gets no reply", repr(m))
    s = h.tcp_connect(srv.port)
    try:
        s.sendall(h.tcp_frame(h.make_query(name, "A")))
        data = h.tcp_read_msg(s, 1.0)
    finally:
        s.close()
    t.ok(data is None, "access-control deny: no reply over TCP",
         repr(data))
    m = srv.q(name, "A", src="127.0.0.9")
    t.ok(m is not None and m.a_set() == ["127.0.0.2"],
         "allowed 127.0.0.9 answered under 127.0.0.0/8 deny", repr(m))
    if srv.v6:
        m = srv.q(name, "A", host="::1")
        t.ok(m is not None and m.rcode == 0 and m.a_set() == ["127.0.0.2"],
             "::1 still answered under 127.0.0.0/8 deny", repr(m))
    else:
        t.skip("::1 still answered", "no IPv6 loopback")
    srv.stop()


if __name__ == "__main__":
    h.run_suite("protocol", [answers, errors, sizes, acl_refuse, acl_deny])
