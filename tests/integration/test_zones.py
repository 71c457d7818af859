#!/usr/bin/env python3
"""test_zones -- what each kind of zone answers (SPEC sections 4, 6, 7).

One rblmuxd on tests/data/conf/zones.conf: a bitmask aggregate zone with
an allowlist, an "each" zone, a "score" zone, an IPv6 zone, a domain zone
and an authoritative serve: zone, over the fixture lists in
tests/data/lists. Queries go through kdig.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FILES = ["lists/spam.ip4set", "lists/dul.ip4set", "lists/allow.ip4set",
         "lists/v6.ip6trie", "lists/names.dnset", "lists/short.ip4set",
         "lists/long.ip4set"]
CONF = h.read_data("conf/zones.conf")

SPAM10 = "Spam source 192.0.2.10, see http://example.invalid/spam?192.0.2.10"
DUL10 = "Dynamic range 192.0.2.10"


def soa_of(r, name):
    """The authority of kdig result r holds exactly one record: an SOA
    owned by a zone that holds name."""
    if len(r.authority) != 1 or r.authority[0][1] != "SOA":
        return False
    owner = r.authority[0][0].rstrip(".")
    name = name.lower().rstrip(".")
    return name == owner or name.endswith("." + owner)


def soa_fields(r, zone, section="answer"):
    """The one SOA record of section, owned by zone, with the fixture
    fields ns1.ZONE. hostmaster.ZONE. SERIAL 3600 600 86400 300."""
    rrs = getattr(r, section)
    if len(rrs) != 1:
        return False
    owner, rtype, ttl, val = rrs[0]
    f = str(val).split()
    return rtype == "SOA" and owner == zone + "." and len(f) == 7 and \
        f[:2] == ["ns1.%s." % zone, "hostmaster.%s." % zone] and \
        int(f[2]) > 0 and f[3:] == ["3600", "600", "86400", "300"]


class Checker:
    def __init__(self, t, srv):
        self.t = t
        self.srv = srv

    def __call__(self, name, qtype, status, a=None, txt=None, ttl=None,
                 what=None, txt_contains=None):
        """One kdig query and its expected outcome. a / txt: the exact
        sorted sets wanted (None: not checked; [] for none)."""
        r = self.srv.kdig(name, qtype)
        label = what or "%s %s" % (name, qtype)
        problems = []
        if r is None:
            return self.t.ok(False, label, h.kdig.last_error)
        if r.status != status:
            problems.append("status %s, want %s" % (r.status, status))
        if not r.aa and status in ("NOERROR", "NXDOMAIN"):
            problems.append("AA not set")
        if a is not None and r.a_set() != sorted(a):
            problems.append("A %r, want %r" % (r.a_set(), sorted(a)))
        if txt is not None and r.txt_set() != sorted(txt):
            problems.append("TXT %r, want %r" % (r.txt_set(), sorted(txt)))
        if txt_contains is not None:
            joined = " ".join(r.txt_set())
            for frag in txt_contains:
                if frag not in joined:
                    problems.append("TXT %r lacks %r" % (joined, frag))
        if ttl is not None:
            ttls = sorted(set(x[2] for x in r.answer))
            if ttls != [ttl]:
                problems.append("TTLs %r, want %d" % (ttls, ttl))
        nodata = status == "NOERROR" and a == [] and txt in (None, [])
        if status == "NXDOMAIN" and r.answer:
            problems.append("NXDOMAIN should have no answer")
        if nodata and r.answer:
            problems.append("no-data answer with answer records")
        if (status == "NXDOMAIN" or nodata) and not soa_of(r, name):
            problems.append("negative answer without the zone's SOA (and "
                            "nothing else) in authority")
        if problems:
            problems.append(repr(r))
        return self.t.ok(not problems, label, problems)

    def ent(self, name, what=None):
        """An empty non-terminal: NOERROR, no records, SOA in authority."""
        for qtype in ("A", "TXT"):
            self(name, qtype, "NOERROR", a=[], txt=[],
                 what="%s %s: empty non-terminal -> NOERROR, no data" % (
                     what or name, qtype))


def bitmask(t, c):
    z = "agg.test"
    c("10.2.0.192." + z, "A", "NOERROR", a=["127.0.0.6"], ttl=600,
      what="two lists: A = 127.0.0.0 | 2 | 4, TTL the smaller one")
    c("10.2.0.192." + z, "TXT", "NOERROR",
      txt=["spam: %s; dul: %s" % (SPAM10, DUL10)],
      what="two lists: TXT 'NAME: reason; NAME: reason'")
    c("11.2.0.192." + z, "A", "NOERROR", a=["127.0.0.2"], ttl=1800,
      what="entry with its own value still answers its bit; $TTL used")
    c("11.2.0.192." + z, "TXT", "NOERROR",
      txt=["spam: Snowshoe 192.0.2.11"], what="entry's own TXT expanded")
    c("40.30.20.10." + z, "TXT", "NOERROR",
      txt=["spam: Listed in the spam fixture"],
      what="entry without TXT: the list's txt: is the reason")
    c("255.255.19.198." + z, "TXT", "NOERROR", txt=["dul: listed"],
      what="entry without TXT, list without txt: -> 'listed'")
    c("255.255.19.198." + z, "A", "NOERROR", a=["127.0.0.4"])
    c("41.30.20.10." + z, "TXT", "NOERROR",
      txt=["spam: Plain text for 10.20.30.41"],
      what="plain-text value becomes the reason")
    c("1.0.18.198." + z, "TXT", "NOERROR",
      txt=["dul: Dynamic range 198.18.0.1"], what="CIDR /15 entry")
    c("8.100.51.198." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="inside a /24 entry")
    c("7.100.51.198." + z, "A", "NXDOMAIN",
      what="exclusion inside the /24: NXDOMAIN")
    c("50.100.51.198." + z, "A", "NXDOMAIN",
      what="allowlisted inside the /24: NXDOMAIN")
    c("99.2.0.192." + z, "A", "NXDOMAIN",
      what="listed and allowlisted (exempt): NXDOMAIN")
    c("99.2.0.192." + z, "TXT", "NXDOMAIN", what="exempt TXT: NXDOMAIN")
    c("5.113.0.203." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="range first address")
    c("9.113.0.203." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="range last address")
    c("4.113.0.203." + z, "A", "NXDOMAIN", what="one before the range")
    c("10.113.0.203." + z, "A", "NXDOMAIN", what="one after the range")
    c("2.1.1.1." + z, "A", "NXDOMAIN", what="unlisted: NXDOMAIN")

    # RFC 5782 test points
    c("2.0.0.127." + z, "A", "NOERROR", a=["127.0.0.6"],
      what="127.0.0.2: listed with every member bit")
    c("2.0.0.127." + z, "TXT", "NOERROR", txt_contains=["spam", "dul"],
      what="127.0.0.2 TXT names every member")
    c("1.0.0.127." + z, "A", "NXDOMAIN", what="127.0.0.1: never listed")
    c("test." + z, "A", "NOERROR", a=["127.0.0.6"],
      what="test.ZONE listed")
    c("invalid." + z, "A", "NXDOMAIN", what="invalid.ZONE never listed")

    # per-result subzones (RFC 5782 2.3)
    c("10.2.0.192.dul." + z, "A", "NOERROR", a=["127.0.0.10"],
      what="subzone dul: the list's own value")
    c("10.2.0.192.dul." + z, "TXT", "NOERROR", txt=[DUL10],
      what="subzone dul: the list's own TXT")
    c("10.2.0.192.spam." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="subzone spam")
    c("11.2.0.192.spam." + z, "A", "NOERROR", a=["127.0.0.3"],
      what="subzone spam: entry's own value 127.0.0.3")
    c("11.2.0.192.dul." + z, "A", "NXDOMAIN",
      what="subzone of a list that does not list it: NXDOMAIN")
    c("99.2.0.192.spam." + z, "A", "NXDOMAIN",
      what="subzone: the zone's allowlist still wins")
    c("2.0.0.127.dul." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="subzone test point 127.0.0.2")
    c("1.0.0.127.spam." + z, "A", "NXDOMAIN",
      what="subzone test point 127.0.0.1")
    c("40.30.20.10.spam." + z, "TXT", "NOERROR", a=[], txt=[],
      what="subzone: entry without TXT, TXT query: no data with SOA")

    # empty non-terminals and names that are not addresses
    for name in ("2.0.192." + z, "0.192." + z, "192." + z, "spam." + z,
                 "dul." + z, "2.0.192.spam." + z):
        c.ent(name)
    c("foo." + z, "A", "NXDOMAIN", what="a word below an IP zone: NXDOMAIN")
    c("256.2.0.192." + z, "A", "NXDOMAIN", what="octet 256: NXDOMAIN")
    c("5.10.2.0.192." + z, "A", "NXDOMAIN", what="five octets: NXDOMAIN")
    c("10.2.0.192.AGG.Test", "A", "NOERROR", a=["127.0.0.6"],
      what="zone name matched case-insensitively")

    # apex, types
    r = c.srv.kdig(z, "SOA")
    t.ok(r is not None and r.status == "NOERROR" and r.aa and
         soa_fields(r, z) and r.answer[0][2] == 300 and not r.authority,
         "apex SOA: the answer is the SOA alone, with the configured "
         "fields and soa-ttl", repr(r))
    r = c.srv.kdig(z, "NS")
    t.ok(r is not None and r.status == "NOERROR" and r.aa and
         [(x[0], x[1], x[2]) for x in r.answer] == [(z + ".", "NS", 300)]
         and str(r.answer[0][3]) == "ns1.agg.test." and not r.authority,
         "apex NS: the answer is the configured NS alone", repr(r))
    r = c.srv.kdig("2.1.1.1." + z, "A")
    soa_ttl = [x[2] for x in r.authority if x[1] == "SOA"] if r else []
    t.ok(soa_ttl == [300], "negative answer: SOA TTL = min(SOA TTL, "
         "minimum) = 300", repr(r))
    c("10.2.0.192." + z, "AAAA", "NOERROR", a=[], txt=[],
      what="listed name, type AAAA: NOERROR, no data")
    r = c.srv.kdig("10.2.0.192." + z, "AAAA")
    t.ok(r is not None and r.status == "NOERROR" and r.aa and
         not r.answer and soa_fields(r, z, "authority") and
         r.authority[0][2] == 300,
         "AAAA of a listed name: empty answer, the zone's SOA in "
         "authority", repr(r))
    r = c.srv.kdig("10.2.0.192." + z, "ANY")
    t.ok(r is not None and r.types() == ["A"] and
         r.a_set() == ["127.0.0.6"], "ANY: the A record alone", repr(r))


def each(t, c):
    z = "each.test"
    c("10.2.0.192." + z, "A", "NOERROR", a=["127.0.0.10", "127.0.0.20"],
      what="each: one A per listing result (configured 127.0.0.20, "
      "dul's own 127.0.0.10)")
    c("11.2.0.192." + z, "A", "NOERROR", a=["127.0.0.20"],
      what="each: configured value replaces the entry's own")
    c("1.0.18.198." + z, "A", "NOERROR", a=["127.0.0.10"],
      what="each: result without configured value answers its own")
    c("10.2.0.192." + z, "TXT", "NOERROR",
      txt=["spam: %s; dul: %s" % (SPAM10, DUL10)], what="each: TXT")
    c("99.2.0.192." + z, "A", "NOERROR", a=["127.0.0.10", "127.0.0.20"],
      what="each: no exempt: line, so the allowlist does not apply")
    c("2.0.0.127." + z, "A", "NOERROR", a=["127.0.0.2", "127.0.0.20"],
      what="each: test point lists every result")
    c("1.0.0.127." + z, "A", "NXDOMAIN", what="each: 127.0.0.1")
    c("4.113.0.203." + z, "A", "NXDOMAIN", what="each: unlisted")
    c("10.2.0.192.dul." + z, "A", "NOERROR", a=["127.0.0.10"],
      what="each: subzone dul")
    c.ent("2.0.192." + z, "each: 2.0.192")


def score(t, c):
    z = "score.test"
    c("10.2.0.192." + z, "A", "NOERROR", a=["127.0.0.255"],
      what="score: 200 + 100 clamped to 255")
    c("11.2.0.192." + z, "A", "NOERROR", a=["127.0.0.200"],
      what="score: spam alone = 200")
    c("1.0.18.198." + z, "A", "NOERROR", a=["127.0.0.100"],
      what="score: dul alone = 100")
    c("99.2.0.192." + z, "A", "NOERROR", a=["127.0.0.50"],
      what="score: allowlist weight subtracts: 200 + 100 - 250 = 50")
    c("50.100.51.198." + z, "A", "NXDOMAIN",
      what="score: 200 - 250 <= 0 is not a listing: NXDOMAIN")
    c("50.100.51.198." + z, "TXT", "NXDOMAIN",
      what="score: net score <= 0, TXT: NXDOMAIN")
    c("4.113.0.203." + z, "A", "NXDOMAIN",
      what="score: no member lists it: NXDOMAIN")
    c("2.0.0.127." + z, "A", "NOERROR", a=["127.0.0.255"],
      what="score: test point")
    c("1.0.0.127." + z, "A", "NXDOMAIN", what="score: 127.0.0.1")


def ipv6(t, c):
    z = "v6.test"
    c(h.rev6("2001:db8::1") + "." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="ip6trie: inside 2001:db8::/32")
    c(h.rev6("2001:db8::1") + "." + z, "TXT", "NOERROR",
      txt=["v6: IPv6 2001:db8::1 listed"], what="ip6trie: TXT with $")
    c(h.rev6("2001:db8:dead::1") + "." + z, "A", "NXDOMAIN",
      what="ip6trie: excluded /48")
    c(h.rev6("2001:db8:beef::1") + "." + z, "A", "NOERROR",
      a=["127.0.0.2"], what="ip6trie: own value, aggregate bit 2")
    c(h.rev6("2001:db8:beef::1") + ".v6." + z, "A", "NOERROR",
      a=["127.0.0.5"], what="ip6trie: subzone gives the own value")
    c(h.rev6("2001:db8:beef::1") + ".v6." + z, "TXT", "NOERROR",
      txt=["Host 2001:db8:beef::1"], what="ip6trie: subzone own TXT")
    c(h.rev6("2001:db9::1") + "." + z, "A", "NXDOMAIN",
      what="ip6trie: outside the /32")
    c(h.rev6("::ffff:7f00:2") + "." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="IPv6 test point ::ffff:7f00:2 listed")
    c(h.rev6("::ffff:7f00:1") + "." + z, "A", "NXDOMAIN",
      what="IPv6 test point ::ffff:7f00:1 never listed")
    nib = h.rev6("2001:db8::1").split(".")
    for k in (1, 16, 31):
        c.ent(".".join(nib[32 - k:]) + "." + z,
              "%d nibble labels" % k)
    c("0." + ".".join(nib) + "." + z, "A", "NXDOMAIN",
      what="33 nibble labels: NXDOMAIN")


def domains(t, c):
    z = "dom.test"
    c("example.com." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="dnset: exact name")
    c("example.com." + z, "TXT", "NOERROR",
      txt=["names: Domain example.com is listed"], what="dnset: TXT")
    c("www.example.com." + z, "A", "NXDOMAIN",
      what="dnset: plain entry does not cover subdomains")
    c("x.spam.example." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="dnset: *.spam.example covers x.spam.example")
    c("good.spam.example." + z, "A", "NOERROR", a=[], txt=[],
      what="dnset: excluded name, with the wildcard still covering names "
      "below it: no data (empty non-terminal, not NXDOMAIN)")
    c("x.good.spam.example." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="dnset: the exclusion covers the name alone")
    c("a.b.spam.example." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="dnset: *.spam.example covers every depth")
    c("both.example." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="dnset: .both.example covers the name itself")
    c("a.both.example." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="dnset: .both.example covers subdomains")
    c("other.example." + z, "A", "NXDOMAIN", what="dnset: unlisted")
    c.ent("com." + z, "dnset: com (example.com below it)")
    c("test." + z, "A", "NOERROR", a=["127.0.0.2"], what="dnset: test")
    c("invalid." + z, "A", "NXDOMAIN", what="dnset: invalid")


def serve(t, c):
    z = "bl.test"
    c("10.2.0.192." + z, "A", "NOERROR", a=["127.0.0.10", "127.0.0.2"],
      what="serve: every served list's own value")
    c("10.2.0.192." + z, "TXT", "NOERROR", txt=[DUL10, SPAM10],
      what="serve: every served list's own TXT")
    c("11.2.0.192." + z, "A", "NOERROR", a=["127.0.0.3"], ttl=1800,
      what="serve: entry value and $TTL")
    c("1.0.18.198." + z, "A", "NOERROR", a=["127.0.0.10"], ttl=600,
      what="serve: the list's ttl: when the file has no $TTL")
    c("40.30.20.10." + z, "A", "NOERROR", a=["127.0.0.4"],
      what="serve: ':4:' entry A")
    c("40.30.20.10." + z, "TXT", "NOERROR", a=[], txt=[],
      what="serve: ':4:' entry has no TXT (rbldnsd semantics)")
    c("99.2.0.192." + z, "A", "NOERROR", a=["127.0.0.10", "127.0.0.2"],
      what="serve: no allowlist in a serve: zone")
    c("7.100.51.198." + z, "A", "NXDOMAIN", what="serve: exclusion")
    c("2.1.1.1." + z, "TXT", "NXDOMAIN", what="serve: unlisted")
    c("2.0.0.127." + z, "A", "NOERROR", a=["127.0.0.2"],
      what="serve: test point 127.0.0.2")
    r = c.srv.kdig("2.0.0.127." + z, "TXT")
    t.ok(r is not None and r.status == "NOERROR" and r.txt_set() and
         r.txt_set()[0], "serve: test point has a TXT", repr(r))
    c("1.0.0.127." + z, "A", "NXDOMAIN", what="serve: test point 127.0.0.1")
    c.ent("2.0.192." + z, "serve: 2.0.192")
    c("10.2.0.192.spam." + z, "A", "NXDOMAIN",
      what="serve: no per-result subzones")
    r = c.srv.kdig(z, "NS")
    t.ok(r is not None and r.aa and sorted(str(x[3]) for x in r.answer) ==
         ["ns1.bl.test.", "ns2.bl.test."] and
         all(x[0] == z + "." and x[1] == "NS" for x in r.answer) and
         not r.authority, "serve: apex NS, both names and nothing else",
         repr(r))
    r = c.srv.kdig(z, "SOA")
    t.ok(r is not None and r.aa and soa_fields(r, z) and not r.authority,
         "serve: apex SOA alone, with the configured fields", repr(r))
    r = c.srv.kdig("10.2.0.192." + z, "AAAA")
    t.ok(r is not None and r.status == "NOERROR" and not r.answer and
         soa_fields(r, z, "authority"),
         "serve: AAAA of a listed name: empty answer, SOA in authority",
         repr(r))
    c("x.example", "A", "REFUSED", what="outside every zone: REFUSED")


def ttls(t, c):
    c("50.2.0.192.ttl.test", "A", "NOERROR", a=["127.0.0.2"], ttl=60,
      what="TTL 30 from the list clamped up to ttl-min 60")
    c("51.2.0.192.ttl.test", "A", "NOERROR", a=["127.0.0.4"], ttl=86400,
      what="TTL 5d from the list clamped down to ttl-max 1d")
    c("52.2.0.192.ttl.test", "TXT", "NOERROR", ttl=60,
      what="two lists: the smaller TTL, clamped")
    c("51.2.0.192.long.ttl.test", "A", "NOERROR", a=["127.0.0.2"],
      ttl=86400, what="subzone TTL clamped too")
    c("50.2.0.192.ttlserve.test", "A", "NOERROR", a=["127.0.0.2"], ttl=30,
      what="serve: the file's $TTL as it is (as rbldnsd)")
    c("51.2.0.192.ttlserve.test", "A", "NOERROR", a=["127.0.0.2"],
      ttl=432000, what="serve: a long $TTL as it is")
    c("51.2.0.192.ttlcap.test", "A", "NOERROR", a=["127.0.0.2"],
      ttl=3600, what="serve: the zone's ttl-max caps a long $TTL")
    c("50.2.0.192.ttlcap.test", "A", "NOERROR", a=["127.0.0.2"], ttl=30,
      what="serve: a $TTL below the zone's ttl-max as it is")


# $TIMESTAMP 2020-01-01 +1d: expired long ago
EXPIRED = """$TIMESTAMP 2020-01-01 +1d
192.0.2.10 :127.0.0.9:Old listing $
192.0.2.77
"""
EXPIRED_AT = "2020-01-02 00:00:00 UTC"
MANY_N = 300


def many_list():
    """20 values for 192.0.2.20, MANY_N for 192.0.2.21 (A 127.0.x.y)"""
    lines = ["192.0.2.20 :127.0.0.%d:value %d for $" % (i + 2, i)
             for i in range(20)]
    lines += ["192.0.2.21 :%s:value number %d for $" % (many_a(i), i)
              for i in range(MANY_N)]
    return "\n".join(lines) + "\n"


def many_a(i):
    return "127.0.%d.%d" % (i // 200, i % 200 + 2)


EXTRA = """
local-list:
    name: expired
    file: @TMP@/expired.ip4set

local-list:
    name: many
    file: @TMP@/many.ip4set

zone:
    name: exp.test
    serve: expired
    soa: ns1.exp.test. hostmaster.exp.test. 3600 600 86400 300

zone:
    name: aggexp.test
    answer: bitmask
    bit: 2 expired
    bit: 4 spam

zone:
    name: many.test
    serve: many

zone:
    name: ttlcap.test
    serve: short long
    ttl-max: 1h
"""


def expiry(t, c):
    srv = c.srv
    z = "exp.test"
    for name, qtype in (("10.2.0.192." + z, "A"), ("77.2.0.192." + z, "TXT"),
                        ("200.113.0.203." + z, "A"), (z, "SOA"), (z, "NS"),
                        (z, "A"), ("2.0.0.127." + z, "A"),
                        ("1.0.0.127." + z, "TXT"), ("2.0.192." + z, "A"),
                        ("foo." + z, "A")):
        m = srv.q(name, qtype, edns=1232)
        t.ok(m is not None and m.rcode_name == "SERVFAIL" and
             not m.answer and not m.authority and not m.aa and
             m.question and m.opt is not None,
             "serve: zone over expired data: %s %s is SERVFAIL, no records "
             "(as rbldnsd)" % (name, qtype), repr(m))
    r = srv.kdig("10.2.0.192." + z, "TXT")
    t.ok(r is not None and r.status == "SERVFAIL" and not r.answer,
         "kdig sees SERVFAIL from the expired zone", repr(r))

    z = "aggexp.test"
    c("10.2.0.192." + z, "A", "NOERROR", a=["127.0.0.4"],
      what="aggregate: the expired list adds no bit")
    c("10.2.0.192." + z, "TXT", "NOERROR", txt=["spam: " + SPAM10],
      what="aggregate: the expired list is not named in the TXT")
    c("77.2.0.192." + z, "A", "NXDOMAIN",
      what="aggregate: listed by the expired list alone: NXDOMAIN")
    c("10.2.0.192.expired." + z, "A", "NXDOMAIN",
      what="aggregate: the expired list's subzone lists nothing")
    c("2.0.0.127." + z, "A", "NOERROR", a=["127.0.0.4"],
      what="aggregate: the test point without the expired list's bit")

    st = srv.ctl("status")
    want = "list expired: data expired %s" % EXPIRED_AT
    t.ok(st.returncode == 0 and want in st.stdout,
         "status names the expired list and when it expired",
         st.stdout + st.stderr)
    t.ok("list spam: data expired" not in st.stdout,
         "status: lists that have not expired are not reported", st.stdout)
    lk = srv.ctl("lookup", "192.0.2.10")
    t.ok(lk.returncode == 0 and "SERVFAIL (zone data expired)" in lk.stdout
         and "expired      local list: data expired" in lk.stdout,
         "lookup says the zone and the member are expired", lk.stdout)


def many(t, c):
    srv = c.srv
    z = "many.test"
    want20 = ["127.0.0.%d" % (i + 2) for i in range(20)]
    c("20.2.0.192." + z, "A", "NOERROR", a=want20, ttl=2100,
      what="serve: all 20 values of one address (A)")
    c("20.2.0.192." + z, "TXT", "NOERROR",
      txt=["value %d for 192.0.2.20" % i for i in range(20)],
      what="serve: all 20 values of one address (TXT, EDNS)")

    name = "21.2.0.192." + z
    fit = (512 - 12 - len(h.encode_name(name)) - 4) // 16
    m = srv.q(name, "A")
    t.ok(m is not None and m.tc and m.aa and m.size <= 512 and
         [r.value for r in m.answer] == [many_a(i) for i in range(fit)],
         "serve: %d values over UDP/512: the first %d A records that "
         "fit, in order, TC=1" % (MANY_N, fit), repr(m))
    for qtype, want in (("A", [many_a(i) for i in range(MANY_N)]),
                        ("TXT", [["value number %d for 192.0.2.21" % i]
                                 for i in range(MANY_N)])):
        m = srv.q(name, qtype, tcp=True)
        t.ok(m is not None and not m.tc and
             [r.value for r in m.answer] == want,
             "serve: over TCP all %d %s records, in order" %
             (MANY_N, qtype), repr(m)[:2000])
    r = srv.kdig(name, "TXT")
    t.ok(r is not None and not r.tc and len(r.txt_set()) == MANY_N,
         "kdig: TC over UDP, then all %d TXT over TCP" % MANY_N,
         repr(r)[:2000])


def zones(t):
    srv = h.Server(CONF + EXTRA, FILES)
    with open(srv.path("expired.ip4set"), "w") as f:
        f.write(EXPIRED)
    with open(srv.path("many.ip4set"), "w") as f:
        f.write(many_list())
    srv.start()
    c = Checker(t, srv)
    for fn in (bitmask, each, score, ipv6, domains, serve, ttls, expiry,
               many):
        try:
            fn(t, c)
        except Exception:
            import traceback
            t.ok(False, "%s raised" % fn.__name__,
                 traceback.format_exc().splitlines())
    if srv.v6:
        r = srv.kdig("10.2.0.192.agg.test", "A", server="::1")
        t.ok(r is not None and r.a_set() == ["127.0.0.6"],
             "same answer over ::1", repr(r))
    t.ok(srv.alive(), "server alive after the zone checks")
    rc = srv.stop()
    t.eq(rc, 0, "SIGTERM: clean exit status 0")


if __name__ == "__main__":
    h.run_suite("zones", [zones])
