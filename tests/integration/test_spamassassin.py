#!/usr/bin/env python3
"""test_spamassassin -- an unchanged SpamAssassin DNSBL rule set through
rblmuxd.

SpamAssassin asks all.spamrats.com with its ordinary check_rbl() and
check_rbl_sub() rules; its only DNS server is rblmuxd, which mirrors the
upstream all.spamrats.com (`mirror: yes`) served by an rbldnsd on
loopback with test data. A message whose first untrusted relay is a
listed address hits the rule and the sub-rule of its code; an unlisted
relay hits nothing. SpamAssassin runs with a configuration directory of
its own (the rules below, the two plugins they need, no network test
other than this DNSBL), and rblmuxd's counters prove that every query it
received was for all.spamrats.com.

Skipped (SKIP line) when spamassassin is not installed (or the command
named by $SPAMASSASSIN is not found).
"""
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_upstream as tu  # noqa: E402

h.SUITE_TIMEOUT = int(os.environ.get("RBLMUX_IT_TIMEOUT", "300"))
SPAMASSASSIN = shutil.which(os.environ.get("SPAMASSASSIN",
                                            "spamassassin"))
ZONE = "all.spamrats.com"

# SpamAssassin's RATS rules as distributed (names, evals, sub-codes)
RULES = """
header   RCVD_IN_RATS        eval:check_rbl('rats', 'all.spamrats.com.')
describe RCVD_IN_RATS        Relay listed at SpamRATS
tflags   RCVD_IN_RATS        net
score    RCVD_IN_RATS        0.1

header   RCVD_IN_RATS_DYNA   eval:check_rbl_sub('rats', '127.0.0.36')
describe RCVD_IN_RATS_DYNA   RATS-Dyna: dynamic or generic rDNS
tflags   RCVD_IN_RATS_DYNA   net
score    RCVD_IN_RATS_DYNA   0.1

header   RCVD_IN_RATS_NOPTR  eval:check_rbl_sub('rats', '127.0.0.37')
describe RCVD_IN_RATS_NOPTR  RATS-NoPtr: no reverse DNS
tflags   RCVD_IN_RATS_NOPTR  net
score    RCVD_IN_RATS_NOPTR  0.1

header   RCVD_IN_RATS_SPAM   eval:check_rbl_sub('rats', '127.0.0.38')
describe RCVD_IN_RATS_SPAM   RATS-Spam: known spam source
tflags   RCVD_IN_RATS_SPAM   net
score    RCVD_IN_RATS_SPAM   0.1

header   RCVD_IN_RATS_AUTH   eval:check_rbl_sub('rats', '127.0.0.43')
describe RCVD_IN_RATS_AUTH   RATS-Auth: brute-force authentication
tflags   RCVD_IN_RATS_AUTH   net
score    RCVD_IN_RATS_AUTH   0.1
"""

# the settings around them: rblmuxd the only DNS server, our MX network
# trusted, one header that lists the rules hit
SETTINGS = """
loadplugin Mail::SpamAssassin::Plugin::Check
loadplugin Mail::SpamAssassin::Plugin::DNSEval
dns_available yes
dns_server 127.0.0.1:%(port)d
trusted_networks 10.0.0.0/8
internal_networks 10.0.0.0/8
use_bayes 0
required_score 5
clear_headers
add_header all Status "_YESNO_, tests=_TESTS_"
rbl_timeout 5
"""

DATA = tu.SOA % (ZONE, ZONE, 120) + """$NS 600 ns.all.spamrats.com.
$TTL 600
:127.0.0.2:Test point $
127.0.0.2
:127.0.0.36:RATS-Dyna $ -- see https://www.spamrats.com/lookup.php?ip=$
203.0.113.36
:127.0.0.37:RATS-NoPtr $
198.51.100.37
:127.0.0.38:RATS-Spam $
203.0.113.38
"""

MESSAGE = """\
Received: from mx.example.net (mx.example.net [10.1.1.1])
\tby mail.example.net (Postfix) with ESMTP id 4F1A2B3C4D
\tfor <user@example.net>; Tue, 01 Dec 2026 12:00:01 +0000 (UTC)
Received: from sender.example (sender.example [%(ip)s])
\tby mx.example.net (Postfix) with ESMTP id 0A1B2C3D4E
\tfor <user@example.net>; Tue, 01 Dec 2026 12:00:00 +0000 (UTC)
From: Sender <sender@sender.example>
To: User <user@example.net>
Subject: hello
Date: Tue, 01 Dec 2026 11:59:59 +0000
Message-ID: <%(id)s@sender.example>

A short message.
"""


def sa_tests(out):
    """The rules SpamAssassin hit, from its X-Spam-Status header."""
    head = out.split("\n\n", 1)[0]
    head = re.sub(r"\n[ \t]+", "", head)  # "A,\n\tB": "A,B"
    m = re.search(r"^X-Spam-Status: .*?tests=(\S*)", head, re.M)
    if m is None:
        return None
    return sorted(x for x in m.group(1).split(",") if x and x != "none")


def sa_dns(err):
    """From SpamAssassin's -D dns lines: the servers it sent to and the
    names it asked."""
    servers = re.findall(r"dbg: dns: attempt \d+/\d+, trying "
                         r"connect/sendto to (\S+)", err)
    names = re.findall(r"dbg: dns: providing a callback for id: "
                       r"\d+/IN/\w+/(\S+)", err)
    return servers, names


def spamassassin(tmp, port, ip, n):
    """Run spamassassin -t on a message from relay ip; returns (rules hit
    or None, the servers and names of its DNS queries, output)."""
    cfdir = os.path.join(tmp, "sa-rules")
    site = os.path.join(tmp, "sa-site")
    home = os.path.join(tmp, "sa-home")
    for d in (cfdir, site, home):
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(cfdir, "10_settings.cf"), "w") as f:
        f.write(SETTINGS % {"port": port})
    with open(os.path.join(cfdir, "20_rats.cf"), "w") as f:
        f.write(RULES)
    prefs = os.path.join(home, "user_prefs")
    open(prefs, "a").close()
    env = dict(os.environ, HOME=home)
    r = h.run([SPAMASSASSIN, "-t", "-x", "-D", "dns", "-C", cfdir,
               "--siteconfigpath", site, "-p", prefs],
              timeout=120, input=MESSAGE % {"ip": ip, "id": n}, env=env)
    return sa_tests(r.stdout), sa_dns(r.stderr), r.stdout + r.stderr


def test_spamassassin_rats(t):
    if SPAMASSASSIN is None:
        t.skip("SpamAssassin's RATS rules through rblmuxd",
               "spamassassin not installed (Debian package spamassassin)")
        return
    tmp = h.make_tmpdir()
    r = h.rbldnsd_upstream(ZONE, DATA, tmp=tmp)
    srv = tu.Setup([("rats", ZONE, r.port,
                     ["code: 127.0.0.36 dyna", "code: 127.0.0.37 noptr",
                      "code: 127.0.0.38 spam", "code: 127.0.0.43 auth",
                      "mirror: yes"])],
                   ["bit: 2 dyna", "bit: 4 noptr", "bit: 8 spam",
                    "bit: 16 auth"], tmp=tmp).start()
    got, line = tu.wait_state(srv, "rats", "up")
    t.ok(got, "rblmuxd: the upstream all.spamrats.com is up", line)
    before = srv.ctl("stats").stdout
    server = "[127.0.0.1]:%d" % srv.port
    asked = []
    for n, (ip, want) in enumerate((
            ("203.0.113.36", ["RCVD_IN_RATS", "RCVD_IN_RATS_DYNA"]),
            ("198.51.100.37", ["RCVD_IN_RATS", "RCVD_IN_RATS_NOPTR"]),
            ("198.51.100.99", []))):
        hits, (servers, names), out = spamassassin(tmp, srv.port, ip, n)
        t.eq(hits, want, "relay %s: %s" % (ip, ", ".join(want) or
                                             "no rule hits"), out)
        t.ok(servers and set(servers) == {server} and
             names == [h.rev4(ip) + "." + ZONE],
             "SpamAssassin asked rblmuxd (%s) only, for %s only" %
             (server, h.rev4(ip) + "." + ZONE), repr((servers, names)))
        asked += names
    after = srv.ctl("stats").stdout

    def count(text, name):
        m = re.search(r"^%s: (\d+)$" % re.escape(name), text, re.M)
        return int(m.group(1)) if m else -1

    q = sum(count(after, n) - count(before, n)
            for n in ("queries.udp", "queries.tcp"))
    t.eq(q, len(asked), "rblmuxd received as many queries as SpamAssassin "
         "sent", after)
    t.eq(sum(count(after, n) - count(before, n)
             for n in ("answers.refused", "answers.servfail")), 0,
         "none refused (outside the served zones) or failed")
    t.ok(srv.alive(), "rblmuxd still running")


def main():
    h.run_suite("test_spamassassin", [test_spamassassin_rats])


if __name__ == "__main__":
    main()
