#!/usr/bin/env python3
"""test_scaleout -- the scale-out examples of docs/howto-clients.md,
started for real from conf/examples/ (addresses moved to loopback high
ports, nothing else changed):

- dnsdist.conf: dnsdist in front of two rblmuxd answers as they do,
  spreads the queries over both, and goes on answering every name when
  one of them stops (its health check asks the test point);
- rblmux-site.conf: a site rblmuxd whose only upstream is a central
  rblmuxd answers the central bits and TXT unchanged, and answers a
  repeated question from its cache without asking the central one again;
- nsd.conf and knot.conf: `nsd-checkconf` and `knotc conf-check` accept
  them, and reject a copy with a mistake (the checks have teeth).

A program that is not installed is a SKIP line.
"""
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

h.SUITE_TIMEOUT = int(os.environ.get("RBLMUX_IT_TIMEOUT", "300"))
EXAMPLES = os.path.join(h.ROOT, "conf", "examples")
DNSDIST = shutil.which("dnsdist")
NSD_CHECKCONF = shutil.which("nsd-checkconf")
KNOTC = shutil.which("knotc")

CENTRAL = """
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
    cache-dir: @TMP@/
    state-dir: @TMP@/
    check-interval: 0

local-list:
    name: spam
    file: @TMP@/spam.ip4set
    txt: "spam source"

local-list:
    name: dul
    file: @TMP@/dul.ip4set

zone:
    name: all.rbl.local
    answer: bitmask
    bit: 2 spam
    bit: 4 dul
"""

LISTED = {"203.0.113.7": "127.0.0.6", "192.0.2.9": "127.0.0.2",
          "198.51.100.4": "127.0.0.4"}


def example(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return f.read()


def central(name="central"):
    srv = h.Server(CENTRAL, name=name, hosts=["127.0.0.1"])
    with open(srv.path("spam.ip4set"), "w") as f:
        f.write("203.0.113.7\n192.0.2.9\n")
    with open(srv.path("dul.ip4set"), "w") as f:
        f.write("203.0.113.7\n198.51.100.4\n")
    return srv.start()


def stat(srv, name):
    m = re.search(r"^%s: (\d+)$" % re.escape(name), srv.ctl("stats").stdout,
                  re.M)
    return int(m.group(1)) if m else -1


def ask(port, ip):
    """(rcode, A records) for ip in all.rbl.local asked at port."""
    for _ in range(3):          # UDP through a proxy on a loaded machine
        m = h.query(h.rev4(ip) + ".all.rbl.local", "A", port)
        if m is not None:
            break
    if m is None:
        return None
    return m.rcode, sorted(m.a_set())


class Dnsdist(h.Helper):
    name = "dnsdist"

    def __init__(self, conf, tmp):
        self.port = h.free_port(["127.0.0.1"])
        self.conf = os.path.join(tmp, "dnsdist.conf")
        with open(self.conf, "w") as f:
            f.write(conf.replace("@PORT@", str(self.port)))
        self.spawn([DNSDIST, "--supervised", "--disable-syslog", "-C",
                    self.conf], os.path.join(tmp, "dnsdist.log"))
        self.wait_answering("2.0.0.127.all.rbl.local")


def test_dnsdist(t):
    if DNSDIST is None:
        t.skip("dnsdist in front of two rblmuxd", "dnsdist not installed")
        return
    a, b = central("rblmux1"), central("rblmux2")
    conf = example("dnsdist.conf")
    for old, new in (('"192.0.2.53:53"', '"127.0.0.1:@PORT@"'),
                     ('"192.0.2.0/24"', '"127.0.0.0/8"'),
                     ('"192.0.2.10:5353"', '"127.0.0.1:%d"' % a.port),
                     ('"192.0.2.11:5353"', '"127.0.0.1:%d"' % b.port)):
        t.ok(old in conf, "dnsdist.conf has %s" % old)
        conf = conf.replace(old, new)
    d = Dnsdist(conf, a.tmp)
    for ip, want in sorted(LISTED.items()):
        t.eq(ask(d.port, ip), (0, [want]), "through dnsdist: %s listed "
             "as %s" % (ip, want))
    names = ["203.0.113.%d" % i for i in range(100, 140)]
    qa, qb = stat(a, "queries.udp"), stat(b, "queries.udp")
    for ip in names:
        t.eq(ask(d.port, ip), (3, []), "through dnsdist: %s not listed "
             "(NXDOMAIN)" % ip)
    qa, qb = stat(a, "queries.udp") - qa, stat(b, "queries.udp") - qb
    # (a health check a second each comes on top)
    t.ok(qa + qb >= len(names) and qa >= 8 and qb >= 8,
         "dnsdist sent the %d names to both rblmuxd (%d, %d)" %
         (len(names), qa, qb))
    a.stop()
    # new names: none is in dnsdist's cache, half would go to rblmux1
    names = ["198.51.100.%d" % i for i in range(100, 140)]
    got = h.poll_until(lambda: all(ask(d.port, ip) == (3, [])
                                   for ip in names), 30, 0.5)
    t.ok(got, "with rblmux1 stopped, dnsdist answers every new name "
         "through rblmux2", d.log_tail())
    t.eq(ask(d.port, "198.51.100.4"), (0, ["127.0.0.4"]),
         "and listed ones as listed")
    t.ok(d.alive() and b.alive(), "dnsdist and rblmux2 still running")


def test_tiered(t):
    c = central()
    site = h.Server("", name="site", hosts=["127.0.0.1"])
    conf = example("rblmux-site.conf")
    for old, new in (("\tlisten: 127.0.0.1@53\n",
                      "\tlisten: 127.0.0.1@%d\n" % site.port),
                     ("\tlisten: ::1@53\n", ""),
                     ("/var/cache/rblmux/", site.tmp + "/"),
                     ("/var/lib/rblmux/", site.tmp + "/"),
                     ("/run/rblmux/rblmux.sock", site.sock),
                     ("192.0.2.10@5353", "127.0.0.1@%d" % c.port)):
        t.ok(old in conf, "rblmux-site.conf has %r" % old)
        conf = conf.replace(old, new)
    site.conf_text = conf
    site.write_conf(conf)
    site.start()
    for ip, want in sorted(LISTED.items()):
        t.eq(ask(site.port, ip), (0, [want]), "the site answers %s with "
             "the central bits %s" % (ip, want), site.log_tail())
    m = h.query(h.rev4("192.0.2.9") + ".all.rbl.local", "TXT", site.port)
    t.ok(m is not None and any("spam source" in x for x in m.txt_set()),
         "and the central TXT", repr(m))
    t.eq(ask(site.port, "203.0.113.99"), (3, []),
         "an unlisted address: NXDOMAIN")
    before = stat(c, "queries.udp")
    for ip, want in sorted(LISTED.items()):
        t.eq(ask(site.port, ip), (0, [want]), "again: %s" % ip)
    t.eq(stat(c, "queries.udp"), before, "the repeated questions came from "
         "the site's cache: the central rblmuxd was not asked again")
    t.ok(c.alive() and site.alive(), "both still running")


def check_conf(t, prog, argv_of, name, breaks):
    if prog is None:
        t.skip("%s accepts %s" % (name, name), "not installed")
        return
    tmp = h.make_tmpdir()
    path = os.path.join(EXAMPLES, name)
    r = h.run(argv_of(path))
    t.ok(r.returncode == 0, "%s accepts conf/examples/%s" %
         (os.path.basename(prog), name), r.stdout + r.stderr)
    text = example(name)
    for old, new in breaks:
        t.ok(old in text, "%s has %r" % (name, old))
        bad = os.path.join(tmp, "bad-" + name)
        with open(bad, "w") as f:
            f.write(text.replace(old, new))
        r = h.run(argv_of(bad))
        t.ok(r.returncode != 0, "%s rejects %s with %r (the check has "
             "teeth)" % (os.path.basename(prog), name, new),
             r.stdout + r.stderr)


def test_secondaries(t):
    check_conf(t, NSD_CHECKCONF, lambda p: [NSD_CHECKCONF, p], "nsd.conf",
               [("AXFR 192.0.2.10@5353 NOKEY", "AXFR 192.0.2.10@5353"),
                ("allow-notify:", "allow-notifyy:")])
    check_conf(t, KNOTC, lambda p: [KNOTC, "-c", p, "conf-check"],
               "knot.conf", [("master: rblmux", "master: rblmuxx"),
                             ("action: notify", "action: notifyy")])


def main():
    h.run_suite("test_scaleout", [test_dnsdist, test_tiered,
                                  test_secondaries])


if __name__ == "__main__":
    main()
