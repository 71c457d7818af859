#!/usr/bin/env python3
"""test_ctl -- rblmuxctl against a running rblmuxd (SPEC section 2).

status, stats (name: value lines, counters that grow and never reset),
lookup (each source's answer and the merged reply), reload, errors, and
the control socket itself (mode 0600, stuck clients do not block DNS).
"""
import os
import re
import resource
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
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


def read_all(s, timeout=10):
    """Everything the server sends on s until it closes (or timeout)."""
    out = b""
    s.settimeout(timeout)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def raw(path, data, shut=False):
    """Send raw bytes to the control socket; return everything it says
    (shut: close our side after sending, as printf | nc does)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        return read_all(s)
    finally:
        s.close()


def ctl_run(srv, *args, timeout=10):
    """srv.ctl(), with a timeout counted as a failed command (rc -1)."""
    try:
        return srv.ctl(*args, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", "timed out")


def ctl_ok(srv):
    return ctl_run(srv, "status").returncode == 0


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

    # a control client that says nothing does not hold up DNS: both are
    # answered while it is still connected (it is dropped after 5 s; if
    # that came first, the order is not shown and the check runs again)
    for attempt in range(3):
        lazy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lazy.connect(srv.sock)
        try:
            m = srv.q("10.2.0.192.agg.test", "A", timeout=2.0)
            r = ctl_run(srv, "status")
            still = not h.peer_closed(lazy, 0)
        finally:
            lazy.close()
        if still:
            break
    t.ok(m is not None and r.returncode == 0 and still,
         "a silent control client blocks neither DNS nor other control "
         "clients", "answer %r, status rc %d, silent client still "
         "connected: %s" % (m, r.returncode, still))

    # an over-long command line is refused, the server lives on
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(srv.sock)
    try:
        s.settimeout(3)
        try:
            s.sendall(b"lookup " + b"x" * 10000 + b"\n")
        except OSError:
            pass
        data = read_all(s, 3)
    finally:
        s.close()
    t.ok(data.startswith(b"ERROR\n") and b"too long" in data,
         "over-long command: ERROR, too long", repr(data[:80]))
    t.ok(srv.alive() and srv.ctl("status").returncode == 0,
         "server fine after the over-long command")


def long_command(t, srv):
    """100 KB without a newline: the server answers ERROR at 4 KB, reads
    and drops the rest, so the client can send it all and then read the
    whole answer and a clean end, every time."""
    bad = []
    for i in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        out, err = b"", None
        try:
            s.connect(srv.sock)
            s.sendall(b"x" * 100000)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except OSError as e:
            err = e
        finally:
            s.close()
        if err is not None or not out.startswith(b"ERROR\n") or \
                b"command too long" not in out:
            bad.append("try %d: %r, %r" % (i, out[:60], err))
    t.ok(not bad, "100 KB without a newline, 20 times: all sent, then "
         "ERROR command too long and the end, no reset", bad[:3])
    t.ok(srv.alive() and ctl_ok(srv), "server fine after them")


def command_lines(t, srv):
    """What the server takes as a command line; rblmuxctl's exit codes."""
    out = raw(srv.sock, b"status\r\n")
    t.ok(out.startswith(b"OK\n") and b"status: up" in out,
         "a command line ending in CRLF is taken", repr(out[:80]))
    out = raw(srv.sock, b"stat\0us\n")
    t.ok(out.startswith(b"ERROR\n") and b"NUL" in out,
         "a NUL byte in the command line: ERROR", repr(out[:80]))
    out = raw(srv.sock, b"status", shut=True)
    t.ok(out.startswith(b"OK\n") and b"status: up" in out,
         "a command without newline, then end of input: taken",
         repr(out[:80]))

    r = srv.ctl("lookup", "1" * 4000)
    t.ok(r.returncode == 1 and "not an address or domain name" in r.stderr,
         "lookup of 4,000 digits: exit 1, not an address or name",
         "rc %d: %s%s" % (r.returncode, r.stdout[:200], r.stderr[:200]))
    r = srv.ctl("lookup", "192.0.2.1", "example")
    t.ok(r.returncode == 1 and "no such zone" in r.stderr,
         "an ERROR answer: exit 1, the text on stderr",
         "rc %d: %s%s" % (r.returncode, r.stdout[:200], r.stderr[:200]))
    # the longest line the server takes (4095 bytes and the newline)
    # reaches it; one byte more is refused by rblmuxctl itself
    head = "lookup 192.0.2.1 "
    r = srv.ctl("lookup", "192.0.2.1", "z" * (4095 - len(head)))
    t.ok(r.returncode == 1 and "no such zone" in r.stderr,
         "a 4,095-byte command reaches the server",
         "rc %d: %s" % (r.returncode, r.stderr[:200]))
    r = srv.ctl("lookup", "192.0.2.1", "z" * (4096 - len(head)))
    t.ok(r.returncode == 2 and "command too long" in r.stderr and
         "4095" in r.stderr,
         "a 4,096-byte command: rblmuxctl exits 2 naming the limit",
         "rc %d: %s" % (r.returncode, r.stderr[:200]))
    r = srv.ctl("lookup", "1" * 5000)
    t.ok(r.returncode == 2 and "command too long" in r.stderr,
         "lookup of 5,000 digits: exit 2, command too long",
         "rc %d: %s" % (r.returncode, r.stderr[:200]))


def client_cap(t, srv):
    """At most 32 control clients; one more is told so and closed."""
    for attempt in range(3):
        held = []
        try:
            for _ in range(32):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(srv.sock)
                held.append(s)
            r = ctl_run(srv, "status")
            # the 32 were still connected after the answer (none timed
            # out first), so they are what the 33rd met
            still = all(not h.peer_closed(s, 0) for s in held)
        finally:
            for s in held:
                s.close()
        if still:
            break
    t.ok(still and r.returncode == 1 and
         "too many control clients" in r.stderr,
         "a 33rd control client: exit 1, too many control clients",
         "rc %d: %s%s (32 still connected: %s)" %
         (r.returncode, r.stdout[:200], r.stderr, still))
    t.ok(h.poll_until(lambda: ctl_ok(srv), 20),
         "once they hang up, rblmuxctl is served again")


def out_of_descriptors(t):
    """Accept pauses when descriptors run out and picks up again."""
    srv = h.Server(CONF, FILES).start()
    nfd = h.open_fds(srv.pid)
    resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (nfd + 3, nfd + 3))
    held = []
    try:
        for _ in range(8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(srv.sock)
            except BlockingIOError:
                pass
            held.append(s)
        m = srv.q("10.2.0.192.agg.test", "A", timeout=2.0)
        t.ok(m is not None and m.a_set() == ["127.0.0.6"],
             "descriptors used up by control clients: DNS still answers",
             repr(m))
    finally:
        for s in held:
            s.close()
    t.ok(h.poll_until(lambda: ctl_ok(srv), 30),
         "descriptors free again: the control socket accepts again",
         srv.log_tail(5))
    t.ok(srv.alive(), "server alive after running out of descriptors")
    srv.stop()


def wait_exit(srv, timeout=20):
    try:
        return srv.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def socket_path(t):
    """The control socket path: refused, replaced, or left alone."""
    srv = h.Server(CONF, FILES)
    with open(srv.sock, "w") as f:
        f.write("not a socket\n")
    srv.start(wait=False)
    rc = wait_exit(srv)
    log = srv.log()
    t.ok(rc == 1 and srv.sock in log and "not a socket" in log and
         "not started" in log,
         "a regular file at the control socket path: not started, the "
         "log names the path", "rc %s\n%s" % (rc, srv.log_tail(5)))
    with open(srv.sock) as f:
        t.eq(f.read(), "not a socket\n", "the file is left as it was")
    srv.stop()

    srv = h.Server(CONF.replace("@TMP@/ctl.sock", "@TMP@/no/dir/ctl.sock"),
                   FILES)
    srv.start(wait=False)
    rc = wait_exit(srv)
    t.ok(rc == 1 and "no/dir/ctl.sock" in srv.log() and
         "not started" in srv.log(),
         "a control socket that cannot be created: not started, the log "
         "names the path", "rc %s\n%s" % (rc, srv.log_tail(5)))
    srv.stop()

    srv = h.Server(CONF, FILES)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(srv.sock)
    stale.close()           # the file stays, nothing listens
    srv.start()
    r = srv.ctl("status")
    t.ok(r.returncode == 0 and "pid: %d" % srv.pid in r.stdout,
         "a stale control socket is replaced", r.stderr + srv.log_tail(5))

    twin = h.Server(CONF.replace("@TMP@/ctl.sock", srv.sock), FILES,
                    name="twin")
    twin.start(wait=False)
    rc = wait_exit(twin)
    tlog = twin.log()
    t.ok(rc == 1 and "another server is running" in tlog and
         srv.sock in tlog,
         "a second server on a live control socket: not started, says so",
         "rc %s\n%s" % (rc, twin.log_tail(5)))
    r = srv.ctl("status")
    t.ok(r.returncode == 0 and "pid: %d" % srv.pid in r.stdout,
         "the first server still answers on its control socket",
         r.stdout[:200] + r.stderr)
    m = twin.q("10.2.0.192.agg.test", "A", timeout=0.5)
    t.ok(m is None, "the second server bound nothing", repr(m))

    # the path now belongs to someone else: left alone at stop
    os.unlink(srv.sock)
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(srv.sock)
    other.listen(1)
    ino = os.stat(srv.sock).st_ino
    try:
        rc = srv.stop()
        t.ok(rc == 0 and os.path.exists(srv.sock) and
             os.stat(srv.sock).st_ino == ino,
             "at stop the server leaves a socket that is not its own")
    finally:
        other.close()


NZONES = 10000


def many(n, extra=""):
    """A config with n zones z00000.test ... over one list."""
    return ("server:\n    listen: 127.0.0.1@@PORT@\n"
            "    control-socket: @TMP@/ctl.sock\n    check-interval: 0\n\n"
            "local-list:\n    name: spam\n    file: @TMP@/spam.ip4set\n\n" +
            "".join("zone:\n    name: z%05d.test\n    answer: bitmask\n"
                    "    bit: 2 spam\n\n" % i for i in range(n)) + extra)


TESTPOINT = "2.0.0.127.z00000.test"


def status_complete(t, srv):
    r = srv.ctl("status", timeout=60)
    zl = [l for l in r.stdout.splitlines() if l.startswith("zone z")]
    t.ok(r.returncode == 0 and len(zl) == NZONES and
         ("zone z%05d.test:" % (NZONES - 1)) in r.stdout and
         r.stdout.rstrip().splitlines()[-1].startswith("cache:"),
         "status with %d zones is complete: every zone, the last one and "
         "the lines after" % NZONES,
         "rc %d, %d zone lines, %d bytes, ends %r" %
         (r.returncode, len(zl), len(r.stdout), r.stdout[-200:]))
    return len(r.stdout)


def stuck_readers(t, srv, size):
    """Clients that ask for a long answer and never read it."""
    held = []
    try:
        for _ in range(10):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(srv.sock)
            s.sendall(b"status\n")
            held.append(s)
        # the server has begun answering (never read beyond this)
        r, _, _ = select.select(held[:1], [], [], 30)
        t.ok(r, "the first stuck client's answer has begun")
        answered, misses = 0, 0
        for i in range(300):
            m = srv.q(TESTPOINT, "A", timeout=2.0)
            if m is not None and m.a_set() == ["127.0.0.2"]:
                answered += 1
            else:
                misses += 1
                if misses >= 3:
                    break
        t.ok(answered == 300,
             "10 control clients not reading a %d-byte status: every UDP "
             "query answered (%d of 300)" % (size, answered))
        r = srv.ctl("status", timeout=60)
        t.ok(r.returncode == 0 and
             ("zone z%05d.test:" % (NZONES - 1)) in r.stdout,
             "meanwhile another client gets the whole status")
        gone = all(h.peer_closed(s, 60) for s in held)
        t.ok(gone, "control clients that read nothing are disconnected")
        got = read_all(held[0])
        t.ok(got.startswith(b"OK\n") and len(got) < size,
             "a disconnected client got the start of its answer only "
             "(%d bytes)" % len(got))
    finally:
        for s in held:
            s.close()


def reload_storm(t):
    """rblmuxctl reload answers while SIGHUPs keep coming (3,000 zones:
    a reload takes some milliseconds, many times the SIGHUP interval)."""
    srv = h.Server(many(3000), ["lists/spam.ip4set"]).start()
    # a SIGHUP every 2 ms: several arrive during each reload
    stop = threading.Event()

    def hup():
        while not stop.is_set():
            srv.hup()
            stop.wait(0.002)

    storm = threading.Thread(target=hup)
    storm.start()
    try:
        running = h.poll_until(
            lambda: "reload: running" in srv.ctl("status",
                                                 timeout=60).stdout, 30, 0.05)
        t.ok(running, "the SIGHUP storm keeps reloads running")
        ps = [subprocess.Popen([h.RBLMUXCTL, "-s", srv.sock, "reload"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and \
                any(p.poll() is None for p in ps):
            time.sleep(0.05)
        late = [p for p in ps if p.poll() is None]
        for p in late:
            p.kill()
        outs = [p.communicate() for p in ps]
        if not t.ok(not late and all(p.returncode == 0 for p in ps) and
                    all("reloaded" in o[0] for o in outs),
                    "4 rblmuxctl reload during a SIGHUP storm each answer "
                    "while it lasts", "%d still waiting; %r" %
                    (len(late), [(p.returncode, o)
                                 for p, o in zip(ps, outs)])):
            return

        # each answer comes from a reload that read the config written
        # before the request, not from one that was already running
        bad = []
        for i in range(3):
            tmp = srv.conf + ".new"
            with open(tmp, "w") as f:
                f.write(srv.subst(many(3000, "zone:\n    name: new%d.test"
                                       "\n    answer: bitmask\n"
                                       "    bit: 2 spam\n" % i)))
            os.rename(tmp, srv.conf)
            r = ctl_run(srv, "reload", timeout=30)
            m = srv.q("2.0.0.127.new%d.test" % i, "A", timeout=2.0)
            if r.returncode != 0 or m is None or \
                    m.a_set() != ["127.0.0.2"]:
                bad.append((i, r.returncode, r.stderr[:200], repr(m)))
        t.ok(not bad, "during the storm, rblmuxctl reload returns once "
             "the config written before it answers", repr(bad))
    finally:
        stop.set()
        storm.join()
    t.ok(srv.alive(), "server alive after the storm")
    srv.stop()


def many_zones(t):
    srv = h.Server(many(NZONES), ["lists/spam.ip4set"]).start()
    size = status_complete(t, srv)
    stuck_readers(t, srv, size)
    srv.stop()


def ctl(t):
    srv = h.Server(CONF, FILES).start()
    for fn in (status_and_stats, lookups, errors, long_command,
               command_lines, client_cap):
        try:
            fn(t, srv)
        except Exception:
            import traceback
            t.ok(False, "%s raised" % fn.__name__,
                 traceback.format_exc().splitlines())
    srv.stop()


if __name__ == "__main__":
    h.run_suite("ctl", [ctl, socket_path, out_of_descriptors, many_zones,
                        reload_storm])
