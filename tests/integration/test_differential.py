#!/usr/bin/env python3
"""test_differential -- rblmuxd serve: zones against rbldnsd, same data.

Two ip4set files are generated: one here, covering every syntax form
rbldnsd documents (single addresses, prefixes such as "10.1.2", CIDR of
every length 8..32 in full and short form, full and short ranges
"a.b.c.d-e", "a.b.c-d", "a.b-c", exclusions inside ranges and blocks,
default-value lines, per-entry values ":5:", ":6:text", ":7", plain
text, "$" / "$$" / "$1" substitutions, $TTL, comments), and one from
tools/gen-ip4set when it exists. rbldnsd serves them as bl.diff and
bl.gen, rblmuxd serves the same files through serve: zones of the same
names. Thousands of names -- the borders of every entry (first, last,
one before, one after), excluded addresses, prefix boundaries and random
addresses -- are asked of both with one dig process per server, and
rcode + A set + TXT set must agree for every name.

Addresses with many values (20, 300, 400; one A with many texts, many A
with one text; a /24 block with 30) are asked of both over UDP, without
EDNS and with 1232 bytes: rblmuxd sends the records rbldnsd sends (every
one that fits, in the same order) and sets TC where some were left out;
over TCP (which rbldnsd lacks) it sends them all.

Neither server may list 127.0.0.1 and rblmuxd always lists 127.0.0.2
(RFC 5782 test points), so the data stays out of 127/8.
Set DIFF_SEED to reproduce a run with another seed.
"""
import os
import random
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SEED = int(os.environ.get("DIFF_SEED", "20240601"))
GEN = os.path.join(h.ROOT, "tools", "gen-ip4set")
MAX_SHOWN = 25

CONF = """
server:
    listen: 127.0.0.1@@PORT@
    control-socket: @TMP@/ctl.sock
    check-interval: 0

local-list:
    name: diff
    file: @TMP@/diff.ip4set

zone:
    name: bl.diff
    serve: diff
"""
CONF_GEN = """
local-list:
    name: gen
    file: @TMP@/gen.ip4set

zone:
    name: bl.gen
    serve: gen
"""


def ip(a):
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255,
                            a & 255)


def octets(a, n):
    """The first n octets of a as a prefix text."""
    return ".".join(str((a >> (24 - 8 * i)) & 255) for i in range(n))


def in_127(a):
    return (a >> 24) == 127


# --- the generated file ------------------------------------------------------

class Gen:
    def __init__(self, rnd):
        self.rnd = rnd
        self.lines = []
        self.blocks = []            # (first, last) of listed blocks

    def value(self):
        r = self.rnd.random()
        code = self.rnd.randint(3, 30)
        if r < 0.45:
            return ""
        if r < 0.52:
            return " :%d:" % code                       # A, no TXT
        if r < 0.60:
            return " :%d:Code %d for $" % (code, code)
        if r < 0.66:
            return " :127.0.0.%d:Full form %d $" % (code, code)
        if r < 0.72:
            return " :%d" % code                        # A, default TXT
        if r < 0.80:
            return " Plain text for $"
        if r < 0.85:
            return " :%d:$1$" % code                    # substitution
        if r < 0.90:
            return " :%d:Costs $$5 at $" % code         # "$$" is a "$"
        if r < 0.95:
            return "  # trailing comment, default values"
        return " ; another comment"

    def add(self, spec, first, last, value=True):
        self.lines.append(spec + (self.value() if value else ""))
        self.blocks.append((first, last))

    def addr(self, lo_octet, hi_octet):
        a = self.rnd.randrange(lo_octet, hi_octet + 1) << 24 | \
            self.rnd.getrandbits(24)
        return a

    def build(self):
        rnd = self.rnd
        # single addresses
        for _ in range(350):
            a = self.addr(11, 30)
            self.add(ip(a), a, a)
        # the same address twice with different values: both answer
        for _ in range(8):
            a = self.addr(11, 30)
            self.lines.append("%s :%d:First value for $" %
                              (ip(a), rnd.randint(3, 9)))
            self.lines.append("%s :%d:Second value for $" %
                              (ip(a), rnd.randint(10, 19)))
        # prefixes: a.b.c (/24), a.b (/16), a (/8)
        for _ in range(40):
            a = self.addr(31, 40) & 0xFFFFFF00
            self.add(octets(a, 3), a, a | 0xFF)
        for _ in range(8):
            a = self.addr(41, 45) & 0xFFFF0000
            self.add(octets(a, 2), a, a | 0xFFFF)
        # "a/8": the shortest CIDR form (a lone "a" is not an entry)
        for o in (46, 47):
            self.add("%d/8" % o, o << 24, (o << 24) | 0xFFFFFF)
        # CIDR of every length 8..32, full and short forms
        for plen in range(8, 33):
            for k in range(3):
                if plen < 16:
                    a = self.addr(48, 60)
                else:
                    a = self.addr(61, 80)
                mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
                a &= mask
                last = a | (~mask & 0xFFFFFFFF)
                spec = "%s/%d" % (ip(a), plen)
                if k == 2:
                    # "a.b/12" style: drop trailing zero octets
                    n = 4
                    while n > 1 and (a >> (8 * (4 - n))) & 255 == 0:
                        n -= 1
                    spec = "%s/%d" % (octets(a, n), plen)
                self.add(spec, a, last)
        # full ranges of many sizes
        for _ in range(40):
            a = self.addr(81, 95)
            size = rnd.choice([1, 2, 5, 17, 200, 255, 256, 300, 1000, 4096,
                               70000, 300000])
            b = min(a + size, (95 << 24) | 0xFFFFFF)
            self.add("%s-%s" % (ip(a), ip(b)), a, b)
        # short ranges: a.b.c.d-e, a.b.c-d, a.b-c, a.b.c-e.f.g
        for _ in range(15):
            a = self.addr(96, 105)
            e = rnd.randint(a & 255, 255)
            self.add("%s-%d" % (ip(a), e), a, (a & 0xFFFFFF00) | e)
        for _ in range(10):
            a = self.addr(106, 110) & 0xFFFFFF00
            d = rnd.randint((a >> 8) & 255, min(255, ((a >> 8) & 255) + 20))
            self.add("%s-%d" % (octets(a, 3), d), a,
                     (a & 0xFFFF0000) | d << 8 | 0xFF)
        for _ in range(5):
            a = self.addr(111, 115) & 0xFFFF0000
            c = rnd.randint((a >> 16) & 255, min(255, ((a >> 16) & 255) + 3))
            self.add("%s-%d" % (octets(a, 2), c), a,
                     (a & 0xFF000000) | c << 16 | 0xFFFF)
        for _ in range(5):
            a = self.addr(116, 120) & 0xFFFFFF00
            b = min(a + rnd.randint(1, 40) * 256, (120 << 24) | 0xFFFFFF)
            self.add("%s-%s" % (octets(a, 3), octets(b, 3)), a, b | 0xFF)
        # more specific entries with their own value inside blocks
        big = [bl for bl in self.blocks if bl[1] - bl[0] >= 255]
        for _ in range(25):
            f, l = rnd.choice(big)
            a = rnd.randint(f, l)
            self.add("%s :%d:Inner %s" % (ip(a), rnd.randint(20, 29), "$"),
                     a, a, value=False)
        # exclusions: single addresses and blocks inside listed ones
        wide = [bl for bl in self.blocks if bl[1] - bl[0] >= 3]
        self.excl = []
        for _ in range(40):
            f, l = rnd.choice(wide)
            a = rnd.randint(f, l)
            self.lines.append("!" + ip(a))
            self.excl.append((a, a))
        for _ in range(10):
            f, l = rnd.choice([bl for bl in wide if bl[1] - bl[0] >= 1023])
            a = rnd.randint(f, l) & 0xFFFFFFC0
            if rnd.random() < 0.5:
                self.lines.append("!%s/26" % ip(a))
                self.excl.append((a, a + 63))
            else:
                a &= 0xFFFFFF00
                self.lines.append("!" + octets(a, 3))
                self.excl.append((a, a + 255))
        for _ in range(5):                      # excluding nothing listed
            a = self.addr(200, 210)
            self.lines.append("!" + ip(a))
            self.excl.append((a, a))

        rnd.shuffle(self.lines)
        half = len(self.lines) // 2
        head = ["# generated by test_differential, seed %d" % SEED,
                "$SOA 3600 ns.bl.diff. hostmaster.bl.diff. 1 3600 600 "
                "86400 300",
                "$TTL 3600",
                "$1 http://example.invalid/lookup?",
                ":127.0.0.3:Default listing $",
                "; a comment", ""]
        mid = ["", "# second half: other defaults",
               "$TTL 600",
               ":127.0.0.4:Second default for $"]
        return "\n".join(head + self.lines[:half] + mid +
                         self.lines[half:]) + "\n"

    def points(self):
        """Addresses to ask about, by category."""
        rnd = self.rnd
        pts = {}

        def put(cat, *addrs):
            s = pts.setdefault(cat, set())
            for a in addrs:
                if 0 <= a <= 0xFFFFFFFF and not in_127(a):
                    s.add(a)

        for f, l in self.blocks:
            size = l - f + 1
            cat = "single" if size == 1 else "block/%d" % \
                (32 - (size - 1).bit_length())
            put(cat, f, l, f - 1, l + 1)
            if size > 2:
                put(cat, rnd.randint(f, l), rnd.randint(f, l))
            if size > 256:
                # granularity boundaries inside: /24 and /16 edges
                b = (f | 0xFF) + 1
                put(cat, b - 1, b)
                e = l & 0xFFFFFF00
                put(cat, e - 1, e)
                b16 = (f | 0xFFFF) + 1
                if b16 <= l:
                    put(cat, b16 - 1, b16)
        for f, l in self.excl:
            put("exclusion", f, l, f - 1, l + 1)
        for _ in range(300):
            put("random-near", self.addr(11, 120))
        for _ in range(100):
            put("random-any", rnd.getrandbits(32))
        return pts


# --- points from any ip4set file (for gen-ip4set output) ---------------------

def file_points(text, rnd):
    pts = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;:$":
            continue
        excl = line.startswith("!")
        spec = line.lstrip("!").split()[0]
        b = h.entry_bounds(spec)
        if b is None:
            continue
        f, l = b
        cat = "gen-exclusion" if excl else "gen-entry"
        s = pts.setdefault(cat, set())
        for a in (f, l, f - 1, l + 1, rnd.randint(f, l)):
            if 0 <= a <= 0xFFFFFFFF and not in_127(a):
                s.add(a)
    return pts


# --- servers and comparison --------------------------------------------------

def compare(t, zone, cats, ref, got, shown):
    """One check per category: every name agrees."""
    total = 0
    for cat in sorted(cats):
        addrs = sorted(cats[cat])
        bad = []
        for a in addrs:
            name = "%s.%s" % (h.rev4(ip(a)), zone)
            for qt in ("A", "TXT"):
                total += 1
                r = ref.get((name, qt))
                g = got.get((name, qt))
                if r is None or g is None or r[:3] != g[:3]:
                    bad.append((name, qt, r, g))
        detail = []
        for name, qt, r, g in bad:
            if shown[0] >= MAX_SHOWN:
                detail.append("(more mismatches not shown)")
                break
            shown[0] += 1
            detail.append("%s %s" % (name, qt))
            detail.append("    rbldnsd: %s" % fmt(r))
            detail.append("    rblmuxd: %s" % fmt(g))
        t.ok(not bad, "%s %s: %d addresses agree (A and TXT)" %
             (zone, cat, len(addrs)),
             ["%d of %d queries differ" % (len(bad), 2 * len(addrs))] +
             detail)
    return total


def fmt(res):
    if res is None:
        return "no answer"
    status, a, txt, soa = res
    return "%s A=%s TXT=%s%s" % (status, a, txt,
                                 " (SOA in authority)" if soa else "")


def differential(t):
    rnd = random.Random(SEED)
    t.note("seed %d (set DIFF_SEED to change)" % SEED)
    gen = Gen(rnd)
    text = gen.build()
    cats = gen.points()

    srv_conf = CONF
    tmp = h.make_tmpdir()
    with open(os.path.join(tmp, "diff.ip4set"), "w") as f:
        f.write(text)
    zones = [("bl.diff", "diff.ip4set")]
    gen_cats = {}
    if os.access(GEN, os.X_OK):
        r = h.run([sys.executable, GEN, "-n", "3000", "-s", str(SEED % 1000),
                   "--nets", "6", "-o", os.path.join(tmp, "gen.ip4set")],
                  timeout=60)
        if r.returncode == 0:
            with open(os.path.join(tmp, "gen.ip4set")) as f:
                gen_cats = file_points(f.read(), rnd)
            zones.append(("bl.gen", "gen.ip4set"))
            srv_conf = CONF + CONF_GEN
        else:
            t.ok(False, "tools/gen-ip4set runs", r.stderr)
    else:
        t.skip("tools/gen-ip4set dataset", "tools/gen-ip4set not found")

    # rbldnsd reads its own copies
    refdir = h.readable_copy(tmp, [os.path.join(tmp, fn) for _, fn in zones])
    ref = h.Rbldnsd(refdir, [(z, "ip4set", fn) for z, fn in zones])
    srv = h.Server(srv_conf, hosts=["127.0.0.1"], tmp=tmp)
    srv.start()
    r = h.run([h.RBLMUXD, "-n", "-c", srv.conf])
    t.ok(r.returncode == 0, "rblmuxd -n accepts the generated files "
         "(no bad lines)", r.stderr[-2000:])

    lines = []
    for zone, cs in (("bl.diff", cats), ("bl.gen", gen_cats)):
        for addrs in cs.values():
            for a in addrs:
                for qt in ("A", "TXT"):
                    lines.append("%s.%s %s" % (h.rev4(ip(a)), zone, qt))
    lines = sorted(set(lines))
    t0 = time.monotonic()
    ref_res = h.dig_batch(lines, ref.port, opts=["+noedns"])
    t1 = time.monotonic()
    got_res = h.dig_batch(lines, srv.port, opts=["+noedns"])
    t2 = time.monotonic()
    t.note("%d queries: rbldnsd %.1f s, rblmuxd %.1f s" %
           (len(lines), t1 - t0, t2 - t1))
    t.ok(len(ref_res) == len(lines), "rbldnsd answered all %d queries" %
         len(lines), "%d answered" % len(ref_res))
    t.ok(len(got_res) == len(lines), "rblmuxd answered all %d queries" %
         len(lines), "%d answered" % len(got_res))

    listed = sum(1 for v in ref_res.values() if v[0] == "NOERROR" and v[1])
    t.ok(listed > len(lines) // 8 and listed < len(lines) * 7 // 8,
         "the sample mixes listed and unlisted names (%d of %d A/TXT "
         "listed)" % (listed, len(lines)))

    txts = sum(1 for (name, qt), v in ref_res.items()
               if qt == "TXT" and v[2])
    vals = set(a for v in ref_res.values() for a in v[1])
    t.ok(txts > 100 and len(vals) > 10,
         "the sample has TXT answers (%d) and many A values (%d)" %
         (txts, len(vals)))

    shown = [0]
    n = compare(t, "bl.diff", cats, ref_res, got_res, shown)
    if gen_cats:
        n += compare(t, "bl.gen", gen_cats, ref_res, got_res, shown)
    t.note("%d queries compared" % n)

    # with $SOA in its data rbldnsd puts the SOA in every negative answer
    # (NXDOMAIN and no-data); rblmuxd must too
    nosoa = [(k, ref_res[k], got_res[k]) for k in sorted(ref_res)
             if k in got_res and ref_res[k][3] and not got_res[k][3]]
    kinds = {}
    for (name, qt), r, g in nosoa:
        kinds.setdefault("%s %s" % (r[0], "no data" if not (r[1] or r[2])
                                    else "data"), []).append(
            "%s %s: rbldnsd %s / rblmuxd %s" % (name, qt, fmt(r), fmt(g)))
    detail = []
    for kind, ex in sorted(kinds.items()):
        detail.append("%d x %s, e.g." % (len(ex), kind))
        detail.extend("    " + e for e in ex[:3])
    t.ok(not nosoa, "negative answers carry the SOA in authority like "
         "rbldnsd's (%d names checked)" % sum(1 for v in ref_res.values()
                                             if v[3]), detail)

    # the test points rbldnsd has no notion of
    m = srv.q("2.0.0.127.bl.diff", "A")
    t.ok(m is not None and m.a_set() == ["127.0.0.2"],
         "rblmuxd: test point 127.0.0.2 listed in the serve: zone")
    t.ok(srv.alive() and ref.proc.poll() is None, "both servers alive")
    srv.stop()
    ref.stop()


# --- many values for one address -------------------------------------------

def many_file():
    """Addresses with many values each, and what each one lists:
    {address: [(A, TXT or None), ...]} in file order."""
    vals = {}

    def add(addr, a, txt):
        vals.setdefault(addr, []).append((a, txt))

    for i in range(20):                       # rbldnsd returns all 20
        add("10.0.0.1", "127.0.0.%d" % (i + 2), "value %d for $" % i)
    for i in range(400):                      # more than any UDP reply
        add("10.0.0.2", "127.0.%d.%d" % (i // 200, i % 200 + 2),
            "value number %d for $" % i)
    for i in range(50):                       # one A, many TXT
        add("10.0.0.3", "127.0.0.2", "same A, text %d" % i)
    for i in range(5):                        # many A, one TXT
        add("10.0.0.4", "127.0.0.%d" % (i + 2), "same text")
    for i in range(300):                      # some without TXT
        add("10.0.0.5", "127.0.%d.%d" % (i // 100, i % 100 + 2),
            None if i % 3 == 0 else "third %d of $ %s" % (i, "x" * (i % 40 + 1)))
    lines = []
    for addr, vs in vals.items():
        for a, txt in vs:
            lines.append("%s :%s:%s" % (addr, a, txt if txt else ""))
    # a /24 block with 30 values: the block's granularity answers
    for i in range(30):
        lines.append("10.0.1.0/24 :127.0.0.%d:block value %d" % (i + 2, i))
    vals["10.0.1.7"] = [("127.0.0.%d" % (i + 2), "block value %d" % i)
                        for i in range(30)]
    return "\n".join(lines) + "\n", vals


def records(m, qtype):
    """The answer records of m in order: A values or joined TXT text."""
    if qtype == "A":
        return [r.value for r in m.answer if r.type == 1]
    return ["".join(r.value) for r in m.answer if r.type == 16]


def expected(vals, addr, qtype):
    """Every distinct record the address answers, in file order."""
    out = []
    for a, txt in vals:
        rec = a if qtype == "A" else \
            (txt.replace("$", addr) if txt is not None else None)
        if rec is not None and rec not in out:
            out.append(rec)
    return out


def in_order(got, want):
    """got is some of want, in want's order"""
    it = iter(want)
    return all(x in it for x in got)


def many_values(t):
    text, vals = many_file()
    tmp = h.make_tmpdir()
    path = os.path.join(tmp, "many.ip4set")
    with open(path, "w") as f:
        f.write(text)
    refdir = h.readable_copy(tmp, [path])
    ref = h.Rbldnsd(refdir, [("bl.many", "ip4set", "many.ip4set")])
    srv = h.Server(CONF.replace("diff.ip4set", "many.ip4set")
                   .replace("bl.diff", "bl.many"), hosts=["127.0.0.1"],
                   tmp=tmp)
    srv.start()
    for addr in sorted(vals):
        name = "%s.bl.many" % h.rev4(addr)
        for qtype in ("A", "TXT"):
            want = expected(vals[addr], addr, qtype)
            # UDP, 512 bytes and EDNS 1232: the same records as rbldnsd,
            # as many as fit; rblmuxd says TC where some are missing
            for edns in (None, 1232):
                r = h.query(name, qtype, ref.port, edns=edns)
                g = h.query(name, qtype, srv.port, edns=edns)
                how = "%s %s %s" % (addr, qtype,
                                    "EDNS %d" % edns if edns else "512")
                t.ok(r is not None and g is not None and
                     r.rcode == g.rcode == 0 and
                     records(g, qtype) == records(r, qtype),
                     "%s: the %d records rbldnsd sends, in its order" %
                     (how, len(records(r, qtype)) if r else -1),
                     ["rbldnsd: %r" % (records(r, qtype) if r else r),
                      "rblmuxd: %r" % (records(g, qtype) if g else g)])
                part = g is not None and len(records(g, qtype)) < len(want)
                t.ok(g is not None and g.tc == part and
                     in_order(records(g, qtype), want),
                     "%s: %s" % (how, "TC=1, %d records that fit" %
                                 len(records(g, qtype)) if part else
                                 "all %d, TC=0" % len(want)), repr(g))
            # TCP (rbldnsd has none): every record
            g = h.query(name, qtype, srv.port, tcp=True)
            t.ok(g is not None and not g.tc and g.rcode == 0 and
                 records(g, qtype) == want,
                 "%s %s over TCP: all %d records in file order" %
                 (addr, qtype, len(want)),
                 repr(g)[:1500] if g else "no answer")
    t.ok(srv.alive() and ref.proc.poll() is None, "both servers alive")
    srv.stop()
    ref.stop()


if __name__ == "__main__":
    h.run_suite("differential", [differential, many_values])
