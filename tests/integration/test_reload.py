#!/usr/bin/env python3
"""test_reload -- list reloads, SIGHUP, broken files and configs, -n,
start and stop (SPEC sections 2, 6, 9).
"""
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TEMPLATE = h.read_data("conf/reload.conf")
START = h.read_data("lists/reload.ip4set")
BROKEN = h.read_data("lists/broken.ip4set")
WAIT = 10.0         # the most a change may take to show with 1s polling


def server(check="1s", conf=None):
    text = (conf or TEMPLATE).replace("@CHECK@", check)
    srv = h.Server(text, [("lists/reload.ip4set", "local.ip4set")])
    return srv


def write(path, text, atomic=True):
    if atomic:
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)
    else:
        with open(path, "w") as f:
            f.write(text)


def status(srv, ip, zone="rl.test"):
    m = srv.q(h.rev4(ip) + "." + zone, "A", timeout=1.0)
    if m is None:
        return None
    return m.rcode_name, m.a_set()


def rcode(srv, name):
    m = srv.q(name, "A", timeout=1.0)
    return m.rcode_name if m else None


def listed(srv, ip, zone="rl.test"):
    return lambda: status(srv, ip, zone) == ("NOERROR", ["127.0.0.2"])


def unlisted(srv, ip, zone="rl.test"):
    return lambda: status(srv, ip, zone) == ("NXDOMAIN", [])


def txt(srv, ip, zone="srv.test"):
    m = srv.q(h.rev4(ip) + "." + zone, "TXT", timeout=1.0)
    return m.txt_set() if m else None


def stat(srv, name):
    r = srv.ctl("stats")
    for line in r.stdout.splitlines():
        k, _, v = line.partition(":")
        if k.strip() == name:
            return int(v)
    return None


def reloads(srv):
    """(reloads, reloads.failed) from rblmuxctl stats."""
    return stat(srv, "reloads"), stat(srv, "reloads.failed")


def hup_and_wait(srv):
    """SIGHUP, then wait until that reload is done: "ok" or "failed"
    (None if neither counter moved within WAIT). Only for servers that
    reload on nothing else (check-interval 0)."""
    before = reloads(srv)
    srv.hup()

    def moved():
        now = reloads(srv)
        return now if None not in now and now != before else None

    now = h.poll_until(moved, WAIT, interval=0.05)
    if not now:
        return None
    return "ok" if now[0] > before[0] else "failed"


def file_changes(t):
    srv = server("1s").start()
    lf = srv.path("local.ip4set")
    t.ok(listed(srv, "192.0.2.1")(), "initial data answers")
    t.ok(unlisted(srv, "192.0.2.2")(), "192.0.2.2 not listed yet")

    t0 = time.monotonic()
    write(lf, START + "192.0.2.2\n", atomic=False)
    ok = h.poll_until(listed(srv, "192.0.2.2"), WAIT)
    t.ok(ok, "list edited in place: new entry answers within %.0f s "
         "(took %.1f s)" % (WAIT, time.monotonic() - t0))
    t.ok(listed(srv, "192.0.2.1")(), "old entries still answer")

    write(lf, START.replace("192.0.2.1\n", "") + "192.0.2.2\n")
    ok = h.poll_until(unlisted(srv, "192.0.2.1"), WAIT)
    t.ok(ok, "entry removed (file replaced by rename): NXDOMAIN")
    t.ok(listed(srv, "192.0.2.2")(), "the other entries still answer")

    write(lf, START.replace("First version", "Second version"))
    want = ["Second version: 192.0.2.1"]
    ok = h.poll_until(lambda: txt(srv, "192.0.2.1") == want, WAIT)
    t.ok(ok, "changed TXT template is served",
         "got %r" % (txt(srv, "192.0.2.1"),))
    m = srv.q("1.2.0.192.srv.test", "SOA")
    t.ok(m is not None, "server answers after three reloads")

    # a TCP connection opened before a reload is served by the new data
    s = h.tcp_connect(srv.port)
    try:
        s.sendall(h.tcp_frame(h.make_query("4.2.0.192.rl.test", "A",
                                           qid=41)))
        before = h.tcp_read_msg(s, 2.0)
        write(lf, START + "192.0.2.4\n")
        srv.hup()
        h.poll_until(listed(srv, "192.0.2.4"), WAIT)
        s.sendall(h.tcp_frame(h.make_query("4.2.0.192.rl.test", "A",
                                           qid=42)))
        after = h.tcp_read_msg(s, 2.0)
    finally:
        s.close()
    b = h.parse_msg(before) if before else None
    a = h.parse_msg(after) if after else None
    t.ok(b is not None and b.rcode_name == "NXDOMAIN" and a is not None
         and a.a_set() == ["127.0.0.2"],
         "an open TCP connection survives the reload and sees the new "
         "data", "before %r\nafter %r" % (b, a))
    n = stat(srv, "reloads")
    t.ok(n is not None and n >= 3, "stats: reloads counted (%s)" % n)
    t.ok(srv.alive(), "server alive")
    srv.stop()


def broken_list(t):
    # no polling: only SIGHUP reloads here
    srv = server("0").start()
    lf = srv.path("local.ip4set")
    write(lf, START + "192.0.2.3\n")
    time.sleep(1.5)
    t.ok(unlisted(srv, "192.0.2.3")(),
         "check-interval 0: a changed file is not picked up by itself")
    srv.hup()
    t.ok(h.poll_until(listed(srv, "192.0.2.3"), WAIT),
         "SIGHUP: the changed list answers")

    write(lf, BROKEN)
    t.eq(hup_and_wait(srv), "ok", "SIGHUP with a broken list file: the "
         "reload goes ahead (the list keeps its data)")
    t.ok(srv.alive(), "SIGHUP with a broken list file: still running")
    t.ok(listed(srv, "192.0.2.1")() and listed(srv, "192.0.2.3")(),
         "broken list file: the old data keeps answering")
    t.ok(unlisted(srv, "192.0.2.5")(),
         "broken list file: its good lines are not half-applied")
    r = srv.ctl("status")
    t.ok(r.returncode == 0 and "up" in r.stdout,
         "rblmuxctl status works after the failed reload",
         r.stdout + r.stderr)
    log = srv.log()
    t.ok("local.ip4set:4" in log and "local.ip4set:5" in log,
         "bad lines reported with file:line (lines 4 and 5)",
         srv.log_tail(15))
    r = srv.ctl("status")
    t.ok("kept" in "\n".join(l for l in r.stdout.splitlines()
                             if "local" in l),
         "status says the list keeps its previous data", r.stdout)
    write(lf, BROKEN + "also bad\n")
    r = srv.ctl("reload")
    out = r.stdout + r.stderr
    t.ok("local.ip4set:4" in out and "local.ip4set:7" in out,
         "rblmuxctl reload of a changed broken file reports its bad lines",
         "rc %d: %s" % (r.returncode, out))
    t.ok(listed(srv, "192.0.2.1")() and unlisted(srv, "192.0.2.5")(),
         "old data still answers after rblmuxctl reload of the broken "
         "file")

    write(lf, BROKEN.replace("this is not an address\n", "")
          .replace("999.1.2.3\n", ""))
    srv.hup()
    ok = h.poll_until(listed(srv, "192.0.2.5"), WAIT)
    t.ok(ok, "fixed file + SIGHUP: the new data answers")
    t.ok(unlisted(srv, "192.0.2.1")(), "and the old data is gone")

    os.unlink(lf)
    done = hup_and_wait(srv)
    t.ok(done is not None and srv.alive() and listed(srv, "192.0.2.5")(),
         "list file deleted + SIGHUP: old data keeps answering")
    srv.stop()


EXTRA_ZONE = """
zone:
    name: new.test
    answer: bitmask
    bit: 2 local
"""


def broken_config(t):
    srv = server("0").start()
    good = TEMPLATE.replace("@CHECK@", "0")

    bad = good + EXTRA_ZONE + "    no-such-keyword: 1\n"
    badline = bad.count("\n")
    srv.write_conf(bad)
    t.eq(hup_and_wait(srv), "failed", "SIGHUP with a broken config: the "
         "reload fails")
    t.ok(srv.alive(), "SIGHUP with a broken config: still running")
    t.ok(listed(srv, "192.0.2.1")(), "broken config: old zones answer")
    m = srv.q("1.2.0.192.new.test", "A")
    t.ok(m is not None and m.rcode_name == "REFUSED",
         "broken config: the zone it adds is not served", repr(m))
    r = srv.ctl("status")
    t.ok(r.returncode == 0 and "status: up" in r.stdout,
         "rblmuxctl status works after the rejected config", r.stderr)
    log = srv.log()
    t.ok("rblmux.conf:%d" % badline in log,
         "config problem logged as rblmux.conf:%d" % badline,
         srv.log_tail(10))
    n = stat(srv, "reloads.failed")
    t.ok(n is not None and n >= 1, "stats: reloads.failed = %s" % n)

    r = srv.ctl("reload")
    t.ok(r.returncode == 1 and
         "rblmux.conf:%d" % badline in r.stdout + r.stderr,
         "rblmuxctl reload of a broken config: ERROR with file:line",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    srv.write_conf(good.replace("@TMP@/local.ip4set", "@TMP@/missing.ip4set"))
    r = srv.ctl("reload")
    t.ok("missing.ip4set" in r.stdout + r.stderr and
         listed(srv, "192.0.2.1")(),
         "config naming a missing list file: problem reported, the old "
         "data keeps serving",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    srv.write_conf(good + EXTRA_ZONE)
    r = srv.ctl("reload")
    t.ok(r.returncode == 0, "rblmuxctl reload of a good config: OK",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    t.ok(listed(srv, "192.0.2.1", "new.test")(),
         "the zone the new config adds answers once reload returned")
    t.ok(listed(srv, "192.0.2.1")(), "the old zone still answers")

    # a changed load option (the list's ttl:) reloads the unchanged file
    srv.write_conf(good.replace("    file: @TMP@/local.ip4set\n",
                                "    file: @TMP@/local.ip4set\n"
                                "    ttl: 777\n"))
    r = srv.ctl("reload")
    m = srv.q("1.2.0.192.srv.test", "A")
    ttls = sorted(rr.ttl for rr in m.answer) if m else None
    t.ok(r.returncode == 0 and ttls == [777],
         "list ttl: changed in the config applies after reload",
         "rc %d, ttls %s" % (r.returncode, ttls))

    # dropping a zone takes effect too
    srv.write_conf(good.replace("zone:\n    name: srv.test\n"
                                "    serve: local\n", ""))
    srv.hup()
    ok = h.poll_until(lambda: rcode(srv, "1.2.0.192.srv.test") == "REFUSED",
                      WAIT)
    t.ok(ok, "SIGHUP with a zone removed: it is REFUSED afterwards")
    t.ok(srv.alive(), "server alive")
    srv.stop()


def closed_by_server(s, timeout):
    """Does the server close this idle TCP connection within timeout?"""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def reload_applies_settings(t):
    """access-control, tcp-idle-timeout and check-interval follow a
    reload of the config."""
    def with_server(conf, *lines):
        return conf.replace("server:\n", "server:\n" +
                            "".join("    %s\n" % l for l in lines), 1)

    # an hour: no client goes idle for that long here
    base = with_server(TEMPLATE.replace("@CHECK@", "0"),
                       "tcp-idle-timeout: 1h")
    srv = server(conf=base).start()

    def reload(conf):
        srv.write_conf(conf)
        r = srv.ctl("reload")
        return r.returncode, r.stdout + r.stderr

    name = "1.2.0.192.rl.test"
    t.eq(rcode(srv, name), "NOERROR", "loopback client answered")
    rc, out = reload(with_server(base, "access-control: 127.0.0.0/8 "
                                 "refuse"))
    t.ok(rc == 0 and rcode(srv, name) == "REFUSED",
         "reload refusing 127.0.0.0/8: REFUSED", "rc %d: %s" % (rc, out))
    rc, out = reload(with_server(base, "access-control: 127.0.0.0/8 deny"))
    m = srv.q(name, "A", timeout=1.0)
    t.ok(rc == 0 and m is None and srv.alive(),
         "reload denying 127.0.0.0/8: no answer at all",
         "rc %d: %s; got %r" % (rc, out, m))
    rc, out = reload(base)
    t.ok(rc == 0 and listed(srv, "192.0.2.1")(),
         "reload without the rule: loopback answered again",
         "rc %d: %s" % (rc, out))

    rc, out = reload(base.replace("tcp-idle-timeout: 1h",
                                  "tcp-idle-timeout: 200ms"))
    s = h.tcp_connect(srv.port)
    try:
        closed = closed_by_server(s, WAIT)
    finally:
        s.close()
    t.ok(rc == 0 and closed, "reload from tcp-idle-timeout 1h to 200ms: an "
         "idle TCP client is closed", "rc %d: %s" % (rc, out))

    # check-interval 0 -> 1s: a changed file is picked up without a signal
    rc, out = reload(base.replace("check-interval: 0", "check-interval: 1s"))
    before = unlisted(srv, "192.0.2.66")()
    write(srv.path("local.ip4set"), START + "192.0.2.66\n")
    t.ok(rc == 0 and before and h.poll_until(listed(srv, "192.0.2.66"),
                                             WAIT),
         "reload from check-interval 0 to 1s: a changed list file is "
         "picked up", "rc %d: %s" % (rc, out))
    srv.stop()


BIG_CONF = """
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
    check-interval: 0
local-list:
    name: big1
    file: %(big)s
local-list:
    name: big2
    file: %(big)s
local-list:
    name: big3
    file: %(big)s
zone:
    name: big.test
    answer: bitmask
    bit: 2 big1
    bit: 4 big2
    bit: 8 big3
"""
_big = []


def big_list():
    """A 1,000,000-entry ip4set (tools/gen-ip4set) plus 192.0.2.77, made
    once per run: three lists on it take a while to load at start-up."""
    if not _big:
        path = os.path.join(h.make_tmpdir(), "big.ip4set")
        r = h.run([sys.executable, os.path.join(h.ROOT, "tools",
                                                "gen-ip4set"),
                   "-n", "1000000", "-s", "7", "-o", path], timeout=120)
        if r.returncode != 0:
            raise RuntimeError("gen-ip4set: " + r.stderr)
        with open(path, "a") as f:
            f.write("192.0.2.77\n")
        _big.append(path)
    return _big[0]


def has_open(pid, path):
    """Does process pid hold path open (it is reading that file)?"""
    d = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(os.path.join(d, fd)) == path:
                return True
        except OSError:
            pass
    return False


def start_loading(args=()):
    """Start rblmuxd on the big lists; return it once it is reading them
    (None if it never was seen reading)."""
    big = big_list()
    srv = h.Server(BIG_CONF % {"big": big}).start(wait=False, args=args)
    seen = h.poll_until(lambda: has_open(srv.pid, big) or not srv.alive(),
                        60, interval=0.002)
    if not seen or not srv.alive() or "started" in srv.log():
        return srv, False
    return srv, True


def hup_at_startup(t):
    """SIGHUPs while the lists are still loading: one reload once
    serving."""
    srv, loading = start_loading()
    t.ok(loading, "rblmuxd seen reading its lists at start-up",
         srv.log_tail(5))
    for _ in range(3):
        srv.hup()
    try:
        srv.wait_ready(tries=600)
        up = True
    except h.ServerError as e:
        up = str(e)
    t.ok(up is True and srv.alive(), "SIGHUP x3 while loading: serving",
         up)
    if up is not True:
        return
    n = h.poll_until(lambda: stat(srv, "reloads"), 60, interval=0.1)
    t.eq((n, stat(srv, "reloads.failed")), (1, 0),
         "SIGHUP x3 while loading: one reload once serving")
    t.eq(srv.log().count("reloading config and lists"), 1,
         "and only one reload started", srv.log_tail(8))
    t.eq(status(srv, "192.0.2.77", "big.test"), ("NOERROR", ["127.0.0.14"]),
         "the loaded lists answer after the reload")
    srv.stop()


def term_at_startup(t):
    """SIGTERM while the lists are still loading: a clean stop."""
    pidfile = os.path.join(h.make_tmpdir(), "rblmuxd.pid")
    srv, loading = start_loading(args=["-p", pidfile])
    t.ok(loading, "rblmuxd seen reading its lists at start-up",
         srv.log_tail(5))
    srv.signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        rc = None
    log = srv.log()
    t.ok(rc == 0 and 0 <= log.find("signal 15: stopping") <
         log.find("stopped"), "SIGTERM while loading: stopping, stopped, "
         "exit 0", "rc %s: %s" % (rc, srv.log_tail(5)))
    t.ok(not os.path.exists(pidfile) and not os.path.exists(srv.sock),
         "SIGTERM while loading: no pid file or control socket left")
    srv.stop()


def check_mode(t):
    tmp = h.make_tmpdir()
    srv = server("1s")            # only for its files; started below
    good = srv.conf

    def check(conf):
        return h.run([h.RBLMUXD, "-n", "-c", conf], timeout=20)

    r = check(good)
    t.ok(r.returncode == 0, "-n on a good config: exit 0",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    text = open(good).read()
    cases = [
        ("unknown keyword", "    bogus-keyword: yes\n", "server:\n"),
        ("bad value", "    tcp-max-clients: lots\n", "server:\n"),
        ("bad duration", "    check-interval: soon\n", "server:\n"),
    ]
    for what, line, after in cases:
        idx = text.index(after) + len(after)
        bad = text[:idx] + line + text[idx:]
        lineno = text[:idx].count("\n") + 1
        path = os.path.join(tmp, "bad.conf")
        with open(path, "w") as f:
            f.write(bad)
        r = check(path)
        t.ok(r.returncode == 1 and "bad.conf:%d" % lineno in r.stderr,
             "-n, %s: exit 1 with bad.conf:%d" % (what, lineno),
             "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    path = os.path.join(tmp, "badref.conf")
    with open(path, "w") as f:
        f.write(text.replace("bit: 2 local", "bit: 2 nosuchlist"))
    r = check(path)
    t.ok(r.returncode == 1 and "badref.conf:" in r.stderr,
         "-n, zone naming an unknown list: exit 1 with file:line",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    lf = srv.path("local.ip4set")
    write(lf, BROKEN)
    r = check(good)
    t.ok(r.returncode == 1 and "local.ip4set:4" in r.stderr and
         "local.ip4set:5" in r.stderr,
         "-n, list file with bad lines: exit 1, local.ip4set:4 and :5",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    os.unlink(lf)
    r = check(good)
    t.ok(r.returncode == 1 and "local.ip4set" in r.stderr,
         "-n, missing list file: exit 1 naming it",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    r = check(os.path.join(tmp, "nonexistent.conf"))
    t.ok(r.returncode == 1, "-n, missing config file: exit 1",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    # -n opens no sockets: it passes while a server holds the port
    write(lf, START)
    srv.start()
    r = check(good)
    t.ok(r.returncode == 0 and srv.alive(),
         "-n while a server holds the port: exit 0 (no sockets opened)",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    t.ok(listed(srv, "192.0.2.1")(), "the running server is undisturbed")
    srv.stop()


def lifecycle(t):
    srv = server("1s")
    pidfile = srv.path("rblmuxd.pid")
    srv.start(args=["-p", pidfile])
    pid = open(pidfile).read().strip() if os.path.exists(pidfile) else ""
    t.eq(pid, str(srv.pid), "-p writes the pid file")
    t.ok(os.path.exists(srv.sock), "control socket created")
    srv.signal(signal.SIGUSR1)
    t.ok(h.poll_until(lambda: "stats queries" in srv.log(), WAIT),
         "SIGUSR1 wrote the counters to the log", srv.log_tail(5))
    t.ok(srv.alive() and listed(srv, "192.0.2.1")(),
         "SIGUSR1: counters logged, still serving")
    # (the harness sends SIGKILL if SIGTERM has not stopped it in 3 s)
    rc = srv.stop()
    log = srv.log()
    t.ok(rc == 0 and 0 <= log.find("signal 15: stopping") <
         log.find("stopped"), "SIGTERM: logs stopping, then stopped; "
         "exit 0", "rc %s: %s" % (rc, srv.log_tail(3)))
    t.ok(not os.path.exists(pidfile), "pid file removed at exit")
    t.ok(not os.path.exists(srv.sock), "control socket removed at exit")

    srv = server("1s").start()
    srv.proc.send_signal(signal.SIGINT)
    try:
        rc = srv.proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        rc = None
    t.eq(rc, 0, "SIGINT: exit 0")
    srv.stop()

    # a broken config at start: exits at once with file:line
    srv = server("1s")
    with open(srv.conf, "a") as f:
        f.write("    bogus-keyword: 1\n")
    srv.start(wait=False)
    try:
        rc = srv.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        rc = None
    t.ok(rc not in (None, 0) and "rblmux.conf:" in srv.log(),
         "start with a broken config: exits non-zero naming file:line",
         "rc %s: %s" % (rc, srv.log_tail(5)))
    srv.stop()

    # the port is taken: exits non-zero instead of running deaf
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        srv = server("1s")
        busy.bind(("127.0.0.1", srv.port))
        srv.start(wait=False)
        try:
            rc = srv.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        t.ok(rc not in (None, 0), "listen port in use: exits non-zero",
             "rc %s: %s" % (rc, srv.log_tail(5)))
        srv.stop()
    finally:
        busy.close()


def reload_under_load(t):
    """Reloads swap the data in without dropping queries."""
    srv = server("0")
    lf = srv.path("local.ip4set")
    rnd = random.Random(11)
    lines = [START]
    for _ in range(100000):
        lines.append("%d.%d.%d.%d\n" % (rnd.randrange(1, 100),
                                        rnd.randrange(256),
                                        rnd.randrange(256),
                                        rnd.randrange(256)))
    body = "".join(lines)
    write(lf, body)
    srv.start()
    stop = threading.Event()
    res = {"sent": 0, "lost": 0, "wrong": 0}

    def hammer():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        i = 0
        while not stop.is_set():
            i += 1
            q = h.make_query("1.2.0.192.rl.test", "A", qid=i & 0xffff)
            s.sendto(q, ("127.0.0.1", srv.port))
            res["sent"] += 1
            try:
                while True:
                    data = s.recv(4096)
                    if data[:2] == q[:2]:
                        break
                m = h.parse_msg(data)
                if m.a_set() != ["127.0.0.2"]:
                    res["wrong"] += 1
            except socket.timeout:
                res["lost"] += 1
        s.close()

    th = threading.Thread(target=hammer)
    th.start()
    try:
        for i in range(3):
            write(lf, body + "192.0.2.%d\n" % (100 + i))
            srv.hup()
            ok = h.poll_until(listed(srv, "192.0.2.%d" % (100 + i)), WAIT,
                              interval=0.1)
            if not ok:
                break
        time.sleep(0.3)
    finally:
        stop.set()
        th.join(timeout=5)
    t.ok(ok, "three 100k-entry reloads applied")
    t.ok(res["sent"] > 50 and res["lost"] == 0 and res["wrong"] == 0,
         "queries during the reloads: %d sent, %d lost, %d wrong" %
         (res["sent"], res["lost"], res["wrong"]))
    srv.stop()


if __name__ == "__main__":
    h.run_suite("reload", [file_changes, broken_list, broken_config,
                           reload_applies_settings, hup_at_startup,
                           term_at_startup, check_mode, lifecycle,
                           reload_under_load])
