#!/usr/bin/env python3
"""test_listfiles -- list files on reload.

Warnings (a repeated trie prefix, a long TXT, a $TIMESTAMP a little in
the future, a second $MAXRANGE4) never keep new data out and do not
fail -n; errors keep the old data. A list file that is not a regular
file (a FIFO) is refused at once: no reload hangs, -n and start-up say
which file. A reload that fails for lack of descriptors keeps the old
data and is tried again at the next check, and so is a whole reload
that failed for that reason. An unchanged list is not
read again. max-memory bounds a list.
"""
import os
import re
import resource
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CONF = """# test_listfiles
server:
    listen: 127.0.0.1@@PORT@
    listen: ::1@@PORT@
    control-socket: @TMP@/ctl.sock
    check-interval: @CHECK@

local-list:
    name: trie
    type: ip4trie
    file: @TMP@/trie.ip4trie

local-list:
    name: set
    file: @TMP@/set.ip4set
@SETOPTS@
zone:
    name: trie.test
    serve: trie

zone:
    name: set.test
    serve: set
"""
TRIE = "192.0.2.0/24\n"
SET = "198.51.100.1\n"
WAIT = 15.0


def server(check="0", trie=TRIE, lset=SET, setopts=""):
    srv = h.Server(CONF.replace("@CHECK@", check)
                   .replace("@SETOPTS@", setopts))
    write(srv.path("trie.ip4trie"), trie)
    write(srv.path("set.ip4set"), lset)
    return srv


def write(path, text):
    """Write beside and rename into place, as the man page says."""
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


def listed(srv, ip, zone):
    m = srv.q(h.rev4(ip) + "." + zone, "A", timeout=1.0)
    return m is not None and m.rcode_name == "NOERROR" and \
        m.a_set() == ["127.0.0.2"]


def unlisted(srv, ip, zone):
    m = srv.q(h.rev4(ip) + "." + zone, "A", timeout=1.0)
    return m is not None and m.rcode_name == "NXDOMAIN"


def status(srv):
    r = srv.ctl("status")
    return r.stdout if r.returncode == 0 else ""


def list_line(text, name):
    m = re.search(r"^list %s: .*$" % name, text, re.M)
    return m.group(0) if m else ""


def check(conf):
    return h.run([h.RBLMUXD, "-n", "-c", conf], timeout=30)


def warnings_do_not_block(t):
    srv = server().start()
    write(srv.path("trie.ip4trie"), "10.0.0.0/24\n10.9.9.9\n10.0.0.0/24\n")
    r = srv.ctl("reload")
    out = r.stdout + r.stderr
    t.ok(r.returncode == 0 and
         "trie.ip4trie:3: warning: duplicated entry" in out,
         "reload: the repeated prefix is a warning at file:line",
         "rc %d: %s" % (r.returncode, out))
    t.ok(listed(srv, "10.9.9.9", "trie.test") and
         listed(srv, "10.0.0.7", "trie.test"),
         "ip4trie with a repeated prefix: the new data answers (10.9.9.9)")
    t.ok(unlisted(srv, "192.0.2.1", "trie.test"),
         "and the old data is gone")
    line = list_line(status(srv), "trie")
    t.ok("0 errors, 1 warning" in line and "kept" not in line,
         "status: 1 warning, nothing kept", line)
    r = check(srv.conf)
    t.ok(r.returncode == 0 and "OK" in r.stdout and
         "trie.ip4trie:3: warning: duplicated entry" in r.stderr,
         "-n with warnings only: exit 0, the warning printed",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    # the other harmless ones, all in one file
    text = ("$TIMESTAMP 2099:01:01\n$MAXRANGE4 /16\n$MAXRANGE4 /8\n"
            "198.51.100.2 %s\n198.51.100.3\n" % ("x" * 300))
    write(srv.path("set.ip4set"), text)
    r = srv.ctl("reload")
    out = r.stdout + r.stderr
    t.ok(r.returncode == 0 and listed(srv, "198.51.100.3", "set.test") and
         unlisted(srv, "198.51.100.1", "set.test"),
         "future $TIMESTAMP, second $MAXRANGE4, long TXT: new data answers",
         "rc %d: %s" % (r.returncode, out))
    t.ok(all(("set.ip4set:%d: warning:" % n) in out for n in (1, 3, 4)),
         "each reported as a warning at its line", out)
    r = check(srv.conf)
    t.ok(r.returncode == 0, "-n: exit 0 for them",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))

    # an error keeps the old data; -n fails
    write(srv.path("set.ip4set"), "198.51.100.4\n198.51.100.5 :0:\n")
    r = srv.ctl("reload")
    out = r.stdout + r.stderr
    t.ok("set.ip4set:2: invalid A value" in out and
         listed(srv, "198.51.100.3", "set.test") and
         unlisted(srv, "198.51.100.4", "set.test"),
         "a line that cannot be read: reported, the old data stays", out)
    line = list_line(status(srv), "set")
    t.ok("1 error" in line and "previous data kept" in line,
         "status: 1 error, previous data kept", line)
    r = check(srv.conf)
    t.ok(r.returncode == 1 and "set.ip4set:2: invalid A value" in r.stderr,
         "-n with an error: exit 1 naming file:line",
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    t.ok(srv.alive(), "server alive")
    srv.stop()


def unchanged_not_reread(t):
    # the trie list has a warning: read again, it would say so again
    srv = server(trie="10.0.0.0/24\n10.0.0.0/24\n").start()
    before = list_line(status(srv), "trie")
    t.ok("1 warning" in before, "a list with a warning", before)
    r = srv.ctl("reload")
    out = r.stdout + r.stderr
    t.ok(r.returncode == 0 and "trie.ip4trie" not in out,
         "reload, nothing changed: the list is not read again", out)
    write(srv.path("set.ip4set"), SET + "198.51.100.9\n")
    r = srv.ctl("reload")
    out = r.stdout + r.stderr
    t.ok(r.returncode == 0 and "trie.ip4trie" not in out and
         listed(srv, "198.51.100.9", "set.test"),
         "reload, another list changed: this one is not read again", out)
    after = list_line(status(srv), "trie")
    t.eq(after, before, "status: its load time and problems untouched")
    srv.stop()


def path_check(t, srv, why, what):
    """-n on a config whose list file set.ip4set cannot be opened: exit 1,
    one error line naming the file and the reason, counted once"""
    r = check(srv.conf)
    lines = r.stderr.splitlines()
    t.ok(r.returncode == 1 and len(lines) == 2 and
         lines[0] == "%s: cannot open: %s" % (srv.path("set.ip4set"), why)
         and lines[1].endswith(": 1 error, 0 warnings"),
         "-n with %s: exit 1, one line naming it and why, 1 error" % what,
         "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))


def fifo(t):
    srv = server(check="1s").start()
    path = srv.path("set.ip4set")
    r0 = srv.ctl("stats").stdout
    reloads = int(re.search(r"^reloads: (\d+)", r0, re.M).group(1))
    os.mkfifo(path + ".fifo")
    os.rename(path + ".fifo", path)

    def settled():
        s = status(srv)
        m = re.search(r"^reloads: (\d+)", srv.ctl("stats").stdout, re.M)
        return "reload: idle" in s and m and int(m.group(1)) > reloads \
            and "previous data kept" in list_line(s, "set")

    t.ok(h.poll_until(settled, WAIT),
         "list file replaced by a FIFO: the check's reload ends, the old "
         "data is kept", status(srv))
    t.ok(listed(srv, "198.51.100.1", "set.test"), "the old data answers")
    t.ok("set.ip4set: cannot open: not a regular file" in srv.log(),
         "the log names the file", srv.log_tail(10))
    t.ok("list set: not a regular file, keeping the data loaded before" in
         srv.log() and "Input/output error" not in srv.log(),
         "and says why the old data is kept", srv.log_tail(10))
    r = srv.ctl("reload", timeout=20)
    out = r.stdout + r.stderr
    t.ok("reload: idle" in status(srv) and srv.alive(),
         "rblmuxctl reload returns; reload: idle", out)
    path_check(t, srv, "not a regular file", "the FIFO")
    os.unlink(path)
    path_check(t, srv, "No such file or directory", "a missing file")
    os.mkdir(path)
    path_check(t, srv, "Is a directory", "a directory")
    srv.stop()

    srv2 = server()
    os.unlink(srv2.path("set.ip4set"))
    os.mkfifo(srv2.path("set.ip4set"))
    srv2.start(wait=False)
    try:
        rc = srv2.proc.wait(timeout=20)
    except Exception:
        rc = None
    t.ok(rc not in (None, 0) and "not a regular file" in srv2.log(),
         "start-up with a FIFO: exits non-zero naming it",
         "rc %s: %s" % (rc, srv2.log_tail(5)))
    srv2.stop()


def lowest_free_fd(pid):
    fds = sorted(int(x) for x in os.listdir("/proc/%d/fd" % pid))
    n = 0
    for fd in fds:
        if fd != n:
            break
        n += 1
    return n


def transient_retried(t):
    srv = server(check="1s").start()
    soft, hard = resource.prlimit(srv.pid, resource.RLIMIT_NOFILE)
    mark = len(srv.log())
    # no descriptor left: the next open() in the server fails (EMFILE)
    resource.prlimit(srv.pid, resource.RLIMIT_NOFILE,
                     (lowest_free_fd(srv.pid), hard))
    try:
        write(srv.path("set.ip4set"), SET + "198.51.100.7\n")
        seen = h.poll_until(lambda: "Too many open files" in
                            srv.log()[mark:], WAIT)
        t.ok(seen, "out of descriptors: the reload says what failed",
             srv.log_tail(10))
        t.ok("read again at the next check" in srv.log()[mark:],
             "and that it reads the list again at the next check",
             srv.log_tail(10))
        t.ok(listed(srv, "198.51.100.1", "set.test") and
             unlisted(srv, "198.51.100.7", "set.test"),
             "the old data keeps answering meanwhile")
    finally:
        resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (soft, hard))
    # the file does not change again: the next check reads it anyway
    ok = h.poll_until(lambda: listed(srv, "198.51.100.7", "set.test"), WAIT)
    t.ok(ok, "descriptors back: the list is read again and answers")
    line = list_line(status(srv), "set")
    t.ok(line and "kept" not in line, "status: nothing kept", line)
    srv.stop()


def transient_full_retried(t):
    """A full reload that failed for want of descriptors runs again."""
    srv = server(check="1s").start()
    write(srv.path("extra.ip4set"), "203.0.113.9\n")
    with open(srv.conf) as f:
        conf = f.read()
    conf += ("\nlocal-list:\n    name: extra\n    file: %s\n\n"
             "zone:\n    name: extra.test\n    serve: extra\n" %
             srv.path("extra.ip4set"))
    soft, hard = resource.prlimit(srv.pid, resource.RLIMIT_NOFILE)
    mark = len(srv.log())
    resource.prlimit(srv.pid, resource.RLIMIT_NOFILE,
                     (lowest_free_fd(srv.pid), hard))
    try:
        write(srv.conf, conf)
        srv.hup()
        seen = h.poll_until(lambda: "reloading again at the next check" in
                            srv.log()[mark:], WAIT)
        t.ok(seen, "out of descriptors: the failed reload is to run again",
             srv.log_tail(10))
        t.ok(listed(srv, "198.51.100.1", "set.test"),
             "the old config keeps answering meanwhile")
    finally:
        resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (soft, hard))
    # nobody asks again: the next check reloads the config by itself
    ok = h.poll_until(lambda: listed(srv, "203.0.113.9", "extra.test"), WAIT)
    t.ok(ok, "descriptors back: the new config and its new list answer",
         srv.log_tail(10))
    srv.stop()


def max_memory(t):
    srv = server(setopts="    max-memory: 1m\n").start()
    big = "".join("10.%d.%d.%d\n" % (i >> 16, (i >> 8) & 255, i & 255)
                  for i in range(300000))
    write(srv.path("set.ip4set"), big)
    r = srv.ctl("reload")
    out = r.stdout + r.stderr
    m = re.search(r"set\.ip4set:(\d+): the list needs more than its "
                  r"max-memory", out)
    t.ok(m is not None and 0 < int(m.group(1)) < 300000,
         "a list beyond max-memory: reported at file:line", out)
    t.ok(listed(srv, "198.51.100.1", "set.test") and
         unlisted(srv, "10.0.0.1", "set.test"),
         "on reload the old data stays")
    r = check(srv.conf)
    t.ok(r.returncode == 1 and "max-memory" in r.stderr,
         "-n: exit 1", "rc %d: %s%s" % (r.returncode, r.stdout, r.stderr))
    srv.stop()


if __name__ == "__main__":
    h.run_suite("listfiles", [warnings_do_not_block, unchanged_not_reread,
                              fifo, transient_retried,
                              transient_full_retried, max_memory])
