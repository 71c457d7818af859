#!/usr/bin/env python3
"""test_xfr -- the served zone published to real secondaries.

rblmuxd serves bl.test (an ip4set with /32s, /24 and /16 blocks, a /24
and /32s inside a /16 block, exclusions, TXT with "$"; an ip4trie with
prefixes off the octet boundaries; an ip6trie) to a real NSD and a real
Knot started here on loopback high ports, each with its own config and
state in the temp dir, with a dnset list (exact names, wildcards, a
name both, exclusions, entries below a wildcard) served in it too.
Checked: both transfer the zone and answer a sample of listed and
unlisted addresses and names exactly like rblmuxd (rcode, A and TXT;
a name not listed may be NOERROR or NXDOMAIN), a dynamic name entry too; a rewritten list plus a reload grows the serial, NOTIFY
reaches both and they answer the new data; AXFR from 127.0.0.2 (not in
allow-transfer) and over UDP is REFUSED; IXFR at the current serial is
one SOA, at an older one the whole zone; a transfer cut halfway and one
whose client never reads leave UDP answered. Every wait is bounded.
"""
import os
import shutil
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"

ZONE = "bl.test"

LIST4 = """\
:127.0.0.2:Listed $
192.0.2.1
192.0.2.2 :127.0.0.3:Second
198.51.100.0/24 :127.0.0.4:Whole /24
!198.51.100.7
203.0.0.0/16 :127.0.0.5:Block
198.51.101.0/24 :127.0.0.13:Net
203.0.113.0/24 :127.0.0.6:Inner /24
203.0.114.9 :127.0.0.7:Inner host $
!203.0.115.1
"""

TRIE4 = """\
198.18.0.0/20 :127.0.0.8:Trie /20
198.18.4.0/22 :127.0.0.9:Trie /22
198.18.4.128/25 :127.0.0.10:Trie /25
192.0.2.1/32 :127.0.0.11:Also in the trie
"""

LIST6 = """\
2001:db8::/32 :127.0.0.2:v6 block
2001:db8:1::/48 :127.0.0.3:v6 inner
2001:db8:4::/124 :127.0.0.4:v6 net $
!2001:db8:2::/48
2001:db8::5 :127.0.0.4:v6 host
"""

NAMES = """\
:127.0.0.2:Name $
spam.example.com :127.0.0.3:Exact $
*.bad.example :127.0.0.4:Wild $
mail.bad.example :127.0.0.5:Mail
!.good.bad.example
.both.example :127.0.0.6:Both $
deep.host.sub.bad.example :127.0.0.7:Deep
odd(x);y.example :127.0.0.8:Odd
"""

NAME_SAMPLE = ["spam.example.com", "example.com", "other.example.com",
               "x.bad.example", "y.x.bad.example", "bad.example",
               "mail.bad.example", "z.mail.bad.example",
               "good.bad.example", "x.good.bad.example",
               "sub.bad.example", "host.sub.bad.example",
               "q.host.sub.bad.example", "deep.host.sub.bad.example",
               "both.example", "a.both.example", "nothing.example",
               "odd(x);y.example", "test", "invalid"]

CONF = """\
server:
    listen: 127.0.0.1@@PORT@
    directory: @TMP@
    control-socket: @TMP@/ctl.sock
    state-dir: @TMP@/
    cache-dir: @TMP@/
local-list:
    name: four
    file: four.ip4set
local-list:
    name: trie
    type: ip4trie
    file: trie.ip4trie
local-list:
    name: six
    type: ip6trie
    file: six.ip6
local-list:
    name: big
    file: big.ip4set
local-list:
    name: names
    type: dnset
    file: names.dnset
escalation:
    name: esc
    source: four
    prefix: 24
    threshold: 2
    txt: "Whole $prefix: $count hosts"
    value: 127.0.0.5
zone:
    name: bl.test
    serve: four trie six big esc names
    soa: ns1.bl.test. hostmaster.bl.test. 3600 600 86400 300
    ns: ns1.bl.test.
    allow-transfer: 127.0.0.1
@NOTIFY@
"""

SAMPLE4 = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "198.51.100.1",
           "198.51.100.7", "198.51.100.255", "203.0.1.1", "203.0.113.5",
           "203.0.114.9", "203.0.114.10", "203.0.115.1", "203.0.115.2",
           "203.1.0.1", "198.18.1.1", "198.18.4.1", "198.18.4.200",
           "198.18.16.1", "198.51.101.77", "127.0.0.2", "127.0.0.1",
           "10.0.0.1"]
SAMPLE6 = ["2001:db8::5", "2001:db8::6", "2001:db8:1::1", "2001:db8:2::1",
           "2001:db8:3::1", "2001:db8:4::9", "2001:db9::1",
           "::ffff:7f00:2", "::ffff:7f00:1"]


def names():
    return [h.rev4(a) + "." + ZONE for a in SAMPLE4] + \
        [h.rev6(a) + "." + ZONE for a in SAMPLE6]


def answer(port, name, qtype):
    """(rcode, A set, TXT set) of a UDP query, asked again on silence,
    and on SERVFAIL for up to 5 s: a secondary that has just loaded a
    zone may still answer a moment from a server process without it."""
    deadline = time.monotonic() + 5
    got = None
    while time.monotonic() < deadline:
        m = h.query(name, qtype, port, timeout=1.0)
        if m is not None:
            got = (m.rcode_name, m.a_set(), m.txt_set())
            if m.rcode_name != "SERVFAIL":
                break
        time.sleep(0.1)
    return got


def soa_serial(port):
    m = h.query(ZONE, "SOA", port, timeout=0.5)
    if m is None or m.rcode != 0:
        return None
    for r in m.answer:
        if r.type == 6:
            return struct.unpack("!I", r.rdata[-20:-16])[0]
    return None


def wait_serial(port, serial, secs=30):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        got = soa_serial(port)
        if got == serial:
            return True
        time.sleep(0.1)
    return False


class Nsd(h.Helper):
    """NSD as a secondary of bl.test on 127.0.0.1:port, in dir d."""

    name = "nsd"

    def __init__(self, d, master, port):
        self.port = port
        self.dir = d
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "nsd.conf")
        with open(conf, "w") as f:
            f.write("""\
server:
    ip-address: 127.0.0.1@%(port)d
    port: %(port)d
    username: ""
    chroot: ""
    zonesdir: "%(d)s"
    database: ""
    pidfile: "%(d)s/nsd.pid"
    xfrdfile: "%(d)s/xfrd.state"
    xfrdir: "%(d)s"
    zonelistfile: "%(d)s/zone.list"
    server-count: 1
    verbosity: 2
    hide-version: yes
remote-control:
    control-enable: no
zone:
    name: %(zone)s
    zonefile: "%(d)s/%(zone)s.zone"
    request-xfr: AXFR 127.0.0.1@%(master)d NOKEY
    allow-notify: 127.0.0.1 NOKEY
""" % {"port": self.port, "d": d, "zone": ZONE, "master": master})
        self.proc = None
        self.logf = None
        self.spawn([NSD, "-d", "-c", conf], os.path.join(d, "nsd.log"),
                   cwd=d)


class Knot(h.Helper):
    """Knot as a secondary of bl.test on 127.0.0.1:port, in dir d."""

    name = "knotd"

    def __init__(self, d, master, port):
        self.port = port
        self.dir = d
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "knot.conf")
        with open(conf, "w") as f:
            f.write("""\
server:
    rundir: "%(d)s"
    listen: 127.0.0.1@%(port)d
database:
    storage: "%(d)s"
log:
  - target: stderr
    any: info
remote:
  - id: master
    address: 127.0.0.1@%(master)d
acl:
  - id: notify_from_master
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "%(d)s"
zone:
  - domain: %(zone)s
    master: master
    acl: notify_from_master
""" % {"port": self.port, "d": d, "zone": ZONE, "master": master})
        self.proc = None
        self.logf = None
        self.spawn([KNOTD, "-c", conf], os.path.join(d, "knot.log"), cwd=d)


def setup(big=0):
    """A server on CONF; big: that many hosts in 198.19.0.0/16 (RFC 2544
    space) in list big, for a zone larger than the socket buffers."""
    srv = h.Server(CONF)
    with open(srv.path("big.ip4set"), "w") as f:
        f.write(":127.0.0.2:Listed $ for benchmarking\n")
        for i in range(big):
            f.write("198.19.%d.%d\n" % (i // 256 % 256, i % 256))
    with open(srv.path("four.ip4set"), "w") as f:
        f.write(LIST4)
    with open(srv.path("trie.ip4trie"), "w") as f:
        f.write(TRIE4)
    with open(srv.path("six.ip6"), "w") as f:
        f.write(LIST6)
    with open(srv.path("names.dnset"), "w") as f:
        f.write(NAMES)
    return srv


def start(srv, notify):
    text = srv.conf_text.replace("@NOTIFY@", "".join(
        "    notify: 127.0.0.1@%d\n" % p for p in notify))
    srv.conf_text = text
    srv.write_conf(text)
    srv.start()
    return srv


def same(want, got):
    """Answers alike: a name listed in neither may differ in rcode (an
    excluded name under a wildcard exists in the records, NOERROR)."""
    if want is None or got is None or want[1:] != got[1:]:
        return False
    return want[0] == got[0] or (not want[1] and not want[2] and
                                 {want[0], got[0]} <= {"NOERROR",
                                                       "NXDOMAIN"})


def compare(t, srv, sec, label):
    bad = []
    addrs = names()
    sample = addrs + [n + "." + ZONE for n in NAME_SAMPLE]
    for name in sample:
        for qtype in ("A", "TXT"):
            want = answer(srv.port, name, qtype)
            got = answer(sec.port, name, qtype)
            if want != got if name in addrs else not same(want, got):
                bad.append("%s %s: rblmuxd %r, %s %r" % (name, qtype, want,
                                                         label, got))
    t.ok(not bad, "%s answers %d names like rblmuxd" % (label,
                                                         2 * len(sample)),
         bad)


def secondaries(t):
    srv = setup()
    nsd_port = h.free_port(["127.0.0.1"])
    knot_port = h.free_port(["127.0.0.1"])
    start(srv, [nsd_port, knot_port])
    serial = soa_serial(srv.port)
    t.ok(serial is not None, "rblmuxd has a SOA serial", srv.log_tail())

    nsd = Nsd(os.path.join(srv.tmp, "nsd"), srv.port, nsd_port)
    knot = Knot(os.path.join(srv.tmp, "knot"), srv.port, knot_port)
    for sec in (nsd, knot):
        t.ok(wait_serial(sec.port, serial), "%s transferred serial %s" %
             (sec.name, serial), sec.log_tail() + "\n" + srv.log_tail())
    for sec in (nsd, knot):
        compare(t, srv, sec, sec.name)
    want = answer(srv.port, "y.x.bad." + "example." + ZONE, "TXT")
    t.eq(want, ("NOERROR", [], ["Wild bad.example"]),
         "rblmuxd lists a name below the wildcard")

    # a change: a new host, a new exclusion; reload; NOTIFY; new serial
    with open(srv.path("four.ip4set"), "a") as f:
        f.write("192.0.2.99 :127.0.0.12:Added later\n!203.0.1.1\n")
    r = srv.ctl("reload")
    t.ok(r.returncode == 0, "reload", r.stdout + r.stderr)
    new = soa_serial(srv.port)
    t.ok(new is not None and serial is not None and
         (new - serial) % 2**32 < 2**31 and new != serial,
         "the serial grew (%s -> %s)" % (serial, new))
    for sec in (nsd, knot):
        t.ok(wait_serial(sec.port, new), "%s got the NOTIFY and serial %s"
             % (sec.name, new), sec.log_tail())
        name = h.rev4("192.0.2.99") + "." + ZONE
        a = answer(sec.port, name, "TXT")
        t.ok(a is not None and "Added later" in a[2] and
             a == answer(srv.port, name, "TXT"),
             "%s answers the new entry like rblmuxd" % sec.name, repr(a))
        a = answer(sec.port, h.rev4("203.0.1.1") + "." + ZONE, "A")
        t.eq(a and a[0], "NXDOMAIN", "%s answers the new exclusion" %
             sec.name)
    t.ok("NOTIFY to 2 secondaries" in srv.log(), "rblmuxd logged NOTIFY")

    # dynamic entries: a host, a prefix off the octet boundary, and two
    # hosts that escalate their /24; each change a new serial and NOTIFY
    adds = [("192.0.2.123", "--reason", "Dynamic $"),
            ("203.0.113.64/27", "--value", "127.0.0.9"),
            ("198.51.102.1",), ("198.51.102.2",)]
    for a in adds:
        r = srv.ctl("list", "add", "four", *a)
        t.ok(r.returncode == 0, "list add four %s" % a[0], r.stdout +
             r.stderr)
    r = srv.ctl("list", "add", "names", "*.dyn.example", "--reason",
                "Dynamic name $")
    t.ok(r.returncode == 0, "list add names *.dyn.example",
         r.stdout + r.stderr)
    dyn = soa_serial(srv.port)
    t.ok(dyn is not None and (dyn - new) % 2**32 < 2**31 and dyn != new,
         "list add grew the serial (%s -> %s)" % (new, dyn))
    extra = [h.rev4(a) + "." + ZONE for a in
             ("192.0.2.123", "203.0.113.64", "203.0.113.95", "203.0.113.96",
              "198.51.102.1", "198.51.102.200", "198.51.103.1")] + \
        [n + "." + ZONE for n in ("a.dyn.example", "b.a.dyn.example",
                                  "dyn.example")]
    for sec in (nsd, knot):
        t.ok(wait_serial(sec.port, dyn), "%s followed list add to serial %s"
             % (sec.name, dyn), sec.log_tail())
        bad = []
        for name in extra:
            for qtype in ("A", "TXT"):
                want = answer(srv.port, name, qtype)
                got = answer(sec.port, name, qtype)
                if want != got:
                    bad.append("%s %s: %r vs %r" % (name, qtype, want, got))
        t.ok(not bad, "%s answers dynamic entries and the escalation like "
             "rblmuxd" % sec.name, bad)
    a = answer(srv.port, h.rev4("198.51.102.200") + "." + ZONE, "TXT")
    t.eq(a, ("NOERROR", [], ["Whole 198.51.102.0/24: 2 hosts"]),
         "rblmuxd answers the escalated /24")
    t.eq(answer(srv.port, h.rev4("198.51.102.200") + "." + ZONE, "A"),
         ("NOERROR", ["127.0.0.5"], []),
         "with the rule's value: (the secondaries agree, above)")
    r = srv.ctl("list", "del", "four", "198.51.102.2")
    gone = soa_serial(srv.port)
    for sec in (nsd, knot):
        t.ok(r.returncode == 0 and wait_serial(sec.port, gone),
             "%s followed list del to serial %s" % (sec.name, gone))
        a = answer(sec.port, h.rev4("198.51.102.200") + "." + ZONE, "A")
        t.eq(a and a[0], "NXDOMAIN", "%s: the escalation is gone" %
             sec.name)


def axfr_msgs(port, qtype="AXFR", src=None, serial=None, timeout=5.0):
    """The messages of a transfer over TCP until the closing SOA."""
    pkt = h.make_query(ZONE, qtype, rd=False)
    if serial is not None:
        # IXFR: the client's SOA in the authority section
        soa = b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 0, 22) + b"\0\0" + \
            struct.pack("!IIIII", serial, 0, 0, 0, 0)
        pkt = pkt[:8] + b"\0\1" + pkt[10:] + soa
    s = h.tcp_connect(port, src=src, timeout=timeout)
    out = []
    try:
        s.sendall(h.tcp_frame(pkt))
        soas = 0
        while True:
            data = h.tcp_read_msg(s, timeout)
            if data is None:
                break
            m = h.parse_msg(data)
            out.append(m)
            soas += sum(1 for r in m.answer if r.type == 6)
            if m.rcode != 0 or soas >= 2 or (qtype == "IXFR" and soas == 1
                                             and len(out) == 1 and
                                             len(m.answer) == 1):
                break
    finally:
        s.close()
    return out


def transfers(t):
    srv = start(setup(big=30000), [])
    serial = soa_serial(srv.port)
    msgs = axfr_msgs(srv.port)
    rrs = [r for m in msgs for r in m.answer]
    t.ok(len(rrs) > 60000 and rrs[0].type == 6 and rrs[-1].type == 6 and
         all(m.aa and m.rcode == 0 for m in msgs),
         "AXFR: SOA first and last, %d records in %d messages" %
         (len(rrs), len(msgs)))
    t.ok(len(msgs) > 1 and max(m.size for m in msgs) <= 65535,
         "AXFR in several messages of up to 64 KB")
    owners = set(r.name.lower().rstrip(".") for r in rrs)
    t.ok("*.100.51.198.bl.test" not in owners and
         "1.100.51.198.bl.test" in owners and
         "7.100.51.198.bl.test" not in owners,
         "a /24 with an exclusion is written address by address")
    t.ok("*.0.203.bl.test" in owners and "*.113.0.203.bl.test" in owners
         and "*.114.0.203.bl.test" in owners,
         "a /16 block is one wildcard, a /24 beside data inside it its own")

    m = axfr_msgs(srv.port, src="127.0.0.2")
    t.ok(len(m) == 1 and m[0].rcode_name == "REFUSED",
         "AXFR from 127.0.0.2 (not allow-transfer) REFUSED", repr(m))
    m = h.query(ZONE, "AXFR", srv.port)
    t.ok(m is not None and m.rcode_name == "REFUSED", "AXFR over UDP REFUSED",
         repr(m))
    t.ok("transfer to 127.0.0.2 refused" in srv.log(),
         "the refusal is logged")

    m = axfr_msgs(srv.port, "IXFR", serial=serial)
    t.ok(len(m) == 1 and len(m[0].answer) == 1 and
         m[0].answer[0].type == 6, "IXFR at the current serial: one SOA",
         repr(m))
    m = axfr_msgs(srv.port, "IXFR", serial=(serial - 5) % 2**32)
    rr2 = [r for x in m for r in x.answer]
    t.ok(len(rr2) == len(rrs) and rr2[0].type == 6 and rr2[-1].type == 6,
         "IXFR at an older serial: the whole zone, AXFR style",
         "%d vs %d" % (len(rr2), len(rrs)))

    # a transfer cut after its first message, one never read: UDP answers
    cut = h.tcp_connect(srv.port)
    cut.sendall(h.tcp_frame(h.make_query(ZONE, "AXFR", rd=False)))
    first = h.tcp_read_msg(cut, 2.0)
    cut.close()
    t.ok(first is not None, "a transfer cut after its first message")
    probe = h.rev4("192.0.2.1") + "." + ZONE
    want = h.query(probe, "A", srv.port, timeout=1.0)
    want = want and want.a_set()
    t.ok(want and len(want) >= 2, "the UDP probe is listed twice", want)
    stalled = []
    for _ in range(4):
        s = h.tcp_connect(srv.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(h.tcp_frame(h.make_query(ZONE, "AXFR", rd=False)))
        stalled.append(s)
    time.sleep(0.3)
    got = 0
    for i in range(100):
        m = h.query(probe, "A", srv.port, timeout=1.0)
        got += m is not None and m.a_set() == want
    t.eq(got, 100, "UDP answered while 4 transfers are not read")
    st = srv.ctl("stats").stdout
    for s in stalled:
        s.close()
    m = axfr_msgs(srv.port)
    t.eq(len([r for x in m for r in x.answer]), len(rrs),
         "a whole AXFR after them", st)
    t.ok(srv.alive(), "rblmuxd still running")


def notify(t):
    """NOTIFY to a target that does not answer: sent again; answered:
    no more; several changes within a second: one round more at most."""
    target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target.bind(("127.0.0.1", 0))
    srv = start(setup(), [target.getsockname()[1]])
    # no NOTIFY at start-up: nothing changed since the last run (none)

    def recv(timeout):
        target.settimeout(timeout)
        try:
            data, peer = target.recvfrom(4096)
        except socket.timeout:
            return None, None
        return h.parse_msg(data), (data, peer)

    with open(srv.path("four.ip4set"), "a") as f:
        f.write("192.0.2.77\n")
    srv.ctl("reload")
    serial = soa_serial(srv.port)
    m1, raw1 = recv(5)
    t.ok(m1 is not None and m1.opcode == 4 and m1.aa and
         m1.question[0][0].lower().rstrip(".") == ZONE and
         struct.unpack("!I", m1.answer[0].rdata[-20:-16])[0] == serial,
         "NOTIFY (opcode 4, AA, the zone, the new serial %s)" % serial,
         repr(m1))
    m2, raw2 = recv(5)
    t.ok(m2 is not None and m2.id == m1.id,
         "not answered: the NOTIFY is sent again", repr(m2))
    if raw2 is not None:
        data, peer = raw2
        # the answer: the query with QR set
        reply = data[:2] + bytes([data[2] | 0x80]) + data[3:]
        target.sendto(reply, peer)
    m3, _ = recv(6)
    t.ok(m3 is None, "answered: no more", repr(m3))

    # three changes at once: at most one round more than the first
    for i in range(3):
        with open(srv.path("four.ip4set"), "a") as f:
            f.write("192.0.2.%d\n" % (80 + i))
        srv.ctl("reload")
    last = soa_serial(srv.port)
    ids, serials = set(), []
    while True:
        m, raw = recv(3)
        if m is None:
            break
        ids.add(m.id)
        serials.append(struct.unpack("!I", m.answer[0].rdata[-20:-16])[0])
        target.sendto(raw[0][:2] + bytes([raw[0][2] | 0x80]) +
                      raw[0][3:], raw[1])
    t.ok(1 <= len(ids) <= 2 and serials and serials[-1] == last,
         "3 reloads in a second: %d NOTIFY rounds, the last with serial %s"
         % (len(ids), last), repr(serials))
    target.close()


def serial_restart(t):
    srv = start(setup(), [])
    s1 = soa_serial(srv.port)
    srv.stop()
    srv.start()
    s2 = soa_serial(srv.port)
    t.eq(s2, s1, "a restart over the same data keeps the serial")
    srv.stop()
    with open(srv.path("six.ip6"), "a") as f:
        f.write("2001:db8::77\n")
    srv.start()
    s3 = soa_serial(srv.port)
    t.ok(s3 is not None and s3 != s1 and (s3 - s1) % 2**32 < 2**31,
         "a restart over new data grows it (%s -> %s)" % (s1, s3))


def axfr_open(port):
    """A transfer started and its first message read: (socket, msgs)."""
    s = h.tcp_connect(port, timeout=5.0)
    s.sendall(h.tcp_frame(h.make_query(ZONE, "AXFR", rd=False)))
    return s, [h.parse_msg(h.tcp_read_msg(s, 5.0))]


def axfr_rest(s, msgs):
    """The rest of a transfer opened by axfr_open: its records."""
    try:
        while sum(1 for m in msgs for r in m.answer if r.type == 6) < 2:
            data = h.tcp_read_msg(s, 5.0)
            if data is None:
                break
            msgs.append(h.parse_msg(data))
    finally:
        s.close()
    return [r for m in msgs for r in m.answer]


def by_serial(t):
    """Transfers running at once share the sorted dynamic entries of
    their zone and serial: two started together and one started after a
    `list add` (a new serial) each send the records of their own SOA
    serial, the new entry in the third alone."""
    srv = start(setup(big=30000), [])
    old, new = "198.19.250.5", "198.19.251.6"
    r = srv.ctl("list", "add", "big", old)
    t.ok(r.returncode == 0, "list add big " + old, r.stderr)
    s1 = soa_serial(srv.port)
    a, b = axfr_open(srv.port), axfr_open(srv.port)
    r = srv.ctl("list", "add", "big", new)
    t.ok(r.returncode == 0, "list add big " + new, r.stderr)
    s2 = soa_serial(srv.port)
    t.ok(s1 is not None and s2 is not None and s2 != s1,
         "the add gives a new serial (%s -> %s)" % (s1, s2))
    c = axfr_open(srv.port)
    owner = {x: h.rev4(x) + "." + ZONE for x in (old, new)}
    for label, tx, serial, want in (("first", a, s1, (old,)),
                                    ("second", b, s1, (old,)),
                                    ("after the add", c, s2, (old, new))):
        rrs = axfr_rest(*tx)
        soa = [struct.unpack("!I", r.rdata[-20:-16])[0] for r in rrs
               if r.type == 6]
        owners = set(r.name.lower().rstrip(".") for r in rrs)
        got = tuple(x for x in (old, new) if owner[x] in owners)
        t.ok(soa == [serial, serial] and got == want and len(rrs) > 60000,
             "the transfer started %s: serial %s, dynamic entries %s" %
             (label, serial, ", ".join(want)), (soa, got, len(rrs)))


if __name__ == "__main__":
    h.run_suite("test_xfr", [transfers, by_serial, serial_restart, notify,
                             secondaries])
