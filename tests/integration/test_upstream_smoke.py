#!/usr/bin/env python3
"""test_upstream_smoke -- bin/rblmuxd asking real upstream DNSBLs.

Two rbldnsd instances on loopback stand in for upstream lists "ua" and
"ub" (their own server: addresses); a silent upstream "us" is a UDP
socket in this process that answers the health probes (RFC 5782 test
points) and reads every other question without answering. Checks: the
merged bits of both lists, TXT, the answer from the cache with the
lists stopped, a partial answer (the silent list's bit absent) at the
deadline, a burst of identical queries costing one question at the
silent list (coalescing), and lookups failing one by one, the server
answering on, when it runs out of descriptors. A scriptable fake list
(tests/support/fake_upstream.py) shows a repeat answered by the lookup
that just finished, and serve-stale.
"""
import contextlib
import os
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

A_ZONE = """127.0.0.2 :127.0.0.2:Test point A
198.51.100.1 :127.0.0.2:Listed in A for $
198.51.100.3 :127.0.0.2:A only
203.0.113.1 :127.0.0.2:Listed in A
"""
B_ZONE = """127.0.0.2 :127.0.0.2:Test point B
198.51.100.1 :127.0.0.2:Listed in B
198.51.100.2 :127.0.0.2:B only
203.0.113.1 :127.0.0.2:Listed in B
"""

CONF = """
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
    cache-dir: @TMP@/cache/
resolver:
    timeout: @TIMEOUT@ms
    attempts: 1
upstream:
    name: ua
    zone: a.bl.test
    server: 127.0.0.1@@PA@
upstream:
    name: ub
    zone: b.bl.test
    server: 127.0.0.1@@PB@
upstream:
    name: us
    zone: s.bl.test
    server: 127.0.0.1@@PS@
zone:
    name: two.test
    answer: bitmask
    bit: 2 ua
    bit: 4 ub
zone:
    name: three.test
    answer: bitmask
    bit: 2 ua
    bit: 4 ub
    bit: 8 us
"""


class Silent:
    """A list that answers only its test points: everything else is read,
    counted by question name, and never answered."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.seen = {}
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def count(self, name):
        with self.lock:
            return self.seen.get(name.lower(), 0)

    def run(self):
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 12:
                continue
            off, labels = 12, []
            while off < len(data) and data[off] != 0:
                n = data[off]
                labels.append(data[off + 1:off + 1 + n].decode("ascii",
                                                               "replace"))
                off += 1 + n
            qend = off + 5
            name = ".".join(labels).lower()
            with self.lock:
                self.seen[name] = self.seen.get(name, 0) + 1
            # probes: 127.0.0.2 listed, 127.0.0.1 and the TEST-NET
            # canary (192.0.2.x) not; client subjects (203.0.113.x)
            # are never answered
            if name == "2.0.0.127.s.bl.test":
                body = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + \
                    bytes([127, 0, 0, 2])
                hdr = data[:2] + struct.pack(">HHHHH", 0x8580, 1, 1, 0, 0)
            elif name == "1.0.0.127.s.bl.test" or \
                    name.endswith(".2.0.192.s.bl.test"):
                body = b""
                hdr = data[:2] + struct.pack(">HHHHH", 0x8583, 1, 0, 0, 0)
            else:
                continue
            self.sock.sendto(hdr + data[12:qend] + body, peer)

    def close(self):
        self.stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def setup(timeout_ms=1500, silent=None):
    tmp = h.make_tmpdir()
    d = h.readable_copy(tmp, [])
    with open(os.path.join(d, "a.zone"), "w") as f:
        f.write(A_ZONE)
    with open(os.path.join(d, "b.zone"), "w") as f:
        f.write(B_ZONE)
    for n in ("a.zone", "b.zone"):
        os.chmod(os.path.join(d, n), 0o644)
    ra = h.Rbldnsd(d, [("a.bl.test", "ip4set", "a.zone")])
    rb = h.Rbldnsd(d, [("b.bl.test", "ip4set", "b.zone")])
    conf = CONF.replace("@PA@", str(ra.port)).replace("@PB@", str(rb.port)) \
        .replace("@PS@", str(silent.port if silent else 1)) \
        .replace("@TIMEOUT@", str(timeout_ms))
    srv = h.Server(conf, tmp=tmp)
    return srv, ra, rb


@contextlib.contextmanager
def with_silent(timeout_ms):
    """rblmuxd running with ua, ub and the silent us, all probed."""
    sil = Silent()
    try:
        srv, ra, rb = setup(timeout_ms=timeout_ms, silent=sil)
        srv.start()
        up = wait_up(srv, ["ua", "ub", "us"])
        yield srv, sil, up
    finally:
        sil.close()


def stats(srv):
    out = {}
    for line in srv.ctl("stats").stdout.splitlines():
        k, _, v = line.partition(": ")
        if v.isdigit():
            out[k] = int(v)
    return out


def wait_up(srv, names, timeout=10.0):
    """Poll the log until each upstream's first probe is in."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        log = srv.log()
        if all("upstream %s: up" % n in log for n in names):
            return True
        time.sleep(0.05)
    return False


def burst(srv, names, wait=15.0):
    """Send one query per name at once (IDs 0..); the IDs answered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    for i, name in enumerate(names):
        s.sendto(h.make_query(name, "A", qid=i), ("127.0.0.1", srv.port))
    got = set()
    end = time.monotonic() + wait
    while len(got) < len(names) and time.monotonic() < end:
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        got.add(struct.unpack(">H", data[:2])[0])
    s.close()
    return got


def merged(t):
    """Both lists' bits merge into one answer; TXT names both."""
    srv, ra, rb = setup()
    srv.start()
    t.ok(wait_up(srv, ["ua", "ub"]), "both upstreams probed up",
         srv.log_tail())
    t.eq(srv.kdig("1.100.51.198.two.test").a_set(), ["127.0.0.6"],
         "listed by both: bits 2|4")
    t.eq(srv.kdig("2.100.51.198.two.test").a_set(), ["127.0.0.4"],
         "listed by ub only: bit 4")
    t.eq(srv.kdig("9.100.51.198.two.test").a_set(), [],
         "listed by neither: no A")
    txt = " ".join(srv.kdig("1.100.51.198.two.test", "TXT").txt_set())
    t.ok("Listed in A for 198.51.100.1" in txt and "Listed in B" in txt,
         "TXT carries both reasons", txt)


def cached(t):
    """With both lists stopped, answers come from the cache."""
    srv, ra, rb = setup()
    srv.start()
    wait_up(srv, ["ua", "ub"])
    t.eq(srv.kdig("1.100.51.198.two.test").a_set(), ["127.0.0.6"],
         "asked once while the lists run")
    t.eq(srv.kdig("3.100.51.198.two.test").a_set(), ["127.0.0.2"],
         "ua only, asked once")
    # the cache writes in the background: wait until a repeat is a hit
    end = time.monotonic() + 10
    while time.monotonic() < end:
        b = stats(srv).get("cache.hits", 0)
        srv.kdig("1.100.51.198.two.test")
        srv.kdig("3.100.51.198.two.test")
        if stats(srv).get("cache.hits", 0) - b == 4:
            break
        time.sleep(0.05)
    before = stats(srv)
    ra.stop()
    rb.stop()
    t.eq(srv.kdig("1.100.51.198.two.test").a_set(), ["127.0.0.6"],
         "the same answer with the lists stopped")
    t.eq(srv.kdig("3.100.51.198.two.test").a_set(), ["127.0.0.2"],
         "the other one too")
    after = stats(srv)
    t.eq(after.get("upstream.queries", 0) - before.get("upstream.queries",
                                                       0), 0,
         "no upstream query for them")
    t.ok(after.get("cache.hits", 0) - before.get("cache.hits", 0) >= 4,
         "counted as cache hits", repr(after))


def partial(t):
    """A silent list misses the deadline: the others' bits answer."""
    with with_silent(1500) as (srv, sil, up):
        t.ok(up, "all three probed up", srv.log_tail())
        t0 = time.monotonic()
        r = srv.kdig("1.113.0.203.three.test", opts=("+timeout=10",
                                                   "+retry=0"))
        dt = time.monotonic() - t0
        t.eq(r.a_set(), ["127.0.0.6"], "ua and ub bits, not the silent us")
        t.ok(dt < 8, "answered by the deadline, not the client's "
             "timeout (%.2f s)" % dt)
        t.ok(sil.count("1.113.0.203.s.bl.test") == 1,
             "the silent list was asked", repr(sil.seen))
        st = stats(srv)
        t.ok(st.get("upstream.timeouts", 0) >= 1, "its lookup timed out",
             repr(st))


def coalesced(t):
    """200 identical queries at once: one question at the silent list."""
    with with_silent(2000) as (srv, sil, up):
        n = 200
        got = burst(srv, ["7.113.0.203.three.test"] * n)
        t.eq(len(got), n, "every query answered")
        t.eq(sil.count("7.113.0.203.s.bl.test"), 1,
             "one question at the silent list")
        st = stats(srv)
        t.ok(st.get("upstream.coalesced", 0) >= n - 1,
             "the others joined it (upstream.coalesced)", repr(st))


def no_descriptors(t):
    """Out of descriptors, lookups fail one by one; the server answers."""
    with with_silent(1000) as (srv, sil, up):
        used = h.open_fds(srv.pid)
        h.run(["prlimit", "--pid", str(srv.pid),
               "--nofile=%d:%d" % (used + 8, used + 8)])
        n = 60
        got = burst(srv, ["%d.113.0.203.three.test" % (i + 10)
                          for i in range(n)])
        t.eq(len(got), n, "every query answered")
        t.ok(srv.alive(), "the server runs on")
        st = stats(srv)
        t.ok(st.get("upstream.failed", 0) > 0,
             "lookups without a socket counted (upstream.failed)", repr(st))
        t.eq(srv.kdig("1.100.51.198.two.test").a_set(), ["127.0.0.6"],
             "descriptors back: the lists are asked again")


FAKE_CONF = """
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
    cache-dir: @CACHE@
    ttl-min: 1
    serve-stale: @STALE@
resolver:
    timeout: 600ms
    attempts: 1
upstream:
    name: fk
    zone: fk.test
    server: 127.0.0.1@@PF@
zone:
    name: one.test
    answer: bitmask
    bit: 2 fk
"""
SUBJ = "198.51.100.50"


def with_fake(ttl, cache=True, stale="1h"):
    """rblmuxd with one fake list fk that lists SUBJ with TTL ttl and
    passes its probes; without cache, its cache-dir cannot be opened."""
    tmp = h.make_tmpdir()
    zone = "fk.test"
    rules = {"zones": {zone: {"soa": {"minimum": 60, "ttl": 60}}},
             "names": {h.rev4("127.0.0.2") + "." + zone:
                       {"A": {"a": ["127.0.0.2"], "ttl": 300}},
                       h.rev4(SUBJ) + "." + zone:
                       {"A": {"a": ["127.0.0.2"], "ttl": ttl}}}}
    fake = h.FakeUpstream(rules, tmp=tmp)
    if not cache:
        with open(os.path.join(tmp, "notadir"), "w") as f:
            f.write("a file where the cache directory should be\n")
    conf = FAKE_CONF.replace("@PF@", str(fake.port)).replace(
        "@CACHE@", "@TMP@/cache/" if cache else "@TMP@/notadir/").replace(
        "@STALE@", stale)
    srv = h.Server(conf, tmp=tmp).start()
    wait_up(srv, ["fk"])
    return srv, fake


def ask_subj(srv):
    return h.query(h.rev4(SUBJ) + ".one.test", "A", srv.port)


def repeat_at_once(t):
    """Without a cache, a repeat right after an answer is not asked
    again: the finished lookup answers it for a moment."""
    srv, fake = with_fake(300, cache=False)
    t.ok("running without a cache" in srv.log(), "no cache",
         srv.log_tail())
    name = h.rev4(SUBJ) + ".fk.test"
    t.eq(ask_subj(srv).a_set(), ["127.0.0.2"], "listed")
    t.eq(ask_subj(srv).a_set(), ["127.0.0.2"], "listed again at once")
    t.eq(fake.count(name), 1, "one question at the list")


def serve_stale(t):
    """An expired entry is served (TTL 30) while the list is silent;
    with serve-stale: 0 it is not."""
    for stale, want in (("1h", ["127.0.0.2"]), ("0", [])):
        srv, fake = with_fake(1, stale=stale)
        name = h.rev4(SUBJ) + ".fk.test"
        t.eq(ask_subj(srv).a_set(), ["127.0.0.2"],
             "serve-stale %s: listed, TTL 1" % stale)
        fake.set_rules({"zones": {"fk.test": {"*": {"silent": True}}}})
        m = None
        end = time.monotonic() + 10
        while fake.count(name) < 2 and time.monotonic() < end:
            m = ask_subj(srv)
            time.sleep(0.2)
        t.ok(fake.count(name) >= 2, "serve-stale %s: expired, the silent "
             "list is asked again" % stale)
        t.ok(m is not None and m.a_set() == want and
             (not want or 0 < min(r.ttl for r in m.answer) <= 30),
             "serve-stale %s: %s" % (stale, "the stale entry, TTL 30" if
                                     want else "not listed"), repr(m))
        srv.stop()


TESTS = [merged, cached, partial, coalesced, no_descriptors, repeat_at_once,
         serve_stale]

if __name__ == "__main__":
    h.run_suite("upstream_smoke", [f for f in TESTS if not sys.argv[1:] or
                                   f.__name__ in sys.argv[1:]])
