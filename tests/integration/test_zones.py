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
        if status == "NXDOMAIN" and (r.answer or not r.soa_in_authority()):
            problems.append("NXDOMAIN should have no answer and SOA in "
                            "authority")
        if status == "NOERROR" and a == [] and txt in (None, []) and \
                not r.soa_in_authority():
            problems.append("no-data answer without SOA in authority")
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
         [x[3] for x in r.answer if x[1] == "SOA"] and
         str([x[3] for x in r.answer][0]).startswith(
             "ns1.agg.test. hostmaster.agg.test. ") and
         str([x[3] for x in r.answer][0]).endswith(" 3600 600 86400 300"),
         "apex SOA with the configured fields", repr(r))
    r = c.srv.kdig("2.1.1.1." + z, "A")
    soa_ttl = [x[2] for x in r.authority if x[1] == "SOA"] if r else []
    t.ok(soa_ttl == [300], "negative answer: SOA TTL = min(SOA TTL, "
         "minimum) = 300", repr(r))
    c("10.2.0.192." + z, "AAAA", "NOERROR", a=[], txt=[],
      what="listed name, type AAAA: NOERROR, no data")
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
         ["ns1.bl.test.", "ns2.bl.test."], "serve: apex NS, both names",
         repr(r))
    r = c.srv.kdig(z, "SOA")
    t.ok(r is not None and r.aa and len(r.answer) == 1 and
         str(r.answer[0][3]).startswith("ns1.bl.test. hostmaster.bl.test."),
         "serve: apex SOA", repr(r))
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


def zones(t):
    srv = h.Server(CONF, FILES).start()
    c = Checker(t, srv)
    for fn in (bitmask, each, score, ipv6, domains, serve, ttls):
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
