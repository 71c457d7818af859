#!/usr/bin/env python3
"""test_escalation -- escalation rules answered by a real rblmuxd (kdig).

Two listed hosts in one /24 of a list file escalate the whole /24: its
bit in the aggregate zone, 127.0.0.2 and the rule's TXT in the served
zone and in the per-result subzone; one host alone escalates nothing;
an excluded host stays unlisted inside the escalated /24; an
allowlisted one answers NXDOMAIN; a reload that drops a host drops the
escalation; an IPv6 rule escalates a /48; `rblmuxctl lookup` shows the
count and the network.
"""
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CONF = """# test_escalation
server:
    listen: 127.0.0.1@@PORT@
    listen: ::1@@PORT@
    control-socket: @TMP@/ctl.sock
    state-dir: @TMP@/state
    cache-dir: @TMP@/cache
    check-interval: 0

local-list:
    name: local
    file: @TMP@/local.ip4set

local-list:
    name: local6
    type: ip6trie
    file: @TMP@/local6.ip6trie

local-list:
    name: mynets
    file: @TMP@/allow.ip4set
    allow: yes

escalation:
    name: local24
    source: local
    prefix: 24
    threshold: 2
    txt: "Entire /24 listed: $count hosts listed in $prefix"

escalation:
    name: nested
    source: local24
    prefix: 16

escalation:
    name: local48
    source: local6
    prefix6: 48
    threshold: 2
    txt: "$count in $prefix, $$5"
    value: 127.0.0.3

zone:
    name: all.rbl.local
    answer: bitmask
    bit: 32 local
    bit: 64 local24
    bit: 128 local48
    exempt: mynets

zone:
    name: each.rbl.local
    answer: each
    result: local24 127.0.0.9

zone:
    name: bl.rbl.local
    serve: local local24 local48
"""
LOCAL = """203.0.113.7
203.0.113.9
198.51.100.20
!203.0.113.11
"""
LOCAL6 = """2001:db8:1:1::7
2001:db8:1:2::9
2001:db8:2::1
"""
ALLOW = "203.0.113.12\n"
TXT = "Entire /24 listed: 2 hosts listed in 203.0.113.0/24"


def write(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


def server(local=LOCAL):
    srv = h.Server(CONF)
    write(srv.path("local.ip4set"), local)
    write(srv.path("local6.ip6trie"), LOCAL6)
    write(srv.path("allow.ip4set"), ALLOW)
    return srv.start()


def a_of(srv, name):
    r = srv.kdig(name, "A")
    return (r.status, r.a_set()) if r is not None else None


def txt_of(srv, name):
    r = srv.kdig(name, "TXT")
    return r.txt_set() if r is not None else None


def expect(t, srv, cases):
    """cases: (address, zone, expected (status, A set) or [TXT], label)"""
    for addr, zone, want, label in cases:
        name = (h.rev6(addr) if ":" in addr else h.rev4(addr)) + "." + zone
        t.eq(a_of(srv, name) if isinstance(want, tuple) else
             txt_of(srv, name), want, label)


NX = ("NXDOMAIN", [])
AGG = "all.rbl.local"
SERVED = "bl.rbl.local"


def aggregate(t):
    srv = server()
    expect(t, srv, [
        ("203.0.113.7", AGG, ("NOERROR", ["127.0.0.96"]),
         "listed host: local + local24 bits"),
        ("203.0.113.200", AGG, ("NOERROR", ["127.0.0.64"]),
         "host in an escalated /24: its bit"),
        ("203.0.113.0", AGG, ("NOERROR", ["127.0.0.64"]),
         "the network address too"),
        ("198.51.100.21", AGG, NX, "one host in a /24: not escalated"),
        ("198.51.100.20", AGG, ("NOERROR", ["127.0.0.32"]),
         "that host: its list's bit only"),
        # exclusions and allowlists win
        ("203.0.113.11", AGG, NX, "an excluded host stays unlisted"),
        ("203.0.113.12", AGG, NX, "an allowlisted host: NXDOMAIN"),
        ("203.0.113.200", "each.rbl.local", ("NOERROR", ["127.0.0.9"]),
         "each zone: the configured value")])
    tx = txt_of(srv, h.rev4("203.0.113.200") + "." + AGG)
    t.ok(tx is not None and len(tx) == 1 and TXT in tx[0],
         "aggregate TXT names the rule's reason", tx)
    srv.stop()


def served_and_subzone(t):
    srv = server()
    sub = "local24." + AGG
    expect(t, srv, [
        ("203.0.113.200", SERVED, ("NOERROR", ["127.0.0.2"]),
         "served zone: 127.0.0.2 for the escalated /24"),
        ("203.0.113.200", SERVED, [TXT], "served zone: the rule's TXT"),
        ("203.0.113.11", SERVED, NX,
         "served zone: the excluded host is not listed"),
        ("203.0.113.200", sub, ("NOERROR", ["127.0.0.2"]),
         "per-result subzone answers the escalation"),
        ("203.0.113.200", sub, [TXT], "per-result subzone: its TXT"),
        ("203.0.113.200", "local." + AGG, NX,
         "the list's own subzone does not list it"),
        ("198.51.100.21", sub, NX, "subzone: one host escalates nothing"),
        # IPv6, /48
        ("2001:db8:1:ffff::1", SERVED, ("NOERROR", ["127.0.0.3"]),
         "IPv6: two hosts in one /48 escalate it, with the rule's value:"),
        ("2001:db8:1:ffff::1", SERVED, ["2 in 2001:db8:1::/48, $5"],
         "IPv6 TXT: $count, $prefix and a literal $$"),
        ("2001:db8:2::2", SERVED, NX,
         "IPv6: one host in a /48 escalates nothing"),
        ("2001:db8:1:ffff::1", AGG, ("NOERROR", ["127.0.0.128"]),
         "IPv6 in the aggregate zone")])
    r = srv.kdig(h.rev4("203.0.113.200") + "." + SERVED, "A")
    t.ok(r is not None and r.aa and r.answer and r.answer[0][2] == 2100,
         "served zone: AA, the list's TTL", r)
    srv.stop()


def reload_drops(t):
    srv = server()
    name = h.rev4("203.0.113.200") + ".all.rbl.local"
    t.eq(a_of(srv, name), ("NOERROR", ["127.0.0.64"]), "escalated first")
    write(srv.path("local.ip4set"), "203.0.113.7\n198.51.100.20\n")
    r = srv.ctl("reload")
    t.ok(r.returncode == 0, "reload", r.stdout + r.stderr)
    t.eq(a_of(srv, name), ("NXDOMAIN", []),
         "a reload that drops a host drops the escalation")
    write(srv.path("local.ip4set"), LOCAL + "198.51.100.30\n")
    srv.ctl("reload")
    t.eq(a_of(srv, h.rev4("198.51.100.1") + ".all.rbl.local"),
         ("NOERROR", ["127.0.0.64"]), "a reload that adds one escalates")
    srv.stop()


def serial_of(srv):
    m = h.query(SERVED, "SOA", srv.port, timeout=1.0)
    soa = m and [r for r in m.answer if r.type == 6]
    return struct.unpack("!I", soa[0].rdata[-20:-16])[0] if soa else None


def rule_changes(t):
    """A reload that changes only a published rule (its value:, its
    txt:) or a file only a rule counts gives the zone a new serial."""
    srv = server()
    v6 = h.rev6("2001:db8:1:ffff::1") + "." + SERVED
    steps = [(CONF.replace("value: 127.0.0.3", "value: 127.0.0.4"),
              None, "value:"),
             (CONF.replace("value: 127.0.0.3", "value: 127.0.0.4")
              .replace('"$count in $prefix, $$5"', '"$count in $prefix"'),
              None, "txt:")]
    for conf, _, what in steps:
        before = serial_of(srv)
        srv.write_conf(conf)
        r = srv.ctl("reload")
        t.ok(r.returncode == 0, "reload with a new %s" % what,
             r.stdout + r.stderr)
        after = serial_of(srv)
        t.ok(before is not None and after is not None and after != before,
             "a new %s: a new serial" % what, (before, after))
    t.eq(a_of(srv, v6), ("NOERROR", ["127.0.0.4"]), "the new value answers")
    r = srv.ctl("lookup", "2001:db8:1:ffff::1", SERVED)
    t.ok("listed 127.0.0.4 ttl" in r.stdout, "lookup shows the rule's value",
         r.stdout)
    srv.stop()
    # a zone that serves only the rule: a change of the file it counts
    only = CONF.replace("serve: local local24 local48", "serve: local24")
    srv = h.Server(only)
    write(srv.path("local.ip4set"), LOCAL)
    write(srv.path("local6.ip6trie"), LOCAL6)
    write(srv.path("allow.ip4set"), ALLOW)
    srv.start()
    before = serial_of(srv)
    write(srv.path("local.ip4set"), LOCAL + "198.51.100.30\n")
    srv.ctl("reload")
    t.ok(serial_of(srv) not in (None, before),
         "a zone of the rule alone: its source file changed, a new serial")
    t.eq(a_of(srv, h.rev4("198.51.100.1") + "." + SERVED),
         ("NOERROR", ["127.0.0.2"]), "and the new escalation answers")
    # an IPv4 rule is an IPv4 source: the zone exports in rbldnsd's form
    r = srv.ctl("export", SERVED, "--format", "rbldnsd")
    t.ok(r.returncode == 0 and "198.51.100.0/24" in r.stdout,
         "a zone of an IPv4 rule exports as rbldnsd data", r.stdout[:300] +
         r.stderr)
    srv.stop()


def lookup_and_log(t):
    srv = server()
    r = srv.ctl("lookup", "203.0.113.200")
    t.ok(r.returncode == 0 and "local24" in r.stdout and
         "2 listed in 203.0.113.0/24 (threshold 2)" in r.stdout and
         TXT in r.stdout, "lookup shows the count and network", r.stdout)
    r = srv.ctl("lookup", "198.51.100.21")
    t.ok("1 listed in 198.51.100.0/24 (threshold 2): not listed" in
         r.stdout, "lookup: below the threshold", r.stdout)
    t.ok("escalation rules are not available" not in srv.log(),
         "no start-up warning for escalation", srv.log_tail(5))
    t.ok("escalation nested: source local24 is an escalation" in
         srv.log(), "an escalation as a source: a warning", srv.log_tail(5))
    srv.stop()


def dynamic(t):
    srv = server(local="198.51.100.20\n")
    name = h.rev4("192.0.2.200") + ".all.rbl.local"
    t.eq(a_of(srv, name), ("NXDOMAIN", []), "nothing in 192.0.2.0/24 yet")
    r = srv.ctl("list", "add", "local", "192.0.2.7")
    t.ok(r.returncode == 0, "list add one", r.stdout + r.stderr)
    t.eq(a_of(srv, name), ("NXDOMAIN", []), "one dynamic host: not yet")
    srv.ctl("list", "add", "local", "192.0.2.9", "--ttl", "1h")
    t.eq(a_of(srv, name), ("NOERROR", ["127.0.0.64"]),
         "two dynamic hosts escalate the /24 at once")
    t.eq(txt_of(srv, h.rev4("192.0.2.200") + ".bl.rbl.local"),
         ["Entire /24 listed: 2 hosts listed in 192.0.2.0/24"],
         "served zone: the TXT counts them")
    # one dynamic and one from the file
    srv.ctl("list", "add", "local", "198.51.100.21")
    t.eq(a_of(srv, h.rev4("198.51.100.1") + ".all.rbl.local"),
         ("NOERROR", ["127.0.0.64"]), "a file host and a dynamic one")
    # the same host in the file and added: counted once
    srv.ctl("list", "add", "local", "198.51.100.20")
    srv.ctl("list", "del", "local", "198.51.100.21")
    t.eq(a_of(srv, h.rev4("198.51.100.1") + ".all.rbl.local"),
         ("NXDOMAIN", []), "a dynamic entry the file has counts once")
    # a reload keeps the dynamic counts
    srv.ctl("reload")
    t.eq(a_of(srv, name), ("NOERROR", ["127.0.0.64"]),
         "after a reload: still escalated")
    r = srv.ctl("list", "del", "local", "192.0.2.9")
    t.ok(r.returncode == 0, "list del", r.stdout + r.stderr)
    t.eq(a_of(srv, name), ("NXDOMAIN", []), "list del of one: not any more")
    # a restart counts the stored entries again
    srv.ctl("list", "add", "local", "192.0.2.9")
    srv.stop()
    srv.start()
    t.eq(a_of(srv, name), ("NOERROR", ["127.0.0.64"]),
         "after a restart the stored entries count")
    srv.stop()


UPDATA = """$SOA 600 ns.one.test. hostmaster.one.test. 1 3600 600 86400 120
$TTL 600
:127.0.0.2:one says $
127.0.0.2
198.51.100.10
198.51.100.11
203.0.113.10
"""
UPCONF = """# test_escalation: upstream sightings
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
    state-dir: @TMP@/state
    cache-dir: @TMP@/cache
    check-interval: 0

resolver:
    forward: 127.0.0.1@@NOWHERE@
    timeout: 1500ms

upstream:
    name: one
    zone: one.test
    server: 127.0.0.1@@UPPORT@

escalation:
    name: one24
    source: one
    threshold: 2
    window: @WINDOW@

zone:
    name: all.rbl.local
    answer: bitmask
    bit: 2 one
    bit: 4 one24
"""


def upstream_window(t):
    up = h.rbldnsd_upstream("one.test", UPDATA)
    srv = h.Server(UPCONF.replace("@UPPORT@", str(up.port))
                   .replace("@NOWHERE@", str(h.free_port(["127.0.0.1"])))
                   .replace("@WINDOW@", "3s"), hosts=["127.0.0.1"])
    srv.start()

    def ask(ip):
        return a_of(srv, h.rev4(ip) + ".all.rbl.local")
    t.eq(ask("198.51.100.99"), ("NXDOMAIN", []), "no sightings yet")
    t.eq(ask("198.51.100.10"), ("NOERROR", ["127.0.0.2"]),
         "the upstream lists one host: seen once")
    t.eq(ask("198.51.100.98"), ("NXDOMAIN", []), "one sighting: not yet")
    # (a query is decided before its own upstream answers come)
    t.eq(ask("198.51.100.11"), ("NOERROR", ["127.0.0.2"]),
         "the second one seen")
    t.eq(ask("198.51.100.11"), ("NOERROR", ["127.0.0.6"]),
         "asked again: its own /24 is escalated too")
    t.eq(ask("198.51.100.99"), ("NOERROR", ["127.0.0.4"]),
         "two upstream listings seen in the /24: escalated")
    t.eq(ask("203.0.113.99"), ("NXDOMAIN", []), "another /24: not")
    r = srv.ctl("lookup", "198.51.100.99")
    t.ok("2 listed in 198.51.100.0/24" in r.stdout,
         "lookup counts the sightings", r.stdout)
    # nothing sees them again: the window ends and the escalation with it
    gone = h.poll_until(lambda: "0 listed in 198.51.100.0/24" in
                        srv.ctl("lookup", "198.51.100.99").stdout, 20.0, 0.5)
    t.ok(gone, "past the window the sightings no longer count")
    t.eq(ask("198.51.100.99"), NX, "no longer escalated")
    # a cached listing used again is a new sighting
    t.eq(ask("198.51.100.10"), ("NOERROR", ["127.0.0.2"]),
         "a cached listing seen again")
    t.eq(ask("198.51.100.11"), ("NOERROR", ["127.0.0.2"]),
         "the other one too")
    t.eq(ask("198.51.100.99"), ("NOERROR", ["127.0.0.4"]),
         "both seen again from the cache: escalated again")
    srv.stop()
    up.stop()


def served_sightings(t):
    """A serve: zone publishing an escalation of upstream sightings: the
    sighting that escalates the /24 gives the zone a new serial and a
    NOTIFY, as a dynamic entry does; so does the end of its window; a
    sighting that changes nothing does not."""
    up = h.rbldnsd_upstream("one.test", UPDATA)
    target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target.bind(("127.0.0.1", 0))
    conf = UPCONF.replace("@UPPORT@", str(up.port)) \
        .replace("@NOWHERE@", str(h.free_port(["127.0.0.1"]))) \
        .replace("@WINDOW@", "4s") + """
zone:
    name: esc.rbl.local
    serve: one24
    soa: ns1.esc.rbl.local. hostmaster.esc.rbl.local. 3600 600 86400 300
    ns: ns1.esc.rbl.local.
    allow-transfer: 127.0.0.1
    notify: 127.0.0.1@%d
""" % target.getsockname()[1]
    srv = h.Server(conf, hosts=["127.0.0.1"])
    srv.start()

    def serial():
        m = h.query("esc.rbl.local", "SOA", srv.port, timeout=1.0)
        if m is None or m.rcode != 0 or not m.answer:
            return None
        return struct.unpack("!I", m.answer[0].rdata[-20:-16])[0]

    def notified(timeout):
        """the serial of the next NOTIFY, or None"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            target.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data, peer = target.recvfrom(4096)
            except socket.timeout:
                return None
            m = h.parse_msg(data)
            # answered, so that it is not sent again
            target.sendto(data[:2] + bytes([data[2] | 0x80]) + data[3:],
                          peer)
            if m.opcode == 4 and m.answer:
                return struct.unpack("!I", m.answer[0].rdata[-20:-16])[0]
        return None

    def ask(ip):
        return a_of(srv, h.rev4(ip) + ".all.rbl.local")
    s0 = serial()
    t.eq(ask("198.51.100.10"), ("NOERROR", ["127.0.0.2"]),
         "one host seen: the /24 not escalated")
    time.sleep(1.5)     # a change would be told within a second
    t.eq(serial(), s0, "a sighting that escalates nothing: the serial "
         "stays %s" % s0)
    t.eq(ask("198.51.100.11"), ("NOERROR", ["127.0.0.2"]),
         "the second host seen")
    prev = s0
    for what, rcode in (("the sighting that escalates the /24", "NOERROR"),
                        ("the window that ends it", "NXDOMAIN")):
        s1 = h.poll_until(lambda: serial() not in (prev, None) and serial(),
                          15.0, 0.1)
        t.ok(s1 and (s1 - prev) % 2**32 < 2**31,
             "%s: a new serial (%s -> %s)" % (what, prev, s1))
        m = h.query(h.rev4("198.51.100.99") + ".esc.rbl.local", "A",
                    srv.port)
        t.ok(m is not None and m.rcode_name == rcode,
             "the served zone answers %s" % rcode, repr(m))
        got = notified(5)
        t.ok(got is not None and got == s1,
             "and a NOTIFY with it (serial %s)" % got)
        prev = s1
    srv.stop()
    up.stop()


if __name__ == "__main__":
    h.run_suite("escalation", [aggregate, served_and_subzone,
                               reload_drops, rule_changes, lookup_and_log, dynamic,
                               upstream_window, served_sightings])
