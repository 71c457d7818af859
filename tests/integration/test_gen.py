#!/usr/bin/env python3
"""test_gen -- `rblmuxctl gen` snippets checked by the real clients.

One rblmuxd serves five zones over local lists and an allowlist:
bitmask (agg.rbl.test), each, score, served, and a bitmask zone of
domain names (dom.rbl.test). For each client the snippet is generated
from the running server, then used by the client itself, which asks
rblmuxd:

- SpamAssassin: the rules of every zone pass `spamassassin --lint`, and
  messages hit exactly the rules of the lists that list their last
  external relay or their envelope sender's domain (`dns_server`);
- Postfix: `postconf -n` reads the lines without a word and gives every
  value back, the filters (read with Postfix's d.d.d.d rules) match
  exactly the answers of listed subjects, and a running Postfix (smtpd
  with the reject_rbl_client lines, postscreen with a score zone's
  weights) rejects as many times, and ranks as high, as the lists say;
- Exim: `exim -bV` reads the ACL statements, and `exim -bh` sessions hit
  exactly the statements of the listing members (exim4 from build/debs:
  it cannot be installed beside postfix);
- rspamd: `rspamadm configtest` loads the settings in a copy of the
  packaged configuration, and rspamd itself gives messages exactly the
  symbols of the listing members.

Clients that need port 53 (Exim, Postfix use the system resolver) run in
a network, mount and PID namespace of their own with rblmuxd, so nothing
outside is touched and nothing outlives the test. Errors (unknown client
or zone), determinism and liveness (a reload that moves a bit moves it
in the snippet) are checked through rblmuxctl. A client that is not
installed, or a run without root, is a SKIP line.
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_spamassassin as ts  # noqa: E402

h.SUITE_TIMEOUT = int(os.environ.get("RBLMUX_IT_TIMEOUT", "400"))
SPAMASSASSIN = ts.SPAMASSASSIN
POSTCONF = shutil.which("postconf")
RSPAMADM = shutil.which("rspamadm")
DEBS = os.path.join(h.ROOT, "build", "debs", "root")
EXIM = shutil.which("exim4") or (
    os.path.join(DEBS, "usr", "sbin", "exim4")
    if os.path.exists(os.path.join(DEBS, "usr", "sbin", "exim4")) else None)

CONF = """
server:
    listen: 127.0.0.1@@PORT@
    listen: ::1@@PORT@
    control-socket: @TMP@/ctl.sock
    check-interval: 0

local-list:
    name: lista
    file: @TMP@/lista.ip4set

local-list:
    name: listb
    file: @TMP@/listb.ip4set

local-list:
    name: listc
    file: @TMP@/listc.ip4set

local-list:
    name: friends
    file: @TMP@/friends.ip4set
    allow: yes

zone:
    name: agg.rbl.test
    answer: bitmask
    bit: 2 lista
    bit: 4 listb
    bit: @BITC@ listc
    exempt: friends

zone:
    name: each.rbl.test
    answer: each
    result: lista 127.0.0.10
    result: listb
    result: listc 127.0.0.12

zone:
    name: score.rbl.test
    answer: score
    result: lista
    result: listb
    result: listc
    result: friends
    weight: 2 lista
    weight: 3 listc

zone:
    name: bl.rbl.test
    serve: lista listb

local-list:
    name: badnames
    type: dnset
    file: @TMP@/badnames.dnset

local-list:
    name: spammy
    type: dnset
    file: @TMP@/spammy.dnset

zone:
    name: dom.rbl.test
    answer: bitmask
    bit: 2 badnames
    bit: 4 spammy
"""

LISTS = {
    "lista": "203.0.113.7\n198.51.100.0/24\n127.0.0.7\n",
    "listb": "203.0.113.7\n192.0.2.9\n127.0.0.7\n127.0.0.8\n",
    "listc": "192.0.2.9\n198.51.100.44\n",
    "friends": "198.51.100.45\n",
}
NAMES = {
    "badnames": "spam.example\n",
    "spammy": "spam.example\nother.example\n",
}
# subject -> the lists listing it (198.51.100.45: friends allowlists
# it in agg.rbl.test, and outweighs lista in score.rbl.test)
SUBJECTS = {
    "203.0.113.7": {"lista", "listb"},
    "192.0.2.9": {"listb", "listc"},
    "198.51.100.44": {"lista", "listc"},
    "198.51.100.45": {"lista", "friends"},
    "203.0.113.99": set(),
}
# sender domains -> the name lists listing them (dom.rbl.test)
DOMAINS = {
    "spam.example": {"badnames", "spammy"},
    "other.example": {"spammy"},
    "clean.example": set(),
}


def expected(zone, listed):
    """What the rules of zone hit for a subject the lists list."""
    if zone == "agg.rbl.test":
        return set() if "friends" in listed else listed
    if zone == "bl.rbl.test":
        return {"listed in bl.rbl.test"} if listed & {"lista", "listb"} \
            else set()
    return listed - {"friends"}


BITS = {"lista": 2, "listb": 4, "listc": 8,      # in agg.rbl.test
        "badnames": 2, "spammy": 4}             # in dom.rbl.test
ZONES = ["agg.rbl.test", "each.rbl.test", "score.rbl.test", "bl.rbl.test",
         "dom.rbl.test"]
CLIENTS = ["spamassassin", "postfix", "postscreen", "exim", "rspamd"]


def start(tmp=None, bitc=8):
    srv = h.Server(CONF.replace("@BITC@", str(bitc)), tmp=tmp)
    for name, text in LISTS.items():
        with open(srv.path(name + ".ip4set"), "w") as f:
            f.write(text)
    for name, text in NAMES.items():
        with open(srv.path(name + ".dnset"), "w") as f:
            f.write(text)
    return srv.start()


def gen(srv, client, zone):
    r = srv.ctl("gen", client, zone)
    return r.returncode, r.stdout, r.stderr


def answers(srv, zone, subject):
    """The A records rblmuxd answers for subject (an IPv4 address or a
    domain name) in zone, as dotted text."""
    name = subject if re.search("[a-z]", subject) else h.rev4(subject)
    m = srv.q(name + "." + zone)
    return sorted(m.a_set()) if m is not None and m.rcode == 0 else []


# --- Postfix's d.d.d.d filters, as postconf(5) describes them --------------

def octet_match(pat, n):
    if not pat.startswith("["):
        return int(pat) == n
    for part in pat[1:-1].split(";"):
        lo, _, hi = part.partition("..")
        if int(lo) <= n <= int(hi or lo):
            return True
    return False


def filter_match(flt, addr):
    """Does answer addr match Postfix filter flt (None: any answer)?"""
    if flt is None:
        return True
    pats = re.findall(r"\[[^\]]*\]|[^.\[]+", flt)
    if len(pats) != 4 or ".".join(pats) != flt:
        raise ValueError("not d.d.d.d: %r" % flt)
    return all(octet_match(p, int(n)) for p, n in zip(pats, addr.split(".")))


def main_cf(text):
    """The logical lines of a main.cf: {name: value with single spaces}."""
    out, cur = {}, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            out[cur] += " " + line.strip()
            continue
        cur, _, v = line.partition("=")
        cur = cur.strip()
        out[cur] = v.strip()
    return {k: " ".join(v.split()) for k, v in out.items()}


def items(text):
    """(comment, item) pairs of a Postfix list in a snippet: each item
    line with the comment line above it (the lines before the first
    comment, permit_mynetworks and the like, are not ours)."""
    out, comment = [], None
    for line in text.splitlines():
        s = line.strip()
        if line.startswith("    #"):
            comment = s[1:].strip()
        elif line.startswith("    ") and s and comment is not None:
            out.append((comment, s.rstrip(",")))
    return out


def site(item):
    """'reject_rbl_client D=F' or 'D=F*W' -> (domain, filter, weight)."""
    item = item.split()[-1]
    w = 1
    if "*" in item:
        item, _, ws = item.rpartition("*")
        w = int(ws)
    dom, _, flt = item.partition("=")
    return dom, flt or None, w


def postconf(tmp, name, text):
    """Run postconf -n on a scratch config dir holding text as main.cf."""
    d = os.path.join(tmp, "postfix-" + name)
    os.makedirs(d, exist_ok=True)
    shutil.copy("/usr/share/postfix/master.cf.dist",
                os.path.join(d, "master.cf"))
    with open(os.path.join(d, "main.cf"), "w") as f:
        f.write(text)
    return h.run([POSTCONF, "-c", d, "-n"])


# --- the tests -------------------------------------------------------------

def test_gen_command(t):
    srv = start()
    for c in CLIENTS:
        for z in ZONES:
            if (c, z) == ("postscreen", "dom.rbl.test"):
                continue
            rc, out, err = gen(srv, c, z)
            first = out.splitlines()[:6]
            t.ok(rc == 0 and z in first[0] and
                 "generated from the live configuration" in out and
                 "127.0.0.1 port %d" % srv.port in out,
                 "gen %s %s: starts naming the zone, the live configuration "
                 "and rblmuxd's address" % (c, z), out + err)
            again = gen(srv, c, z)[1]
            t.eq(again, out, "gen %s %s: the same text twice" % (c, z))
    rc, out, err = gen(srv, "sendmail", "agg.rbl.test")
    t.ok(rc == 1 and "unknown client: sendmail" in err and
         all(c in err for c in CLIENTS),
         "an unknown client is an error naming the clients", err)
    rc, out, err = gen(srv, "postfix", "nope.rbl.test")
    t.ok(rc == 1 and "no such zone: nope.rbl.test" in err and
         all(z in err for z in ZONES),
         "an unknown zone is an error naming the zones", err)
    r = srv.ctl("gen", "postfix")
    t.ok(r.returncode == 1 and "usage: gen" in r.stderr,
         "gen without a zone prints its usage", r.stderr)
    rc, out, err = gen(srv, "postscreen", "dom.rbl.test")
    t.ok(rc == 1 and "domain names only" in err, "postscreen on a zone "
         "of domain names is an error (postscreen asks addresses)", err)

    # the live assignment: move listc from bit 8 to bit 64 and reload
    before = gen(srv, "spamassassin", "agg.rbl.test")[1]
    srv.write_conf(CONF.replace("@BITC@", "64"))
    r = srv.ctl("reload")
    after = gen(srv, "spamassassin", "agg.rbl.test")[1]
    t.ok(r.returncode == 0 and "'8')" in before and "'64')" in after and
         "'8')" not in after,
         "after a reload moving listc to bit 64 the rule tests bit 64",
         after)


# test_spamassassin's settings (rblmuxd the only DNS server, 10/8 our
# MX network) and message, with the TLDs --lint wants to know
SA_SETTINGS = ts.SETTINGS + "util_rb_tld com net org test example\n"


def test_spamassassin(t):
    if SPAMASSASSIN is None:
        t.skip("SpamAssassin rules", "spamassassin not installed")
        return
    srv = start()
    cfdir = srv.path("sa-rules")
    home = srv.path("sa-home")
    os.makedirs(cfdir)
    os.makedirs(home)
    with open(os.path.join(cfdir, "10_settings.cf"), "w") as f:
        f.write(SA_SETTINGS % {"port": srv.port})
    for i, z in enumerate(ZONES):
        rc, out, err = gen(srv, "spamassassin", z)
        with open(os.path.join(cfdir, "2%d_%s.cf" % (i, z)), "w") as f:
            f.write(out)
    prefs = os.path.join(home, "user_prefs")
    open(prefs, "a").close()
    env = dict(os.environ, HOME=home)
    base = [SPAMASSASSIN, "-C", cfdir, "--siteconfigpath",
            srv.path("sa-site"), "-p", prefs]
    os.makedirs(srv.path("sa-site"))
    r = h.run(base + ["--lint"], timeout=120, env=env)
    t.ok(r.returncode == 0 and "warn" not in r.stderr.lower(),
         "spamassassin --lint passes with the rules of all four zones",
         r.stdout + r.stderr)

    names = [n for n in re.findall(r"^header\s+(RCVD_IN_AGG_RBL_\w+)",
                                   gen(srv, "spamassassin",
                                       "agg.rbl.test")[1], re.M)]
    t.eq(names, ["RCVD_IN_AGG_RBL_LISTA", "RCVD_IN_AGG_RBL_LISTB",
                 "RCVD_IN_AGG_RBL_LISTC"], "one rule per bit, by list name")
    want = {("203.0.113.7", "clean.example"): [
        "RCVD_IN_AGG_RBL_LISTA", "RCVD_IN_AGG_RBL_LISTB", "RCVD_IN_BL_RBL",
        "RCVD_IN_EACH_RBL_LISTA", "RCVD_IN_EACH_RBL_LISTB",
        "RCVD_IN_SCORE_RBL_SCORE_3"],
        ("203.0.113.99", "clean.example"): [],
        ("203.0.113.99", "spam.example"): ["RHSBL_DOM_RBL_BADNAMES",
                                           "RHSBL_DOM_RBL_SPAMMY"],
        ("203.0.113.99", "other.example"): ["RHSBL_DOM_RBL_SPAMMY"]}
    for n, ((ip, dom), rules) in enumerate(sorted(want.items())):
        msg = "Return-Path: <sender@%s>\n" % dom + \
            ts.MESSAGE % {"ip": ip, "id": n}
        r = h.run(base + ["-t", "-x", "-D", "dns"], timeout=120,
                  input=msg, env=env)
        servers = set(re.findall(r"dbg: dns: attempt \d+/\d+, trying "
                                 r"connect/sendto to (\S+)", r.stderr))
        t.eq(ts.sa_tests(r.stdout), rules,
             "relay %s, sender domain %s: SpamAssassin hits %s" %
             (ip, dom, ", ".join(rules) or "nothing"),
             r.stdout[-3000:] + r.stderr[-3000:])
        t.ok(servers == {"[127.0.0.1]:%d" % srv.port},
             "relay %s, sender %s: SpamAssassin asked rblmuxd only" %
             (ip, dom), repr(servers))


def check_filters(t, srv, client, zone, text):
    """Every item's filter matches the answers of exactly the subjects
    its result lists (or, score zones, postscreen's weights add up)."""
    its = items(text)
    t.ok(its, "%s %s: items found" % (client, zone), text)
    if zone in ("agg.rbl.test", "dom.rbl.test"):
        for comment, it in its:
            res = comment.split(":")[0]
            dom, flt, w = site(it)
            bad = [v for v in range(256) if filter_match(
                flt, "127.0.0.%d" % v) != bool(v & BITS[res])]
            t.eq(bad, [], "%s %s: %s's filter matches the answers with bit "
                 "%d set, no others" % (client, zone, res, BITS[res]))
    subjects = DOMAINS if zone == "dom.rbl.test" else SUBJECTS
    for ip, listed in sorted(subjects.items()):
        ans = answers(srv, zone, ip)
        sub = {}
        for comment, it in its:
            dom, flt, w = site(it)
            res = comment.split(":")[0] if comment else None
            if dom != zone:
                # a per-result subzone: ask it
                got = answers(srv, dom, ip)
                hit = bool(got)
            else:
                hit = any(filter_match(flt, a) for a in ans)
            if hit:
                sub[res] = sub.get(res, 0) + w
        if zone == "score.rbl.test" and client == "postscreen":
            score = int(ans[0].split(".")[3]) if ans else 0
            t.eq(sum(sub.values()), score, "postscreen %s %s: the weights "
                 "that match add up to the answer %s" % (zone, ip, ans))
            continue
        if zone == "score.rbl.test":
            thr = int(re.search(r"score of (\d+) or more", text).group(1))
            score = int(ans[0].split(".")[3]) if ans else 0
            t.eq(bool(sub), score >= thr, "postfix %s %s: rejected "
                 "exactly when the score %d reaches %d" % (zone, ip, score,
                                                          thr))
            continue
        want = expected(zone, listed)
        t.eq(set(sub), want, "%s %s %s (answers %s): the items of %s "
             "match" % (client, zone, ip, ans, sorted(want) or "nothing"))


def test_postfix(t):
    if POSTCONF is None:
        t.skip("Postfix main.cf lines", "postfix not installed")
        return
    srv = start()
    for client in ("postfix", "postscreen"):
        for z in ZONES:
            if client == "postscreen" and z in ("bl.rbl.test",
                                                "dom.rbl.test"):
                continue
            rc, out, err = gen(srv, client, z)
            r = postconf(srv.tmp, client + "-" + z, out)
            got = main_cf(r.stdout)
            want = main_cf(out)
            t.ok(r.returncode == 0 and r.stderr == "",
                 "postconf -n reads the %s lines of %s without a word" %
                 (client, z), r.stderr)
            t.eq({k: got.get(k) for k in want}, want,
                 "postconf -n gives the %s values of %s back" % (client, z))
            check_filters(t, srv, client, z, out)
    out = gen(srv, "postfix", "dom.rbl.test")[1]
    t.eq(sorted(set(it.split()[0] for c, it in items(out))),
         ["reject_rhsbl_sender"], "postfix on a zone of domain names: "
         "reject_rhsbl_sender")
    out = gen(srv, "postscreen", "agg.rbl.test")[1]
    t.ok("postscreen_dnsbl_threshold = 1" in out and
         "postscreen_dnsbl_action = enforce" in out,
         "postscreen: threshold 1 (the largest single weight), enforce")
    out = gen(srv, "postscreen", "score.rbl.test")[1]
    t.ok("postscreen_dnsbl_threshold = 3" in out,
         "postscreen on the score zone: threshold 3 (listc's weight)", out)


EXIM_CONF = """\
exim_user = nobody
exim_group = nogroup
spool_directory = %(tmp)s/exim-spool
log_file_path = %(tmp)s/exim-log/%%slog
primary_hostname = mx.example.net
keep_environment =
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  accept  hosts = :
%(acl)s
  accept
"""


def exim_check(tmp, acl):
    """exim -bV on a configuration holding acl (as root, with the
    Debian-exim user the binary asks for shown in a private
    /etc/passwd; nothing else of the system is touched)."""
    os.chmod(tmp, 0o755)        # exim looks at its spool as nobody
    for d in ("exim-spool", "exim-log"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
        os.chmod(os.path.join(tmp, d), 0o777)
    conf = os.path.join(tmp, "exim.conf")
    with open(conf, "w") as f:
        f.write(EXIM_CONF % {"tmp": tmp, "acl": acl})
    pw, gr = os.path.join(tmp, "passwd"), os.path.join(tmp, "group")
    with open("/etc/passwd") as f, open(pw, "w") as o:
        o.write(f.read() + "Debian-exim:x:65534:65534::/nonexistent:"
                "/usr/sbin/nologin\n")
    with open("/etc/group") as f, open(gr, "w") as o:
        o.write(f.read() + "Debian-exim:x:65534:\n")
    script = ("mount --bind %s /etc/passwd && mount --bind %s /etc/group "
              "&& exec %s -bV -C %s" % (pw, gr, EXIM, conf))
    return h.run(["unshare", "-m", "sh", "-c", script], timeout=30,
                 env=dict(os.environ, LD_LIBRARY_PATH=os.path.join(
                     DEBS, "usr", "lib", "x86_64-linux-gnu")))


def test_exim(t):
    if EXIM is None or os.geteuid() != 0 or shutil.which("unshare") is None:
        t.skip("Exim ACL statements", "exim4 not unpacked in build/debs "
               "(make deps-test) or not root")
        return
    srv = start()
    for z in ZONES:
        out = gen(srv, "exim", z)[1]
        acl = "\n".join(l for l in out.splitlines()
                        if l.startswith("  ") or not l.strip())
        r = exim_check(srv.tmp, acl)
        t.ok(r.returncode == 0 and "Configuration file is" in r.stdout,
             "exim -bV reads the ACL statements of %s" % z,
             r.stdout[-2000:] + r.stderr[-2000:])
    out = gen(srv, "exim", "agg.rbl.test")[1]
    t.eq(re.findall(r"dnslists = (\S+)", out),
         ["agg.rbl.test&0.0.0.2", "agg.rbl.test&0.0.0.4",
          "agg.rbl.test&0.0.0.8"], "exim: one bitmask test per bit")
    r = exim_check(srv.tmp, "  deny    dnslist = agg.rbl.test&0.0.0.2")
    t.ok(r.returncode != 0, "exim -bV rejects a misspelt condition (the "
         "check has teeth)", r.stdout + r.stderr)


def rspamd_check(tmp, name, text):
    """rspamadm configtest and configdump of the rbl module on a copy of
    /etc/rspamd with the snippet's two parts in its local.d; returns the
    configtest result and the rbl module's settings as rspamd read them."""
    d = os.path.join(tmp, "rspamd-" + name)
    shutil.copytree("/etc/rspamd", d)
    rbl, _, group = text.partition("\n# local.d/rbl_group.conf\n")
    with open(os.path.join(d, "local.d", "rbl.conf"), "w") as f:
        f.write(rbl)
    with open(os.path.join(d, "local.d", "rbl_group.conf"), "w") as f:
        f.write(group)
    base = [RSPAMADM, "--var=LOCAL_CONFDIR=" + d, "--var=CONFDIR=" + d]
    r = h.run(base + ["configtest", "-c", os.path.join(d, "rspamd.conf")],
              timeout=60)
    dump = h.run(base + ["configdump", "-j", "-c",
                         os.path.join(d, "rspamd.conf"), "rbl"], timeout=60)
    try:
        rbls = json.loads(dump.stdout).get("rbls", {})
    except ValueError:
        rbls = None
    return r, rbls


def test_rspamd(t):
    if RSPAMADM is None or not os.path.isdir("/etc/rspamd"):
        t.skip("rspamd rbl settings", "rspamd not installed")
        return
    srv = start()
    for z in ZONES:
        out = gen(srv, "rspamd", z)[1]
        r, rbls = rspamd_check(srv.tmp, z, out)
        t.ok(r.returncode == 0 and "syntax OK" in r.stdout,
             "rspamadm configtest loads the rbl settings of %s" % z,
             r.stdout[-2000:] + r.stderr[-2000:])
        ours = {k: v for k, v in (rbls or {}).items()
                if k.startswith("rblmux_")}
        t.ok(ours and all("rbl" in v and (v.get("checks") == ["from"] or
                                          "selector" in v)
                          for v in ours.values()),
             "rspamd reads the rbls of %s" % z, repr(ours))
        if z == "agg.rbl.test":
            t.eq(ours, {"rblmux_agg_rbl_test": {
                "rbl": "agg.rbl.test", "checks": ["from"],
                "symbol": "RBLMUX_AGG_RBL", "ipv6": False, "returnbits": {
                    "RBLMUX_AGG_RBL_LISTA": 2, "RBLMUX_AGG_RBL_LISTB": 4,
                    "RBLMUX_AGG_RBL_LISTC": 8}}},
                 "rspamd: one returnbits symbol per bit")
        if z == "each.rbl.test":
            t.eq(sorted(ours), ["rblmux_each_rbl_test",
                                "rblmux_each_rbl_test_listb"],
                 "rspamd: listb, which answers its own value, asks its "
                 "subzone")
    r, rbls = rspamd_check(srv.tmp, "broken",
                           "rbls { x { rbl = \"a.test\"; }\n")
    t.ok(r.returncode != 0, "rspamadm configtest fails on a snippet with "
         "a brace missing (the check has teeth)", r.stdout[-1000:])


# A network, mount and PID namespace of its own: rblmuxd on 127.0.0.1
# port 53 and /etc/resolv.conf naming it, so that a client using the
# system resolver asks rblmuxd; everything started in it ends with it.
NS_START = """\
set -e
ip link set lo up
mount --bind %(tmp)s/resolv.conf /etc/resolv.conf
%(mounts)s
%(rblmuxd)s -f -c %(tmp)s/ns.conf > %(tmp)s/ns-rblmuxd.log 2>&1 &
i=0
until dig +short +time=1 +tries=1 @127.0.0.1 2.0.0.127.agg.rbl.test \\
    >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || exit 3; sleep 0.1
done
"""


def ns_run(srv, body, args, mounts="", env=None):
    """Run the sh script body after NS_START in a namespace of its own
    with args; returns the h.run result."""
    with open(srv.path("resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\n")
    srv.write_conf(CONF.replace("@BITC@", "8").replace("@@PORT@", "@53")
                   .replace("    listen: ::1@53\n", "")
                   .replace("@TMP@/ctl.sock", "@TMP@/ns-ctl.sock"),
                   srv.path("ns.conf"))
    script = srv.path("ns-%d.sh" % len(os.listdir(srv.tmp)))
    with open(script, "w") as f:
        f.write(NS_START % {"tmp": srv.tmp, "rblmuxd": h.RBLMUXD,
                            "mounts": mounts} + body)
    return h.run(["unshare", "-m", "-n", "-p", "-f", "--mount-proc", "sh",
                  script] + list(args), timeout=120, env=env)


def have_ns():
    return os.geteuid() == 0 and shutil.which("unshare") is not None \
        and shutil.which("dig") is not None


EXIM_NS = """\
for arg in "$@"; do
	ip=${arg%%%%,*}
	echo "==== $arg"
	{
	printf 'HELO client.example\\r\\nMAIL FROM:<a@%%s>\\r\\n' "${arg#*,}"
	printf 'RCPT TO:<u@example.net>\\r\\nQUIT\\r\\n'
	} | %(exim)s -C %(tmp)s/exim.conf -bh "$ip" 2>&1 |
	    grep -v '^>>>' || true
done
"""


def test_exim_live(t):
    """exim -bh (a test SMTP session from an address) runs the generated
    ACL with rblmuxd as its resolver: in a network and mount namespace
    of its own, where rblmuxd listens on 127.0.0.1 port 53 and
    /etc/resolv.conf names it, so nothing outside is touched. The deny
    statements are turned into warn ones that log, to see every hit."""
    if EXIM is None or not have_ns():
        t.skip("Exim ACL through rblmuxd", "exim4 not unpacked in "
               "build/debs (make deps-test), or not root")
        return
    srv = start()
    acl = []
    for z in ZONES:
        out = gen(srv, "exim", z)[1]
        acl += [l.replace("  deny    ", "  warn    ")
                .replace("message  =", "log_message = HIT")
                for l in out.splitlines() if l.startswith("  ")]
    exim_check(srv.tmp, "\n".join(acl))        # writes exim.conf, passwd
    want = {
        "203.0.113.7,clean.example": [
                        "agg.rbl.test (lista", "agg.rbl.test (listb",
                        "bl.rbl.test (listed", "each.rbl.test (lista",
                        "listb.each.rbl.test (listb",
                        "has a score of 3 or more in score.rbl.test"],
        "192.0.2.9,clean.example": [
                      "agg.rbl.test (listb", "agg.rbl.test (listc",
                      "bl.rbl.test (listed", "each.rbl.test (listc",
                      "listb.each.rbl.test (listb",
                      "has a score of 3 or more in score.rbl.test"],
        "198.51.100.45,clean.example": ["bl.rbl.test (listed",
                                        "each.rbl.test (lista"],
        "203.0.113.99,clean.example": [],
        "203.0.113.99,spam.example": ["dom.rbl.test (badnames",
                                      "dom.rbl.test (spammy"],
        "203.0.113.99,other.example": ["dom.rbl.test (spammy"],
    }
    r = ns_run(srv, EXIM_NS % {"tmp": srv.tmp, "exim": EXIM}, sorted(want),
               mounts="mount --bind %s/passwd /etc/passwd\n"
               "mount --bind %s/group /etc/group" % (srv.tmp, srv.tmp),
               env=dict(os.environ, LD_LIBRARY_PATH=os.path.join(
                   DEBS, "usr", "lib", "x86_64-linux-gnu")))
    parts = dict(re.findall(r"^==== (\S+)\n(.*?)(?=^==== |\Z)",
                            r.stdout, re.M | re.S))
    for ip, hits in sorted(want.items()):
        out = parts.get(ip, "")
        got = sorted(re.sub(r"^is listed in (\S+ \(\w+).*", r"\1", m)
                     for m in re.findall(r"Warning: HIT \S+ (.*)", out))
        t.eq(got, sorted(hits), "exim -bh %s: the statements of %s hit" %
             (ip, ", ".join(hits) or "nothing"), out[-3000:] + r.stderr)
        t.ok("250 Accepted" in out, "exim -bh %s: warn only, the "
             "recipient accepted" % ip, out[-2000:])


POSTFIX_MAIN = """\
compatibility_level = 3.6
myhostname = mx.example.net
mydestination = example.net
mynetworks = 10.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
queue_directory = %(tmp)s/pf-spool
data_directory = %(tmp)s/pf-data
maillog_file = /dev/stdout
local_recipient_maps =
smtpd_authorized_xclient_hosts = 127.0.0.0/8
postscreen_access_list =
postscreen_greet_wait = 2s
"""

POSTFIX_MASTER = """
127.0.0.1:2525 inet n - n - - smtpd
127.0.0.1:2526 inet n - n - 1 postscreen
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
tlsproxy  unix  -       -       n       -       0       tlsproxy
"""

# a client: XCLIENT (port 2525, smtpd) or a loopback source address
# (port 2526, postscreen), then MAIL and RCPT; prints the RCPT reply
POSTFIX_CLIENT = """
import smtplib, sys, time
port, who = int(sys.argv[1]), sys.argv[2]
for i in range(100):
    try:
        s = smtplib.SMTP(timeout=20, source_address=None if port == 2525
                         else (who, 0))
        s.connect("127.0.0.1", port)
        break
    except OSError:
        time.sleep(0.1)
s.ehlo("client.example")
if port == 2525:
    s.docmd("XCLIENT", "ADDR=%s NAME=[UNAVAILABLE]" % who)
    s.ehlo("client.example")
s.mail("a@example.org")
print("RCPT %s %s %r" % (port, who, s.rcpt("u@example.net")))
s.quit()
"""

POSTFIX_NS = """\
postfix check
postfix start-fg &
for arg in "$@"; do
	python3 %(tmp)s/pf-client.py ${arg%%%%,*} ${arg#*,}
done
sleep 1
"""


def test_postfix_live(t):
    """Postfix itself, with the generated lines and its resolver pointing
    at rblmuxd (a namespace of its own, see NS_START): smtpd with the
    reject_rbl_client lines, each made warn_if_reject so that every
    matching one logs, for clients set with XCLIENT; postscreen with the
    postscreen_dnsbl_sites of the score zone for clients connecting from
    loopback addresses the lists list (its DNSBL rank is the score)."""
    if POSTCONF is None or not have_ns() or \
            not os.path.isdir("/etc/postfix"):
        t.skip("Postfix through rblmuxd", "postfix not installed or not "
               "root")
        return
    srv = start()
    d = srv.path("pf-etc")
    shutil.copytree("/etc/postfix", d)
    pf = gen(srv, "postfix", "agg.rbl.test")[1].replace(
        "reject_rbl_client", "warn_if_reject reject_rbl_client")
    ps = gen(srv, "postscreen", "score.rbl.test")[1]
    with open(os.path.join(d, "main.cf"), "w") as f:
        f.write(POSTFIX_MAIN % {"tmp": srv.tmp} + pf + ps)
    with open("/usr/share/postfix/master.cf.dist") as f:
        master = re.sub(r"^smtp +inet .*\n", "", f.read(), flags=re.M)
    with open(os.path.join(d, "master.cf"), "w") as f:
        f.write(master + POSTFIX_MASTER)
    with open(srv.path("pf-client.py"), "w") as f:
        f.write(POSTFIX_CLIENT)
    for sub in ("pf-spool", "pf-data"):
        os.makedirs(srv.path(sub))
    shutil.chown(srv.path("pf-data"), "postfix")
    os.chmod(srv.tmp, 0o755)
    cases = ["2525,203.0.113.7", "2525,192.0.2.9", "2525,203.0.113.99",
             "2526,127.0.0.7", "2526,127.0.0.8", "2526,127.0.0.1"]
    r = ns_run(srv, POSTFIX_NS % {"tmp": srv.tmp}, cases,
               mounts="mount --bind %s /etc/postfix" % d)
    log = r.stdout + r.stderr
    for ip, n in (("203.0.113.7", 2), ("192.0.2.9", 2),
                  ("203.0.113.99", 0)):
        warned = re.findall(r"reject_warning: RCPT from unknown\[%s\]: 554 "
                            r".*blocked using agg\.rbl\.test" %
                            re.escape(ip), log)
        t.eq(len(warned), n, "Postfix smtpd, client %s: %d of the "
             "reject_rbl_client lines match" % (ip, n), log[-3000:])
        t.ok(re.search(r"RCPT 2525 %s \(250," % re.escape(ip), log),
             "Postfix smtpd, client %s: warned only, recipient accepted" %
             ip)
    t.ok(re.search(r"listed by domain score\.rbl\.test as 127\.0\.0\.3",
                   log) and re.search(r"DNSBL rank 3 for \[127\.0\.0\.7\]",
                                      log),
         "postscreen, client 127.0.0.7: score 3, DNSBL rank 3", log[-3000:])
    t.ok(re.search(r"RCPT 2526 127\.0\.0\.7 \(550,.*blocked using "
                   r"score\.rbl\.test", log),
         "postscreen blocks it: rank 3 reaches the threshold 3")
    t.ok(re.search(r"listed by domain score\.rbl\.test as 127\.0\.0\.1",
                   log) and re.search(r"PASS NEW \[127\.0\.0\.8\]", log)
         and re.search(r"RCPT 2526 127\.0\.0\.8 \(250,", log),
         "postscreen, client 127.0.0.8: score 1, below the threshold, "
         "passes", log[-3000:])
    t.ok(not re.search(r"DNSBL rank \d+ for \[127\.0\.0\.1\]", log) and
         re.search(r"RCPT 2526 127\.0\.0\.1 \(250,", log),
         "postscreen passes an unlisted client")


class Rspamd(h.Helper):
    """rspamd on loopback high ports, its configuration a copy of
    /etc/rspamd in dir with local.d and override.d written by the test,
    its only DNS server rblmuxd."""

    name = "rspamd"

    def __init__(self, d, dns_port):
        self.port = h.free_port(["127.0.0.1"])
        ports = [self.port, h.free_port(["127.0.0.1"]),
                 h.free_port(["127.0.0.1"])]
        ov = os.path.join(d, "override.d")
        os.makedirs(ov, exist_ok=True)
        for name, port in zip(("worker-normal", "worker-controller",
                               "worker-proxy"), ports):
            with open(os.path.join(ov, name + ".inc"), "w") as f:
                f.write('bind_socket = "127.0.0.1:%d";\ncount = 1;\n' % port)
        with open(os.path.join(ov, "logging.inc"), "w") as f:
            f.write('type = "console";\nlevel = "warning";\n')
        with open(os.path.join(d, "local.d", "options.inc"), "w") as f:
            f.write('dns {\n  nameserver = ["127.0.0.1:%d"];\n'
                    '  timeout = 2s;\n}\n' % dns_port)
        for sub in ("db", "run", "log"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        self.spawn(["rspamd", "-f", "-i", "-u", "root", "-g", "root",
                    "-c", os.path.join(d, "rspamd.conf"),
                    "--var=LOCAL_CONFDIR=" + d, "--var=CONFDIR=" + d,
                    "--var=DBDIR=" + os.path.join(d, "db"),
                    "--var=RUNDIR=" + os.path.join(d, "run"),
                    "--var=LOGDIR=" + os.path.join(d, "log")],
                   os.path.join(d, "rspamd.log"), cwd=d)

    def symbols(self, ip, domain="clean.example"):
        """The RBLMUX_ symbols rspamd gives a message from ip with
        envelope sender domain, or None when rspamc got no answer."""
        r = subprocess.run(["rspamc", "-h", "127.0.0.1:%d" % self.port,
                            "-t", "20", "-i", ip, "-F", "sender@" + domain,
                            "symbols"],
                           input=RSPAMD_MESSAGE, capture_output=True,
                           text=True, timeout=60)
        if "Score:" not in r.stdout:
            return None
        return sorted(set(re.findall(r"^Symbol: (RBLMUX_\w+)", r.stdout,
                                     re.M)))


RSPAMD_MESSAGE = """\
From: Sender <sender@sender.example>
To: User <user@example.net>
Subject: hello
Date: Tue, 01 Dec 2026 11:59:59 +0000
Message-ID: <1@sender.example>

A short message.
"""


def test_rspamd_live(t):
    """rspamd itself, its resolver pointed at rblmuxd, scores a message
    from a listed address with the generated symbols."""
    if RSPAMADM is None or shutil.which("rspamc") is None or \
            os.geteuid() != 0:
        t.skip("rspamd with the rbl settings", "rspamd not installed or "
               "not root")
        return
    srv = start()
    rbls, symbols = [], []
    for z in ZONES:
        rbl, _, group = gen(srv, "rspamd", z)[1].partition(
            "\n# local.d/rbl_group.conf\n")
        rbls.append(rbl[rbl.index("rbls {") + 6:rbl.rindex("}")])
        symbols.append(group[group.index("symbols {") + 9:
                             group.rindex("}")])
    d = os.path.join(srv.tmp, "rspamd-live")
    shutil.copytree("/etc/rspamd", d)
    with open(os.path.join(d, "local.d", "rbl.conf"), "w") as f:
        f.write("rbls {%s}\n" % "".join(rbls))
    with open(os.path.join(d, "local.d", "rbl_group.conf"), "w") as f:
        f.write("symbols {%s}\n" % "".join(symbols))
    rs = Rspamd(d, srv.port)
    up = h.poll_until(lambda: rs.alive() and rs.symbols("203.0.113.99")
                      is not None, 120, 1)
    t.ok(up, "rspamd starts and answers rspamc", rs.log_tail())
    if not up:
        return
    # RBLMUX_EACH_RBL: each.rbl.test also answers listb's own value,
    # which rspamd asks listb's subzone about; the zone's base symbol
    # (no weight) notes the value no returncode names
    want = {
        ("203.0.113.7", "clean.example"): [
                        "RBLMUX_AGG_RBL_LISTA", "RBLMUX_AGG_RBL_LISTB",
                        "RBLMUX_BL_RBL", "RBLMUX_EACH_RBL",
                        "RBLMUX_EACH_RBL_LISTA",
                        "RBLMUX_EACH_RBL_LISTB",
                        "RBLMUX_SCORE_RBL_SCORE_3"],
        ("192.0.2.9", "clean.example"): [
                      "RBLMUX_AGG_RBL_LISTB", "RBLMUX_AGG_RBL_LISTC",
                      "RBLMUX_BL_RBL", "RBLMUX_EACH_RBL",
                      "RBLMUX_EACH_RBL_LISTB",
                      "RBLMUX_EACH_RBL_LISTC", "RBLMUX_SCORE_RBL_SCORE_4"],
        ("203.0.113.99", "clean.example"): [],
        ("203.0.113.99", "spam.example"): ["RBLMUX_DOM_RBL_BADNAMES",
                                           "RBLMUX_DOM_RBL_SPAMMY"],
        ("203.0.113.99", "other.example"): ["RBLMUX_DOM_RBL_SPAMMY"],
    }
    for (ip, dom), syms in sorted(want.items()):
        t.eq(rs.symbols(ip, dom), syms, "rspamd: a message from %s, "
             "sender domain %s, gets %s" % (ip, dom, ", ".join(syms) or
                                            "no RBLMUX_ symbol"))
    rs.stop()


def main():
    h.run_suite("test_gen", [test_gen_command, test_spamassassin,
                             test_postfix, test_postfix_live, test_exim,
                             test_exim_live,
                             test_rspamd, test_rspamd_live])


if __name__ == "__main__":
    main()
