"""`emailroute serve` delivering by MX lookup (no deliver_via): NSD on
127.0.0.1 serves zones/mxrelay.test.zone, whose MX hosts are loopback
addresses; aiosmtpd destinations listen on 127.0.0.2, .3, .6 and .7, all on
one shared port (the relay's upstream_port), a scripted server greets with
421 on .5, another answers MAIL with 421 on .8, and nothing listens on .4. No question goes to the machine's own
resolver and no packet leaves 127.0.0.0/8.

Usage: /usr/bin/python3 relay_mx_test.py BUILD_DIR [NAME_SUBSTRING]
"""

import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from aiosmtpd.controller import Controller  # noqa: E402

from check_dns_test import Nsd  # noqa: E402  (the same NSD set-up as check-dns)
from peers import (MX, Raw, Relay, TIMEOUT, _Handler, _LongLineSMTP, client, kill_all,  # noqa: E402
                   message, run_case, send, split_received, wait_for)

if len(sys.argv) < 2:
    print("usage: relay_mx_test.py BUILD_DIR [NAME_SUBSTRING]", file=sys.stderr)
    sys.exit(2)
BUILD = os.path.abspath(sys.argv[1])
BINARY = os.path.join(BUILD, "emailroute")
ONLY = sys.argv[2] if len(sys.argv) > 2 else ""
ROOT = tempfile.mkdtemp(prefix="emailroute-mx-")
TESTS = []

# The loopback addresses of the zone's MX hosts.
A, B, LIVE_TWO, LIVE_GREY = "127.0.0.2", "127.0.0.3", "127.0.0.6", "127.0.0.7"
DEAD, BUSY, CLOSING = "127.0.0.4", "127.0.0.5", "127.0.0.8"


def test(fn):
    TESTS.append(fn)
    return fn


CONFIG = """\
[relay]
hostname = "mx.relay.test"
srs_domain = "relay.test"
srs_secret_file = "srs.key"
dns_resolver = "{resolver}"
upstream_port = {port}
allow_private_destinations = {private}
require_verified = false

[domains."example.com"]
subaddress_separator = "+"

[domains."example.com".addresses]
sales = "user@one.mxrelay.test"
same = "another@same.mxrelay.test"
twin = "third@twin.mxrelay.test"
other = "someone@other.mxrelay.test"
fallback = "user@two.mxrelay.test"
grey = "user@grey.mxrelay.test"
backup = "user@backup.mxrelay.test"
closing = "user@closing.mxrelay.test"
lonely = "user@lonely.mxrelay.test"
broken = "x@servfail.test"
nullmx = "user@null.mxrelay.test"
gone = "user@nothere.mxrelay.test"
noreply = {{ action = "drop" }}
"""


class MxRelay(Relay):
    """peers.Relay with a config of our own: MX lookups, no deliver_via."""

    def __init__(self, binary, root, resolver, port, private=True):
        self.text = CONFIG.format(resolver=resolver, port=port, private="true" if private else "false")
        super().__init__(binary, root, 0)

    def write_config(self, size="1MiB", sales=None, text=None):
        super().write_config(text=text if text is not None else self.text)


class HostMX(MX):
    """peers.MX bound to a given loopback address and port."""

    def __init__(self, host, port):  # noqa: super().__init__ would bind 127.0.0.1
        self.host = host
        self.port = port
        self.messages = []
        self.lock = threading.Lock()
        self.rcpt_reply = None
        self.data_reply = None
        handler = _Handler(self)
        self.controller = Controller(handler, hostname=host, port=port, ready_timeout=TIMEOUT,
                                     data_size_limit=0, enable_SMTPUTF8=True)
        self.controller.factory = lambda: _LongLineSMTP(handler, data_size_limit=0, enable_SMTPUTF8=True,
                                                        hostname="dest-%s.test" % host.replace(".", "-"))
        self.controller.start()


class Greeter:
    """A destination that greets every connection with `greeting` (say 421),
    answers QUIT with 221 and hangs up; counts the connections it got. With
    `at_mail`, it greets with 220, accepts EHLO and HELO, and answers MAIL
    with `at_mail` before hanging up."""

    def __init__(self, host, port, greeting, at_mail=None):
        self.greeting = greeting
        self.at_mail = at_mail
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(5)
        try:
            conn.sendall(self.greeting)
            buf = b""
            while True:
                while b"\r\n" not in buf:
                    data = conn.recv(4096)
                    if not data:
                        return
                    buf += data
                line, buf = buf.split(b"\r\n", 1)
                verb = line[:4].upper()
                if self.at_mail is not None and verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 closing.test\r\n")
                    continue
                if self.at_mail is not None and verb == b"MAIL":
                    conn.sendall(self.at_mail)
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                return
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.running = False
        self.sock.close()


class SilentDns:
    """A UDP 'DNS server' on 127.0.0.1 that reads every question and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.questions = 0
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while self.running:
            try:
                self.sock.recvfrom(65536)
                self.questions += 1
            except OSError:
                continue

    def stop(self):
        self.running = False
        self.sock.close()


def shared_port():
    """One TCP port free on every loopback address the test uses and on the
    wildcard address (so nothing at all answers on 127.0.0.4)."""
    hosts = ["0.0.0.0", "127.0.0.1", A, B, DEAD, BUSY, CLOSING, LIVE_TWO, LIVE_GREY]
    for _ in range(50):
        with socket.socket() as s:
            s.bind((A, 0))
            port = s.getsockname()[1]
        try:
            for h in hosts:  # one at a time: a wildcard bind conflicts with our own specific ones
                with socket.socket() as p:
                    p.bind((h, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free on every loopback address")


def log_events(relay, event):
    """The relay's log lines of one event, each as a dict of its fields."""
    out = []
    for line in relay.log().splitlines():
        if ("event=%s " % event) not in line + " ":
            continue
        fields = {}
        for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
            fields[m.group(1)] = m.group(2).strip('"')
        out.append(fields)
    return out


def nothing_delivered(env, settle=0.3):
    time.sleep(settle)
    got = {mx.host: mx.messages for mx in env.mxs if mx.messages}
    assert not got, "delivered although refused: %r" % got


class Env:
    pass


# ---------------------------------------------------------------------------


@test
def delivers_to_the_mx_of_the_destination_domain(env):
    data = message(body="Line one\r\n..two dots\r\n.\r\n trailing space \r\n\ttab\r\ncaf\u00e9 8bit\r\n")
    answers, result = send(env.relay, ["sales@example.com"], data)
    assert [a[0] for a in answers] == [250], answers
    assert result is not None and result[0] == 250, result
    wait_for(lambda: len(env.mx[A].messages) == 1, "the message at %s" % A)
    m = env.mx[A].messages[0]
    assert m["rcpt_tos"] == ["user@one.mxrelay.test"], m
    assert re.fullmatch(r"SRS0=[A-Za-z0-9_+/-]{4}=[A-Za-z0-9]{2}=sender\.test=bob@relay\.test", m["mail_from"]), m
    received, rest = split_received(m["content"])
    assert rest == data, "the bytes after our Received: differ:\n%r\n%r" % (rest, data)
    assert b"by mx.relay.test" in received and b"for <sales@example.com>" in received, received
    assert m["content"].count(b"\r\nReceived:") == 0
    time.sleep(0.2)
    others = {mx.host: len(mx.messages) for mx in env.mxs if mx.host != A and mx.messages}
    assert not others, others


@test
def falls_back_to_the_next_mx_when_the_first_refuses_the_connection(env):
    answers, result = send(env.relay, ["fallback@example.com"], message(subject="fallback"))
    assert [a[0] for a in answers] == [250], answers
    assert result is not None and result[0] == 250, result
    wait_for(lambda: len(env.mx[LIVE_TWO].messages) == 1, "the message at %s" % LIVE_TWO)
    assert env.mx[LIVE_TWO].messages[0]["rcpt_tos"] == ["user@two.mxrelay.test"]
    dead = "%s:%d" % (DEAD, env.port)
    wait_for(lambda: any(e.get("endpoint") == dead for e in log_events(env.relay, "mx-fallback")),
             "event=mx-fallback endpoint=%s in the log" % dead)
    line = [e for e in log_events(env.relay, "mx-fallback") if e.get("endpoint") == dead][0]
    assert line.get("destination") == "user@two.mxrelay.test", line
    assert line.get("next") == "%s:%d" % (LIVE_TWO, env.port), line
    assert line.get("why"), line


def delivered_past_a_421_server(env, alias, server, address):
    """Sends to alias@example.com, whose first MX (the scripted `server` at
    `address`) answers 421: the message must reach the second MX (LIVE_GREY)
    and the relay log the fallback with the server's 421."""
    before = server.connections
    answers, result = send(env.relay, ["%s@example.com" % alias], message(subject=alias))
    assert [a[0] for a in answers] == [250], answers
    assert result is not None and result[0] == 250, result
    wait_for(lambda: len(env.mx[LIVE_GREY].messages) == 1, "the message at %s" % LIVE_GREY)
    assert env.mx[LIVE_GREY].messages[0]["rcpt_tos"] == ["user@%s.mxrelay.test" % alias]
    assert server.connections > before, "the 421 server (preference 10) was never tried"
    endpoint = "%s:%d" % (address, env.port)
    wait_for(lambda: any(e.get("endpoint") == endpoint for e in log_events(env.relay, "mx-fallback")),
             "event=mx-fallback endpoint=%s in the log" % endpoint)
    line = [e for e in log_events(env.relay, "mx-fallback") if e.get("endpoint") == endpoint][0]
    return line.get("why", "")


@test
def falls_back_to_the_next_mx_when_the_first_greets_with_421(env):
    why = delivered_past_a_421_server(env, "grey", env.busy, BUSY)
    assert why.startswith("destination greeting: 421"), why


@test
def falls_back_to_the_next_mx_when_the_first_answers_mail_with_421(env):
    why = delivered_past_a_421_server(env, "closing", env.closing, CLOSING)
    assert why.startswith("421 4.3.2 "), why


@test
def a_421_from_the_last_mx_reaches_the_sender_as_451_and_the_session_goes_on(env):
    a = Raw(env.relay.port)
    try:
        assert a.cmd("EHLO a.sender.test").startswith("250"), "EHLO"
        assert a.cmd("MAIL FROM:<bob@sender.test>").startswith("250"), "MAIL"
        reply = a.cmd("RCPT TO:<lonely@example.com>")
        # 421 would tell the sender that we are closing its connection.
        assert reply.startswith("451 4.3.2 "), reply
        assert a.cmd("RCPT TO:<noreply@example.com>").startswith("250"), "the session goes on"
        assert a.cmd("RSET").startswith("250"), "RSET"
        assert a.cmd("QUIT").startswith("221"), "QUIT"
    finally:
        a.close()
    nothing_delivered(env)


@test
def tries_the_best_mx_first_even_with_a_connection_open_to_the_backup(env):
    # The first case left a connection to A open in the relay's pool; A is
    # backup.mxrelay.test's second MX. The dead first MX must still be tried.
    answers, _ = send(env.relay, ["sales@example.com"], message(subject="opens a connection to A"))
    assert [a[0] for a in answers] == [250], answers
    before = len(env.mx[A].messages)
    answers, result = send(env.relay, ["backup@example.com"], message(subject="backup"))
    assert [a[0] for a in answers] == [250], answers
    assert result is not None and result[0] == 250, result
    wait_for(lambda: len(env.mx[A].messages) == before + 1, "the message at %s" % A)
    assert env.mx[A].messages[-1]["rcpt_tos"] == ["user@backup.mxrelay.test"]
    wait_for(lambda: any(e.get("destination") == "user@backup.mxrelay.test"
                         for e in log_events(env.relay, "mx-fallback")),
             "event=mx-fallback for the backup domain (its best MX tried first)")


@test
def servfail_defers_the_recipient_with_451(env):
    started = time.monotonic()
    answers, result = send(env.relay, ["broken@example.com"], message())
    took = time.monotonic() - started
    assert result is None, result
    code, text = answers[0]
    assert code == 451 and text.startswith(b"4.4.3 "), answers
    # An answer (SERVFAIL), not a timeout: well within one 2 s resolver timeout.
    assert took < 1.5, "451 after %.1fs" % took
    wait_for(lambda: any(e.get("destination") == "x@servfail.test" and "SERVFAIL" in e.get("why", "")
                         for e in log_events(env.relay, "rcpt-deferred")),
             "event=rcpt-deferred destination=x@servfail.test why=...SERVFAIL in the log")
    nothing_delivered(env)


@test
def null_mx_refuses_the_recipient_with_556(env):
    answers, result = send(env.relay, ["nullmx@example.com"], message())
    assert result is None, result
    code, text = answers[0]
    assert code == 556 and text.startswith(b"5.1.10 "), answers
    nothing_delivered(env)


@test
def nxdomain_refuses_the_recipient_with_550(env):
    answers, result = send(env.relay, ["gone@example.com"], message())
    assert result is None, result
    code, text = answers[0]
    assert code == 550 and text.startswith(b"5.1.2 "), answers
    nothing_delivered(env)


@test
def recipients_for_other_servers_get_452_in_the_same_transaction(env):
    data = message(subject="one transaction")
    s = client(env.relay)
    try:
        assert s.mail("bob@sender.test")[0] == 250
        first = s.rcpt("sales@example.com")
        other = s.rcpt("other@example.com")
        same = s.rcpt("same@example.com")
        twin = s.rcpt("twin@example.com")
        assert first[0] == 250, first
        assert other[0] == 452 and other[1].startswith(b"4.5.3 "), other
        assert same[0] == 250, ("same MX host as the first", same)
        assert twin[0] == 250, ("another MX host name, same address as the first", twin)
        result = s.data(data)
        assert result[0] == 250, result
        s.quit()
    finally:
        s.close()
    wanted = ["another@same.mxrelay.test", "third@twin.mxrelay.test", "user@one.mxrelay.test"]
    got = lambda: sorted(r for m in env.mx[A].messages for r in m["rcpt_tos"])  # noqa: E731
    wait_for(lambda: len(got()) >= 3, "the accepted recipients' destinations at %s" % A)
    time.sleep(0.3)
    assert got() == wanted, ("each destination exactly once", got(), env.mx[A].messages)
    for m in env.mx[A].messages:
        assert split_received(m["content"])[1] == data, "the bytes after our Received: differ"
    assert env.mx[B].messages == [], ("the 452 recipient was delivered anyway", env.mx[B].messages)
    # The sender sends it again in a new transaction: now it goes to the other MX.
    answers, result = send(env.relay, ["other@example.com"], data)
    assert answers[0][0] == 250 and result is not None and result[0] == 250, (answers, result)
    wait_for(lambda: len(env.mx[B].messages) == 1, "the retried recipient at %s" % B)
    assert env.mx[B].messages[0]["rcpt_tos"] == ["someone@other.mxrelay.test"]
    assert split_received(env.mx[B].messages[0]["content"])[1] == data


@test
def private_mx_hosts_are_refused_with_550_unless_allowed(env):
    answers, result = send(env.strict, ["sales@example.com"], message())
    assert result is None, result
    code, text = answers[0]
    assert code == 550 and text.startswith(b"5.4.4 "), answers
    nothing_delivered(env)


@test
def a_dns_server_that_never_answers_blocks_nobody_else(env):
    relay, silent = env.silent_relay, env.silent
    a = Raw(relay.port)
    b = None
    try:
        a.sock.settimeout(20)
        assert a.greeting.startswith("220"), a.greeting
        assert a.cmd("EHLO a.sender.test").startswith("250"), "EHLO"
        assert a.cmd("MAIL FROM:<bob@sender.test>").startswith("250"), "MAIL"
        asked = silent.questions
        started = time.monotonic()
        a.send(b"RCPT TO:<sales@example.com>\r\n")
        wait_for(lambda: silent.questions > asked, "the relay's MX question at the silent server", timeout=5)
        # While A waits for DNS, B gets a whole dialogue answered at once.
        b_start = time.monotonic()
        b = Raw(relay.port)
        b.sock.settimeout(3)
        assert b.greeting.startswith("220"), b.greeting
        assert b.cmd("EHLO b.sender.test").startswith("250"), "B's EHLO"
        assert b.cmd("MAIL FROM:<carol@sender.test>").startswith("250"), "B's MAIL"
        reply = b.cmd("RCPT TO:<noreply@example.com>")
        b_took = time.monotonic() - b_start
        assert reply.startswith("250"), reply
        assert b_took < 1.0, "B waited %.2fs behind A's DNS lookup" % b_took
        assert time.monotonic() - started < 2.0, "A's lookup was over before B finished: nothing was tested"
        assert b.cmd("QUIT").startswith("221")
        reply = a.reply()
        a_took = time.monotonic() - started
        assert reply.startswith("451 4.4.3 "), reply
        assert 3.0 <= a_took < 15.0, "A's 451 came after %.1fs" % a_took
        assert a.cmd("QUIT").startswith("221")
    finally:
        a.close()
        if b is not None:
            b.close()
    nothing_delivered(env, settle=0)


# ---------------------------------------------------------------------------


def main():
    env = Env()
    env.mxs = []
    started = []
    failed = []
    nsd = None
    try:
        nsd = Nsd(ROOT)
        env.port = shared_port()
        for host in (A, B, LIVE_TWO, LIVE_GREY):
            env.mxs.append(HostMX(host, env.port))
        env.mx = {mx.host: mx for mx in env.mxs}
        env.busy = Greeter(BUSY, env.port, b"421 4.3.2 busy.grey.mxrelay.test Service not available\r\n")
        env.closing = Greeter(CLOSING, env.port, b"220 closing.test ESMTP\r\n",
                              at_mail=b"421 4.3.2 closing.test Too many messages, closing\r\n")
        env.silent = SilentDns()
        resolver = "127.0.0.1:%d" % nsd.port
        env.relay = MxRelay(BINARY, ROOT, resolver, env.port)
        started.append(env.relay)
        env.strict = MxRelay(BINARY, ROOT, resolver, env.port, private=False)
        started.append(env.strict)
        env.silent_relay = MxRelay(BINARY, ROOT, "127.0.0.1:%d" % env.silent.port, env.port)
        started.append(env.silent_relay)
        for fn in TESTS:
            if ONLY and ONLY not in fn.__name__:
                continue
            for mx in env.mxs:
                mx.reset()
            run_case(fn, (env,), failed)
            dead = [r for r in started if r.proc.poll() is not None]
            if dead:
                print("FAIL a relay died:\n" + dead[0].log(), flush=True)
                failed.append("relay died")
                break
    except Exception:  # noqa: BLE001 - set-up failures are failures too
        failed.append("set-up")
        print("FAIL set-up\n%s" % traceback.format_exc(), flush=True)
    finally:
        for r in started:
            try:
                r.stop()
            except AssertionError as e:
                failed.append("relay: %s" % e)
        if failed:
            for r in started:
                print("--- %s\n%s" % (r.log_path, r.log()[-6000:]))
            if nsd is not None:
                print("--- nsd.log\n" + nsd.log()[-3000:])
        for mx in env.mxs:
            mx.stop()
        for name in ("busy", "closing", "silent"):
            if hasattr(env, name):
                getattr(env, name).stop()
        if nsd is not None:
            nsd.stop()
        kill_all()
        shutil.rmtree(ROOT, ignore_errors=True)
    print("%d tests, %d failed%s" % (len(TESTS), len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
