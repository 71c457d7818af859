#!/usr/bin/env python3
"""test_fakeup -- the upstream stand-ins the upstream suites are built on.

Proves, with kdig and hand-built packets, that each behaviour of
tests/support/fake_upstream.py does what its rules say (codes and TTL,
NXDOMAIN and NODATA with the SOA, SERVFAIL, REFUSED, silence, delays that
hold up nothing else, TC=1 then the answer over TCP, the RFC 5452
misbehaviours sent before the real reply, listing the world, the counts
file, reloading its rules, ending by itself), that harness.rbldnsd_upstream
serves a DNSBL zone, and that harness.Unbound resolves the stub zones
through rbldnsd and through the fake, refusing everything else.
"""
import os
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SOA = {"minimum": 60, "ttl": 30}
RULES = {
    "zones": {"bl.test": {"soa": SOA},
              "world.test": {"*": {"world": True}}},
    "names": {
        "2.0.0.127.bl.test": {"A": {"a": ["127.0.0.2", "127.0.0.4"],
                                    "ttl": 123},
                              "TXT": {"txt": ["listed here"], "ttl": 77}},
        "3.0.0.127.bl.test": {"*": {"rcode": "SERVFAIL"}},
        "4.0.0.127.bl.test": {"*": {"silent": True}},
        "5.0.0.127.bl.test": {"*": {"a": ["127.0.0.5"], "delay_ms": 1500}},
        "6.0.0.127.bl.test": {"*": {"a": ["127.0.0.6"], "truncate": True}},
        "7.0.0.127.bl.test": {"*": {"a": ["127.0.0.7"],
                                    "bad_first": ["id", "qname", "port"]}},
        "8.0.0.127.bl.test": {"*": {"rcode": "REFUSED"}},
        "9.0.0.127.bl.test": {"A": {"a": ["127.255.255.254"]}},
    },
}
LISTED = "2.0.0.127.bl.test"


def soa_minimum(r):
    """(TTL, MINIMUM) of the SOA in a kdig result's authority section."""
    for _, t, ttl, val in r.authority:
        if t == "SOA":
            return ttl, int(str(val).split()[-1])
    return None


def test_codes_ttl_txt(t):
    f = h.FakeUpstream(RULES)
    r = h.kdig(LISTED, "A", f.port)
    t.ok(r is not None and r.status == "NOERROR" and r.aa,
         "A: NOERROR, authoritative", repr(r) + h.kdig.last_error)
    t.eq(r and r.a_set(), ["127.0.0.2", "127.0.0.4"], "A: the codes listed")
    t.eq(r and sorted({ttl for _, _, ttl, _ in r.answer}), [123],
         "A: the TTL given")
    r = h.kdig(LISTED, "TXT", f.port)
    t.eq(r and (r.txt_set(), [ttl for _, _, ttl, _ in r.answer]),
         (["listed here"], [77]), "TXT: the text and its TTL")
    r = h.kdig("9.0.0.127.bl.test", "A", f.port)
    t.eq(r and r.a_set(), ["127.255.255.254"], "an error code as given")


def test_negative(t):
    f = h.FakeUpstream(RULES)
    r = h.kdig("10.2.0.192.bl.test", "A", f.port)
    t.eq(r and (r.status, r.answer, soa_minimum(r)),
         ("NXDOMAIN", [], (30, 60)),
         "a name under the zone without a rule: NXDOMAIN, the zone's SOA "
         "(TTL 30, MINIMUM 60)", repr(r))
    r = h.kdig(LISTED, "AAAA", f.port)
    t.eq(r and (r.status, r.answer, soa_minimum(r)),
         ("NOERROR", [], (30, 60)),
         "a type the name has no rule for: NODATA with the SOA", repr(r))
    r = h.kdig("1.2.3.4.elsewhere.test", "A", f.port)
    t.eq(r and r.status, "REFUSED", "a name under no zone: REFUSED")


def test_servfail_refused(t):
    f = h.FakeUpstream(RULES)
    r = h.kdig("3.0.0.127.bl.test", "A", f.port)
    t.eq(r and (r.status, r.answer), ("SERVFAIL", []), "rcode SERVFAIL")
    r = h.kdig("8.0.0.127.bl.test", "TXT", f.port)
    t.eq(r and (r.status, r.answer), ("REFUSED", []), "rcode REFUSED")


def test_silence(t):
    f = h.FakeUpstream(RULES)
    r = h.kdig("4.0.0.127.bl.test", "A", f.port, opts=["+timeout=1"])
    t.ok(r is None and "timeout" in h.kdig.last_error,
         "silent: kdig times out", repr(r) + h.kdig.last_error)
    st = f.stats()
    t.eq((f.count("4.0.0.127.bl.test", "A", "udp"), st["sent"]), (1, 0),
         "silent: the query was received, nothing was sent")


def test_delay_does_not_block(t):
    f = h.FakeUpstream(RULES)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(h.make_query("5.0.0.127.bl.test", qid=5), ("127.0.0.1",
                                                             f.port))
        # wait until the slow one has been received, then ask the fast one
        t.eq(f.wait_count(1, name="5.0.0.127.bl.test"), 1,
             "delayed query received")
        s.sendto(h.make_query(LISTED, qid=2), ("127.0.0.1", f.port))
        got = []
        s.settimeout(6)
        t0 = time.monotonic()
        while len(got) < 2:
            got.append(h.parse_msg(s.recv(4096)))
        t.eq([(m.id, m.a_set()) for m in got],
             [(2, ["127.0.0.2", "127.0.0.4"]), (5, ["127.0.0.5"])],
             "the query asked later is answered first; the delayed one "
             "follows")
        t.ok(time.monotonic() - t0 > 0.5,
             "the delayed answer did wait (well over 0.5 s of 1.5 s)")
    finally:
        s.close()


def test_truncated(t):
    f = h.FakeUpstream(RULES)
    m = h.query("6.0.0.127.bl.test", "A", f.port)
    t.eq(m and (m.tc, m.answer), (True, []), "UDP: TC=1, no records")
    r = h.kdig("6.0.0.127.bl.test", "A", f.port)
    t.eq(r and (r.tc, r.a_set()), (False, ["127.0.0.6"]),
         "kdig retries over TCP and gets the answer", repr(r))
    t.eq((f.count("6.0.0.127.bl.test", "A", "udp"),
          f.count("6.0.0.127.bl.test", "A", "tcp")), (2, 1),
         "counted per transport: two over UDP, one over TCP")
    m = h.query("6.0.0.127.bl.test", "A", f.port, tcp=True)
    t.eq(m and (m.tc, m.a_set()), (False, ["127.0.0.6"]),
         "TCP asked directly: the whole answer")


def test_misbehaviours(t):
    f = h.FakeUpstream(RULES)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(h.make_query("7.0.0.127.bl.test", qid=0x1234),
                 ("127.0.0.1", f.port))
        got = []
        s.settimeout(3)
        while len(got) < 4:
            try:
                data, peer = s.recvfrom(4096)
            except socket.timeout:
                break
            m = h.parse_msg(data)
            got.append((m.id, m.question[0][0], peer[1] == f.port,
                        m.a_set()))
    finally:
        s.close()
    name = "7.0.0.127.bl.test."
    want = [(0x1235, name, True, ["127.0.0.7"]),
            (0x1234, "wrong." + name, True, ["127.0.0.7"]),
            (0x1234, name, False, ["127.0.0.7"]),
            (0x1234, name, True, ["127.0.0.7"])]
    t.eq(got, want, "a wrong ID, a wrong question, another source port, "
         "then the right reply, in that order")
    h.poll_until(lambda: f.stats()["sent"] >= 4, 5, 0.02)
    t.eq(f.stats()["sent"], 4, "four datagrams sent for one query")


def test_world(t):
    f = h.FakeUpstream(RULES)
    r = h.kdig("1.2.3.4.world.test", "A", f.port)
    t.eq(r and r.a_set(), ["127.0.0.2"], "a world zone lists everything")
    f.set_rules({"world": True})
    res = [h.kdig(n, "A", f.port) for n in
           ("1.2.0.192.bl.test", "3.0.0.127.bl.test", "x.anything.test")]
    t.eq([r and r.a_set() for r in res], [["127.0.0.2"]] * 3,
         "world: true lists every name, whatever the other rules")


def test_counts_file(t):
    f = h.FakeUpstream(RULES)
    for _ in range(3):
        h.query(LISTED, "A", f.port)
    h.query(LISTED, "TXT", f.port)
    h.query(LISTED, "A", f.port, tcp=True)
    h.query("Other.BL.test", "A", f.port)
    t.eq(f.counts(), {(LISTED, "A", "udp"): 3, (LISTED, "TXT", "udp"): 1,
                      (LISTED, "A", "tcp"): 1,
                      ("other.bl.test", "A", "udp"): 1},
         "counts per (lower-case name, type, transport), no waiting")
    st = f.stats()
    t.eq((st["total"], st["log"][-1]), (6, ["other.bl.test", "A", "udp"]),
         "total and the log of queries in order")
    # garbage: counted as malformed, never answered, the fake goes on
    junk = [b"", b"\x00", os.urandom(11), h.make_query(LISTED, qr=True),
            h.make_query(LISTED, qdcount=0), h.make_query(LISTED)[:-3],
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c"
            b"\x00\x01\x00\x01", bytes(12) + b"\x40" + bytes(70)]
    replies = [h.udp_exchange(p, f.port, timeout=0.3) for p in junk
               if p]
    t.eq(replies, [None] * len(replies), "malformed queries get no reply")
    c = h.tcp_connect(f.port)
    try:
        c.sendall(h.tcp_frame(b"\x01\x02\x03"))
    finally:
        c.close()
    h.poll_until(lambda: f.stats()["malformed"] >= len(replies) + 1, 5,
                 0.02)
    t.eq((f.stats()["malformed"], f.stats()["total"]),
         (len(replies) + 1, 6), "malformed ones counted apart")
    r = h.kdig(LISTED, "A", f.port)
    t.eq(r and r.a_set(), ["127.0.0.2", "127.0.0.4"],
         "still answering after the garbage")
    f.reset()
    t.eq((f.counts(), f.stats()["total"]), ({}, 0), "reset: counts zero")


def test_rules_reload(t):
    f = h.FakeUpstream(RULES)
    f.set_rules({"names": {LISTED: {"A": {"a": ["127.0.0.9"]}}}})
    r = h.kdig(LISTED, "A", f.port)
    t.eq(r and r.a_set(), ["127.0.0.9"], "SIGHUP: new rules in use")
    # without a signal: a new mtime is enough
    time.sleep(0.02)
    f._write_rules({"names": {LISTED: {"A": {"a": ["127.0.0.10"]}}}})
    st = os.stat(f.rules_path)
    os.utime(f.rules_path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    got = h.poll_until(lambda: (h.kdig(LISTED, "A", f.port) or
                                h.kdig).a_set() == ["127.0.0.10"], 5, 0.1)
    t.ok(got, "a changed mtime: new rules in use without a signal")
    with open(f.rules_path, "w") as fh:
        fh.write("{broken")
    f.proc.send_signal(signal.SIGHUP)
    h.poll_until(lambda: f.stats()["rules_error"], 5, 0.02)
    t.ok(f.stats()["rules_error"], "a broken rules file is reported")
    r = h.kdig(LISTED, "A", f.port)
    t.eq(r and r.a_set(), ["127.0.0.10"], "... and the last good rules stay")


def test_bad_rule(t):
    f = h.FakeUpstream({"zones": {"bl.test": {}}, "names": {
        "a.bl.test": {"A": {"a": ["999.1.1.1"]}},
        "b.bl.test": {"A": {"a": ["127.0.0.2"], "delay_ms": "soon"}},
        "c.bl.test": {"A": {"a": ["127.0.0.2"], "ttl": "x",
                            "delay_ms": 100}},
        "d.bl.test": {"A": {"a": ["127.0.0.4"], "delay_ms": 100}}}})
    t.eq(h.query("a.bl.test", "A", f.port, timeout=0.5), None,
         "a rule with a bad address: no answer")
    t.eq(h.query("c.bl.test", "A", f.port, timeout=0.5), None,
         "a delayed rule with a bad TTL: no answer")
    m = h.query("b.bl.test", "A", f.port)
    t.eq(m and m.a_set(), ["127.0.0.2"], "a bad delay: answered at once")
    m = h.query("d.bl.test", "A", f.port, timeout=2)
    t.eq((m and m.a_set(), f.alive()), (["127.0.0.4"], True),
         "delayed answers go on after a failed one")


def test_lifetime_and_term(t):
    f = h.FakeUpstream(RULES, lifetime=1)
    try:
        rc = f.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    t.eq(rc, 0, "--lifetime 1: exits by itself")
    f = h.FakeUpstream(RULES)
    f.proc.send_signal(signal.SIGTERM)
    try:
        rc = f.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    t.eq(rc, 0, "SIGTERM: exits")


ZONE_DATA = """$SOA 600 ns.bl.test. hostmaster.bl.test. 1 3600 600 86400 120
$TTL 900
:127.0.0.2:Listed: see http://example.invalid/?$
127.0.0.2
192.0.2.10
192.0.2.11 :127.0.0.4:Other reason
"""


def test_rbldnsd_upstream(t):
    r = h.rbldnsd_upstream("bl.test", ZONE_DATA)
    k = h.kdig("2.0.0.127.bl.test", "A", r.port)
    t.eq(k and (k.status, k.a_set()), ("NOERROR", ["127.0.0.2"]),
         "rbldnsd: the test point 127.0.0.2 is listed")
    k = h.kdig("11.2.0.192.bl.test", "A", r.port)
    t.eq(k and (k.a_set(), [ttl for _, _, ttl, _ in k.answer]),
         (["127.0.0.4"], [900]), "rbldnsd: a listed address, its code and "
         "TTL")
    k = h.kdig("10.2.0.192.bl.test", "TXT", r.port)
    t.eq(k and k.txt_set(),
         ["Listed: see http://example.invalid/?192.0.2.10"],
         "rbldnsd: TXT with the address")
    k = h.kdig("12.2.0.192.bl.test", "A", r.port)
    t.eq(k and (k.status, soa_minimum(k)), ("NXDOMAIN", (120, 120)),
         "rbldnsd: not listed, NXDOMAIN with the SOA", repr(k))
    r.stop()
    t.eq(h.query("2.0.0.127.bl.test", "A", r.port, timeout=0.5), None,
         "rbldnsd stopped: no answer")
    r.start()
    k = h.kdig("11.2.0.192.bl.test", "A", r.port)
    t.eq(k and k.a_set(), ["127.0.0.4"], "rbldnsd started again, same port")


def test_unbound_forwarding(t):
    tmp = h.make_tmpdir()
    r = h.rbldnsd_upstream("bl.test", ZONE_DATA, tmp=tmp)
    f = h.FakeUpstream({"zones": {"fake.test": {"soa": SOA}}, "names": {
        "2.0.0.127.fake.test": {"A": {"a": ["127.0.0.2"], "ttl": 300}},
        "6.0.0.127.fake.test": {"A": {"a": ["127.0.0.6"],
                                      "truncate": True}}}}, tmp=tmp)
    u = h.Unbound({"bl.test": r.port, "fake.test": f.port}, tmp=tmp)
    k = h.kdig("11.2.0.192.bl.test", "A", u.port)
    t.eq(k and (k.status, k.ra, k.a_set()), ("NOERROR", True, ["127.0.0.4"]),
         "Unbound -> rbldnsd: the listed code", repr(k))
    k = h.kdig("12.2.0.192.bl.test", "A", u.port)
    t.eq(k and (k.status, k.soa_in_authority()), ("NXDOMAIN", True),
         "Unbound -> rbldnsd: NXDOMAIN with the SOA")
    k = h.kdig("2.0.0.127.fake.test", "A", u.port)
    t.eq(k and k.a_set(), ["127.0.0.2"], "Unbound -> fake: the code")
    h.kdig("2.0.0.127.fake.test", "A", u.port)
    t.eq(f.counts(), {("2.0.0.127.fake.test", "A", "udp"): 1},
         "the fake saw exactly the name asked, once (the second answer came "
         "from Unbound's cache)")
    k = h.kdig("6.0.0.127.fake.test", "A", u.port)
    t.eq((k and k.a_set(), f.count("6.0.0.127.fake.test", "A", "tcp")),
         (["127.0.0.6"], 1), "Unbound retries a truncated reply over TCP")
    k = h.kdig("example.com", "A", u.port)
    t.eq(k and k.status, "REFUSED", "names outside the stub zones refused")
    t.eq(f.stats()["total"], 3, "nothing else reached the fake")


if __name__ == "__main__":
    h.run_suite("test_fakeup", [
        test_codes_ttl_txt, test_negative, test_servfail_refused,
        test_silence, test_delay_does_not_block, test_truncated,
        test_misbehaviours, test_world, test_counts_file, test_rules_reload,
        test_bad_rule, test_lifetime_and_term, test_rbldnsd_upstream,
        test_unbound_forwarding,
    ])
