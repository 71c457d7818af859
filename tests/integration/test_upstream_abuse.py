#!/usr/bin/env python3
"""test_upstream_abuse -- rblmuxd's upstream client against careless
settings, hostile upstreams and reloads that change an upstream while it
is being asked.

Setups come from test_upstream.py (fake_rules, Setup, ask, bits); the
fake upstream (tests/support/fake_upstream.py) counts every question, so
"asked once" needs no timing.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_upstream as tu  # noqa: E402

X = tu.X
Y = tu.Y


def with_conf(setup, old, new):
    """Setup whose config has line `old` replaced by `new`."""
    assert old in setup.srv.conf_text
    setup.srv.conf_text = setup.srv.conf_text.replace(old, new)
    setup.srv.write_conf(setup.srv.conf_text)
    return setup


def test_negative_ttl_max_zero(t):
    """negative-ttl-max: 0 is "no limit beyond the SOA": a negative
    upstream answer is cached for the SOA's minimum, not for 0 s."""
    tmp = h.make_tmpdir()
    fake = h.FakeUpstream(tu.fake_rules("nz.test", soa_min=60), tmp=tmp)
    s = tu.Setup([("nz", "nz.test", fake.port, [])],
                 ["bit: %d nz" % tu.B_FAKE], tmp=tmp)
    srv = with_conf(s, "negative-ttl-max: 15m", "negative-ttl-max: 0").start()
    t.eq(tu.bits(tu.ask(srv, Y)), 0, "not listed")
    t.eq(tu.bits(tu.ask(srv, Y)), 0, "not listed again")
    t.eq(tu.subject_count(fake, Y, "nz.test", "A"), 1,
         "the repeat is answered from the cache (SOA minimum 60 s)")


def main():
    tests = [test_negative_ttl_max_zero]
    only = sys.argv[1:]
    if only:
        tests = [fn for fn in tests if fn.__name__ in only]
    h.run_suite("test_upstream_abuse", tests)


if __name__ == "__main__":
    main()
