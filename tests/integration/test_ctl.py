#!/usr/bin/env python3
"""test_ctl -- rblmuxctl against a running rblmuxd (SPEC section 2).

status, stats (name: value lines, counters that grow and never reset),
lookup (each source's answer and the merged reply), reload, errors, and
the control socket itself (mode 0600, stuck clients do not block DNS).
"""
import os
import re
import socket
import stat
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FILES = ["lists/spam.ip4set", "lists/dul.ip4set", "lists/allow.ip4set",
         "lists/v6.ip6trie", "lists/names.dnset", "lists/short.ip4set",
         "lists/long.ip4set"]
CONF = h.read_data("conf/zones.conf")
ZONES = ["agg.test", "each.test", "score.test", "v6.test", "dom.test",
         "bl.test"]
LISTS = ["spam", "dul", "allow", "v6", "names"]
STAT_LINE = re.compile(r"^[A-Za-z0-9_.\-]+: \d+$")


def stats(srv):
    r = srv.ctl("stats")
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(": ")
        if v.strip().isdigit():
            out[k] = int(v)
    return r, out


def block(text, zone):
    """The lines of a lookup output that belong to zone."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("zone "):
            inside = line.split()[1] == zone
        if inside:
            out.append(line)
    return "\n".join(out)


def status_and_stats(t, srv):
    r = srv.ctl("status")
    t.ok(r.returncode == 0, "status: exit 0", r.stderr)
    out = r.stdout
    t.ok(re.search(r"^status: up$", out, re.M) is not None,
         "status says up", out)
    t.ok(re.search(r"^uptime: \d+", out, re.M) is not None,
         "status shows the uptime", out)
    t.ok(re.search(r"^pid: %d$" % srv.pid, out, re.M) is not None,
         "status shows the server's pid", out)
    missing = [z for z in ZONES if ("zone %s:" % z) not in out]
    t.ok(not missing, "status lists every zone", "missing %r\n%s" %
         (missing, out))
    bad = [l for l in LISTS
           if not re.search(r"^list %s: .*\b\d+ entries" % l, out, re.M)]
    t.ok(not bad, "status lists every list with its entry count",
         "missing %r\n%s" % (bad, out))
    m = re.search(r"^list spam: .*?(\d+) entries", out, re.M)
    t.ok(m is not None and int(m.group(1)) == 8,
         "status: spam has its 8 data lines",
         m.group(0) if m else out)

    r, s1 = stats(srv)
    lines = r.stdout.splitlines()
    badl = [l for l in lines if not STAT_LINE.match(l)]
    t.ok(r.returncode == 0 and lines and not badl,
         "stats: every line is 'name: value'", "bad lines: %r" % badl)
    for key in ("queries.udp", "queries.tcp", "answers.nxdomain",
                "answers.noerror", "answers.refused", "tcp.accepted"):
        t.ok(key in s1, "stats has %s" % key, r.stdout)
    _, s2 = stats(srv)
    t.ok(all(s2.get(k, -1) >= v for k, v in s1.items()),
         "stats: reading does not reset counters",
         "before %r\nafter %r" % (s1, s2))

    for i in range(20):
        srv.q("10.2.0.192.agg.test", "A")
    for i in range(5):
        srv.q("1.1.1.%d.agg.test" % i, "A")
    srv.q("x.example", "A")
    srv.q("10.2.0.192.agg.test", "A", tcp=True)
    srv.q("10.2.0.192.agg.test", "A", qr=True, timeout=0.3)   # dropped
    _, s3 = stats(srv)

    def grew(key, n):
        return s3.get(key, 0) - s2.get(key, 0) >= n

    t.ok(grew("queries.udp", 26), "stats: queries.udp grew by the 26+ "
         "UDP queries", "%s -> %s" % (s2.get("queries.udp"),
                                      s3.get("queries.udp")))
    t.ok(grew("queries.tcp", 1), "stats: queries.tcp grew",
         "%s -> %s" % (s2.get("queries.tcp"), s3.get("queries.tcp")))
    t.ok(grew("answers.nxdomain", 5), "stats: answers.nxdomain grew by 5",
         "%s -> %s" % (s2.get("answers.nxdomain"),
                       s3.get("answers.nxdomain")))
    t.ok(grew("answers.noerror", 21) or grew("answers.listed", 21),
         "stats: positive answers counted")
    t.ok(grew("answers.refused", 1), "stats: REFUSED counted")
    t.ok(grew("tcp.accepted", 1), "stats: tcp.accepted grew")
    t.ok(grew("dropped.malformed", 1),
         "stats: the dropped response (QR=1) counted",
         "%s -> %s" % (s2.get("dropped.malformed"),
                       s3.get("dropped.malformed")))


def lookups(t, srv):
    r = srv.ctl("lookup", "192.0.2.10")
    out = r.stdout
    t.ok(r.returncode == 0, "lookup IP: exit 0", r.stderr)
    agg = block(out, "agg.test")
    t.ok(agg != "", "lookup IP without zone shows agg.test", out)
    t.ok(re.search(r"spam\s.*listed 127\.0\.0\.2", agg) is not None and
         re.search(r"dul\s.*listed 127\.0\.0\.10", agg) is not None,
         "lookup shows each listing list with its own value", agg)
    t.ok("127.0.0.6" in agg and "answer" in agg,
         "lookup shows the merged answer 127.0.0.6", agg)
    t.ok("spam: Spam source 192.0.2.10" in agg and
         "dul: Dynamic range 192.0.2.10" in agg,
         "lookup shows the merged TXT", agg)
    t.ok(all(block(out, z) for z in ("each.test", "score.test",
                                     "bl.test")),
         "lookup IP without zone covers every IPv4 zone", out)
    t.ok(not block(out, "v6.test") and not block(out, "dom.test"),
         "lookup IPv4 leaves out the IPv6 and domain zones", out)
    t.ok("127.0.0.255" in block(out, "score.test"),
         "lookup: score zone total", block(out, "score.test"))

    r = srv.ctl("lookup", "192.0.2.10", "each.test")
    t.ok(r.returncode == 0 and block(r.stdout, "each.test") and
         not block(r.stdout, "agg.test"),
         "lookup IP ZONE: that zone only", r.stdout)
    t.ok("127.0.0.20" in r.stdout and "127.0.0.10" in r.stdout,
         "lookup each zone: both answers", r.stdout)

    r = srv.ctl("lookup", "192.0.2.99", "agg.test")
    t.ok(r.returncode == 0 and re.search(r"allow\s.*listed", r.stdout)
         and "NXDOMAIN" in r.stdout,
         "lookup of an exempted address: the allowlist and NXDOMAIN",
         r.stdout)
    r = srv.ctl("lookup", "1.1.1.2", "agg.test")
    t.ok(r.returncode == 0 and "NXDOMAIN" in r.stdout and
         "127.0.0." not in r.stdout.split("answer")[-1],
         "lookup of an unlisted address: NXDOMAIN", r.stdout)
    r = srv.ctl("lookup", "2001:db8::1")
    t.ok(r.returncode == 0 and block(r.stdout, "v6.test") and
         "127.0.0.2" in r.stdout, "lookup IPv6 address", r.stdout)
    r = srv.ctl("lookup", "example.com")
    t.ok(r.returncode == 0 and block(r.stdout, "dom.test") and
         "Domain example.com is listed" in r.stdout, "lookup domain name",
         r.stdout)
    r = srv.ctl("lookup", "127.0.0.2", "agg.test")
    t.ok(r.returncode == 0 and "127.0.0.6" in r.stdout,
         "lookup of the test point", r.stdout)

    # lookup agrees with what DNS answers
    for ip, zone in (("192.0.2.11", "agg.test"), ("198.18.3.4", "each.test"),
                     ("192.0.2.99", "score.test")):
        m = srv.q(h.rev4(ip) + "." + zone, "A")
        r = srv.ctl("lookup", ip, zone)
        ans = [l for l in r.stdout.splitlines() if "answer:" in l]
        t.ok(m is not None and ans and
             all(a in ans[0] for a in m.a_set()),
             "lookup %s %s agrees with DNS (%s)" %
             (ip, zone, m.a_set() if m else None), r.stdout)


def errors(t, srv):
    r = srv.ctl("lookup", "192.0.2.10", "no.such.zone")
    t.ok(r.returncode == 1 and r.stderr.strip(),
         "lookup with an unknown zone: exit 1 with a message",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    r = srv.ctl("lookup")
    t.ok(r.returncode != 0, "lookup without a subject: non-zero exit",
         "rc %d" % r.returncode)
    r = srv.ctl("no-such-command")
    t.ok(r.returncode == 1 and r.stderr.strip(),
         "unknown command: exit 1 with a message",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    r = h.run([h.RBLMUXCTL, "-s", srv.path("nonexistent.sock"), "status"])
    t.ok(r.returncode == 2 and r.stderr.strip(),
         "no server at the socket: exit 2 with a message",
         "rc %d: %s" % (r.returncode, r.stderr))
    r = h.run([h.RBLMUXCTL, "-c", srv.conf, "status"])
    t.ok(r.returncode == 0 and "status: up" in r.stdout,
         "rblmuxctl -c CONFIG finds the control socket",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    r = srv.ctl("reload")
    t.ok(r.returncode == 0 and "reload" in r.stdout,
         "reload: exit 0 and says so", "rc %d: %s%s" %
         (r.returncode, r.stdout, r.stderr))
    _, s = stats(srv)
    t.ok(s.get("reloads", 0) >= 1, "stats: reloads counted")

    mode = stat.S_IMODE(os.stat(srv.sock).st_mode)
    t.eq(oct(mode), oct(0o600), "control socket mode 0600")

    # a control client that says nothing does not hold up DNS
    lazy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lazy.connect(srv.sock)
    try:
        t0 = time.monotonic()
        m = srv.q("10.2.0.192.agg.test", "A", timeout=1.0)
        r = srv.ctl("status", timeout=5)
        dt = time.monotonic() - t0
        t.ok(m is not None and r.returncode == 0 and dt < 1.5,
             "a silent control client blocks neither DNS nor other "
             "control clients (%.2f s)" % dt)
    finally:
        lazy.close()

    # an over-long command line is refused, the server lives on
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(srv.sock)
    try:
        s.settimeout(3)
        try:
            s.sendall(b"lookup " + b"x" * 10000 + b"\n")
        except OSError:
            pass
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    finally:
        s.close()
    t.ok(not data.startswith(b"OK"), "over-long command: not accepted",
         repr(data[:80]))
    t.ok(srv.alive() and srv.ctl("status").returncode == 0,
         "server fine after the over-long command")


def ctl(t):
    srv = h.Server(CONF, FILES).start()
    for fn in (status_and_stats, lookups, errors):
        try:
            fn(t, srv)
        except Exception:
            import traceback
            t.ok(False, "%s raised" % fn.__name__,
                 traceback.format_exc().splitlines())
    srv.stop()


if __name__ == "__main__":
    h.run_suite("ctl", [ctl])
