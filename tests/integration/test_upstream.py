#!/usr/bin/env python3
"""test_upstream -- rblmuxd's upstream fan-out, merge, health and cache.

Run by `make test` (tests/run-all); one case by hand:
python3 tests/integration/test_upstream.py [TEST_NAME ...].

The upstreams are real processes on loopback (harness.py): rbldnsd
instances serving known data, tests/support/fake_upstream.py for what
rbldnsd cannot do (delay, silence, SERVFAIL, error codes, listing the
world, truncation, RFC 5452 misbehaviours) and which counts every query
it receives, and Unbound as `resolver: forward:` with stub zones to
them. Checks assert answers (bits, codes, TXT, TTLs), query counts at
the upstreams and the order of events; every wait is a bounded poll.

Subjects come from 198.51.100.0/24 and 203.0.113.0/24 (RFC 5737);
192.0.2.0/24 is left to the health probes' TEST-NET canary, which must
never be listed. The eviction case needs more addresses than RFC 5737
has and uses 198.18.0.0/15 (RFC 2544, benchmarking).

What the checks expect of `rblmuxctl status` (the rest is free): one
line per upstream that holds its name and its state as a word of its
own -- up, down, disabled or unknown -- and, when it is skipped for its
budget, the word "budget". STATE_WORDS and upstream_status() are the one
place to adjust.
"""
import os
import re
import select
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

# health re-enabling takes HEALTH_REENABLE_AFTER (3) good probes
# HEALTH_PROBE_BAD (30 s) apart
h.SUITE_TIMEOUT = int(os.environ.get("RBLMUX_IT_TIMEOUT", "900"))
REENABLE_WAIT = 3 * 30 + 30
STALE_TTL = 30                  # UPSTREAM_STALE_TTL
PARTIAL_TTL = 30                # ANSWER_PARTIAL_TTL
STATE_WORDS = ("up", "down", "disabled", "unknown")

# subjects
ALL3 = "203.0.113.10"           # one, two (dyna), three
ONE = "203.0.113.11"            # one only
SPAM = "203.0.113.12"           # two with 127.0.0.38 (spam)
NONE = "203.0.113.13"           # nobody
SLOW = "198.51.100.20"
X = "198.51.100.21"
Y = "198.51.100.22"
Z = "198.51.100.23"
W = "198.51.100.24"

# bits of the aggregate zone all.test
B_ONE, B_DYNA, B_SPAM, B_THREE, B_FAKE = 2, 4, 8, 16, 32

SOA = "$SOA 600 ns.%s. hostmaster.%s. 1 3600 600 86400 %d\n"
DATA_ONE = SOA % ("one.test", "one.test", 120) + """$TTL 600
:127.0.0.2:one says $
127.0.0.2
203.0.113.10
203.0.113.11
"""
DATA_TWO = SOA % ("two.test", "two.test", 120) + """$TTL 300
:127.0.0.36:two says dynamic $
127.0.0.2 :127.0.0.36:
203.0.113.10
203.0.113.12 :127.0.0.38:two says spam $
"""
DATA_THREE = SOA % ("three.test", "three.test", 120) + """$TTL 900
:127.0.0.2:three says $
127.0.0.2
203.0.113.10
"""

BASE = """
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
    cache-dir: @TMP@/cache
    state-dir: @TMP@/state
    max-pending: 4000
    ttl-min: 1
    ttl-max: 1d
    negative-ttl-max: 15m
    serve-stale: @STALE@
    cache-max-size: @CACHEMAX@

resolver:
    forward: @FORWARD@
    timeout: @TIMEOUT@
    attempts: @ATTEMPTS@
"""


def fake_rules(zone, names=None, default=None, soa_min=60):
    """Rules for a fake upstream DNSBL zone that passes the health probes
    (127.0.0.2 listed, 127.0.0.1 and the canary not), then `names`
    ({address: action}) and `default` for every other name."""
    rules = {"zones": {zone: {"soa": {"minimum": soa_min, "ttl": soa_min}}},
             "names": {h.rev4("127.0.0.2") + "." + zone:
                       {"A": {"a": ["127.0.0.2"], "ttl": 300},
                        "TXT": {"txt": ["test point"]}}}}
    if default is not None:
        rules["zones"][zone]["*"] = default
        # the canary (192.0.2.0/24) and 127.0.0.1 stay unlisted
        rules["zones"]["2.0.192." + zone] = {
            "soa": {"minimum": soa_min, "ttl": soa_min}}
        rules["names"][h.rev4("127.0.0.1") + "." + zone] = {
            "*": {"rcode": "NXDOMAIN"}}
    for addr, act in (names or {}).items():
        rules["names"][h.rev4(addr) + "." + zone] = act
    return rules


class Setup:
    """rblmuxd with upstreams: `upstreams` are (name, zone, port or None,
    extra lines) -- port None: through the resolver; `zone_lines` the
    lines of the aggregate zone all.test."""

    def __init__(self, upstreams, zone_lines, tmp=None, forward=None,
                 timeout="800ms", stale="1h", cachemax="16m", attempts=2,
                 extra=""):
        self.tmp = tmp or h.make_tmpdir()
        for d in ("cache", "state"):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)
        conf = BASE.replace("@FORWARD@", forward or
                            "127.0.0.1@%d" % h.free_port(["127.0.0.1"])) \
            .replace("@TIMEOUT@", timeout).replace("@STALE@", stale) \
            .replace("@CACHEMAX@", cachemax) \
            .replace("@ATTEMPTS@", str(attempts)) + extra
        for name, zone, port, lines in upstreams:
            conf += "\nupstream:\n    name: %s\n    zone: %s\n" % (name, zone)
            if port is not None:
                conf += "    server: 127.0.0.1@%d\n" % port
            conf += "".join("    %s\n" % l for l in lines)
        conf += "\nzone:\n    name: all.test\n    answer: bitmask\n" + \
            "".join("    %s\n" % l for l in zone_lines)
        self.srv = h.Server(conf, tmp=self.tmp, hosts=["127.0.0.1"])

    def start(self):
        self.srv.start()
        return self.srv


def ask(srv, addr, zone="all.test", qtype="A", tcp=False, timeout=3.0):
    return h.query(h.rev4(addr) + "." + zone, qtype, srv.port, tcp=tcp,
                   timeout=timeout)


def bits(m):
    """The merged bits of an answer (0: NXDOMAIN), None: no answer."""
    if m is None:
        return None
    if m.rcode == 3:
        return 0
    a = m.a_set()
    if m.rcode != 0 or len(a) != 1 or not a[0].startswith("127.0.0."):
        return ("rcode %s" % m.rcode_name, a)
    return int(a[0].split(".")[3])


def ttl_of(m):
    return min((r.ttl for r in m.answer), default=None) \
        if m is not None else None


def upstream_status(srv, name):
    """The status line of upstream `name` and its state word (or None)."""
    r = srv.ctl("status")
    for line in r.stdout.splitlines():
        words = re.findall(r"[A-Za-z0-9_.-]+", line.lower())
        if name in words and ("upstream" in words or
                              any(w in words for w in STATE_WORDS)):
            state = next((w for w in words if w in STATE_WORDS), None)
            return line, state
    return r.stdout + r.stderr, None


def wait_state(srv, name, state, timeout=20.0):
    got = h.poll_until(lambda: upstream_status(srv, name)[1] == state,
                       timeout, 0.2)
    return got, upstream_status(srv, name)[0]


def subject_count(fake, addr, zone, qtype=None, transport=None):
    return fake.count(h.rev4(addr) + "." + zone, qtype, transport)


def three_rbldnsd(tmp):
    return (h.rbldnsd_upstream("one.test", DATA_ONE, tmp=tmp),
            h.rbldnsd_upstream("two.test", DATA_TWO, tmp=tmp),
            h.rbldnsd_upstream("three.test", DATA_THREE, tmp=tmp))


TWO_CODES = ["code: 127.0.0.36 dyna", "code: 127.0.0.38 spam"]
ZONE3 = ["bit: %d one" % B_ONE, "bit: %d dyna" % B_DYNA,
         "bit: %d spam" % B_SPAM, "bit: %d three" % B_THREE]


def setup3(tmp, r1, r2, r3, **kw):
    return Setup([("one", "one.test", r1.port, []),
                  ("two", "two.test", r2.port, TWO_CODES),
                  ("three", "three.test", r3.port, [])], ZONE3, tmp=tmp,
                 **kw)


# --- merge -------------------------------------------------------------------

def test_merge_three_rbldnsd(t):
    tmp = h.make_tmpdir()
    r1, r2, r3 = three_rbldnsd(tmp)
    srv = setup3(tmp, r1, r2, r3).start()
    m = ask(srv, ALL3)
    t.eq(bits(m), B_ONE | B_DYNA | B_THREE,
         "three upstreams: their bits merged (two's 127.0.0.36 -> dyna)",
         repr(m))
    t.ok(m is not None and 290 <= (ttl_of(m) or 0) <= 300,
         "TTL: the smallest of the members' (300 of 600/300/900)", repr(m))
    t.eq(bits(ask(srv, ONE)), B_ONE, "one upstream lists: its bit only")
    t.eq(bits(ask(srv, SPAM)), B_SPAM, "127.0.0.38 -> spam")
    m = ask(srv, NONE)
    t.eq((bits(m), m and m.soa() is not None), (0, True),
         "nobody lists: NXDOMAIN with the zone's SOA")
    m = ask(srv, ALL3, zone="dyna.all.test")
    t.eq(m and m.a_set(), ["127.0.0.36"],
         "per-result subzone: the upstream's original code", repr(m))
    m = ask(srv, ALL3, qtype="TXT")
    txt = " | ".join(m.txt_set()) if m else ""
    t.ok(all(s in txt for s in ("one says " + ALL3, "two says dynamic " +
                                ALL3, "three says " + ALL3)),
         "TXT: each listing upstream's text", repr(m))
    # then an A query and a TXT query from the cache (what an MTA asks):
    # each reason under its own result name
    ask(srv, ALL3)
    m = ask(srv, ALL3, qtype="TXT")
    txt = " | ".join(m.txt_set()) if m else ""
    t.ok(all(s in txt for s in ("one: one says " + ALL3,
                                "dyna: two says dynamic " + ALL3,
                                "three: three says " + ALL3)),
         "TXT from the cache after an A query: each upstream's own text",
         repr(m))
    k = h.kdig(h.rev4(ALL3) + ".all.test", "A", srv.port)
    t.eq(k and k.a_set(), ["127.0.0.%d" % (B_ONE | B_DYNA | B_THREE)],
         "kdig sees the same merged answer")


def test_partial_answer_within_timeout(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", DATA_ONE, tmp=tmp)
    fake = h.FakeUpstream(fake_rules("slow.test", {
        SLOW: {"A": {"a": ["127.0.0.2"], "delay_ms": 5000}},
        ONE: {"A": {"a": ["127.0.0.2"], "delay_ms": 5000}}}), tmp=tmp)
    srv = Setup([("one", "one.test", r1.port, []),
                 ("slow", "slow.test", fake.port, [])],
                ["bit: %d one" % B_ONE, "bit: %d slow" % B_FAKE],
                tmp=tmp, timeout="800ms", attempts=1).start()
    t0 = time.monotonic()
    m = ask(srv, ONE, timeout=6)
    dt = time.monotonic() - t0
    t.eq(bits(m), B_ONE, "the silent member contributes nothing; the "
         "answer is not SERVFAIL", repr(m))
    t.ok(m is not None and dt < 4.0,
         "answered at the timeout, not after the 5 s upstream (%.2f s)" % dt)
    t.ok(m is not None and 0 < ttl_of(m) <= PARTIAL_TTL,
         "a partial answer lives at most %d s" % PARTIAL_TTL, repr(m))
    t.eq(subject_count(fake, ONE, "slow.test", "A"), 1,
         "the slow upstream was asked once")
    m = ask(srv, SLOW, timeout=6)
    t.eq(bits(m), 0, "only the slow upstream lists: NXDOMAIN at the timeout")
    soa = m.soa() if m is not None else None
    t.ok(soa is not None and soa.ttl <= PARTIAL_TTL,
         "... whose SOA (negative TTL) lives at most %d s" % PARTIAL_TTL,
         repr(m))
    # the partial answer is cached only briefly: once the slow upstream
    # answers in time, its bit appears
    fake.set_rules(fake_rules("slow.test", {ONE: {"A": {"a":
                                                        ["127.0.0.2"]}}}))
    got = h.poll_until(lambda: bits(ask(srv, ONE)) == B_ONE | B_FAKE, 90, 1)
    t.ok(got, "the partial answer expires soon: the bit appears later")


def test_coalescing_burst(t):
    tmp = h.make_tmpdir()
    fake = h.FakeUpstream(fake_rules("co.test", {
        X: {"A": {"a": ["127.0.0.2"], "ttl": 300, "delay_ms": 300}}}),
        tmp=tmp)
    srv = Setup([("co", "co.test", fake.port, [])],
                ["bit: %d co" % B_FAKE], tmp=tmp, attempts=1).start()
    name = h.rev4(X) + ".all.test"
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
             for _ in range(20)]
    answers = {}
    try:
        for i in range(1000):
            socks[i % 20].sendto(h.make_query(name, qid=i),
                                 ("127.0.0.1", srv.port))
        deadline = time.monotonic() + 15
        while len(answers) < 1000 and time.monotonic() < deadline:
            r, _, _ = select.select(socks, [], [], 0.5)
            for s in r:
                m = h.parse_msg(s.recv(4096))
                answers[m.id] = bits(m)
    finally:
        for s in socks:
            s.close()
    t.eq((len(answers), set(answers.values())), (1000, {B_FAKE}),
         "1000 identical queries at once: all answered, listed")
    t.eq(subject_count(fake, X, "co.test"), 1,
         "... with one query to the upstream")


def test_rfc5452_and_transport(t):
    tmp = h.make_tmpdir()
    bad = ["id", "qname", "port"]
    fake = h.FakeUpstream(fake_rules("odd.test", {
        X: {"A": {"a": ["127.0.0.2"], "bad_first": bad}},
        Y: {"A": {"a": ["127.0.0.2"], "bad_first": bad, "silent": True}},
        Z: {"A": {"a": ["127.0.0.2"], "truncate": True}},
        W: {"A": {"rcode": "SERVFAIL"}},
        ONE: {"A": {"rcode": "REFUSED"}},
        SPAM: {"A": {"a": ["127.0.0.2"]}, "TXT": {"txt": ["odd says"]}}}),
        tmp=tmp)
    srv = Setup([("odd", "odd.test", fake.port, [])],
                ["bit: %d odd" % B_FAKE], tmp=tmp).start()
    t.eq(bits(ask(srv, X)), B_FAKE, "a wrong ID, question and port are "
         "discarded; the right reply after them is used")
    t.eq(bits(ask(srv, Y)), 0, "only mismatched replies: not listed")
    t.eq((bits(ask(srv, Z)), subject_count(fake, Z, "odd.test", "A", "tcp")),
         (B_FAKE, 1), "TC=1: asked again over TCP, listed")
    fake.reset()
    t.eq(bits(ask(srv, SPAM)), B_FAKE, "listed")
    t.eq(subject_count(fake, SPAM, "odd.test", "TXT"), 0,
         "an A query costs no upstream TXT query")
    m = ask(srv, SPAM, qtype="TXT")
    t.ok(m is not None and any("odd says" in s for s in m.txt_set()),
         "a TXT query for a listed subject fetches the upstream's TXT",
         repr(m))
    t.eq(subject_count(fake, SPAM, "odd.test", "TXT"), 1,
         "... with one TXT query")
    # last: SERVFAIL and REFUSED count as timeouts; three in a row make
    # the upstream down (not asked any more)
    for addr, what in ((W, "SERVFAIL"), (ONE, "REFUSED")):
        t.eq(bits(ask(srv, addr)), 0, "%s: not listed" % what)
        n1 = subject_count(fake, addr, "odd.test")
        ask(srv, addr)
        t.ok(n1 >= 1 and (subject_count(fake, addr, "odd.test") > n1 or
                          upstream_status(srv, "odd")[1] == "down"),
             "%s is not cached (asked again)" % what)


# --- cache -------------------------------------------------------------------

def test_cache_survives(t):
    tmp = h.make_tmpdir()
    r1, r2, r3 = three_rbldnsd(tmp)
    s = setup3(tmp, r1, r2, r3)
    srv = s.start()
    want = {ALL3: B_ONE | B_DYNA | B_THREE, ONE: B_ONE, SPAM: B_SPAM,
            NONE: 0}
    first = {a: bits(ask(srv, a)) for a in want}
    t.eq(first, want, "answers with the upstreams running")
    for r in (r1, r2, r3):
        r.stop()
    t.eq({a: bits(ask(srv, a)) for a in want}, want,
         "upstreams stopped: the same answers from the cache")
    t.eq(srv.stop(), 0, "stopped")
    srv.start()
    t.eq({a: bits(ask(srv, a)) for a in want}, want,
         "after a restart: the same answers from the cache")
    srv.signal(signal.SIGKILL)
    srv.proc.wait(timeout=5)
    srv.stop()
    srv.start()
    t.eq({a: bits(ask(srv, a)) for a in want}, want,
         "after kill -9: the cache opens intact, the same answers")
    r = h.run(["mdb_stat", "-n", "-e", os.path.join(tmp, "cache", "cache.mdb")])
    t.ok(r.returncode == 0, "the cache is a readable LMDB environment",
         r.stdout + r.stderr)


def test_expiry(t):
    tmp = h.make_tmpdir()
    fake = h.FakeUpstream(fake_rules("ex.test", {
        X: {"A": {"a": ["127.0.0.2"], "ttl": 2}}}, soa_min=2), tmp=tmp)
    srv = Setup([("ex", "ex.test", fake.port, [])],
                ["bit: %d ex" % B_FAKE], tmp=tmp).start()
    for addr, b, what in ((X, B_FAKE, "positive (TTL 2)"),
                          (Y, 0, "negative (SOA minimum 2)")):
        t.eq(bits(ask(srv, addr)), b, "%s: answered" % what)
        t.eq((bits(ask(srv, addr)), subject_count(fake, addr, "ex.test")),
             (b, 1), "%s: the second query is a cache hit" % what)
        got = h.poll_until(
            lambda: bits(ask(srv, addr)) == b and
            subject_count(fake, addr, "ex.test") >= 2, 15, 0.25)
        t.ok(got, "%s: asked again after expiry" % what)


def test_serve_stale(t):
    tmp = h.make_tmpdir()
    rules = fake_rules("st.test", {X: {"A": {"a": ["127.0.0.2"], "ttl": 2}}})
    fake = h.FakeUpstream(rules, tmp=tmp)
    srv = Setup([("st", "st.test", fake.port, [])],
                ["bit: %d st" % B_FAKE], tmp=tmp, timeout="500ms").start()
    t.eq(bits(ask(srv, X)), B_FAKE, "listed, TTL 2")
    fake.set_rules({"zones": {"st.test": {"*": {"silent": True}}}})
    # once expired, the upstream is asked again, does not answer, and the
    # stale entry is served with a short TTL
    got = h.poll_until(lambda: ask(srv, X) is not None and
                       subject_count(fake, X, "st.test") >= 2, 15, 0.25)
    m = ask(srv, X)
    t.ok(got and bits(m) == B_FAKE and 0 < ttl_of(m) <= STALE_TTL,
         "upstream silent after expiry: the stale positive is served "
         "with a TTL of at most %d s" % STALE_TTL, repr(m))
    # serve-stale: 0 turns it off
    srv.stop()
    tmp2 = h.make_tmpdir()
    fake2 = h.FakeUpstream(rules, tmp=tmp2)
    srv2 = Setup([("st", "st.test", fake2.port, [])],
                 ["bit: %d st" % B_FAKE], tmp=tmp2, timeout="500ms",
                 stale="0").start()
    t.eq(bits(ask(srv2, X)), B_FAKE, "serve-stale 0: listed")
    fake2.set_rules({"zones": {"st.test": {"*": {"silent": True}}}})
    got = h.poll_until(lambda: bits(ask(srv2, X)) == 0 and
                       subject_count(fake2, X, "st.test") >= 2, 15, 0.25)
    t.ok(got, "serve-stale 0: not listed once expired and silent")


def test_tiny_cache_eviction(t):
    tmp = h.make_tmpdir()
    # 198.18.0.0/16 (RFC 2544): 40000 subjects, all listed
    data = SOA % ("big.test", "big.test", 3600) + \
        "$TTL 3600\n:127.0.0.2:big\n127.0.0.2\n198.18.0.0/16\n"
    r = h.rbldnsd_upstream("big.test", data, tmp=tmp)
    srv = Setup([("big", "big.test", r.port, [])],
                ["bit: %d big" % B_FAKE], tmp=tmp, cachemax="1m").start()
    subjects = ["198.18.%d.%d" % (i // 250, i % 250 + 1)
                for i in range(40000)]
    lines = ["%s.all.test A" % h.rev4(a) for a in subjects]
    res = h.dig_batch(lines, srv.port)
    ok = sum(1 for a in subjects
             if res.get((h.rev4(a) + ".all.test", "A"), (None,))[0] ==
             "NOERROR")
    t.eq(ok, len(subjects), "40000 subjects through a 1m cache: every "
         "one answered listed (a full map never stops answers)")
    size = os.path.getsize(os.path.join(tmp, "cache", "cache.mdb")) \
        if os.path.exists(os.path.join(tmp, "cache", "cache.mdb")) else None
    t.ok(size is not None and size <= 1024 * 1024 + 65536,
         "the cache file stays within cache-max-size (%s bytes)" % size)
    t.ok(srv.alive(), "the server is still running")
    # writes are batched: wait until the last one is in (not asserted)
    h.poll_until(lambda: re.search(r"\bfresh\b", srv.ctl(
        "lookup", subjects[-1], "all.test").stdout), 10, 0.2)
    r.stop()
    last = [bits(ask(srv, a)) for a in subjects[-50:]]
    firstb = [bits(ask(srv, a)) for a in subjects[:50]]
    t.eq(last, [B_FAKE] * 50, "upstream stopped: the latest subjects are "
         "still cached")
    t.ok(0 in firstb, "... and the earliest were evicted (not listed now)",
         repr(firstb))


def test_corrupt_cache(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", DATA_ONE, tmp=tmp)
    s = Setup([("one", "one.test", r1.port, [])], ["bit: %d one" % B_ONE],
              tmp=tmp)
    srv = s.start()
    t.eq(bits(ask(srv, ONE)), B_ONE, "listed")
    srv.stop()
    path = os.path.join(tmp, "cache", "cache.mdb")
    junk = b"not an LMDB file " * 4096
    with open(path, "wb") as f:
        f.write(junk)
    srv.start()
    t.eq(bits(ask(srv, ONE)), B_ONE,
         "a corrupt cache file: the server starts and answers")
    h.poll_until(lambda: re.search(r"\bfresh\b", srv.ctl(
        "lookup", ONE, "all.test").stdout), 10, 0.2)
    r1.stop()
    t.eq(bits(ask(srv, ONE)), B_ONE,
         "... and caches again (upstream stopped: a hit)")
    srv.stop()
    kept = []
    for root, _, files in os.walk(os.path.join(tmp, "cache")):
        for fn in files:
            p = os.path.join(root, fn)
            with open(p, "rb") as f:
                if f.read() == junk:
                    kept.append(p)
    t.ok(kept and path not in kept,
         "the corrupt file was moved aside, not deleted", repr(kept))
    r = h.run(["mdb_stat", "-n", "-e", os.path.join(tmp, "cache", "cache.mdb")])
    t.ok(r.returncode == 0, "a fresh cache in its place", r.stderr)
    t.ok("corrupt" in srv.log().lower(), "the move is logged",
         srv.log_tail())


# --- health and budget -------------------------------------------------------

def test_health_world_and_reenable(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", DATA_ONE, tmp=tmp)
    fake = h.FakeUpstream({"world": True}, tmp=tmp)
    srv = Setup([("one", "one.test", r1.port, []),
                 ("wide", "wide.test", fake.port, [])],
                ["bit: %d one" % B_ONE, "bit: %d wide" % B_FAKE],
                tmp=tmp).start()
    got, line = wait_state(srv, "wide", "disabled")
    t.ok(got, "listing the world (127.0.0.1, the canary): disabled", line)
    t.eq([bits(ask(srv, a)) for a in (ONE, NONE, X)], [B_ONE, 0, 0],
         "a disabled upstream contributes nothing")
    t.eq(sum(1 for l in srv.log().lower().splitlines()
             if "wide" in l and "disabled" in l), 1,
         "one log line for the change, not one per query")
    fake.set_rules(fake_rules("wide.test", {X: {"A": {"a":
                                                      ["127.0.0.2"]}}}))
    got, line = wait_state(srv, "wide", "up", REENABLE_WAIT)
    t.ok(got, "several good probes later: up again", line)
    t.eq(bits(ask(srv, X)), B_FAKE, "... and its listings count again")


def test_answers_nothing_is_down(t):
    """A list (or a resolver without internet) that answers NXDOMAIN to
    everything, its test point too, is down, not distrusted; back up at
    the first good probe."""
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", DATA_ONE, tmp=tmp)
    fake = h.FakeUpstream({"zones": {"empty.test": {"*": {
        "rcode": "NXDOMAIN"}}}}, tmp=tmp)
    srv = Setup([("one", "one.test", r1.port, []),
                 ("empty", "empty.test", fake.port, [])],
                ["bit: %d one" % B_ONE, "bit: %d empty" % B_FAKE],
                tmp=tmp).start()
    got, line = wait_state(srv, "empty", "down")
    t.ok(got and "127.0.0.2 not listed" in line,
         "127.0.0.2 not listed: down, saying why", line)
    t.eq(bits(ask(srv, ONE)), B_ONE, "the other upstream answers")


def test_error_codes_never_listed(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", DATA_ONE, tmp=tmp)
    cases = [("errdef", ["127.255.255.254"], []),
             ("errmap", ["127.0.0.99"], ["code: 127.0.0.2 errmap"]),
             ("errout", ["10.0.0.1"], []),
             ("erruri", ["127.0.0.1"],
              ["error-code: 127.0.0.1 127.255.255.0/24"])]
    fakes, ups, zl = {}, [("one", "one.test", r1.port, [])], \
        ["bit: %d one" % B_ONE]
    for i, (name, codes, lines) in enumerate(cases):
        zone = name + ".test"
        fakes[name] = h.FakeUpstream(fake_rules(zone, {
            ONE: {"A": {"a": codes}}}), tmp=tmp, name=name)
        ups.append((name, zone, fakes[name].port, lines))
        zl.append("bit: %d %s" % (B_FAKE << i, name))
    srv = Setup(ups, zl, tmp=tmp).start()
    for name, _, _ in cases:
        wait_state(srv, name, "up")
    m = ask(srv, ONE)
    t.eq(bits(m), B_ONE, "127.255.255.254, an unmapped code, an address "
         "outside 127/8 and a declared error code: never a listing", repr(m))
    for name, codes, _ in cases:
        got, line = wait_state(srv, name, "disabled", 10)
        t.ok(got, "%s (%s): an upstream error marks it unhealthy" %
             (name, codes[0]), line)
    r = srv.ctl("lookup", ONE, "all.test")
    cached = [l for l in r.stdout.splitlines()
              if any(n in l.lower() for n, _, _ in cases) and
              re.search(r"\b(fresh|stale)\b", l.lower())]
    t.ok(r.returncode == 0 and not cached,
         "lookup: no error answer is in the cache", r.stdout + r.stderr)


def test_budget(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", DATA_ONE, tmp=tmp)
    fake = h.FakeUpstream(fake_rules("cap.test", default={"a":
                                                         ["127.0.0.2"]}),
                          tmp=tmp)
    srv = Setup([("one", "one.test", r1.port, []),
                 ("cap", "cap.test", fake.port, ["max-queries: 8/1h"])],
                ["bit: %d one" % B_ONE, "bit: %d cap" % B_FAKE],
                tmp=tmp).start()
    subjects = ["198.51.100.%d" % i for i in range(100, 130)]
    answers = [bits(ask(srv, a)) for a in subjects]
    asked = sum(subject_count(fake, a, "cap.test") for a in subjects)
    t.ok(1 <= asked <= 8, "max-queries 8/1h: at most 8 subject queries "
         "reached the upstream (%d)" % asked)
    t.eq(answers[-1], 0, "past the budget the upstream is skipped: its bit "
         "absent", repr(answers))
    t.eq(bits(ask(srv, ONE)), B_ONE, "the other upstream still counts")
    line, _ = upstream_status(srv, "cap")
    t.ok("budget" in line.lower(), "status says why", line)


# --- transparent mode and the resolver ---------------------------------------

def test_mirror(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", DATA_ONE, tmp=tmp)
    r2 = h.rbldnsd_upstream("two.test", DATA_TWO, tmp=tmp)
    srv = Setup([("one", "one.test", r1.port, ["mirror: yes"]),
                 ("two", "two.test", r2.port, TWO_CODES + ["mirror: yes"])],
                ["bit: %d one" % B_ONE, "bit: %d dyna" % B_DYNA,
                 "bit: %d spam" % B_SPAM], tmp=tmp).start()
    # a mirror without code: lines answers the upstream's own code, from
    # the answer and then from the cache alike
    m = ask(srv, ONE, zone="one.test")
    t.eq(m and (m.rcode_name, m.a_set()), ("NOERROR", ["127.0.0.2"]),
         "mirror without codes: one.test answered with its code", repr(m))
    r1.stop()
    m = ask(srv, ONE, zone="one.test")
    t.eq(m and m.a_set(), ["127.0.0.2"],
         "mirror without codes: the same code through the cache", repr(m))
    m = ask(srv, SPAM, zone="two.test")
    t.eq(m and (m.rcode_name, m.a_set()), ("NOERROR", ["127.0.0.38"]),
         "mirror: two.test answered with its original code", repr(m))
    m = ask(srv, SPAM, zone="two.test", qtype="TXT")
    t.eq(m and m.txt_set(), ["two says spam " + SPAM],
         "mirror: the original TXT")
    m = ask(srv, NONE, zone="two.test")
    t.eq(m and m.rcode_name, "NXDOMAIN", "mirror: not listed: NXDOMAIN")
    r2.stop()
    m = ask(srv, SPAM, zone="two.test")
    t.eq(m and m.a_set(), ["127.0.0.38"], "mirror: through the cache")


def test_resolver_forward_unbound(t):
    tmp = h.make_tmpdir()
    r1, r2, r3 = three_rbldnsd(tmp)
    fake = h.FakeUpstream(fake_rules("fk.test", {
        ALL3: {"A": {"a": ["127.0.0.2"], "delay_ms": 200}}}), tmp=tmp)
    u = h.Unbound({"one.test": r1.port, "two.test": r2.port,
                   "three.test": r3.port, "fk.test": fake.port}, tmp=tmp,
                  extra="    cache-max-ttl: 0\n")
    srv = Setup([("one", "one.test", None, []),
                 ("two", "two.test", None, TWO_CODES),
                 ("three", "three.test", None, []),
                 ("fk", "fk.test", None, [])],
                ZONE3 + ["bit: %d fk" % B_FAKE], tmp=tmp,
                forward="127.0.0.1@%d" % u.port, timeout="1500ms").start()
    m = ask(srv, ALL3)
    t.eq(bits(m), B_ONE | B_DYNA | B_THREE | B_FAKE,
         "through Unbound: every upstream's bit", repr(m))
    t.eq(bits(ask(srv, NONE)), 0, "through Unbound: not listed")
    # Unbound may send one more when its first try of an unknown server
    # is slow; without Unbound nothing would have reached the fake
    n = subject_count(fake, ALL3, "fk.test")
    t.ok(1 <= n <= 3, "the query reached the fake through Unbound "
         "(once, or again on Unbound's own retries)", "count %d" % n)


def main():
    tests = [test_merge_three_rbldnsd, test_partial_answer_within_timeout,
             test_coalescing_burst, test_rfc5452_and_transport,
             test_cache_survives, test_expiry, test_serve_stale,
             test_tiny_cache_eviction, test_corrupt_cache,
             test_health_world_and_reenable, test_answers_nothing_is_down,
             test_error_codes_never_listed,
             test_budget, test_mirror, test_resolver_forward_unbound]
    only = sys.argv[1:]
    if only:
        tests = [fn for fn in tests if fn.__name__ in only]
    h.run_suite("test_upstream", tests)


if __name__ == "__main__":
    main()
