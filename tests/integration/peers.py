"""Real peers for the relay's integration tests, all on 127.0.0.1 and free ports.

- MX: an aiosmtpd destination that records the envelope and the exact bytes
  of each message, and can be told to answer 4xx/5xx at RCPT or DATA.
- RawMX: a scripted destination for what aiosmtpd cannot do: drop the
  connection in the middle of DATA, never answer a command, or answer each
  one slowly.
- Relay: `emailroute serve --config` in a fresh folder, started and stopped by
  PID, with its stderr (the logfmt lines) kept for assertions.
- Raw: an SMTP client over a plain socket for byte-level sequences.

Every wait has a timeout; every process is registered in PROCESSES so the
runner kills what is left even when a test fails.
"""

import os
import random
import signal
import smtplib
import socket
import subprocess
import threading
import time
import traceback

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

PROCESSES = []  # every Popen started, killed by PID at exit
TIMEOUT = 10.0  # seconds for any single wait


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class _Handler:
    def __init__(self, mx):
        self.mx = mx

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.mx.rcpt_reply(address) if callable(self.mx.rcpt_reply) else self.mx.rcpt_reply
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        reply = self.mx.data_reply(envelope) if callable(self.mx.data_reply) else self.mx.data_reply
        if reply:
            return reply
        with self.mx.lock:
            self.mx.messages.append({
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "content": envelope.original_content,
            })
        return "250 2.0.0 Ok: queued"


class _LongLineSMTP(SMTP):
    line_length_limit = 100000  # the relay passes long lines through unchanged


class MX:
    """aiosmtpd destination; set rcpt_reply / data_reply to make it fail."""

    def __init__(self):
        self.port = free_port()
        self.messages = []
        self.lock = threading.Lock()
        self.rcpt_reply = None
        self.data_reply = None
        handler = _Handler(self)
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port, ready_timeout=TIMEOUT,
                                     data_size_limit=0, enable_SMTPUTF8=True)
        self.controller.factory = lambda: _LongLineSMTP(handler, data_size_limit=0, enable_SMTPUTF8=True,
                                                        hostname="dest.test")
        self.controller.start()

    def reset(self):
        with self.lock:
            self.messages.clear()
        self.rcpt_reply = None
        self.data_reply = None

    def stop(self):
        self.controller.stop()


class RawMX:
    """A destination that answers the dialogue up to 354, then (mode) drops
    the connection after some message bytes ("drop") or never answers a RCPT
    ("stall"); or ("slow") answers everything, each reply `delay` seconds
    late and the 354 `data_delay` late, and records in `ended` whether each
    message it read until the relay hung up had its final dot; or ("once",
    "once-silent") takes one message per connection (counted in `messages`)
    and meets the next MAIL on it with 421 and a hang-up, or a bare hang-up."""

    def __init__(self, mode, delay=0.0, data_delay=0.0):
        self.mode = mode
        self.delay = delay
        self.data_delay = data_delay
        self.ended = []
        self.messages = 0
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(TIMEOUT * 3)
        try:
            time.sleep(self.delay)
            conn.sendall(b"220 raw.test ESMTP\r\n")
            buf = b""
            served = False  # "once": this connection has taken its message
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    verb = line[:4].upper()
                    if verb == b"RCPT" and self.mode == "stall":
                        time.sleep(TIMEOUT * 2)
                        return
                    if verb == b"DATA" and self.mode == "slow":
                        return self._slow_data(conn, buf)
                    if self.mode.startswith("once"):
                        if verb == b"MAIL" and served:
                            if self.mode == "once":
                                conn.sendall(b"421 4.7.0 one message per connection\r\n")
                            return
                        if verb == b"DATA":
                            conn.sendall(b"354 go ahead\r\n")
                            while b"\r\n.\r\n" not in buf:
                                data = conn.recv(65536)
                                if not data:
                                    return
                                buf += data
                            buf = buf.split(b"\r\n.\r\n", 1)[1]
                            served = True
                            self.messages += 1
                            conn.sendall(b"250 ok\r\n")
                            continue
                    time.sleep(self.delay)
                    if verb == b"DATA":
                        conn.sendall(b"354 go ahead\r\n")
                        conn.recv(10)  # some message bytes, then hang up
                        return
                    conn.sendall(b"221 bye\r\n" if verb == b"QUIT" else b"250 ok\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def _slow_data(self, conn, buf):
        time.sleep(self.data_delay)
        try:
            conn.sendall(b"354 go ahead\r\n")
            while b"\r\n.\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    break
                buf += data
        except OSError:
            pass
        self.ended.append(b"\r\n.\r\n" in buf)

    def stop(self):
        self.running = False
        self.sock.close()


CONFIG = """\
[relay]
hostname = "mx.relay.test"
srs_domain = "relay.test"
srs_secret_file = "srs.key"
max_message_size = "{size}"
max_recipients = 100
{deliver_via}

[domains."example.com"]
subaddress_separator = "+"

[domains."example.com".addresses]
sales = "{sales}"
support = ["alice@dest.test", "bob@dest.test"]
noreply = {{ action = "drop" }}
"old-*" = {{ action = "reject", message = "This address is retired" }}
"""

SRS_SECRET = "integration-secret"


class Relay:
    """`emailroute serve --config` on a free port, in its own folder."""

    counter = 0

    def __init__(self, binary, root, mx_port, size="1MiB", sales="alice@dest.test", args=()):
        Relay.counter += 1
        self.binary = binary
        self.dir = os.path.join(root, "relay%d" % Relay.counter)
        os.makedirs(self.dir)
        self.config = os.path.join(self.dir, "emailroute.toml")
        with open(os.path.join(self.dir, "srs.key"), "w") as f:
            f.write(SRS_SECRET + "\n")
        os.chmod(os.path.join(self.dir, "srs.key"), 0o600)
        self.mx_port = mx_port
        self.write_config(size=size, sales=sales)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "relay.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--config", self.config, "--listen", "127.0.0.1:%d" % self.port] + list(args),
            stdout=self.log_file, stderr=self.log_file)
        PROCESSES.append(self.proc)
        wait_for(lambda: "event=listening" in self.log() or self.proc.poll() is not None, "the relay to listen")
        if self.proc.poll() is not None:
            raise AssertionError("the relay did not start:\n" + self.log())

    def write_config(self, size="1MiB", sales="alice@dest.test", text=None):
        # Without a destination port: MX lookups, asked of a closed loopback port
        # (never of the machine's own resolver), so they fail at once.
        via = ('deliver_via = "127.0.0.1:%d"' % self.mx_port if self.mx_port
               else 'dns_resolver = "127.0.0.1:%d"' % free_port())
        text = text if text is not None else CONFIG.format(size=size, sales=sales, deliver_via=via)
        with open(self.config, "w") as f:
            f.write(text)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(TIMEOUT)
        self.log_file.close()
        log = self.log()
        if "ERROR: AddressSanitizer" in log or "runtime error:" in log or "LeakSanitizer" in log:
            raise AssertionError("sanitizer report in the relay's log:\n" + log[-4000:])


class Raw:
    """SMTP over a bare socket: exact bytes out, one reply at a time in."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        """One whole reply (the last line), as text; "" when the connection closed."""
        while True:
            while b"\r\n" in self.buf:
                line, self.buf = self.buf.split(b"\r\n", 1)
                if len(line) < 4 or line[3:4] == b" ":
                    return line.decode("ascii", "replace")
            data = self.sock.recv(65536)
            if not data:
                return ""
            self.buf += data

    def cmd(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


def message(subject="hello", body="Body line\r\n"):
    """A small message with a fresh Message-ID."""
    return ("From: Bob <bob@sender.test>\r\nTo: sales@example.com\r\nSubject: %s\r\n"
            "Message-ID: <%d@sender.test>\r\nDate: Sat, 28 Nov 2026 08:00:00 +0000\r\n\r\n%s"
            % (subject, random.getrandbits(64), body)).encode()


def client(relay):
    s = smtplib.SMTP("127.0.0.1", relay.port, timeout=TIMEOUT)
    s.ehlo("sender.test")
    return s


def send(relay, rcpts, data, sender="bob@sender.test"):
    """One transaction, ended with QUIT; returns (rcpt replies, data reply or None)."""
    s = client(relay)
    try:
        s.mail(sender)
        answers = [s.rcpt(r) for r in rcpts]
        result = s.data(data) if any(code == 250 for code, _ in answers) else None
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
        return answers, result
    finally:
        s.close()


def split_received(content):
    """Our Received: header (its folded lines) and the rest."""
    assert content.startswith(b"Received: from "), content[:80]
    end = content.index(b"\r\n")
    while content[end + 2:end + 3] in (b"\t", b" "):
        end = content.index(b"\r\n", end + 2)
    return content[:end + 2], content[end + 2:]


def run_case(fn, args, failed, width=72):
    """Runs one test case fn(*args), prints ok (with its time) or FAIL (with
    the traceback), and adds a failure's name to `failed`."""
    start = time.monotonic()
    try:
        fn(*args)
        print("ok   %-*s %.1fs" % (width, fn.__name__, time.monotonic() - start), flush=True)
    except Exception:  # noqa: BLE001 - every failure is reported
        failed.append(fn.__name__)
        print("FAIL %s\n%s" % (fn.__name__, traceback.format_exc()), flush=True)


def kill_all():
    for p in PROCESSES:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
