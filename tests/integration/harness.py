"""harness.py -- shared code for the integration suites.

Each suite (tests/integration/test_*.py) runs real processes on loopback
high ports and talks to them with real clients (kdig, dig, rblmuxctl) and
with hand-built DNS packets. This module gives it:

  * Report: numbered "ok N - name" / "not ok N - name" lines and the closing
    "SUMMARY passed=N failed=M" line that tests/run-all reads;
  * Server: an rblmuxd in the foreground on a temporary config in a
    temporary directory, started, polled until it answers, and always
    stopped (SIGTERM, then SIGKILL after 3 s) -- also at exit;
  * a small DNS wire encoder/decoder for raw UDP/TCP checks;
  * kdig and dig wrappers that parse the clients' output;
  * upstream stand-ins for the upstream suites, each on its own loopback
    port and stopped like a Server: rbldnsd_upstream() (an rbldnsd serving
    one DNSBL zone), FakeUpstream (tests/support/fake_upstream.py: delays,
    silence, error rcodes, truncation, RFC 5452 misbehaviours, query
    counts) and Unbound (a resolver with stub zones to them and no way
    out).

Standard library only. Every wait is bounded; all traffic goes to
127.0.0.1 or ::1.
"""

import atexit
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data")
# RBLMUX_BIN=DIR runs the suites against other binaries (an ASan build)
BIN = os.environ.get("RBLMUX_BIN", os.path.join(ROOT, "bin"))
RBLMUXD = os.path.join(BIN, "rblmuxd")
RBLMUXCTL = os.path.join(BIN, "rblmuxctl")
# helper servers (Debian packages); /usr/sbin is not on every user's PATH
RBLDNSD = shutil.which("rbldnsd") or "/usr/sbin/rbldnsd"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"

SUITE_TIMEOUT = int(os.environ.get("RBLMUX_IT_TIMEOUT", "150"))
KEEP_TMP = os.environ.get("RBLMUX_KEEP_TMP") == "1"

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28, "OPT": 41, "IXFR": 251, "AXFR": 252,
         "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED", 16: "BADVERS"}

_servers = []
_tmpdirs = []
_ports = set()
_sanitizer = []         # (server name, excerpt) of ASan/UBSan reports
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "WARNING: ThreadSanitizer")


# --- reporting -------------------------------------------------------------

class Report:
    """Numbered check lines and the closing SUMMARY line."""

    def __init__(self, suite):
        self.suite = suite
        self.n = 0
        self.passed = 0
        self.failed = 0

    def ok(self, cond, name, detail=None):
        """Record one check; detail (str or list) is printed on failure."""
        self.n += 1
        if cond:
            self.passed += 1
            print("ok %d - %s" % (self.n, name), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name), flush=True)
            if detail is not None:
                if isinstance(detail, str):
                    detail = detail.splitlines() or [""]
                for line in detail:
                    print("#   %s" % line, flush=True)
        return bool(cond)

    def eq(self, got, want, name, extra=None):
        """Check got == want, showing both on failure."""
        detail = ["expected: %r" % (want,), "got:      %r" % (got,)]
        if extra:
            detail.append(str(extra))
        return self.ok(got == want, name, detail)

    def skip(self, name, why):
        """A check that cannot run here (counted as passed, TAP style)."""
        self.n += 1
        self.passed += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)

    def note(self, text):
        for line in str(text).splitlines():
            print("# %s" % line, flush=True)


class SuiteTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise SuiteTimeout("suite took longer than %d s" % SUITE_TIMEOUT)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def run_suite(name, tests):
    """Run test functions (each takes the Report), then clean up.

    An exception inside one test function counts as one failed check and
    the suite goes on with the next. The last line printed is always the
    SUMMARY line. Exits 0 when nothing failed, else 1.
    """
    t = Report(name)
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _terminate)
    signal.alarm(SUITE_TIMEOUT)
    started = time.monotonic()
    try:
        missing = [p for p in (RBLMUXD, RBLMUXCTL)
                   if not os.access(p, os.X_OK)]
        if missing:
            t.ok(False, "binaries built", "missing: %s (run make)" %
                 " ".join(missing))
            tests = []
        for fn in tests:
            label = fn.__name__
            before = t.failed
            try:
                fn(t)
            except SuiteTimeout as e:
                t.ok(False, "%s: %s" % (label, e))
                break
            except Exception:
                t.ok(False, "%s raised" % label,
                     traceback.format_exc().splitlines())
            finally:
                # each test stops what it started; catch stragglers and
                # show the server logs of a test that failed
                stop_all(dump=t.failed > before)
                while _sanitizer:
                    who, text = _sanitizer.pop(0)
                    t.ok(False, "%s: sanitizer report in the %s log" %
                         (label, who), text)
    except SuiteTimeout as e:
        t.ok(False, str(e))
    finally:
        signal.alarm(0)
        stop_all(dump=t.failed > 0)
        cleanup_tmp()
        t.note("%s: %.1f s" % (name, time.monotonic() - started))
        print("SUMMARY passed=%d failed=%d" % (t.passed, t.failed),
              flush=True)
    sys.exit(0 if t.failed == 0 else 1)


# --- temp dirs and ports -----------------------------------------------------

def make_tmpdir():
    d = tempfile.mkdtemp(prefix="rblmux-it-")
    _tmpdirs.append(d)
    return d


def cleanup_tmp():
    while _tmpdirs:
        d = _tmpdirs.pop()
        if KEEP_TMP:
            print("# kept %s" % d, flush=True)
        else:
            shutil.rmtree(d, ignore_errors=True)


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def _port_free(port, hosts):
    socks = []
    try:
        for host in hosts:
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(fam, typ)
                socks.append(s)
                s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port(hosts=None):
    """A port in 20000-40000 free for UDP and TCP on every host given."""
    if hosts is None:
        hosts = ["127.0.0.1"] + (["::1"] if have_ipv6() else [])
    rnd = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(200):
        port = rnd.randrange(20000, 40000)
        if port in _ports:
            continue
        if _port_free(port, hosts):
            _ports.add(port)
            return port
    raise RuntimeError("no free port found")


# --- DNS wire format ---------------------------------------------------------

def encode_name(name):
    """Presentation name (no escapes) to wire form."""
    out = b""
    name = name.rstrip(".")
    if name:
        for label in name.split("."):
            b = label.encode("ascii")
            if not 0 < len(b) < 64:
                raise ValueError("bad label in %r" % name)
            out += bytes([len(b)]) + b
    return out + b"\0"


def make_query(name, qtype="A", qid=None, rd=True, opcode=0, qr=False,
               qclass=1, qdcount=None, edns=None, edns_version=0, do=False,
               extra_question=None, flags=None):
    """Build a query packet. edns: the UDP buffer size to announce (None:
    no OPT). qdcount overrides the header count; extra_question adds a
    second question."""
    if qid is None:
        qid = random.randrange(0, 65536)
    if isinstance(qtype, str):
        qtype = TYPES[qtype]
    if flags is None:
        flags = (0x8000 if qr else 0) | (opcode & 15) << 11 | \
            (0x0100 if rd else 0)
    question = encode_name(name) + struct.pack("!HH", qtype, qclass)
    nq = 1
    if extra_question is not None:
        question += encode_name(extra_question[0]) + \
            struct.pack("!HH", TYPES[extra_question[1]], 1)
        nq = 2
    if qdcount is None:
        qdcount = nq
    add = b""
    arcount = 0
    if edns is not None:
        ttl = (edns_version & 255) << 16 | (0x8000 if do else 0)
        add = b"\0" + struct.pack("!HHIH", 41, edns, ttl, 0)
        arcount = 1
    return struct.pack("!HHHHHH", qid, flags, qdcount, 0, 0, arcount) + \
        question + add


class RR:
    def __init__(self, name, rtype, rclass, ttl, rdata, value):
        self.name = name
        self.type = rtype
        self.rclass = rclass
        self.ttl = ttl
        self.rdata = rdata
        self.value = value

    @property
    def tname(self):
        return TYPE_NAMES.get(self.type, str(self.type))

    def __repr__(self):
        return "%s %d %s %r" % (self.name, self.ttl, self.tname, self.value)


class Msg:
    """A parsed DNS message."""

    def __repr__(self):
        return "<%s id=%d flags=%s an=%r ns=%r size=%d>" % (
            self.rcode_name, self.id, self.flag_text(), self.answer,
            self.authority, self.size)

    def flag_text(self):
        return " ".join(f for f in ("qr", "aa", "tc", "rd", "ra")
                        if getattr(self, f))

    @property
    def rcode_name(self):
        return RCODES.get(self.rcode, "RCODE%d" % self.rcode)

    def a_set(self, section="answer"):
        return sorted(r.value for r in getattr(self, section) if r.type == 1)

    def txt_set(self, section="answer"):
        """Each TXT record's strings joined, sorted."""
        return sorted("".join(r.value) for r in getattr(self, section)
                      if r.type == 16)

    def soa(self, section="authority"):
        for r in getattr(self, section):
            if r.type == 6:
                return r
        return None


def _read_name(data, off):
    labels = []
    jumped = False
    end = None
    for _ in range(128):
        if off >= len(data):
            raise ValueError("name runs past the end")
        ln = data[off]
        if ln == 0:
            off += 1
            break
        if ln & 0xC0 == 0xC0:
            if off + 1 >= len(data):
                raise ValueError("truncated pointer")
            ptr = (ln & 0x3F) << 8 | data[off + 1]
            if not jumped:
                end = off + 2
            jumped = True
            off = ptr
            continue
        if ln > 63:
            raise ValueError("bad label type")
        labels.append(data[off + 1:off + 1 + ln].decode("latin-1"))
        off += 1 + ln
    else:
        raise ValueError("name loop")
    return ".".join(labels) + ".", (end if jumped else off)


def _rdata_value(data, off, rtype, rdlen):
    rd = data[off:off + rdlen]
    if rtype == 1 and rdlen == 4:
        return socket.inet_ntoa(rd)
    if rtype == 28 and rdlen == 16:
        return socket.inet_ntop(socket.AF_INET6, rd)
    if rtype == 16:
        strs = []
        i = 0
        while i < len(rd):
            ln = rd[i]
            strs.append(rd[i + 1:i + 1 + ln].decode("latin-1"))
            i += 1 + ln
        return strs
    if rtype in (2, 5, 12):
        return _read_name(data, off)[0]
    if rtype == 6:
        mname, p = _read_name(data, off)
        rname, p = _read_name(data, p)
        return (mname, rname) + struct.unpack("!IIIII", data[p:p + 20])
    return rd


def parse_msg(data):
    """Parse a DNS message; raises ValueError on garbage."""
    if len(data) < 12:
        raise ValueError("short message (%d bytes)" % len(data))
    m = Msg()
    m.raw = data
    m.size = len(data)
    (m.id, m.flags, m.qdcount, m.ancount, m.nscount,
     m.arcount) = struct.unpack("!HHHHHH", data[:12])
    m.qr = bool(m.flags & 0x8000)
    m.opcode = (m.flags >> 11) & 15
    m.aa = bool(m.flags & 0x0400)
    m.tc = bool(m.flags & 0x0200)
    m.rd = bool(m.flags & 0x0100)
    m.ra = bool(m.flags & 0x0080)
    m.rcode = m.flags & 15
    off = 12
    m.question = []
    for _ in range(m.qdcount):
        name, off = _read_name(data, off)
        qt, qc = struct.unpack("!HH", data[off:off + 4])
        off += 4
        m.question.append((name, qt, qc))
    m.answer, m.authority, m.additional = [], [], []
    m.opt = None
    for count, sect in ((m.ancount, m.answer), (m.nscount, m.authority),
                        (m.arcount, m.additional)):
        for _ in range(count):
            name, off = _read_name(data, off)
            if off + 10 > len(data):
                raise ValueError("truncated record")
            rtype, rclass, ttl, rdlen = struct.unpack("!HHIH",
                                                      data[off:off + 10])
            off += 10
            if off + rdlen > len(data):
                raise ValueError("truncated rdata")
            if rtype == 41:
                m.opt = {"udp": rclass, "ext_rcode": ttl >> 24,
                         "version": (ttl >> 16) & 255,
                         "do": bool(ttl & 0x8000),
                         "rdata": data[off:off + rdlen]}
                m.rcode |= (ttl >> 24) << 4
            sect.append(RR(name, rtype, rclass, ttl, data[off:off + rdlen],
                           _rdata_value(data, off, rtype, rdlen)))
            off += rdlen
    m.trailing = len(data) - off
    return m


def _sockaddr(host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    return fam


def udp_exchange(pkt, port, host="127.0.0.1", timeout=2.0, src=None):
    """Send one datagram (from address src when given); return the reply
    bytes, or None after timeout."""
    s = socket.socket(_sockaddr(host), socket.SOCK_DGRAM)
    try:
        if src is not None:
            s.bind((src, 0))
        s.settimeout(timeout)
        s.sendto(pkt, (host, port))
        deadline = time.monotonic() + timeout
        qid = pkt[:2] if len(pkt) >= 2 else None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                return None
            if qid is None or data[:2] == qid or len(data) < 2:
                return data
    finally:
        s.close()


def recv_exact(s, n, timeout):
    """Read n bytes from a stream socket; None on EOF/timeout."""
    buf = b""
    deadline = time.monotonic() + timeout
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            chunk = s.recv(n - len(buf))
        except (socket.timeout, ConnectionResetError):
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_connect(port, host="127.0.0.1", timeout=2.0, src=None):
    s = socket.socket(_sockaddr(host), socket.SOCK_STREAM)
    if src is not None:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def tcp_read_msg(s, timeout=2.0):
    head = recv_exact(s, 2, timeout)
    if head is None:
        return None
    (ln,) = struct.unpack("!H", head)
    return recv_exact(s, ln, timeout)


def tcp_frame(pkt):
    return struct.pack("!H", len(pkt)) + pkt


def tcp_exchange(pkts, port, host="127.0.0.1", timeout=2.0, src=None):
    """Send the packets pipelined in one write on one connection; return
    the list of replies (None for each one missing)."""
    if isinstance(pkts, bytes):
        pkts = [pkts]
    s = tcp_connect(port, host, timeout, src)
    try:
        s.sendall(b"".join(tcp_frame(p) for p in pkts))
        out = []
        for _ in pkts:
            out.append(tcp_read_msg(s, timeout))
        return out
    finally:
        s.close()


def query(name, qtype="A", port=None, host="127.0.0.1", tcp=False,
          timeout=2.0, src=None, **kw):
    """Query and parse; None when nothing came back."""
    pkt = make_query(name, qtype, **kw)
    if tcp:
        data = tcp_exchange([pkt], port, host, timeout, src)[0]
    else:
        data = udp_exchange(pkt, port, host, timeout, src)
    if data is None:
        return None
    return parse_msg(data)


def is_closed(s, timeout):
    """Wait up to timeout for the peer to close a stream socket.
    Returns the seconds it took, or None if it stayed open."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            data = s.recv(4096)
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
        if not data:
            return time.monotonic() - t0


def peer_closed(s, timeout):
    """Has the server closed its end of the stream socket s (within
    timeout seconds)? Unread data in s does not hide it: POLLRDHUP
    reports the close, and nothing is read."""
    p = select.poll()
    p.register(s, select.POLLRDHUP)
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.0, deadline - time.monotonic())
        ev = p.poll(left * 1000)
        if ev and ev[0][1] & (select.POLLRDHUP | select.POLLHUP |
                              select.POLLERR):
            return True
        if time.monotonic() >= deadline:
            return False


def rev4(ip):
    return ".".join(reversed(ip.split(".")))


def rev6(ip):
    packed = socket.inet_pton(socket.AF_INET6, ip)
    nibbles = packed.hex()
    return ".".join(reversed(nibbles))


# --- kdig and dig ------------------------------------------------------------

class KdigResult:
    """What kdig printed, from its +json output."""

    def __init__(self, doc, argv, stderr):
        self.doc = doc
        self.argv = argv
        self.stderr = stderr
        self.rcode = doc.get("RCODE", -1)
        self.status = RCODES.get(self.rcode, "RCODE%s" % self.rcode)
        self.aa = doc.get("AA") == 1
        self.tc = doc.get("TC") == 1
        self.ra = doc.get("RA") == 1
        self.id = doc.get("ID")
        self.qname = doc.get("QNAME")
        self.answer = [self._rr(r) for r in doc.get("answerRRs", [])]
        self.authority = [self._rr(r) for r in doc.get("authorityRRs", [])]
        self.additional = [self._rr(r) for r in doc.get("additionalRRs", [])]

    @staticmethod
    def _rr(r):
        t = r.get("TYPEname", str(r.get("TYPE")))
        raw = bytes.fromhex(r.get("RDATAHEX", ""))
        if t == "A" and len(raw) == 4:
            val = socket.inet_ntoa(raw)
        elif t == "TXT":
            val = []
            i = 0
            while i < len(raw):
                val.append(raw[i + 1:i + 1 + raw[i]].decode("latin-1"))
                i += 1 + raw[i]
        else:
            val = r.get("rdata" + t, raw)
        return (r.get("NAME", "").lower(), t, r.get("TTL"), val)

    def a_set(self):
        return sorted(v for _, t, _, v in self.answer if t == "A")

    def txt_set(self):
        return sorted("".join(v) for _, t, _, v in self.answer if t == "TXT")

    def types(self, section="answer"):
        return sorted(t for _, t, _, _ in getattr(self, section))

    def soa_in_authority(self):
        return any(t == "SOA" for _, t, _, _ in self.authority)

    def __repr__(self):
        return "<kdig %s aa=%s tc=%s answer=%r authority=%r>" % (
            self.status, self.aa, self.tc, self.answer, self.authority)


def kdig(name, qtype="A", port=None, server="127.0.0.1", opts=()):
    """Run kdig +json; return a KdigResult, or None when kdig got no
    answer (the reason is kept in kdig.last_error)."""
    argv = ["kdig", "@" + server, "-p", str(port), name, qtype,
            "+timeout=2", "+retry=0", "+json"] + list(opts)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    docs = []
    dec = json.JSONDecoder()
    text = r.stdout
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        try:
            doc, i = dec.raw_decode(text, i)
        except ValueError:
            break
        if doc:                 # kdig prints {} for a query that failed
            docs.append(doc)
    if not docs:
        kdig.last_error = "%s: %s" % (" ".join(argv), r.stderr.strip())
        return None
    return KdigResult(docs[-1], argv, r.stderr)


kdig.last_error = ""


def dig_batch(lines, port, server="127.0.0.1", opts=()):
    """Run one dig process over a batch of "NAME TYPE" lines.

    Returns {(name_lower, TYPE): (status, [A...], [TXT...], soa)} for
    every question dig printed an answer for (missing keys: no answer);
    soa tells whether the authority section held an SOA record.
    """
    fd, path = tempfile.mkstemp(prefix="rblmux-dig-", suffix=".batch")
    try:
        with os.fdopen(fd, "w") as f:
            for line in lines:
                f.write(line + "\n")
        argv = ["dig", "@" + server, "-p", str(port), "+noall", "+question",
                "+answer", "+authority", "+comments", "+tries=1",
                "+time=2"] + \
            list(opts) + ["-f", path]
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=120)
    finally:
        os.unlink(path)
    return parse_dig(r.stdout)


def _dig_txt(rdata):
    """The character-strings of a TXT rdata as dig prints them, joined."""
    out = []
    i = 0
    cur = None
    while i < len(rdata):
        c = rdata[i]
        if cur is None:
            if c == '"':
                cur = ""
            i += 1
            continue
        if c == "\\" and i + 1 < len(rdata):
            nxt = rdata[i + 1]
            if nxt.isdigit() and i + 3 < len(rdata):
                cur += chr(int(rdata[i + 1:i + 4]))
                i += 4
            else:
                cur += nxt
                i += 2
            continue
        if c == '"':
            out.append(cur)
            cur = None
            i += 1
            continue
        cur += c
        i += 1
    return "".join(out)


def parse_dig(text):
    """Parse dig +noall +question +answer +authority +comments output (one
    or many messages) into {(name, TYPE): (status, sorted A set, sorted TXT
    set, SOA in authority)}."""
    results = {}
    state = {"status": None, "key": None, "section": None, "a": [],
             "txt": [], "soa": False}

    def flush():
        if state["key"] is not None and state["status"] is not None:
            results[state["key"]] = (state["status"],
                                     sorted(set(state["a"])),
                                     sorted(set(state["txt"])),
                                     state["soa"])

    for line in text.splitlines():
        if line.startswith(";; ->>HEADER<<-"):
            flush()
            state.update(status=line.split("status:")[1].split(",")[0]
                         .strip(), key=None, section=None, a=[], txt=[],
                         soa=False)
            continue
        if line.startswith(";; ") and line.endswith(" SECTION:"):
            state["section"] = line[3:-len(" SECTION:")]
            continue
        if state["status"] is None:
            continue
        if state["section"] == "QUESTION" and line.startswith(";") and \
                not line.startswith(";;") and state["key"] is None:
            parts = line[1:].split()
            if len(parts) >= 3:
                state["key"] = (parts[0].lower().rstrip("."), parts[-1])
            continue
        if not line or line.startswith(";"):
            continue
        parts = line.split(None, 4)
        if state["section"] == "AUTHORITY":
            if len(parts) >= 4 and parts[2] == "IN" and parts[3] == "SOA":
                state["soa"] = True
            continue
        if state["section"] != "ANSWER":
            continue
        if len(parts) == 5 and parts[2] == "IN":
            if parts[3] == "A":
                state["a"].append(parts[4].strip())
            elif parts[3] == "TXT":
                state["txt"].append(_dig_txt(parts[4]))
    flush()
    return results


# --- rbldnsd ip4set entries ------------------------------------------------

def parse_prefix(text):
    """"a.b" -> (a.b.0.0 as an integer, 2 octets given), or None."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() for p in parts):
        return None
    vals = [int(p) for p in parts]
    if any(v > 255 for v in vals):
        return None
    a = 0
    for v in vals + [0] * (4 - len(vals)):
        a = a << 8 | v
    return a, len(vals)


def entry_bounds(spec):
    """(first, last) of an ip4set entry ("a.b.c.d", "a.b.c", "a.b/12",
    "a.b.c.d-e.f.g.h", "a.b.c-d", ...) as integers, or None."""
    if "/" in spec:
        p, _, ln = spec.partition("/")
        pp = parse_prefix(p)
        if pp is None or not ln.isdigit() or not 0 < int(ln) <= 32:
            return None
        mask = (0xFFFFFFFF << (32 - int(ln))) & 0xFFFFFFFF
        return pp[0] & mask, (pp[0] & mask) | (~mask & 0xFFFFFFFF)
    if "-" in spec:
        left, _, right = spec.partition("-")
        lp = parse_prefix(left)
        if lp is None:
            return None
        rparts = right.split(".")
        if len(rparts) == 1 and lp[1] > 1:
            right = ".".join(left.split(".")[:lp[1] - 1] + rparts)
        rp = parse_prefix(right)
        if rp is None:
            return None
        last = rp[0] | (0xFFFFFFFF >> (8 * rp[1]) if rp[1] < 4 else 0)
        return lp[0], last
    pp = parse_prefix(spec)
    if pp is None:
        return None
    return pp[0], pp[0] | (0xFFFFFFFF >> (8 * pp[1]) if pp[1] < 4 else 0)


# --- rblmuxd -----------------------------------------------------------------

class ServerError(Exception):
    pass


class Server:
    """One rblmuxd on a temporary config.

    conf: config text; @PORT@, @TMP@ (the temp dir) and @DATA@
    (tests/data) are replaced. files: fixture paths under tests/data to
    copy into the temp dir (same base name), or (src, name) pairs.
    """

    def __init__(self, conf, files=(), hosts=None, port=None, tmp=None,
                 name="rblmuxd", probe_src=None):
        self.name = name
        self.probe_src = probe_src
        self.tmp = tmp or make_tmpdir()
        self.v6 = have_ipv6()
        if hosts is None:
            hosts = ["127.0.0.1"] + (["::1"] if self.v6 else [])
        self.hosts = hosts
        self.port = port or free_port()
        for f in files:
            src, dst = (f, os.path.basename(f)) if isinstance(f, str) else f
            shutil.copy(os.path.join(DATA, src), os.path.join(self.tmp, dst))
        if not self.v6:
            conf = "\n".join(l for l in conf.splitlines()
                             if "::1@@PORT@" not in l)
        self.conf_text = conf
        self.conf = os.path.join(self.tmp, "rblmux.conf")
        self.write_conf(conf)
        self.sock = os.path.join(self.tmp, "ctl.sock")
        self.logpath = os.path.join(self.tmp, name + ".log")
        self.proc = None
        self.logf = None
        _servers.append(self)

    def subst(self, text):
        return text.replace("@PORT@", str(self.port)) \
            .replace("@TMP@", self.tmp).replace("@DATA@", DATA)

    def write_conf(self, text, path=None):
        with open(path or self.conf, "w") as f:
            f.write(self.subst(text))

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start(self, wait=True, args=(), cwd=None):
        self.logf = open(self.logpath, "ab")
        argv = [RBLMUXD, "-f", "-c", self.conf] + list(args)
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     cwd=cwd or self.tmp)
        if wait:
            self.wait_ready()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, tries=100, ctl=True):
        """Poll until some listen address answers (any reply will do)."""
        probe = make_query("probe.invalid", "A", qid=4242)
        for _ in range(tries):
            if not self.alive():
                raise ServerError("%s exited with %s before answering:\n%s" %
                                  (self.name, self.proc.returncode,
                                   self.log_tail()))
            for host in self.hosts:
                src = self.probe_src if ":" not in host else None
                if udp_exchange(probe, self.port, host, 0.05, src) \
                        is not None:
                    if ctl and "control-socket" in self.conf_text:
                        for _ in range(40):
                            if os.path.exists(self.sock):
                                break
                            time.sleep(0.05)
                    return
            time.sleep(0.05)
        raise ServerError("%s not answering on port %d:\n%s" %
                          (self.name, self.port, self.log_tail()))

    def stop(self):
        """SIGTERM, then SIGKILL after 3 s. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.logf:
            self.logf.close()
            self.logf = None
            log = self.log()
            for mark in SANITIZER_MARKS:
                i = log.find(mark)
                if i >= 0:
                    _sanitizer.append((self.name, log[max(0, i - 200):
                                                      i + 3000]))
                    break
        return self.proc.returncode

    def signal(self, sig):
        self.proc.send_signal(sig)

    def hup(self):
        self.signal(signal.SIGHUP)

    def ctl(self, *args, timeout=10):
        return subprocess.run([RBLMUXCTL, "-s", self.sock] + list(args),
                              capture_output=True, text=True,
                              timeout=timeout)

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log().splitlines()[-n:])

    def q(self, name, qtype="A", host="127.0.0.1", **kw):
        return query(name, qtype, self.port, host, **kw)

    def kdig(self, name, qtype="A", server="127.0.0.1", opts=()):
        return kdig(name, qtype, self.port, server, opts)


def _die_with_parent():
    """In a child before exec: be killed when the test process dies, so
    no helper outlives a suite that was itself killed."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PDEATHSIG
    except (OSError, AttributeError):
        pass


class Helper:
    """A helper process (rbldnsd, Unbound, the fake upstream) with its
    output in a log file, registered for clean-up like Server: stopped at
    the end of each test and at exit, and killed with the test process."""

    name = "helper"

    def spawn(self, argv, logpath, cwd=None):
        self.logpath = logpath
        self.logf = open(logpath, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=cwd,
                                     preexec_fn=_die_with_parent)
        if self not in _servers:
            _servers.append(self)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_answering(self, probe_name, tries=100):
        """Poll until a UDP query for probe_name gets any reply."""
        probe = make_query(probe_name, "A")
        for _ in range(tries):
            if self.proc.poll() is not None:
                raise ServerError("%s exited:\n%s" % (self.name,
                                                       self.log_tail()))
            if udp_exchange(probe, self.port, timeout=0.05) is not None:
                return
            time.sleep(0.05)
        raise ServerError("%s not answering:\n%s" % (self.name,
                                                      self.log_tail()))

    def stop(self):
        """SIGTERM, then SIGKILL after 3 s. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.logf:
            self.logf.close()
            self.logf = None
        return self.proc.returncode

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log().splitlines()[-n:])


class Rbldnsd(Helper):
    """rbldnsd in the foreground (-n) on 127.0.0.1, registered for
    clean-up like Server. zones: (zone, type, file) triples; the files
    are read from directory d (-w, no chroot), which rbldnsd must be able
    to read: started as root it runs as its own user (see
    readable_copy). args: more options, such as ["-c", "1"] to look for
    changed files every second."""

    name = "rbldnsd"

    def __init__(self, d, zones, port=None, args=()):
        self.dir = d
        self.zones = list(zones)
        self.args = list(args)
        self.port = port or free_port(["127.0.0.1"])
        self.proc = None
        self.logf = None
        self.start()

    def start(self):
        """Start (again, on the same port) and wait until it answers."""
        argv = [RBLDNSD, "-n", "-b", "127.0.0.1/%d" % self.port,
                "-w", self.dir] + self.args + \
            ["%s:%s:%s" % z for z in self.zones]
        self.spawn(argv, os.path.join(self.dir, "rbldnsd-%d.log" % self.port),
                   cwd=self.dir)
        self.wait_answering("2.0.0.127." + self.zones[0][0])
        return self


def rbldnsd_upstream(zone, data, kind="ip4set", tmp=None, port=None,
                     args=()):
    """An rbldnsd serving one DNSBL zone from data, the text of an rbldnsd
    data file of type kind (ip4set, dnset, ...), as an upstream for
    rblmuxd or Unbound. Returns the Rbldnsd; its data file is
    r.dir/ZONE.KIND (rewrite it and pass args=["-c", "1"] to have it
    reloaded)."""
    tmp = tmp or make_tmpdir()
    fn = "%s.%s" % (zone, kind)
    with open(os.path.join(tmp, fn), "w") as f:
        f.write(data)
    d = readable_copy(tmp, [os.path.join(tmp, fn)], sub="up-" + zone)
    return Rbldnsd(d, [(zone, kind, fn)], port=port, args=args)


FAKE_UPSTREAM = os.path.join(ROOT, "tests", "support", "fake_upstream.py")


class FakeUpstream(Helper):
    """tests/support/fake_upstream.py on 127.0.0.1:port, answering as the
    rules (a dict, see that file) say, registered for clean-up like
    Server; it also ends by itself after lifetime seconds. It counts the
    queries it receives: counts(), count() and wait_count() read them."""

    name = "fake-upstream"

    def __init__(self, rules, tmp=None, port=None, lifetime=300,
                 name="fake-upstream"):
        self.name = name
        self.tmp = tmp or make_tmpdir()
        self.port = port or free_port(["127.0.0.1"])
        base = os.path.join(self.tmp, "%s-%d" % (name, self.port))
        self.rules_path = base + ".rules.json"
        self.stats_path = base + ".stats.json"
        self.logpath = base + ".log"
        self.lifetime = lifetime
        self.proc = None
        self.logf = None
        self._write_rules(rules)
        self.start()

    def _write_rules(self, rules):
        tmp = self.rules_path + ".new"
        with open(tmp, "w") as f:
            json.dump(rules, f)
        os.replace(tmp, self.rules_path)

    def start(self):
        """Start (again, on the same port, counts from zero); wait until
        its sockets are bound (the stats file appears)."""
        try:
            os.unlink(self.stats_path)
        except FileNotFoundError:
            pass
        self.spawn([sys.executable, FAKE_UPSTREAM, "--port", str(self.port),
                    "--rules", self.rules_path, "--stats", self.stats_path,
                    "--lifetime", str(self.lifetime)],
                   self.logpath)
        if not poll_until(lambda: self.stats() or not self.alive(),
                          10, 0.02) or not self.alive():
            raise ServerError("%s did not start:\n%s" % (self.name,
                                                         self.log_tail()))
        return self

    def stats(self):
        """The last stats document (a dict), or None before the first."""
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _signal_and_wait(self, sig, key):
        before = (self.stats() or {}).get(key, 0)
        self.proc.send_signal(sig)
        if not poll_until(lambda: (self.stats() or {}).get(key, 0) > before,
                          10, 0.02):
            raise ServerError("%s did not act on signal %d:\n%s" %
                              (self.name, sig, self.log_tail()))
        return self.stats()

    def set_rules(self, rules):
        """Replace the rules and wait until the fake has read them."""
        self._write_rules(rules)
        st = self._signal_and_wait(signal.SIGHUP, "reloads")
        if st.get("rules_error"):
            raise ServerError("%s: %s" % (self.name, st["rules_error"]))

    def reset(self):
        """Set the counts to zero and wait until they are."""
        self._signal_and_wait(signal.SIGUSR1, "resets")

    def counts(self):
        """{(name, qtype, transport): queries received}"""
        out = {}
        for k, v in (self.stats() or {}).get("counts", {}).items():
            name, qtype, transport = k.split(" ")
            out[(name, qtype, transport)] = v
        return out

    def count(self, name=None, qtype=None, transport=None):
        """Queries received that match each criterion given (name: lower
        case, no final dot)."""
        return sum(n for (nm, qt, tr), n in self.counts().items()
                   if (name is None or nm == name) and
                   (qtype is None or qt == qtype) and
                   (transport is None or tr == transport))

    def wait_count(self, want, timeout=10.0, **kw):
        """Poll until count(**kw) >= want; returns the last count."""
        got = [0]

        def check():
            got[0] = self.count(**kw)
            return got[0] >= want
        poll_until(check, timeout, 0.02)
        return got[0]


UNBOUND_CONF = """server:
    interface: 127.0.0.1
    port: %(port)d
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "%(dir)s"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    so-reuseport: no
    outgoing-range: 64
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    do-not-query-localhost: no
    qname-minimisation: no
    target-fetch-policy: "0 0 0 0 0"
    prefetch: no
    local-zone: "." refuse
%(zones)s%(extra)s
remote-control:
    control-enable: no
%(stubs)s"""


class Unbound(Helper):
    """Unbound on 127.0.0.1:port as the recursive resolver rblmuxd
    forwards to, with no way out: every name is refused except under the
    stub zones, which go to the given servers (no root hints used, no
    DNSSEC, no qname minimisation, so an upstream sees exactly the name
    asked). stubs: {zone: port or ["127.0.0.1@port", ...]}. extra: more
    lines for its server: clause (indented), such as "    cache-max-ttl:
    0". Registered for clean-up like Server."""

    name = "unbound"

    def __init__(self, stubs, tmp=None, port=None, extra=""):
        self.tmp = tmp or make_tmpdir()
        self.port = port or free_port(["127.0.0.1"])
        zones, stub_text = "", ""
        for zone, addrs in sorted(stubs.items()):
            if isinstance(addrs, int):
                addrs = ["127.0.0.1@%d" % addrs]
            zones += '    local-zone: "%s." transparent\n' \
                '    domain-insecure: "%s."\n' % (zone, zone)
            stub_text += 'stub-zone:\n    name: "%s."\n' % zone + \
                "".join("    stub-addr: %s\n" % a for a in addrs)
        self.conf = os.path.join(self.tmp, "unbound-%d.conf" % self.port)
        with open(self.conf, "w") as f:
            f.write(UNBOUND_CONF % {"port": self.port, "dir": self.tmp,
                                    "zones": zones, "extra": extra,
                                    "stubs": stub_text})
        self.proc = None
        self.logf = None
        self.start()

    def start(self):
        """Start (again, on the same port, empty cache); wait until it
        answers (a refused probe: no query reaches a stub)."""
        self.spawn([UNBOUND, "-d", "-c", self.conf],
                   os.path.join(self.tmp, "unbound-%d.log" % self.port))
        self.wait_answering("probe.invalid")
        return self


def readable_copy(tmp, files, sub="ref"):
    """Copy files into tmp/sub, readable by rbldnsd's unprivileged user
    (tmp itself is opened up to 0755). Returns the directory."""
    d = os.path.join(tmp, sub)
    os.makedirs(d, exist_ok=True)
    os.chmod(tmp, 0o755)
    os.chmod(d, 0o755)
    for src in files:
        dst = os.path.join(d, os.path.basename(src))
        shutil.copy(src, dst)
        os.chmod(dst, 0o644)
    return d


def stop_all(dump=False):
    while _servers:
        s = _servers.pop()
        was_running = s.proc is not None
        s.stop()
        if dump and was_running:
            tail = s.log_tail(25)
            if tail:
                print("# --- last lines of %s (port %d) ---" %
                      (s.name, s.port), flush=True)
                for line in tail.splitlines():
                    print("#   %s" % line, flush=True)


def _atexit():
    for s in list(_servers):
        try:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait(timeout=5)
        except Exception:
            pass
    cleanup_tmp()


atexit.register(_atexit)


def run(argv, timeout=20, **kw):
    """subprocess.run with captured text output and a time limit."""
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, **kw)


def poll_until(fn, timeout=10.0, interval=0.2):
    """Call fn until it returns a true value or timeout passes; returns the
    last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def ctl_stats(srv):
    """`rblmuxctl stats` of srv as a dict of its numeric counters."""
    r = srv.ctl("stats")
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(": ")
        if v.isdigit():
            out[k] = int(v)
    return out


def open_fds(pid, samples=10, interval=0.05):
    """The fewest descriptors process pid holds over a few samples: a
    control connection that has just been answered may still be open on
    the server's side for a moment."""
    fewest = None
    for _ in range(samples):
        n = len(os.listdir("/proc/%d/fd" % pid))
        fewest = n if fewest is None else min(fewest, n)
        time.sleep(interval)
    return fewest


def read_data(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


def dyn_preload(path, entries, expires_in=28 * 86400):
    """Write a dyn.mdb (state-dir) holding many dynamic entries at once,
    as `list add` would store them, before the server starts: entries
    are (list, entry text as rblmuxd writes it, A value such as
    "127.0.0.2"[, reason]). Faster than one synced `list add` each."""
    now = int(time.time())
    lines = ["VERSION=3", "format=bytevalue", "type=btree",
             "mapsize=1073741824", "HEADER=END"]
    for e in entries:
        lst, text, value = e[:3]
        reason = e[3].encode() if len(e) > 3 else b""
        a = struct.unpack("!I", socket.inet_aton(value))[0]
        rec = struct.pack("<BBHIQQQ", 1, 0, len(reason), a, now, now,
                          now + expires_in) + reason
        lines.append(" " + ("%s %s" % (lst, text)).encode().hex())
        lines.append(" " + rec.hex())
    lines.append("DATA=END")
    r = subprocess.run(["mdb_load", "-n", path],
                       input="\n".join(lines) + "\n", text=True,
                       capture_output=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("mdb_load: %s" % r.stderr)
