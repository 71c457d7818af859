#!/usr/bin/env python3
"""test_dynlist -- dynamic list entries (SPEC sections 2, 6): rblmuxctl
list add/del/show against a running rblmuxd; answers in aggregate zones,
served zones and allowlists at once, without a reload; expiry by itself;
entries that survive SIGTERM and kill -9; concurrent adds that lose
nothing; bad input that changes nothing; a state-dir that cannot be used.
Measures the time from "list add" to the first listed answer.
"""
import os
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CONF = """server:
    listen: 127.0.0.1@@PORT@
    listen: ::1@@PORT@
    control-socket: @TMP@/ctl.sock
    state-dir: @STATE@
    check-interval: 0

local-list:
    name: local
    file: @TMP@/local.ip4set
    ttl: 10m

local-list:
    name: mynets
    file: @TMP@/allow.ip4set
    allow: yes

local-list:
    name: names
    type: dnset
    file: @TMP@/names.dnset

local-list:
    name: six
    type: ip6trie
    file: @TMP@/six.ip6

upstream:
    name: up
    zone: up.invalid

zone:
    name: agg.test
    answer: bitmask
    bit: 2 local
    bit: 4 names
    bit: 8 six
    exempt: mynets

zone:
    name: bl.test
    serve: local

zone:
    name: dbl.test
    serve: names
"""

REASON = 'backscatter from $, "quoted" \\ and  two spaces'


def server(state="@TMP@/state", tmp=None):
    srv = h.Server(CONF.replace("@STATE@", state), tmp=tmp)
    for name, text in (("local.ip4set", "198.51.100.1\n"),
                       ("allow.ip4set", "198.51.100.2\n"),
                       ("names.dnset", "file.example\n"),
                       ("six.ip6", "")):
        with open(srv.path(name), "w") as f:
            f.write(text)
    return srv


def agg(srv, ip):
    r = srv.kdig(h.rev4(ip) + ".agg.test", "A")
    return (r.status, r.a_set()) if r else None


def q4(srv, ip, zone="agg.test", qtype="A"):
    m = srv.q(h.rev4(ip) + "." + zone, qtype, timeout=1.0)
    if m is None:
        return None
    return m.rcode_name, m.a_set() if qtype == "A" else m.txt_set()


def show(srv, *args):
    """list show: the (list, entry, value, reason) of each entry line and
    the count line"""
    r = srv.ctl("list", "show", *args)
    rows = []
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) == 5:
            reason = f[4]
            if reason != "-":
                reason = reason[1:-1].replace('\\"', '"').replace(
                    "\\\\", "\\")
            rows.append((f[0], f[1], f[2], reason))
    count = [l for l in r.stdout.splitlines() if l.endswith(("entry",
                                                             "entries"))]
    return r, sorted(rows), count[-1] if count else None


def add_answers(t):
    """list add: the very next query answers, in every zone of the list."""
    srv = server().start()
    r = srv.ctl("list", "add", "local", "203.0.113.7", "--ttl", "28d",
                "--reason", REASON, "--value", "127.0.0.5")
    t.ok(r.returncode == 0 and "added local 203.0.113.7 127.0.0.5" in
         r.stdout and "expires in 28d" in r.stdout, "list add: OK",
         r.stdout + r.stderr)
    t.eq(agg(srv, "203.0.113.7"), ("NOERROR", ["127.0.0.2"]),
         "the next kdig query in the aggregate zone: the list's bit")
    r = srv.kdig("7.113.0.203.bl.test", "A")
    t.eq((r.status, r.a_set()), ("NOERROR", ["127.0.0.5"]),
         "served zone: the entry's value")
    r = srv.kdig("7.113.0.203.bl.test", "TXT")
    want = REASON.replace("$", "203.0.113.7")
    t.eq(r.txt_set(), [want], "served zone: the reason, $ expanded")
    r = srv.kdig("7.113.0.203.agg.test", "TXT")
    t.eq(r.txt_set(), ["local: " + want], "aggregate zone: the reason")
    r = srv.kdig("7.113.0.203.local.agg.test", "A")
    t.eq(r.a_set(), ["127.0.0.5"], "per-result subzone: the value")
    t.eq(q4(srv, "198.51.100.1"), ("NOERROR", ["127.0.0.2"]),
         "the list's file still answers")
    # names: exact and wildcard, the name list's bit
    r = srv.ctl("list", "add", "names", "*.spam.example", "--reason",
                "name $")
    t.ok(r.returncode == 0, "list add of a wildcard name", r.stderr)
    r = srv.kdig("a.b.spam.example.agg.test", "A")
    t.eq(r.a_set() if r else None, ["127.0.0.4"],
         "a name below the wildcard: the names bit")
    r = srv.kdig("a.b.spam.example.dbl.test", "TXT")
    t.eq(r.txt_set() if r else None, ["name spam.example"],
         "served name list: $ is the entry's name")
    r = srv.kdig("spam.example.agg.test", "A")
    t.eq((r.status, r.a_set(), r.soa_in_authority()) if r else None,
         ("NOERROR", [], True), "the wildcard's own name is not listed: "
         "no data (names are below it), as for list files")
    r = srv.kdig("other.example.agg.test", "A")
    t.eq(r.status if r else None, "NXDOMAIN", "a name beside it: NXDOMAIN")
    # IPv6
    r = srv.ctl("list", "add", "six", "2001:db8:1::/48")
    t.ok(r.returncode == 0, "list add of an IPv6 prefix", r.stderr)
    m = srv.q(h.rev6("2001:db8:1:2::9") + ".agg.test", "A")
    t.eq(m.a_set() if m else None, ["127.0.0.8"], "IPv6: the six bit")
    # lookup says which value is a dynamic entry, and its expiry
    r = srv.ctl("lookup", "203.0.113.7", "bl.test")
    t.ok(r.returncode == 0 and "listed 127.0.0.5" in r.stdout and
         re.search(r"\(dynamic entry 203\.0\.113\.7, expires in "
                   r"(28d|27d23h59m5\ds) at 20", r.stdout),
         "lookup shows the dynamic entry and its expiry", r.stdout)
    # show: one line per entry, the reason round-trips exactly
    r, rows, count = show(srv)
    t.eq(rows, sorted([
        ("local", "203.0.113.7", "127.0.0.5", REASON),
        ("names", "*.spam.example", "127.0.0.2", "name $"),
        ("six", "2001:db8:1::/48", "127.0.0.2", "-")]),
        "list show: every entry, the reason exactly as given")
    t.eq(count, "3 entries", "list show: the count")
    r, rows, count = show(srv, "local", "203.0.113.7")
    t.eq((len(rows), count), (1, "1 entry"), "list show LIST ENTRY")
    r = srv.ctl("status")
    t.ok(re.search(r"^dynamic: 3 entries in 3 lists$", r.stdout, re.M),
         "status counts the dynamic entries", r.stdout)
    # the LMDB file reads well in mdb_dump
    d = h.run(["mdb_dump", "-p", "-n", os.path.join(srv.tmp, "state",
                                                     "dyn.mdb")])
    t.ok(d.returncode == 0 and " local 203.0.113.7" in d.stdout and
         " names *.spam.example" in d.stdout,
         "mdb_dump -p shows keys \"LIST ENTRY\"", d.stdout[-400:])
    # refresh: a new expiry, the reason kept, one entry
    r = srv.ctl("list", "add", "local", "203.0.113.7", "--ttl", "1h")
    t.ok(r.returncode == 0 and r.stdout.startswith("refreshed") and
         "expires in 1h" in r.stdout, "adding again refreshes", r.stdout)
    r, rows, count = show(srv, "local")
    t.eq(rows, [("local", "203.0.113.7", "127.0.0.5", REASON)],
         "the refresh kept the value and the reason")
    srv.stop()


def allow_and_del(t):
    """An allowlist's dynamic entry exempts; del ends a listing at once."""
    srv = server().start()
    srv.ctl("list", "add", "local", "203.0.113.0/24")
    t.eq(agg(srv, "203.0.113.9"), ("NOERROR", ["127.0.0.2"]),
         "a dynamic /24 lists an address in it")
    r = srv.ctl("list", "add", "mynets", "203.0.113.9")
    t.ok(r.returncode == 0, "list add to the allowlist", r.stderr)
    t.eq(agg(srv, "203.0.113.9"), ("NXDOMAIN", []),
         "the allowlist's dynamic entry exempts it")
    t.eq(q4(srv, "203.0.113.9", "bl.test"), ("NOERROR", ["127.0.0.2"]),
         "a zone without exempt: still lists it")
    r = srv.ctl("lookup", "203.0.113.9", "agg.test")
    t.ok("listed (exempts) (dynamic entry 203.0.113.9" in r.stdout,
         "lookup names the allowlist's dynamic entry", r.stdout)
    r = srv.ctl("list", "del", "mynets", "203.0.113.9")
    t.ok(r.returncode == 0 and "deleted mynets 203.0.113.9" in r.stdout,
         "list del: OK", r.stdout + r.stderr)
    t.eq(agg(srv, "203.0.113.9"), ("NOERROR", ["127.0.0.2"]),
         "no longer exempted")
    r = srv.ctl("list", "del", "local", "203.0.113.0/24")
    t.ok(r.returncode == 0, "list del of the /24", r.stderr)
    t.eq(agg(srv, "203.0.113.9"), ("NXDOMAIN", []),
         "del: NXDOMAIN at once")
    t.eq(q4(srv, "203.0.113.9", "bl.test")[0], "NXDOMAIN",
         "del: NXDOMAIN in the served zone too")
    r = srv.ctl("list", "del", "local", "203.0.113.0/24")
    t.ok(r.returncode == 1 and "no dynamic entry 203.0.113.0/24" in
         r.stderr, "del of an absent entry: exit 1, says so", r.stderr)
    srv.stop()


def reloads(t):
    """Entries belong to a list name: they outlive reloads, and a list
    that leaves the config keeps them until it comes back."""
    srv = server().start()
    srv.ctl("list", "add", "local", "192.0.2.5")
    with open(srv.path("local.ip4set"), "w") as f:
        f.write("198.51.100.3\n")
    r = srv.ctl("reload")
    t.ok(r.returncode == 0, "reload with a changed list file", r.stderr)
    t.eq(q4(srv, "198.51.100.3"), ("NOERROR", ["127.0.0.2"]),
         "the new file answers")
    t.eq(q4(srv, "192.0.2.5"), ("NOERROR", ["127.0.0.2"]),
         "the dynamic entry still answers after the reload")
    # the list leaves the config
    gone = CONF.replace("@STATE@", "@TMP@/state")
    gone = gone.replace("    bit: 2 local\n", "").replace(
        "zone:\n    name: bl.test\n    serve: local\n", "").replace(
        "local-list:\n    name: local\n    file: @TMP@/local.ip4set\n"
        "    ttl: 10m\n", "")
    srv.write_conf(gone)
    r = srv.ctl("reload")
    t.ok(r.returncode == 0, "reload without the list", r.stderr)
    r = srv.ctl("list", "add", "local", "192.0.2.6")
    t.ok(r.returncode == 1 and "no local list local" in r.stderr,
         "list add to a list no longer configured: refused", r.stderr)
    t.eq(show(srv)[2], "1 entry", "its entry is kept in the store")
    srv.write_conf(CONF.replace("@STATE@", "@TMP@/state"))
    r = srv.ctl("reload")
    t.ok(r.returncode == 0, "reload with the list back", r.stderr)
    t.eq(q4(srv, "192.0.2.5"), ("NOERROR", ["127.0.0.2"]),
         "the list is back: its entry answers again")
    srv.stop()


def expires(t):
    """A short --ttl ends the listing by itself."""
    srv = server().start()
    r = srv.ctl("list", "add", "local", "192.0.2.44", "--ttl", "2s")
    t.ok(r.returncode == 0, "list add --ttl 2s", r.stderr)
    t.eq(q4(srv, "192.0.2.44"), ("NOERROR", ["127.0.0.2"]), "listed")
    gone = h.poll_until(lambda: q4(srv, "192.0.2.44") == ("NXDOMAIN", []),
                        10.0, 0.1)
    t.ok(gone, "after its ttl: NXDOMAIN, without a command")
    removed = h.poll_until(lambda: show(srv)[2] == "0 entries", 10.0, 0.2)
    t.ok(removed, "and removed from the store by the timer", show(srv)[0])
    srv.stop()


def restarts(t):
    """Entries survive SIGTERM and kill -9."""
    srv = server().start()
    srv.ctl("list", "add", "local", "192.0.2.1", "--reason", "term")
    srv.ctl("list", "add", "names", "bad.example")
    t.eq(srv.stop(), 0, "SIGTERM: clean stop")
    srv.start()
    t.eq(q4(srv, "192.0.2.1"), ("NOERROR", ["127.0.0.2"]),
         "after a restart: listed")
    r = srv.kdig("bad.example.dbl.test", "A")
    t.eq(r.a_set() if r else None, ["127.0.0.2"], "names too")
    r = srv.ctl("list", "add", "local", "192.0.2.2", "--reason", "kill")
    t.ok(r.returncode == 0, "add just before kill -9", r.stderr)
    os.kill(srv.pid, signal.SIGKILL)
    srv.proc.wait(timeout=5)
    srv.start()
    t.eq(q4(srv, "192.0.2.2"), ("NOERROR", ["127.0.0.2"]),
         "the entry added just before kill -9 answers after the restart")
    r, rows, count = show(srv)
    t.eq(count, "3 entries", "all three entries are back")
    t.ok(("local", "192.0.2.2", "127.0.0.2", "kill") in rows,
         "with their reason", rows)
    srv.stop()


def concurrent(t):
    """8 processes adding 50 entries each at once lose nothing."""
    srv = server().start()
    addrs = ["192.0.2.%d" % i for i in range(256)] + \
        ["198.51.100.%d" % i for i in range(10, 154)]
    fails = []

    def worker(k):
        for ip in addrs[k * 50:(k + 1) * 50]:
            r = subprocess.run([h.RBLMUXCTL, "-s", srv.sock, "list", "add",
                                "local", ip, "--reason", "w%d" % k],
                               capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                fails.append((ip, r.stderr))

    ths = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(timeout=120)
    t.eq(fails, [], "400 adds from 8 processes at once: all OK")
    r, rows, count = show(srv, "local")
    t.eq(count, "400 entries", "list show counts all 400")
    shown = [socket.inet_aton(l.split("\t")[1])
             for l in r.stdout.splitlines() if l.count("\t") == 4]
    t.ok(len(shown) == 400 and shown == sorted(shown),
         "list show: in address order")
    res = h.dig_batch(["%s.agg.test A" % h.rev4(ip) for ip in addrs],
                      srv.port)
    bad = [ip for ip in addrs
           if res.get((h.rev4(ip) + ".agg.test", "A"), (None,))[:2] !=
           ("NOERROR", ["127.0.0.2"])]
    t.eq(bad, [], "each of the 400 answers listed")
    srv.stop()


def bad_input(t):
    """Every bad argument: an error saying why, and nothing changed."""
    srv = server().start()
    srv.ctl("list", "add", "local", "203.0.113.7", "--reason", "keep")
    before = show(srv)[1:]
    cases = [
        (("add", "local", "192.0.2.1/24"), "bits past /24"),
        (("add", "local", "192.0.2.300"), "not an IPv4"),
        (("add", "local", "192.0.2.0/40"), "prefix length"),
        (("add", "local", "2001:db8::1"), "not an IPv4"),
        (("add", "six", "192.0.2.1"), "not an IPv6"),
        (("add", "names", "bad..name"), "not a domain name"),
        (("add", "names", "192.0.2.0/24"), "not a domain name"),
        (("add", "nosuch", "192.0.2.1"),
         "no local list nosuch (local lists: local, mynets, names, six)"),
        (("add", "up", "192.0.2.1"), "upstream result, not a local list"),
        (("add", "local", "192.0.2.1", "--ttl", "5y"), "bad duration"),
        (("add", "local", "192.0.2.1", "--ttl", "0"), "ttl of 0"),
        (("add", "local", "192.0.2.1", "--ttl", "-1"), "bad duration"),
        (("add", "local", "192.0.2.1", "--reason", "x" * 300), "too long"),
        (("add", "local", "192.0.2.1", "--reason", "a\tb"), "control"),
        (("add", "local", "192.0.2.1", "--value", "10.0.0.1"),
         "127.0.0.0/8"),
        (("add", "local", "192.0.2.1", "--value", "127.0.0.1"),
         "127.0.0.0/8"),
        (("add", "local", "192.0.2.1", "--value", "x"), "bad value"),
        (("add", "local", "192.0.2.1", "--ttl", "1d", "--ttl", "2d"),
         "twice"),
        (("add", "local", "192.0.2.1", "--colour", "red"), "unknown option"),
        (("add", "local", "192.0.2.1", "--ttl"), "needs a value"),
        (("add", "local"), "usage"),
        (("del", "local", "192.0.2.99"), "no dynamic entry"),
        (("del", "local"), "usage"),
        (("frobnicate",), "usage"),
        (("show", "nosuch"), "no local list"),
    ]
    for args, why in cases:
        r = srv.ctl("list", *args)
        t.ok(r.returncode == 1 and why in r.stderr,
             "list %s: exit 1, says %r" % (" ".join(args)[:60], why),
             "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    t.eq(show(srv)[1:], before, "nothing changed")
    t.eq(q4(srv, "192.0.2.1"), ("NXDOMAIN", []), "nothing listed")
    srv.stop()


def unusable_store(t):
    """A state-dir that cannot be used: answers from files, add fails."""
    tmp = h.make_tmpdir()
    with open(os.path.join(tmp, "afile"), "w") as f:
        f.write("not a directory\n")
    srv = server(state=os.path.join(tmp, "afile", "sub"), tmp=tmp).start()
    t.ok("dynamic entries:" in srv.log() and "answer from their files" in
         srv.log(), "the log says why", srv.log_tail(5))
    t.eq(q4(srv, "198.51.100.1"), ("NOERROR", ["127.0.0.2"]),
         "the lists' files answer")
    r = srv.ctl("status")
    t.ok(re.search(r"^dynamic: 0 entries; cannot store: state-dir ",
                   r.stdout, re.M), "status says why", r.stdout)
    r = srv.ctl("list", "add", "local", "192.0.2.1")
    t.ok(r.returncode == 1 and "cannot be stored" in r.stderr and
         "state-dir" in r.stderr, "list add: exit 1, says why", r.stderr)
    t.eq(q4(srv, "192.0.2.1"), ("NXDOMAIN", []), "nothing listed")
    srv.stop()


def add_to_answer(t):
    """The time from "list add" to the first listed answer (measured,
    not asserted): 100 adds, each followed by queries until listed."""
    srv = server().start()
    times, first = [], 0
    for i in range(100):
        ip = "198.51.100.%d" % (100 + i)
        t0 = time.monotonic()
        r = subprocess.run([h.RBLMUXCTL, "-s", srv.sock, "list", "add",
                            "local", ip], capture_output=True, timeout=30)
        if r.returncode != 0:
            break
        n = 0
        while q4(srv, ip) != ("NOERROR", ["127.0.0.2"]) and n < 100:
            n += 1
        first += n == 0
        times.append(time.monotonic() - t0)
    t.eq(first, 100, "each add: the first query after it answers listed")
    if times:
        t.note("list add -> first listed answer (rblmuxctl list add, then "
               "one UDP query), 100 runs: median %.2f ms, max %.2f ms" %
               (statistics.median(times) * 1000, max(times) * 1000))
    srv.stop()


def ctl_line(srv, line):
    """One command over the control socket itself (no process per
    command): the answer's text."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(srv.sock)
    s.sendall(line.encode() + b"\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.decode()


def mass_expiry(t):
    """Thousands of entries expiring together give the served zone its
    new serials, but the serial file (state-dir/xfr-serial, replaced by
    a rename each time it is written) is written a few times, not once
    per entry: 4000 renames held the loop a quarter of a second."""
    import ctypes
    IN_MOVED_FROM, IN_MOVED_TO = 0x40, 0x80
    srv = server().start()
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    # both halves of a rename: equal events in a row would be merged
    wd = libc.inotify_add_watch(fd, srv.path("state").encode(),
                                IN_MOVED_FROM | IN_MOVED_TO)
    t.ok(fd >= 0 and wd >= 0, "inotify on the state-dir")

    def renames():
        n = 0
        while True:
            try:
                buf = os.read(fd, 65536)
            except BlockingIOError:
                return n
            off = 0
            while off + 16 <= len(buf):
                _, mask, _, ln = struct.unpack_from("iIII", buf, off)
                n += mask & IN_MOVED_TO and buf[off + 16:off + 16 + ln] \
                    .rstrip(b"\0") == b"xfr-serial"
                off += 16 + ln

    n = 1000
    t0 = time.monotonic()
    for i in range(n):
        # all added before the first expires (a synced commit each)
        r = ctl_line(srv, "list add local 198.18.%d.%d --ttl 10s" %
                     (i // 256, i % 256))
        if not r.startswith("OK"):
            t.ok(False, "list add %d" % i, r)
            break
    added = renames()
    serial0 = srv.q("bl.test", "SOA").soa("answer").value[2]
    t.ok(time.monotonic() - t0 < 9, "watching before the first expiry")
    gone = h.poll_until(lambda: show(srv)[2] == "0 entries", 30.0, 0.3)
    t.ok(gone, "%d entries expired and removed by the timer" % n)
    expired = renames()
    os.close(fd)
    serial1 = srv.q("bl.test", "SOA").soa("answer").value[2]
    t.ok(serial1 != serial0, "the served zone has a new serial",
         (serial0, serial1))
    t.ok(0 < expired < 50, "xfr-serial written %d times for %d expiries "
         "(%d times for the adds, one a command)" % (expired, n, added))
    with open(srv.path("state/xfr-serial")) as f:
        saved = [l.split() for l in f]
    t.ok(["bl.test", str(serial1)] in [l[:2] for l in saved],
         "the file holds the serial served", saved)
    srv.stop()

def show_streamed(t):
    """`list show` of more entries than an answer held (16 MB) is shown
    whole and in order, made a chunk at a time as the client reads:
    UDP queries are answered while a slow client reads it, and clients
    that stop reading or go halfway disturb nothing."""
    import random
    srv = server()
    n4 = 230000
    rnd = random.Random(7)
    v4 = ["10.%d.%d.%d" % (i >> 16, i >> 8 & 255, i & 255)
          for i in range(n4)]
    rnd.shuffle(v4)
    v6 = ["2001:db8::%x" % i for i in range(1, 301)]
    names = ["h%d.example" % i for i in range(300)] + ["*.w.example"]
    entries = [("local", a, "127.0.0.2", "bulk entry") for a in v4] + \
        [("six", a, "127.0.0.3") for a in v6] + \
        [("names", a, "127.0.0.4") for a in names] + \
        [("local", "10.0.0.0/24", "127.0.0.2")]
    os.mkdir(srv.path("state"))
    h.dyn_preload(srv.path("state/dyn.mdb"), entries)
    srv.start()
    total = len(entries)

    def key(e):
        lst, text = e[0], e[1]
        if ":" in text or "." in text and text.split("/")[0].replace(
                ".", "").isdigit():
            fam = 10 if ":" in text else 2
            a, _, plen = text.partition("/")
            raw = socket.inet_pton(socket.AF_INET6 if fam == 10 else
                                   socket.AF_INET, a)
            return (lst, fam, raw.ljust(16, b"\0"),
                    int(plen or (128 if fam == 10 else 32)), "")
        return (lst, 99, b"", 0, text)
    want = [e[1] for e in sorted(entries, key=key)]
    r = srv.ctl("list", "show", timeout=120)
    lines = r.stdout.splitlines()
    got = [ln.split("\t")[1] for ln in lines[:-1]]
    t.ok(r.returncode == 0 and len(r.stdout) > 16 * 1024 * 1024,
         "list show of %d entries: %d bytes, more than 16 MB" %
         (total, len(r.stdout)), r.stderr[-300:])
    t.ok(got == want and lines[-1] == "%d entries" % total,
         "every entry once, in order (list, IPv4, IPv6, names), the count "
         "last", (len(got), lines[-1:], [
             (i, a, b) for i, (a, b) in enumerate(zip(got, want))
             if a != b][:3]))

    # a slow reader: the listing is made as it reads; UDP is answered
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.connect(srv.sock)
    s.sendall(b"list show local\n")
    head = s.recv(3)
    answered = asked = 0
    size = len(head)
    for i in range(60):
        size += len(s.recv(65536))
        m = q4(srv, "198.51.100.1", "bl.test")
        asked += 1
        answered += m is not None and m[0] == "NOERROR"
        time.sleep(0.01)
    t.ok(head == b"OK\n" and answered == asked and
         1024 * 1024 < size < 16 * 1024 * 1024,
         "UDP answered while a slow client reads the listing (%d of %d, "
         "%d bytes read so far)" % (answered, asked, size))
    # it stops reading; another one goes away halfway
    gone = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    gone.settimeout(10)
    gone.connect(srv.sock)
    gone.sendall(b"list show\n")
    gone.recv(65536)
    gone.close()
    ok = 0
    for i in range(50):
        m = q4(srv, "198.51.100.1", "bl.test")
        ok += m is not None and m[0] == "NOERROR"
    r2 = srv.ctl("list", "show", "six", timeout=30)
    t.ok(ok == 50 and r2.returncode == 0 and
         r2.stdout.endswith("300 entries\n"),
         "a client that stopped reading and one that went halfway: UDP "
         "answered, another list show whole", (ok, r2.stdout[-40:]))
    s.close()
    t.ok(srv.alive(), "rblmuxd still running")


if __name__ == "__main__":
    h.run_suite("dynlist", [add_answers, allow_and_del, reloads, expires,
                            restarts,
                            concurrent, bad_input, unusable_store,
                            add_to_answer, mass_expiry, show_streamed])
