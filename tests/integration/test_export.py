#!/usr/bin/env python3
"""test_export -- `rblmuxctl export` files loaded by the real loaders.

The served zone of test_xfr (ip4set with blocks and exclusions, ip4trie,
ip6trie, dnset with a name that needs escapes): exported as a master file, nsd-checkzone and `knotc
zone-check` accept it and a Knot primary loaded from it answers the
sample like rblmuxd; each list exported in rbldnsd's syntax, and the
IPv4 part of the zone, are loaded by rbldnsd, which answers the sample
like rblmuxd. Bad names and formats get an error and no file.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_xfr as x  # noqa: E402

NSD_CHECKZONE = shutil.which("nsd-checkzone") or "/usr/sbin/nsd-checkzone"
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"

# an IPv4-only served zone over the same lists, for rbldnsd's ip4set
V4 = """\
zone:
    name: four.test
    serve: four trie
"""
# one zone per list, to compare a list's own export with
PER_LIST = """\
zone:
    name: l4.test
    serve: four
zone:
    name: lt.test
    serve: trie
zone:
    name: l6.test
    serve: six
zone:
    name: ln.test
    serve: names
zone:
    name: n4.test
    serve: four names
"""


TESTPOINTS = (h.rev4("127.0.0.2") + ".", h.rev6("::ffff:7f00:2") + ".")


def sample(zone, six=True):
    return [h.rev4(a) + "." + zone for a in x.SAMPLE4] + \
        ([h.rev6(a) + "." + zone for a in x.SAMPLE6] if six else [])


def same(t, srv, zone, port, other, label, six=True, skip_tp=False):
    """Compare rblmuxd's zone with another server's answers."""
    bad = []
    for name in sample(zone, six):
        if skip_tp and name.split(zone)[0] in TESTPOINTS:
            continue        # rbldnsd has no test points of its own
        for qtype in ("A", "TXT"):
            want = x.answer(srv.port, name, qtype)
            got = x.answer(port, name.replace(zone, other), qtype)
            if want != got:
                bad.append("%s %s: rblmuxd %r, %s %r" % (name, qtype, want,
                                                         label, got))
    t.ok(not bad, "%s answers the sample like rblmuxd" % label, bad)


def export(srv, *args):
    return srv.ctl("export", *args, timeout=30)


def zone_file(t):
    srv = x.start(x.setup(), [])
    r = export(srv, x.ZONE, "--format", "zone")
    t.ok(r.returncode == 0 and r.stdout.startswith("$ORIGIN bl.test."),
         "export --format zone to stdout", r.stderr)
    path = srv.path("bl.test.zone")
    with open(path, "w") as f:
        f.write(r.stdout)
    c = subprocess.run([NSD_CHECKZONE, x.ZONE, path], capture_output=True,
                       text=True, timeout=30)
    t.ok(c.returncode == 0, "nsd-checkzone accepts it",
         c.stdout + c.stderr)

    # Knot: zone-check, then a primary from the file
    d = srv.path("knot")
    os.makedirs(d)
    port = h.free_port(["127.0.0.1"])
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write("server:\n    rundir: \"%s\"\n    listen: 127.0.0.1@%d\n"
                "database:\n    storage: \"%s\"\n"
                "log:\n  - target: stderr\n    any: info\n"
                "zone:\n  - domain: %s\n    file: \"%s\"\n"
                % (d, port, d, x.ZONE, path))
    c = subprocess.run([KNOTC, "-c", conf, "zone-check", x.ZONE],
                       capture_output=True, text=True, timeout=30)
    t.ok(c.returncode == 0, "knotc zone-check accepts it",
         c.stdout + c.stderr)
    k = h.Helper()
    k.name = "knotd"
    k.port = port
    k.proc = None
    k.logf = None
    k.spawn([x.KNOTD, "-c", conf], os.path.join(d, "knot.log"), cwd=d)
    t.ok(x.wait_serial(port, x.soa_serial(srv.port), 20),
         "a Knot primary loads it", k.log_tail())
    same(t, srv, x.ZONE, port, x.ZONE, "Knot from the exported zone")
    bad = []
    for name in [n + "." + x.ZONE for n in x.NAME_SAMPLE]:
        for qtype in ("A", "TXT"):
            want = x.answer(srv.port, name, qtype)
            got = x.answer(port, name, qtype)
            if not x.same(want, got):
                bad.append("%s %s: rblmuxd %r, Knot %r" % (name, qtype,
                                                          want, got))
    t.ok(not bad, "Knot from the exported zone answers %d names like "
         "rblmuxd" % (2 * len(x.NAME_SAMPLE)), bad)

    # --output, relative to the caller's directory
    r = subprocess.run([h.RBLMUXCTL, "-s", srv.sock, "export", x.ZONE,
                        "--format", "zone", "--output", "out.zone"],
                       capture_output=True, text=True, cwd=srv.tmp,
                       timeout=30)
    with open(srv.path("out.zone")) as f:
        t.eq(f.read(), open(path).read(), "--output FILE writes the same",
             r.stdout + r.stderr)


def rbldnsd_files(t):
    srv = x.setup()
    srv.conf_text = srv.conf_text.replace("@NOTIFY@", V4 + PER_LIST)
    srv.write_conf(srv.conf_text)
    srv.start()
    # a dynamic entry joins the list's export
    r = srv.ctl("list", "add", "four", "192.0.2.200", "--reason", "Dyn $")
    t.ok(r.returncode == 0, "list add four 192.0.2.200", r.stderr)
    files = []
    for name, kind in (("four", "ip4set"), ("trie", "ip4trie"),
                       ("six", "ip6trie"), ("four.test", "ip4set"),
                       ("ln.test", "dnset")):
        r = export(srv, name, "--format", "rbldnsd")
        t.ok(r.returncode == 0 and r.stdout, "export %s --format rbldnsd" %
             name, r.stderr)
        fn = name.replace(".", "_") + "." + kind
        with open(srv.path(fn), "w") as f:
            f.write(r.stdout)
        files.append((name, kind, fn))
    d = h.readable_copy(srv.tmp, [srv.path(f[2]) for f in files],
                        sub="rbl")
    rb = h.Rbldnsd(d, [("x4.test", "ip4set", files[0][2]),
                       ("xt.test", "ip4trie", files[1][2]),
                       ("x6.test", "ip6trie", files[2][2]),
                       ("xz.test", "ip4set", files[3][2]),
                       ("xn.test", "dnset", files[4][2])])
    same(t, srv, "l4.test", rb.port, "x4.test", "rbldnsd from list four",
         six=False, skip_tp=True)
    name = h.rev4("192.0.2.200") + ".x4.test"
    t.eq(x.answer(rb.port, name, "TXT"), ("NOERROR", [], ["Dyn 192.0.2.200"]),
         "rbldnsd answers the dynamic entry of the exported list")
    same(t, srv, "lt.test", rb.port, "xt.test", "rbldnsd from list trie",
         six=False, skip_tp=True)
    same(t, srv, "l6.test", rb.port, "x6.test", "rbldnsd from list six",
         skip_tp=True)
    same(t, srv, "four.test", rb.port, "xz.test",
         "rbldnsd from zone four.test", six=False)

    bad = []
    for n in x.NAME_SAMPLE:
        for qtype in ("A", "TXT"):
            want = x.answer(srv.port, n + ".ln.test", qtype)
            got = x.answer(rb.port, n + ".xn.test", qtype)
            if not x.same(want, got):
                bad.append("%s %s: rblmuxd %r, rbldnsd %r" % (n, qtype, want,
                                                             got))
    t.ok(not bad, "rbldnsd from zone ln.test answers %d names like rblmuxd"
         % (2 * len(x.NAME_SAMPLE)), bad)
    r = export(srv, "n4.test", "--format", "rbldnsd")
    t.ok(r.returncode == 1 and "name and address" in r.stderr,
         "rbldnsd's format of a zone of names and addresses is an error",
         r.stderr)

    r = export(srv, "nosuch", "--format", "rbldnsd")
    t.ok(r.returncode == 1 and "no such list or served zone" in r.stderr,
         "an unknown name is an error", r.stderr)
    r = export(srv, "four", "--format", "zone")
    t.ok(r.returncode == 1 and "served zones" in r.stderr,
         "the zone format of a list is an error", r.stderr)
    r = export(srv, "bl.test", "--format", "rbldnsd")
    t.ok(r.returncode == 1 and "IPv4 and IPv6" in r.stderr,
         "rbldnsd's format of a zone of both families is an error",
         r.stderr)
    r = export(srv, "four", "--format", "csv")
    t.ok(r.returncode == 1 and "unknown format" in r.stderr,
         "an unknown format is an error", r.stderr)
    r = export(srv, "four")
    t.ok(r.returncode == 2 and "usage" in r.stderr, "no --format: usage",
         r.stderr)


def not_regular(t):
    """An output that is not a regular file is refused at once: a FIFO
    without a reader would hold the server in open(), a device or a
    directory is not a file to write an export to; a link to nothing
    would be replaced by the file, not make it. Queries go on."""
    srv = x.start(x.setup(), [])
    fifo = srv.path("export.fifo")
    os.mkfifo(fifo)
    dangling = srv.path("dangling")
    os.symlink(srv.path("missing/four.rbldnsd"), dangling)
    for path, why in ((fifo, "not a regular file"),
                      ("/dev/null", "not a regular file"),
                      (srv.tmp, "Is a directory"),
                      (dangling, "a symbolic link to a file that does "
                       "not exist")):
        r = srv.ctl("export", "four", "--format", "rbldnsd", "--output",
                    path, timeout=10)
        t.ok(r.returncode == 1 and why in r.stderr,
             "export to %s: %s" % (path, why), r.stderr)
    t.ok(os.path.islink(dangling), "the link to nothing is kept")
    q = x.answer(srv.port, h.rev4("127.0.0.2") + "." + x.ZONE, "A")
    t.ok(q is not None and q[0] == "NOERROR", "the server still answers",
         q)
    out = srv.path("four.rbldnsd")
    with open(out, "w") as f:
        f.write("old content that is longer than the export will be\n" *
                1000)
    r = srv.ctl("export", "four", "--format", "rbldnsd", "--output", out)
    with open(out) as f:
        text = f.read()
    t.ok(r.returncode == 0 and text.startswith("# list four") and
         "old content" not in text, "an existing file is replaced whole",
         r.stderr)


def private_tmp(t):
    """Export to standard output: the temporary file the server writes
    and rblmuxctl copies out is not writable by other users (they could
    change the export on its way), and is removed after."""
    import stat
    import threading
    import time
    srv = x.start(x.setup(big=60000), [])
    tmpdir = srv.path("tmp")
    os.mkdir(tmpdir)
    modes = set()
    done = threading.Event()

    def watch():
        while not done.is_set():
            for n in os.listdir(tmpdir):
                try:
                    modes.add(stat.S_IMODE(os.stat(os.path.join(
                        tmpdir, n)).st_mode))
                except OSError:
                    pass
            time.sleep(0.002)

    w = threading.Thread(target=watch)
    w.start()
    r = subprocess.run([h.RBLMUXCTL, "-s", srv.sock, "export", x.ZONE,
                        "--format", "zone"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, TMPDIR=tmpdir))
    done.set()
    w.join()
    t.ok(r.returncode == 0 and r.stdout.startswith("$ORIGIN"),
         "export --format zone to stdout", r.stderr)
    t.ok(modes and all(m & 0o022 == 0 for m in modes),
         "the temporary file was writable by its owner alone",
         sorted(oct(m) for m in modes))
    t.eq(os.listdir(tmpdir), [], "and is removed")


def stdout_cut_short(t):
    """An export to standard output whose reader goes away (`| head`),
    or that is interrupted while the server writes it, says so and
    leaves nothing in the temporary directory, not even once the
    server is done."""
    srv = x.start(x.setup(big=100000), [])
    tmpdir = srv.path("tmp")
    os.mkdir(tmpdir)
    env = dict(os.environ, TMPDIR=tmpdir)
    r = subprocess.run("%s -s %s export %s --format zone | head -1" %
                       (h.RBLMUXCTL, srv.sock, x.ZONE), shell=True,
                       env=env, capture_output=True, text=True, timeout=60)
    t.ok(r.stdout == "$ORIGIN %s.\n" % x.ZONE and
         "Broken pipe" in r.stderr, "a reader that goes: said so",
         r.stdout[:60] + r.stderr)
    t.eq(os.listdir(tmpdir), [], "and nothing is left behind")

    def server_file():
        try:
            return any(os.listdir(os.path.join(tmpdir, d))
                       for d in os.listdir(tmpdir))
        except OSError:
            return False
    p = subprocess.Popen([h.RBLMUXCTL, "-s", srv.sock, "export", x.ZONE,
                          "--format", "zone"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    h.poll_until(lambda: server_file() or p.poll() is not None, 30.0,
                 0.005)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    t.eq(p.returncode, -signal.SIGINT,
         "interrupted while the server writes: ends by its signal")
    # the export the server went on with ends before this one does
    r = srv.ctl("export", x.ZONE, "--format", "zone", "--output",
                srv.path("after.zone"), timeout=60)
    t.ok(r.returncode == 0, "the server exports again", r.stderr)
    t.eq(os.listdir(tmpdir), [], "and nothing is left behind, the "
         "server's file included")


def replaced_whole(t):
    """An export over an existing file writes a new file beside it and
    renames it over the old one: a reader that opened the old file
    before reads all of the old content, one opening it after reads the
    whole new content, with the old file's mode."""
    srv = x.start(x.setup(big=60000), [])
    out = srv.path("big.rbldnsd")
    old = "".join("203.0.113.%d :127.0.0.2:old line %d\n" % (i % 256, i)
                  for i in range(100000))
    with open(out, "w") as f:
        f.write(old)
    os.chmod(out, 0o640)
    reader = open(out)
    r = srv.ctl("export", "big", "--format", "rbldnsd", "--output", out,
                timeout=60)
    t.ok(r.returncode == 0 and "written to" in r.stdout,
         "export over an existing file", r.stdout + r.stderr)
    seen = reader.read()
    reader.close()
    t.ok(seen == old, "a reader of the old file reads it whole",
         (len(seen), len(old), seen[:60]))
    with open(out) as f:
        text = f.read()
    lines = [ln for ln in text.splitlines() if ln.startswith("198.19.")]
    t.ok(text.startswith("# list big") and len(lines) == 60000 and
         text.endswith("\n") and "old line" not in text,
         "the new file is whole", (text[:40], len(lines)))
    t.eq(oct(os.stat(out).st_mode & 0o777), oct(0o640),
         "the new file keeps the old one's mode")
    t.eq(sorted(n for n in os.listdir(srv.tmp) if n.startswith("big.")),
         ["big.ip4set", "big.rbldnsd"], "no temporary file is left")


def failed_keeps_old(t):
    """An export that cannot write its new file (the directory is not
    writable: the server runs without root's right to override file
    permissions) fails with a clear error and leaves the old file as it
    was; so does a target that is a directory."""
    srv = x.setup()
    wrap = srv.path("rblmuxd-nodac")
    with open(wrap, "w") as f:
        # root drops the right; anyone else never had it
        f.write("#!/bin/sh\nexec setpriv --bounding-set=-dac_override,"
                "-dac_read_search -- %s \"$@\"\n" % h.RBLMUXD
                if os.geteuid() == 0 else
                "#!/bin/sh\nexec %s \"$@\"\n" % h.RBLMUXD)
    os.chmod(wrap, 0o755)
    real, h.RBLMUXD = h.RBLMUXD, wrap
    try:
        x.start(srv, [])
    finally:
        h.RBLMUXD = real
    ro = srv.path("ro")
    os.mkdir(ro)
    out = os.path.join(ro, "four.rbldnsd")
    old = "old content\n" * 1000
    with open(out, "w") as f:
        f.write(old)
    os.chmod(ro, 0o555)
    r = srv.ctl("export", "four", "--format", "rbldnsd", "--output", out)
    os.chmod(ro, 0o755)
    t.ok(r.returncode == 1 and out in r.stderr and
         "Permission denied" in r.stderr and
         "nothing was replaced" in r.stderr,
         "an export into a directory not writable fails and says why",
         r.stdout + r.stderr)
    with open(out) as f:
        t.ok(f.read() == old, "the old file is left as it was")
    t.eq(os.listdir(ro), ["four.rbldnsd"], "no temporary file is left")
    r = srv.ctl("export", "four", "--format", "rbldnsd", "--output", ro)
    t.ok(r.returncode == 1 and "Is a directory" in r.stderr,
         "a target that is a directory is refused", r.stderr)
    with open(out) as f:
        t.ok(f.read() == old, "the directory's file is left as it was")
    q = x.answer(srv.port, h.rev4("127.0.0.2") + "." + x.ZONE, "A")
    t.ok(q is not None and q[0] == "NOERROR", "the server still answers",
         q)


def stopped_midway(t):
    """A server stopped while it writes a zone's export answers the
    client (the export did not replace the file, or did so whole) and
    leaves no temporary file beside the target."""
    srv = x.start(x.setup(big=200000), [])
    out = srv.path("stop.zone")
    with open(out, "w") as f:
        f.write("old content\n")
    p = subprocess.Popen([h.RBLMUXCTL, "-s", srv.sock, "export", x.ZONE,
                          "--format", "zone", "--output", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.time() + 30
    while time.time() < deadline and not any(
            n.startswith("stop.zone.tmp") for n in os.listdir(srv.tmp)):
        time.sleep(0.01)
    srv.signal(signal.SIGTERM)
    so, se = p.communicate(timeout=60)
    t.eq(srv.stop(), 0, "the server stops cleanly")
    t.ok(("server stopping; nothing was replaced" in se and
          p.returncode == 1) or ("written to" in so and p.returncode == 0),
         "the client is told how its export ended", so + se)
    with open(out) as f:
        text = f.read()
    t.ok(text == "old content\n" or (text.startswith("$ORIGIN") and
                                     text.count("\n") > 200000),
         "the target is the old file or the whole new one", text[:60])
    t.eq([n for n in os.listdir(srv.tmp) if n.startswith("stop.zone")],
         ["stop.zone"], "no temporary file is left")


if __name__ == "__main__":
    h.run_suite("test_export", [zone_file, rbldnsd_files, not_regular,
                                 private_tmp, replaced_whole,
                                 failed_keeps_old, stopped_midway,
                                 stdout_cut_short])
