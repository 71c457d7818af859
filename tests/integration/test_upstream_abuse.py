#!/usr/bin/env python3
"""test_upstream_abuse -- rblmuxd's upstream client against careless
settings, hostile upstreams and reloads that change an upstream while it
is being asked.

Setups come from test_upstream.py (fake_rules, Setup, ask, bits); the
fake upstream (tests/support/fake_upstream.py) counts every question, so
"asked once" needs no timing.
"""
import os
import re
import resource
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_upstream as tu  # noqa: E402

X = tu.X
Y = tu.Y


def with_conf(setup, old, new):
    """Setup whose config has line `old` replaced by `new`."""
    assert old in setup.srv.conf_text
    setup.srv.conf_text = setup.srv.conf_text.replace(old, new)
    setup.srv.write_conf(setup.srv.conf_text)
    return setup


def cache_records(srv):
    m = re.search(r"^cache: (\d+) records", srv.ctl("status").stdout, re.M)
    return int(m.group(1)) if m else -1


def cache_records_any(srv):
    return cache_records(srv) >= 1


def test_negative_ttl_max_zero(t):
    """negative-ttl-max: 0 is "no limit beyond the SOA": a negative
    upstream answer is cached for the SOA's minimum, not for 0 s."""
    tmp = h.make_tmpdir()
    fake = h.FakeUpstream(tu.fake_rules("nz.test", soa_min=60), tmp=tmp)
    s = tu.Setup([("nz", "nz.test", fake.port, [])],
                 ["bit: %d nz" % tu.B_FAKE], tmp=tmp)
    srv = with_conf(s, "negative-ttl-max: 15m", "negative-ttl-max: 0").start()
    t.eq(tu.bits(tu.ask(srv, Y)), 0, "not listed")
    t.eq(tu.bits(tu.ask(srv, Y)), 0, "not listed again")
    t.eq(tu.subject_count(fake, Y, "nz.test", "A"), 1,
         "the repeat is answered from the cache (SOA minimum 60 s)")


def test_zone_changed_while_asked(t):
    """A reload that moves an upstream to another zone and reorders its
    codes while a lookup of the old zone is in flight: the old zone's
    answer serves the query that asked it, mapped with the codes of the
    config it was read under, and is never taken for the new zone's."""
    tmp = h.make_tmpdir()
    rules = tu.fake_rules("za.test", {
        X: {"A": {"a": ["127.0.0.2"], "ttl": 600, "delay_ms": 1500}}})
    rb = tu.fake_rules("zb.test")
    rules["zones"].update(rb["zones"])
    rules["names"].update(rb["names"])
    fake = h.FakeUpstream(rules, tmp=tmp)
    codes = ["code: 127.0.0.3 c3", "code: 127.0.0.2 c2"]
    s = tu.Setup([("zz", "za.test", fake.port, codes)],
                 ["bit: %d c2" % tu.B_FAKE], tmp=tmp, timeout="3s",
                 attempts=1)
    srv = s.start()
    t.ok(tu.wait_state(srv, "zz", "up")[0], "upstream up")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(h.make_query(h.rev4(X) + ".all.test", "A", qid=1),
                ("127.0.0.1", srv.port))
    t.ok(h.poll_until(lambda: tu.subject_count(fake, X, "za.test") == 1,
                      5, 0.02), "the old zone is asked")
    srv.write_conf(s.srv.conf_text.replace("zone: za.test", "zone: zb.test")
                   .replace("\n".join("    " + c for c in codes),
                            "\n".join("    " + c for c in codes[::-1])))
    srv.hup()
    t.ok(h.poll_until(lambda: "reloaded" in srv.log(), 5, 0.02),
         "reloaded while the lookup waits")
    sock.settimeout(5)
    m = h.parse_msg(sock.recv(4096))
    sock.close()
    t.eq(tu.bits(m), tu.B_FAKE, "the query asked under the old zone is "
         "answered with its answer")
    # the cache's writer thread stores the answer a moment later
    t.ok(h.poll_until(lambda: cache_records(srv) >= 1, 5, 0.05),
         "the answer is stored")
    t.eq(tu.bits(tu.ask(srv, X)), 0, "the new zone's answer: not listed")
    t.eq(tu.subject_count(fake, X, "zb.test"), 1, "the new zone was asked")


def test_disabled_while_txt_asked(t):
    """A listing whose TXT is still being asked when the upstream gets
    disabled (an error code in another answer) is not delivered: a
    disabled upstream's bit never shows."""
    tmp = h.make_tmpdir()
    fake = h.FakeUpstream(tu.fake_rules("dt.test", {
        X: {"A": {"a": ["127.0.0.2"]}, "TXT": {"silent": True}},
        Y: {"A": {"a": ["127.255.255.254"]}}}), tmp=tmp)
    srv = tu.Setup([("dt", "dt.test", fake.port, [])],
                   ["bit: %d dt" % tu.B_FAKE], tmp=tmp, timeout="2s",
                   attempts=1).start()
    t.ok(tu.wait_state(srv, "dt", "up")[0], "upstream up")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(h.make_query(h.rev4(X) + ".all.test", "TXT", qid=1),
                ("127.0.0.1", srv.port))
    t.ok(h.poll_until(lambda: tu.subject_count(fake, X, "dt.test", "TXT")
                      == 1, 5, 0.02), "listed; its TXT is asked")
    t.eq(tu.bits(tu.ask(srv, Y)), 0, "an error code: not listed")
    t.eq(tu.upstream_status(srv, "dt")[1], "disabled", "and disabled")
    sock.settimeout(5)
    m = h.parse_msg(sock.recv(4096))
    sock.close()
    t.eq((m.rcode_name, m.txt_set()), ("NXDOMAIN", []),
         "the listing of the disabled upstream is not delivered")


def test_any_asks_no_txt(t):
    """ANY is answered with the A records alone (RFC 8482), so an ANY
    query for a listed subject costs the upstream no TXT question: only
    a TXT query does. Both the aggregate zone and the mirror."""
    tmp = h.make_tmpdir()
    fake = h.FakeUpstream(tu.fake_rules("an.test", {
        X: {"A": {"a": ["127.0.0.2"]}, "TXT": {"txt": ["why"]}}}), tmp=tmp)
    srv = tu.Setup([("an", "an.test", fake.port, ["mirror: yes"])],
                   ["bit: %d an" % tu.B_FAKE], tmp=tmp).start()
    for zone in ("all.test", "an.test"):
        m = tu.ask(srv, X, zone=zone, qtype="ANY")
        t.eq(m and (m.rcode_name, len(m.a_set())), ("NOERROR", 1),
             "%s: ANY answered with the A record" % zone)
    t.eq((tu.subject_count(fake, X, "an.test", "A"),
          tu.subject_count(fake, X, "an.test", "TXT")), (1, 0),
         "one A question, no TXT question")
    m = tu.ask(srv, X, zone="an.test", qtype="TXT")
    t.eq(m and m.txt_set(), ["why"], "a TXT query gets the TXT")
    t.eq(tu.subject_count(fake, X, "an.test", "TXT"), 1,
         "asked TXT once, for the TXT query")


def stat(srv, name):
    for line in srv.ctl("stats").stdout.splitlines():
        k, _, v = line.partition(": ")
        if k == name:
            return int(v)
    return None


def test_txt_without_socket(t):
    """Out of descriptors, the TXT question for a listing the cache
    holds cannot be sent: the listing is answered at once, and the
    upstream is not charged with a timeout (nor marked down)."""
    tmp = h.make_tmpdir()
    fake = h.FakeUpstream(tu.fake_rules("fd.test", {
        X: {"A": {"a": ["127.0.0.2"]}, "TXT": {"txt": ["why"]}}}), tmp=tmp)
    srv = tu.Setup([("fd", "fd.test", fake.port, [])],
                   ["bit: %d fd" % tu.B_FAKE], tmp=tmp, timeout="3s",
                   attempts=2).start()
    t.eq(tu.bits(tu.ask(srv, X)), tu.B_FAKE, "listed (A cached)")
    t.ok(h.poll_until(lambda: cache_records_any(srv), 5, 0.05),
         "the listing is stored")
    # the soft limit alone: lowering the hard one could not be undone
    used = h.open_fds(srv.pid)
    h.run(["prlimit", "--pid", str(srv.pid), "--nofile=%d:" % used])
    m = tu.ask(srv, X, qtype="TXT", timeout=6)
    h.run(["prlimit", "--pid", str(srv.pid), "--nofile=1024:"])
    t.eq(m and m.rcode_name, "NOERROR", "TXT query: listed", repr(m))
    t.eq((stat(srv, "upstream.timeouts"), stat(srv, "upstream.failed")),
         (0, 1), "no timeout counted; one lookup failed for want of a "
         "socket")
    t.eq(tu.upstream_status(srv, "fd")[1], "up", "the upstream stays up")
    t.eq(tu.subject_count(fake, X, "fd.test", "TXT"), 0, "nothing sent")


def test_family_only(t):
    """A zone with an IPv4 and an IPv6 upstream: each is asked about its
    own family only (an IPv4 list never sees a nibble name, nor an IPv6
    list a reversed IPv4 address); the other contributes nothing and
    makes no answer partial."""
    tmp = h.make_tmpdir()
    rules = tu.fake_rules("f4.test")
    rules["zones"]["f6.test"] = {"soa": {"minimum": 60, "ttl": 60}}
    rules["names"][h.rev6("::ffff:127.0.0.2") + ".f6.test"] = {
        "A": {"a": ["127.0.0.2"]}}
    six = "2001:db8::5"
    rules["names"][h.rev6(six) + ".f6.test"] = {"A": {"a": ["127.0.0.2"]}}
    fake = h.FakeUpstream(rules, tmp=tmp)
    srv = tu.Setup([("f4", "f4.test", fake.port, []),
                    ("f6", "f6.test", fake.port, ["family: ip6"])],
                   ["bit: 2 f4", "bit: 4 f6"], tmp=tmp).start()
    for n in ("f4", "f6"):
        t.ok(tu.wait_state(srv, n, "up")[0], "%s up" % n)
    m = h.query(h.rev6(six) + ".all.test", "A", srv.port)
    t.eq(tu.bits(m), 4, "IPv6 subject: the IPv6 list's bit", repr(m))
    t.ok(m is not None and tu.ttl_of(m) > 30, "a full answer, not a "
         "partial one", repr(m))
    t.eq(tu.bits(tu.ask(srv, X)), 0, "IPv4 subject: not listed")
    counts = fake.stats()["counts"]
    t.eq(sorted(k for k in counts if h.rev6(six) in k or h.rev4(X) in k),
         [h.rev4(X) + ".f4.test A udp", h.rev6(six) + ".f6.test A udp"],
         "each list asked about its own family only")


def test_stale_txt(t):
    """A listing whose lookup fails after expiry is served stale with
    its stored TXT, byte for byte (the text must outlive the lookup that
    read it from the cache)."""
    tmp = h.make_tmpdir()
    why = "listed for a reason that is long enough to notice damage " * 3
    rules = tu.fake_rules("sx.test", {
        X: {"A": {"a": ["127.0.0.2"], "ttl": 2},
            "TXT": {"txt": [why], "ttl": 2}}})
    fake = h.FakeUpstream(rules, tmp=tmp)
    srv = tu.Setup([("sx", "sx.test", fake.port, ["mirror: yes"])],
                   ["bit: %d sx" % tu.B_FAKE], tmp=tmp, timeout="500ms",
                   attempts=1).start()
    m = tu.ask(srv, X, zone="sx.test", qtype="TXT")
    t.eq(m and m.txt_set(), [why], "the TXT, fresh")
    t.ok(h.poll_until(lambda: cache_records_any(srv), 5, 0.05),
         "stored")
    rules["names"][h.rev4(X) + ".sx.test"] = {"*": {"silent": True}}
    fake.set_rules(rules)
    # once expired (TTL 2), the silent upstream is asked again and the
    # stale entry answers
    got = []
    t.ok(h.poll_until(lambda: got.append(tu.ask(srv, X, zone="sx.test",
                                                 qtype="TXT")) or
                      tu.subject_count(fake, X, "sx.test", "A") >= 2, 15,
                      0.25),
         "asked again after expiry")
    m = tu.ask(srv, X, zone="sx.test", qtype="TXT") if got[-1] is None \
        else got[-1]
    t.eq(m and (m.rcode_name, m.txt_set()), ("NOERROR", [why]),
         "the stale TXT, unchanged", repr(m))
    t.ok(m is not None and 0 < tu.ttl_of(m) <= tu.STALE_TTL,
         "with the stale TTL", repr(m))


def test_probe_without_socket(t):
    """Health probes that cannot be sent for want of descriptors say
    nothing of the upstream: it is not marked down, and is asked."""
    tmp = h.make_tmpdir()
    fake = h.FakeUpstream(tu.fake_rules("pf.test", {
        X: {"A": {"a": ["127.0.0.2"]}}}), tmp=tmp)

    def setup():
        return tu.Setup([("pf", "pf.test", fake.port, [])],
                        ["bit: %d pf" % tu.B_FAKE], tmp=h.make_tmpdir())
    srv = setup().start()
    t.ok(tu.wait_state(srv, "pf", "up")[0], "with descriptors: up")
    used = h.open_fds(srv.pid)
    srv.stop()
    # one descriptor to spare: the first probe goes, the other two
    # cannot; a control client fits once it is done
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + 1, hard))
    try:
        srv = setup().start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    t.ok(h.poll_until(lambda: (stat(srv, "upstream.failed") or 0) >= 2, 10,
                      0.05), "probes without a socket fail")
    h.run(["prlimit", "--pid", str(srv.pid), "--nofile=%d:" % soft])
    t.ok(tu.upstream_status(srv, "pf")[1] != "down", "not marked down",
         tu.upstream_status(srv, "pf")[0])
    t.eq(tu.bits(tu.ask(srv, X)), tu.B_FAKE, "asked: listed")


def main():
    tests = [test_negative_ttl_max_zero, test_zone_changed_while_asked,
             test_disabled_while_txt_asked, test_any_asks_no_txt,
             test_txt_without_socket, test_family_only, test_stale_txt,
             test_probe_without_socket]
    only = sys.argv[1:]
    if only:
        tests = [fn for fn in tests if fn.__name__ in only]
    h.run_suite("test_upstream_abuse", tests)


if __name__ == "__main__":
    main()
