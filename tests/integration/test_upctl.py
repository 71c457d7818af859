#!/usr/bin/env python3
"""test_upctl -- the control socket with upstreams, and mirror zones.

`rblmuxctl lookup` per cache state (fresh counting down, stale, miss),
per upstream health (down, disabled) and per code of one upstream;
`flush IP|NAME`, `flush --source NAME`, `flush --all` and their bad
arguments; the `status` upstream and cache lines; the upstream.* and
cache.* counters of `stats`; a `mirror: yes` upstream served under its
own zone name; a zone name taken by both a zone: clause and a mirror.

The upstreams are tests/support/fake_upstream.py (which counts what it
is asked) and rbldnsd on loopback; the set-ups come from
test_upstream.py. Subjects are RFC 5737 addresses.
"""
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_upstream as tu  # noqa: E402

h.SUITE_TIMEOUT = int(os.environ.get("RBLMUX_IT_TIMEOUT", "600"))

X = "198.51.100.31"             # fk: 127.0.0.2, short TTL, TXT
Y = "198.51.100.32"             # fk: 127.0.0.2 and 127.0.0.4
N = "198.51.100.33"             # nobody
B_FA, B_FB = 4, 8


def stats(srv):
    """The stats counters as {name: int}."""
    out = {}
    for line in srv.ctl("stats").stdout.splitlines():
        k, _, v = line.partition(": ")
        if v.strip().isdigit():
            out[k] = int(v)
    return out


def delta(before, after, names):
    return {n: after.get(n, 0) - before.get(n, 0) for n in names}


def src_line(text, result):
    """The lookup line of result `result` (its first word), or ""."""
    for line in text.splitlines():
        if line.split()[:1] == [result]:
            return line
    return ""


def lookup(srv, subject, zone="all.test"):
    r = srv.ctl("lookup", subject, zone)
    return r.stdout + r.stderr


def wait_cached(srv, subject, result, timeout=10):
    """Poll until lookup shows the cache entry of `result` fresh."""
    return h.poll_until(lambda: re.search(r"cache: fresh", src_line(
        lookup(srv, subject), result)), timeout, 0.1)


def fk_rules(zone, ttl_x=4):
    return tu.fake_rules(zone, {
        X: {"A": {"a": ["127.0.0.2"], "ttl": ttl_x},
            "TXT": {"txt": ["fk says x"], "ttl": ttl_x}},
        Y: {"A": {"a": ["127.0.0.2", "127.0.0.4"], "ttl": 300}}})


# --- lookup ------------------------------------------------------------------

def test_lookup_states(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", tu.DATA_ONE, tmp=tmp)
    fk = h.FakeUpstream(fk_rules("fk.test"), tmp=tmp, name="fk")
    dead = h.FakeUpstream({"zones": {"dead.test": {"*": {"silent": True}}}},
                          tmp=tmp, name="dead")
    wide = h.FakeUpstream({"world": True}, tmp=tmp, name="wide")
    srv = tu.Setup([("one", "one.test", r1.port, []),
                    ("fk", "fk.test", fk.port,
                     ["code: 127.0.0.2 fa", "code: 127.0.0.4 fb"]),
                    ("dead", "dead.test", dead.port, []),
                    ("wide", "wide.test", wide.port, [])],
                   ["bit: 2 one", "bit: %d fa" % B_FA, "bit: %d fb" % B_FB,
                    "bit: 16 dead", "bit: 32 wide"], tmp=tmp,
                   timeout="500ms", attempts=1).start()
    out = lookup(srv, X)
    t.ok(re.search(r"\(fk\.test, \w+\): to be asked; cache: miss",
                   src_line(out, "fa")),
         "before any query: a miss, to be asked", out)
    t.eq(tu.bits(tu.ask(srv, X)), B_FA, "X listed by fk as 127.0.0.2 (fa)")
    tu.ask(srv, X, qtype="TXT")
    got = h.poll_until(lambda: "fk says x" in src_line(lookup(srv, X), "fa"),
                       10, 0.1)
    out = lookup(srv, X)
    line = src_line(out, "fa")
    m = re.search(r"cache: fresh, (\d+)s left, raw 127\.0\.0\.2 "
                  r"\"fk says x\"", line)
    t.ok(got and m and 1 <= int(m.group(1)) <= 4,
         "cached: fresh with the seconds left (of TTL 4), the raw code "
         "and the TXT", out)
    t.ok(re.search(r"\(fk\.test, up\): listed 127\.0\.0\.2 ttl [1-4];", line),
         "fa: the reply uses the cached listing", out)
    t.ok(re.search(r"\(fk\.test, up\): not listed;", src_line(out, "fb")),
         "fb (127.0.0.4): not listed from the same entry", out)
    t.ok(re.search(r"answer: 127\.0\.0\.%d ttl" % B_FA, out),
         "lookup's answer is the query's", out)
    left = int(m.group(1)) if m else 0
    got = h.poll_until(lambda: re.search(
        r"fresh, (\d+)s left", src_line(lookup(srv, X), "fa")) and int(
        re.search(r"fresh, (\d+)s left", src_line(lookup(srv, X), "fa"))
        .group(1)) < left, 5, 0.2)
    t.ok(got, "the seconds left count down", lookup(srv, X))
    got = h.poll_until(lambda: re.search(
        r"to be asked; cache: stale, expired \d+s ago, raw 127\.0\.0\.2",
        src_line(lookup(srv, X), "fa")), 10, 0.2)
    t.ok(got, "after the TTL: stale, expired N s ago, to be asked again",
         lookup(srv, X))

    # one upstream, two codes: each result its own
    tu.ask(srv, Y)
    wait_cached(srv, Y, "fa")
    out = lookup(srv, Y)
    t.ok(re.search(r"listed 127\.0\.0\.2 ttl \d+; cache: fresh, \d+s left, "
                   r"raw 127\.0\.0\.2,127\.0\.0\.4", src_line(out, "fa")) and
         re.search(r"listed 127\.0\.0\.4 ttl \d+;", src_line(out, "fb")) and
         re.search(r"answer: 127\.0\.0\.%d " % (B_FA | B_FB), out),
         "127.0.0.2 and 127.0.0.4 from one upstream: fa and fb listed", out)
    tu.ask(srv, N)
    wait_cached(srv, N, "fa")
    out = lookup(srv, N)
    t.ok(re.search(r"\(fk\.test, up\): not listed; cache: fresh, \d+s left, "
                   r"raw not listed", src_line(out, "fa")),
         "negative entry: fresh, raw not listed", out)

    # lookup only looks: no counter moves, no query leaves
    before, n_fk = stats(srv), fk.count()
    for _ in range(3):
        lookup(srv, Y)
    after = stats(srv)
    t.eq(delta(before, after, ["cache.hits", "cache.misses", "cache.stale",
                               "cache.prefetches", "upstream.lookups"]),
         {"cache.hits": 0, "cache.misses": 0, "cache.stale": 0,
          "cache.prefetches": 0, "upstream.lookups": 0},
         "lookup moves no cache or upstream counter")
    t.eq(fk.count(), n_fk, "lookup sends no query to the upstream")

    # health: down (silent probes) and disabled (lists the world)
    got, line = tu.wait_state(srv, "dead", "down")
    t.ok(got, "silent upstream: down", line)
    got, line = tu.wait_state(srv, "wide", "disabled")
    t.ok(got, "world-listing upstream: disabled", line)
    out = lookup(srv, Y)
    t.ok(re.search(r"\(dead\.test, down\): nothing \(upstream not used "
                   r"now\); cache: miss", src_line(out, "dead")),
         "lookup: a down upstream with nothing cached contributes nothing",
         out)
    t.ok(re.search(r"\(wide\.test, disabled\): nothing \(upstream not used "
                   r"now\)", src_line(out, "wide")),
         "lookup: a disabled upstream contributes nothing", out)


# --- flush -------------------------------------------------------------------

def two_fakes(tmp):
    rules = {}
    for z in ("a.test", "b.test"):
        rules[z] = tu.fake_rules(z, {a: {"A": {"a": ["127.0.0.2"],
                                               "ttl": 3600}}
                                     for a in (X, Y)})
    fa = h.FakeUpstream(rules["a.test"], tmp=tmp, name="fa")
    fb = h.FakeUpstream(rules["b.test"], tmp=tmp, name="fb")
    srv = tu.Setup([("ua", "a.test", fa.port, []),
                    ("ub", "b.test", fb.port, [])],
                   ["bit: %d ua" % B_FA, "bit: %d ub" % B_FB],
                   tmp=tmp).start()
    return fa, fb, srv


def counts(fa, fb, addr):
    return (tu.subject_count(fa, addr, "a.test"),
            tu.subject_count(fb, addr, "b.test"))


def test_flush(t):
    tmp = h.make_tmpdir()
    fa, fb, srv = two_fakes(tmp)
    both = B_FA | B_FB
    for a in (X, Y):
        t.eq(tu.bits(tu.ask(srv, a)), both, "%s listed by both" % a)
        wait_cached(srv, a, "ua")
        wait_cached(srv, a, "ub")
    t.eq([tu.bits(tu.ask(srv, a)) for a in (X, Y)], [both, both],
         "repeats answered")
    t.eq((counts(fa, fb, X), counts(fa, fb, Y)), ((1, 1), (1, 1)),
         "... from the cache: each upstream asked once per subject")
    r = srv.ctl("flush", X)
    t.eq((r.returncode, r.stdout.strip()), (0, "flushed %s: 2 entries" % X),
         "flush IP: both upstreams' entries removed", r.stderr)
    t.eq(tu.bits(tu.ask(srv, X)), both, "X after the flush: listed")
    t.eq(counts(fa, fb, X), (2, 2), "... asked again at both upstreams")
    t.eq((tu.bits(tu.ask(srv, Y)), counts(fa, fb, Y)), (both, (1, 1)),
         "Y was not flushed: still a hit")
    wait_cached(srv, X, "ua")
    wait_cached(srv, X, "ub")

    r = srv.ctl("flush", "--source", "ua")
    t.eq((r.returncode, r.stdout.strip()), (0, "flushed ua: 2 entries"),
         "flush --source ua: its two entries", r.stderr)
    out = lookup(srv, Y)
    t.ok("cache: miss" in src_line(out, "ua") and
         "cache: fresh" in src_line(out, "ub"),
         "lookup: ua's entry gone, ub's still fresh", out)
    t.eq([tu.bits(tu.ask(srv, a)) for a in (X, Y)], [both, both],
         "answers unchanged after flush --source")
    t.eq((counts(fa, fb, X), counts(fa, fb, Y)), ((3, 2), (2, 1)),
         "ua asked again, ub's entries still hits")
    for a in (X, Y):
        wait_cached(srv, a, "ua")

    r = srv.ctl("flush", "--all")
    t.eq((r.returncode, r.stdout.strip()),
         (0, "flushed the whole cache: 4 entries"), "flush --all", r.stderr)
    t.ok(all("cache: miss" in src_line(lookup(srv, a), u)
             for a in (X, Y) for u in ("ua", "ub")),
         "lookup: every entry gone", lookup(srv, X))
    t.eq([tu.bits(tu.ask(srv, a)) for a in (X, Y)], [both, both],
         "answers unchanged after flush --all")
    t.eq((counts(fa, fb, X), counts(fa, fb, Y)), ((4, 3), (3, 2)),
         "every upstream asked again")
    r = srv.ctl("flush", N)
    t.eq((r.returncode, r.stdout.strip()), (0, "flushed %s: 0 entries" % N),
         "flush of a subject not cached: 0 entries")
    r = srv.ctl("flush", "Host.Example.")
    t.eq((r.returncode, r.stdout.strip()),
         (0, "flushed Host.Example.: 0 entries"), "flush NAME is accepted")


def test_flush_bad_args(t):
    tmp = h.make_tmpdir()
    fa, fb, srv = two_fakes(tmp)
    usage = "usage: flush IP|NAME | flush --source NAME | flush --all"
    for args, msg in ((["flush"], usage),
                      (["flush", "--source"], usage),
                      (["flush", "--source", "nosuch"],
                       "no such upstream: nosuch"),
                      (["flush", "not-an-ip!"],
                       "not an address or domain name: not-an-ip!"),
                      (["flush", "a..b"],
                       "not an address or domain name: a..b"),
                      (["flush", "--bogus"], usage),
                      (["flush", "--all", "x"], usage),
                      (["lookup", "not-an-ip!"],
                       "not an address or domain name: not-an-ip!"),
                      (["lookup", "a..b", "all.test"],
                       "not an address or domain name: a..b")):
        r = srv.ctl(*args)
        t.eq((r.returncode, r.stdout, r.stderr.strip()), (1, "", msg),
             "%s: exit 1, the reason on stderr" % " ".join(args))
    t.ok(srv.alive(), "the server is still running")


# --- status and stats --------------------------------------------------------

def test_status_and_stats(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", tu.DATA_ONE, tmp=tmp)
    cap = h.FakeUpstream(tu.fake_rules("cap.test", default={
        "a": ["127.0.0.2"], "ttl": 3600}), tmp=tmp, name="cap")
    srv = tu.Setup([("one", "one.test", r1.port, []),
                    ("cap", "cap.test", cap.port, ["max-queries: 5/1h"])],
                   ["bit: 2 one", "bit: %d cap" % B_FA], tmp=tmp).start()
    for name in ("one", "cap"):
        got, line = tu.wait_state(srv, name, "up")
        t.ok(got and re.match(r"upstream %s %s\.test: up since " % (
            name, name), line), "status: %s up" % name, line)
    s0 = stats(srv)
    subjects = ["198.51.100.%d" % i for i in range(100, 104)]
    t.eq([tu.bits(tu.ask(srv, a)) for a in subjects], [B_FA] * 4,
         "4 subjects within the budget: listed")
    s1 = stats(srv)
    t.eq(delta(s0, s1, ["upstream.lookups", "cache.misses", "cache.hits",
                        "upstream.skipped"]),
         {"upstream.lookups": 8, "cache.misses": 8, "cache.hits": 0,
          "upstream.skipped": 0},
         "4 new subjects, 2 upstreams: 8 lookups, 8 misses")
    t.ok(s1["upstream.queries"] - s0["upstream.queries"] >= 8,
         "upstream.queries counts every query sent")
    for a in subjects:
        wait_cached(srv, a, "cap")
    t.eq([tu.bits(tu.ask(srv, a)) for a in subjects], [B_FA] * 4,
         "repeats: listed")
    s2 = stats(srv)
    t.eq(delta(s1, s2, ["upstream.lookups", "cache.misses", "cache.hits"]),
         {"upstream.lookups": 0, "cache.misses": 0, "cache.hits": 8},
         "repeats: 8 cache hits, no lookup")
    line, state = tu.upstream_status(srv, "cap")
    t.ok(state == "up" and "over budget" not in line and
         re.search(r"budget 4/5/3600s$", line),
         "status: 4 of a budget of 5 used, not over it", line)
    more = ["198.51.100.%d" % i for i in range(110, 113)]
    t.eq([tu.bits(tu.ask(srv, a)) for a in more], [B_FA, 0, 0],
         "the 5th subject asked at cap, then cap is skipped")
    s3 = stats(srv)
    t.eq(delta(s2, s3, ["upstream.skipped", "cache.misses",
                        "upstream.lookups"]),
         {"upstream.skipped": 2, "cache.misses": 4, "upstream.lookups": 4},
         "3 subjects: 3 lookups at one, 1 at cap, 2 skipped at cap")
    line, state = tu.upstream_status(srv, "cap")
    t.ok(state == "up" and line.endswith("budget 5/5/3600s over budget") and
         re.search(r"skipped 2\b", line),
         "status: cap over budget, 2 skipped", line)
    line, state = tu.upstream_status(srv, "one")
    t.ok(re.search(r"lookups 7, coalesced 0, hits/stale/misses 4/0/7, "
                   r"timeouts/errors 0/0, skipped 0, budget 7/unlimited",
                   line), "status: one's counters", line)
    h.poll_until(lambda: all("cache: fresh" in src_line(lookup(srv, a),
                                                        "one")
                             for a in more), 10, 0.1)
    out = srv.ctl("status").stdout
    m = re.search(r"^cache: (\d+) records, \d+ bytes used of 16777216, "
                  r"file \d+ bytes, hit rate ([\d.]+)% \((\d+) hits, "
                  r"(\d+) stale, (\d+) misses\), (\d+) evicted$", out, re.M)
    t.ok(m, "status: the cache line", out)
    if m:
        # each subject has one record holding every upstream's entry
        t.eq(int(m.group(1)), 7, "cache: 7 subjects, 7 records")
        t.eq((m.group(3), m.group(5)), (str(s3["cache.hits"]),
                                        str(s3["cache.misses"])),
             "cache line: the hits and misses of stats")
        rate = 100.0 * s3["cache.hits"] / (s3["cache.hits"] +
                                           s3["cache.misses"])
        t.ok(abs(float(m.group(2)) - rate) < 0.1,
             "hit rate %s%% = hits / (hits + misses)" % m.group(2))


# --- mirror zones ------------------------------------------------------------

MIR_DATA = tu.SOA % ("mir.test", "mir.test", 120) + """$TTL 600
:127.0.0.2:mir says $
127.0.0.2
203.0.113.40 :127.0.0.2:mir: bad for $, see http://mir.test/?ip=$
203.0.113.41 :127.0.0.4:mir dyn $
"""


def test_mirror_zone(t):
    tmp = h.make_tmpdir()
    r1 = h.rbldnsd_upstream("one.test", tu.DATA_ONE, tmp=tmp)
    two = "203.0.113.42"
    fk = h.FakeUpstream(tu.fake_rules("mir.test", {
        two: {"A": {"a": ["127.0.0.2", "127.0.0.4"], "ttl": 300},
              "TXT": {"txt": ["mir lists it twice"], "ttl": 300}}},
        soa_min=120), tmp=tmp, name="mir")
    srv = tu.Setup([("one", "one.test", r1.port, []),
                    ("mir", "mir.test", fk.port,
                     ["code: 127.0.0.2 bad", "code: 127.0.0.4 dyn",
                      "mirror: yes"])],
                   ["bit: 2 one", "bit: %d bad" % B_FA,
                    "bit: %d dyn" % B_FB], tmp=tmp).start()
    q = h.rev4(two) + ".mir.test"
    m = srv.q(q)
    t.eq(m and (m.rcode_name, sorted(m.a_set())),
         ("NOERROR", ["127.0.0.2", "127.0.0.4"]),
         "mirror: both codes of one subject answered", repr(m))
    m = srv.q(q, "TXT")
    t.eq(m and m.txt_set(), ["mir lists it twice"], "mirror: the TXT "
         "verbatim", repr(m))
    m = tu.ask(srv, two)
    t.eq(tu.bits(m), B_FA | B_FB, "the aggregate zone: both bits")
    wait_cached(srv, two, "bad")
    # a lookup that has just finished answers repeats for LINGER_SECS
    # (2 s) while the cache stores the answer: let it end, so the
    # repeats below come from the cache itself
    time.sleep(2.5)
    n = fk.count(q)
    k = srv.kdig(q)
    t.eq(k and sorted(k.a_set()), ["127.0.0.2", "127.0.0.4"],
         "kdig: the same two codes")
    srv.q(q, "TXT")
    t.eq(fk.count(q), n, "repeats come from the cache (upstream not asked)")
    m = srv.q(h.rev4(N) + ".mir.test")
    t.ok(m is not None and m.rcode_name == "NXDOMAIN" and
         m.soa() is not None, "not listed: NXDOMAIN with the SOA", repr(m))
    m = srv.q("2.0.0.127.mir.test")
    t.eq(m and m.a_set(), ["127.0.0.2"], "test point 127.0.0.2 listed")
    m = srv.q("1.0.0.127.mir.test")
    t.eq(m and m.rcode_name, "NXDOMAIN", "test point 127.0.0.1 not listed")
    m = srv.q("mir.test", "SOA")
    t.ok(m is not None and m.rcode_name == "NOERROR" and
         any(r.tname == "SOA" for r in m.answer), "SOA at the apex", repr(m))
    m = srv.q("mir.test", "NS")
    t.ok(m is not None and m.rcode_name == "NOERROR" and
         any(r.tname == "NS" for r in m.answer), "NS at the apex", repr(m))
    # rbldnsd upstream with one TXT per subject, $ expanded
    r2 = h.rbldnsd_upstream("mir2.test", MIR_DATA.replace("mir.test",
                                                          "mir2.test"),
                            tmp=tmp)
    srv.stop()
    srv2 = tu.Setup([("m2", "mir2.test", r2.port, ["mirror: yes"])],
                    ["bit: 2 m2"], tmp=h.make_tmpdir()).start()
    m = srv2.q(h.rev4("203.0.113.40") + ".mir2.test", "TXT")
    t.eq(m and m.txt_set(), ["mir: bad for 203.0.113.40, see "
                             "http://mir2.test/?ip=203.0.113.40"],
         "rbldnsd upstream: its TXT verbatim", repr(m))
    m = srv2.q(h.rev4("203.0.113.41") + ".mir2.test")
    t.eq(m and m.a_set(), ["127.0.0.4"],
         "an upstream without code: lines: its code as it is")


def test_mirror_clash(t):
    tmp = h.make_tmpdir()
    conf = tu.BASE.replace("@FORWARD@", "127.0.0.1@53") \
        .replace("@TIMEOUT@", "1s").replace("@STALE@", "1h") \
        .replace("@CACHEMAX@", "16m").replace("@ATTEMPTS@", "2") + """
upstream:
    name: mir
    zone: mir.test
    mirror: yes

zone:
    name: mir.test
    answer: bitmask
    bit: 2 mir
"""
    srv = h.Server(conf, tmp=tmp, hosts=["127.0.0.1"])
    r = h.run([h.RBLMUXD, "-n", "-c", srv.conf])
    t.ok(r.returncode != 0 and "mir.test" in r.stderr,
         "rblmuxd -n: a zone: clause named as a mirror is an error",
         "rc %s: %s" % (r.returncode, r.stdout + r.stderr))
    ok = srv.conf_text.replace("    name: mir.test\n", "    name: all.test\n")
    srv.write_conf(ok)
    r = h.run([h.RBLMUXD, "-n", "-c", srv.conf])
    t.eq(r.returncode, 0, "... and without the clash the config is good",
         r.stdout + r.stderr)


def test_mirror_codes(t):
    """A mirror answers every code of a listing: without code: lines,
    and when two code: lines share a result name."""
    tmp = h.make_tmpdir()
    subj = "203.0.113.43"
    rules = {subj: {"A": {"a": ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
                          "ttl": 300}}}
    plain = h.FakeUpstream(tu.fake_rules("plain.test", rules), tmp=tmp,
                           name="plain")
    zen = h.FakeUpstream(tu.fake_rules("zen.test", rules), tmp=tmp,
                         name="zen")
    srv = tu.Setup([("plain", "plain.test", plain.port, ["mirror: yes"]),
                    ("zen", "zen.test", zen.port,
                     ["code: 127.0.0.2 sbl", "code: 127.0.0.3 sbl",
                      "code: 127.0.0.4 xbl", "mirror: yes"])],
                   ["bit: 2 plain", "bit: 4 sbl", "bit: 8 xbl"],
                   tmp=tmp).start()
    for zone in ("plain.test", "zen.test"):
        m = srv.q(h.rev4(subj) + "." + zone)
        t.eq(m and (m.rcode_name, sorted(m.a_set())),
             ("NOERROR", ["127.0.0.2", "127.0.0.3", "127.0.0.4"]),
             "mirror %s: every code of the listing" % zone, repr(m))
    m = srv.q(h.rev4(subj) + ".sbl.all.test")
    t.eq(m and sorted(m.a_set()), ["127.0.0.2", "127.0.0.3"],
         "per-result subzone: the codes of that result", repr(m))


def main():
    tests = [test_lookup_states, test_flush, test_flush_bad_args,
             test_status_and_stats, test_mirror_zone, test_mirror_codes,
             test_mirror_clash]
    only = sys.argv[1:]
    if only:
        tests = [fn for fn in tests if fn.__name__ in only]
    h.run_suite("test_upctl", tests)


if __name__ == "__main__":
    main()
