"""Real MTAs on both sides of the relay: smtplib submits to a sending Postfix
(A), which relays everything to `emailroute serve`, which forwards to a
destination Postfix (B) that delivers into Maildirs. Postfix queues, retries
and bounces as it does in the wild, so these cases check what a sender's MTA
makes of the relay's answers, end to end:

- a DKIM-signed message reaches B's mailbox with the signature valid, the
  bytes intact after the Received lines, and an SRS envelope sender;
- a recipient B refuses (550) comes back to the sender as a bounce that A
  writes with B's text, and the recipient's other destination gets nothing;
- a recipient B defers (450) stays in A's queue for a retry.

Everything listens on 127.0.0.1 and free ports; both Postfix instances relay
only to loopback, with DNS off. Needs root (Postfix's master) and Debian's
postfix package.

Usage: /usr/bin/python3 postfix_relay_test.py BUILD_DIR [NAME_SUBSTRING]
"""

import base64
import glob
import os
import pwd
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import dkim  # noqa: E402

from peers import TIMEOUT, Relay, free_port, kill_all, run_case, wait_for  # noqa: E402
from postfix_instance import PostfixInstance, why_not_available  # noqa: E402

if len(sys.argv) < 2:
    print("usage: postfix_relay_test.py BUILD_DIR [NAME_SUBSTRING]", file=sys.stderr)
    sys.exit(2)
BUILD = os.path.abspath(sys.argv[1])
ONLY = sys.argv[2] if len(sys.argv) > 2 else ""
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# B: the destination, delivering dest.test into Maildirs under {root}/mail.
DESTINATION_CF = """\
myhostname = inbox.dest.test
virtual_mailbox_domains = dest.test
virtual_mailbox_base = {{root}}/mail
virtual_mailbox_maps = inline:{{ alice@dest.test=alice/ bob@dest.test=bob/ bounces@dest.test=bounces/ }}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_mailbox_limit = 0
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access texthash:{{root}}/access, permit_mynetworks, reject
"""
DESTINATION_ACCESS = "later@dest.test 450 4.2.0 Mailbox busy, try again later\n"

# A: the sender's MTA, relaying everything to the relay.
SENDER_CF = """\
myhostname = out.sender.test
relayhost = [127.0.0.1]:{relay_port}
default_transport = smtp:[127.0.0.1]:{relay_port}
local_transport = error:no local delivery in the tests
smtpd_recipient_restrictions = permit_mynetworks, reject
"""

RELAY_CF = """\
[relay]
hostname = "mx.relay.test"
srs_domain = "relay.test"
srs_secret_file = "srs.key"
deliver_via = "127.0.0.1:{port}"

[domains."example.com".addresses]
sales = "alice@dest.test"
team = ["bob@dest.test", "nobody@dest.test"]
busy = "later@dest.test"

# Bounces to the test's sender come back through the relay to a mailbox of B.
[domains."sender.test".addresses]
carol = "bounces@dest.test"
"""


class ConfiguredRelay(Relay):
    """peers.Relay with this test's config."""

    def __init__(self, root, destination_port):
        self.text = RELAY_CF.format(port=destination_port)
        super().__init__(os.path.join(BUILD, "emailroute"), root, 0)

    def write_config(self, size="1MiB", sales=None, text=None):
        super().write_config(text=self.text)


class Env:
    pass


def mailbox(env, user):
    """The messages B delivered to `user`, as bytes with CRLF line ends (a
    Maildir holds them with LF)."""
    files = sorted(glob.glob(os.path.join(env.b.root, "mail", user, "new", "*")))
    return [open(f, "rb").read().replace(b"\n", b"\r\n") for f in files]


def submit(env, rcpts, data, sender="carol@sender.test"):
    with smtplib.SMTP("127.0.0.1", env.a.port, timeout=TIMEOUT) as s:
        s.ehlo("client.sender.test")
        refused = s.sendmail(sender, rcpts, data)
        assert not refused, refused


def signed_message(subject, body):
    key = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, timeout=TIMEOUT).stdout
    pub = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=key, capture_output=True,
                         timeout=TIMEOUT).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)
    data = ("From: Carol <carol@sender.test>\r\nTo: sales@example.com\r\nSubject: %s\r\n"
            "Message-ID: <%d.%s@sender.test>\r\nDate: Sun, 29 Nov 2026 08:00:00 +0000\r\n\r\n%s"
            % (subject, time.time_ns(), subject.replace(" ", "-"), body)).encode()
    headers = [b"from", b"to", b"subject", b"message-id", b"date"]
    return dkim.sign(data, b"sel", b"sender.test", key, include_headers=headers) + data, record


# ---------------------------------------------------------------------------


@test
def a_signed_message_arrives_intact_with_its_dkim_signature_valid(env):
    data, record = signed_message("through two Postfixes", "Line one\r\n..two dots\r\n\r\ncaf\u00e9 is 8bit\r\n")
    submit(env, ["sales@example.com"], data)
    wait_for(lambda: len(mailbox(env, "alice")) == 1, "the message in alice's Maildir at B", timeout=30)
    got = mailbox(env, "alice")[0]
    assert got.endswith(data), "the original bytes are not intact at the end:\n%r" % got[-600:]
    headers = got[:len(got) - len(data)]
    assert len(re.findall(rb"by mx\.relay\.test \(emailroute\)", headers)) == 1, headers
    assert b"by out.sender.test (Postfix)" in headers and b"by inbox.dest.test (Postfix)" in headers, headers
    path = re.search(rb"Return-Path: <([^>]*)>", headers)
    assert path, headers
    assert re.fullmatch(rb"SRS0=[A-Za-z0-9_+/-]{4}=[A-Za-z0-9]{2}=sender\.test=carol@relay\.test", path.group(1)), path
    assert dkim.verify(got, dnsfunc=lambda name, timeout=5: record), "DKIM does not verify after forwarding"


@test
def a_recipient_the_destination_refuses_bounces_back_with_its_text(env):
    data, _ = signed_message("to the team", "Hello team\r\n")
    before = len(mailbox(env, "bob"))
    submit(env, ["team@example.com"], data)
    # A bounces to carol@sender.test, which the relay forwards to bounces@dest.test.
    wait_for(lambda: len(mailbox(env, "bounces")) == 1, "the bounce in the bounces Maildir at B", timeout=30)
    bounce = mailbox(env, "bounces")[0]
    assert b"team@example.com" in bounce, bounce[:3000]
    assert b"nobody@dest.test" in bounce and b"User unknown" in bounce, bounce[:3000]
    assert re.search(rb"Return-Path: <>", bounce), bounce[:600]
    wait_for(lambda: env.a.count(r"to=<team@example\.com>.*status=bounced") == 1,
             "A's status=bounced for team@example.com")  # its log is written asynchronously
    time.sleep(0.5)
    assert len(mailbox(env, "bob")) == before, "bob got the message although the recipient was refused"


@test
def a_recipient_the_destination_defers_stays_queued_at_the_sender(env):
    data, _ = signed_message("later", "Try me later\r\n")
    submit(env, ["busy@example.com"], data)
    wait_for(lambda: env.a.count(r"to=<busy@example\.com>.*status=deferred") >= 1,
             "A's status=deferred for busy@example.com", timeout=30)
    line = [l for l in env.a.log().splitlines() if "to=<busy@example.com>" in l and "status=deferred" in l][0]
    assert "dsn=4.2.0" in line and "Mailbox busy, try again later" in line, line
    assert not env.a.queue_empty(), "the deferred message left A's queue"
    assert mailbox(env, "later") == []


# ---------------------------------------------------------------------------


def main():
    why = why_not_available()
    if why:
        print("postfix relay tests: FAIL, cannot run: %s" % why)
        return 1
    root = tempfile.mkdtemp(prefix="emailroute-postfix-test-")
    env = Env()
    env.a = env.b = env.relay = None
    failed = []
    try:
        nobody = pwd.getpwnam("nobody")
        env.b = PostfixInstance(free_port(), DESTINATION_CF.format(uid=nobody.pw_uid, gid=nobody.pw_gid),
                                files={"access": DESTINATION_ACCESS})
        mail = os.path.join(env.b.root, "mail")
        os.makedirs(mail)
        shutil.chown(mail, nobody.pw_uid, nobody.pw_gid)
        env.relay = ConfiguredRelay(root, env.b.port)
        cf = SENDER_CF.format(relay_port=env.relay.port)
        env.a = PostfixInstance(free_port(), cf)
        for p in (env.a, env.b):
            wait_for(lambda: _listening(p.port), "Postfix on port %d" % p.port, timeout=30)
        for fn in TESTS:
            if ONLY and ONLY not in fn.__name__:
                continue
            run_case(fn, (env,), failed)
    except Exception:  # noqa: BLE001 - set-up failures are failures too
        failed.append("set-up")
        print("FAIL set-up\n%s" % traceback.format_exc(), flush=True)
    finally:
        if failed:
            for name, p in (("A (sender)", env.a), ("B (destination)", env.b)):
                if p is not None:
                    print("--- Postfix %s maillog\n%s" % (name, p.log()[-4000:]))
            if env.relay is not None:
                print("--- relay log\n" + env.relay.log()[-4000:])
        for p in (env.a, env.b):
            if p is not None:
                p.stop()
        if env.relay is not None:
            try:
                env.relay.stop()
            except AssertionError as e:
                failed.append("relay: %s" % e)
        kill_all()
        shutil.rmtree(root, ignore_errors=True)
    print("%d tests, %d failed%s" % (len(TESTS), len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
