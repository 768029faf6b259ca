"""Integration tests of `emailroute serve` against real peers on loopback.

Usage: relay_test.py BUILD_DIR [NAME_SUBSTRING]
Senders: smtplib, swaks and raw sockets; destination: aiosmtpd (peers.MX) and
a scripted RawMX; references: Mail::SRS (perl) and dkimpy.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import dkim

from peers import (MX, RawMX, Raw, Relay, SRS_SECRET, TIMEOUT, client, free_port, kill_all, message,
                   run_case, send, split_received, wait_for)

BUILD = os.path.abspath(sys.argv[1])
BINARY = os.path.join(BUILD, "emailroute")
ONLY = sys.argv[2] if len(sys.argv) > 2 else ""
ROOT = tempfile.mkdtemp(prefix="emailroute-it-")
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def srs_reverse_with_perl(address):
    # Mail::SRS reads the standard base64 alphabet; ours emits the URL-safe
    # one, so '-' and '_' in the hash are mapped back (see runtime/srs.h).
    local, domain = address.rsplit("@", 1)
    parts = local.split("=")
    parts[1] = parts[1].replace("-", "+").replace("_", "/")
    out = subprocess.run(["perl", "-MMail::SRS", "-e",
                          'print Mail::SRS->new(Secret => $ARGV[0])->reverse($ARGV[1])',
                          SRS_SECRET, "=".join(parts) + "@" + domain],
                         capture_output=True, text=True, timeout=TIMEOUT)
    return out.stdout.strip()


# ---------------------------------------------------------------------------


@test
def forwards_byte_exact_after_one_received_header(mx, relay):
    body = "Line one\r\n..two dots\r\n.\r\n trailing space \r\n\ttab\r\n" + "x" * 1500 + "\r\ncaf\u00e9 8bit\r\n"
    data = message(body=body)
    answers, result = send(relay, ["sales@example.com"], data)
    assert answers == [(250, b"2.1.5 Ok")], answers
    assert result[0] == 250, result
    wait_for(lambda: len(mx.messages) == 1, "the message at the destination")
    m = mx.messages[0]
    assert m["rcpt_tos"] == ["alice@dest.test"], m
    received, rest = split_received(m["content"])
    assert rest == data, "the bytes after our Received: differ"
    assert b"by mx.relay.test (emailroute)" in received and b"for <sales@example.com>" in received
    assert m["content"].count(b"Received:") == 1


@test
def rewrites_the_sender_with_srs_that_mail_srs_reverses(mx, relay):
    send(relay, ["sales@example.com"], message(), sender="Bob.Smith@Sender.test")
    wait_for(lambda: len(mx.messages) == 1, "the message")
    srs = mx.messages[0]["mail_from"]
    assert srs.startswith("SRS0=") and srs.endswith("@relay.test"), srs
    assert srs_reverse_with_perl(srs).lower() == "bob.smith@sender.test", srs


@test
def delivers_a_mail_srs_bounce_to_the_original_sender(mx, relay):
    made = subprocess.run(["perl", "-MMail::SRS", "-e",
                           'print Mail::SRS->new(Secret => $ARGV[0])->forward($ARGV[1], $ARGV[2])',
                           SRS_SECRET, "orig@origin.test", "relay.test"],
                          capture_output=True, text=True, timeout=TIMEOUT).stdout.strip()
    assert made.startswith("SRS0="), made
    answers, result = send(relay, [made], message(subject="bounce"), sender="")
    assert answers[0][0] == 250 and result[0] == 250, (answers, result)
    wait_for(lambda: len(mx.messages) == 1, "the bounce")
    assert mx.messages[0]["rcpt_tos"] == ["orig@origin.test"]
    assert mx.messages[0]["mail_from"] in ("", "<>"), mx.messages[0]["mail_from"]
    forged = made.replace("SRS0=", "SRS0=x", 1)
    answers, _ = send(relay, [forged], message(), sender="")
    assert answers[0][0] == 550 and answers[0][1].startswith(b"5.7.1"), answers


@test
def keeps_a_dkim_signature_valid(mx, relay):
    key = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, timeout=TIMEOUT).stdout
    pub = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=key, capture_output=True,
                         timeout=TIMEOUT).stdout
    import base64
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)
    data = message(subject="signed", body="Signed body\r\n\r\nwith lines\r\n")
    signed = dkim.sign(data, b"sel", b"sender.test", key, include_headers=[b"from", b"to", b"subject"]) + data
    send(relay, ["sales@example.com"], signed)
    wait_for(lambda: len(mx.messages) == 1, "the signed message")
    assert dkim.verify(mx.messages[0]["content"], dnsfunc=lambda name, timeout=5: record)


@test
def routes_subaddresses_case_insensitively_and_fans_out(mx, relay):
    answers, result = send(relay, ["Sales+News@EXAMPLE.com", "support@example.com"], message())
    assert [a[0] for a in answers] == [250, 250] and result[0] == 250, (answers, result)
    wait_for(lambda: len(mx.messages) == 2, "one message per destination")
    time.sleep(0.2)
    assert sorted(m["rcpt_tos"][0] for m in mx.messages) == ["alice@dest.test", "bob@dest.test"], mx.messages
    assert mx.messages[0]["content"].split(b"\r\n", 3)[3] == mx.messages[1]["content"].split(b"\r\n", 3)[3]


@test
def delivers_no_duplicate_when_the_sender_retries_a_partial_fan_out_failure(mx, relay):
    failed = []

    def bob_fails_once(envelope):
        if "bob@dest.test" in envelope.rcpt_tos and not failed:
            failed.append(1)
            return "451 4.3.0 try again later"
        return None

    mx.data_reply = bob_fails_once
    data = message(subject="fan-out retry")
    _, result = send(relay, ["support@example.com"], data)
    assert result[0] == 451, result
    assert [m["rcpt_tos"] for m in mx.messages] == [["alice@dest.test"]]
    _, result = send(relay, ["support@example.com"], data)
    assert result[0] == 250, result
    wait_for(lambda: len(mx.messages) == 2, "bob's copy")
    time.sleep(0.2)
    assert sorted(m["rcpt_tos"][0] for m in mx.messages) == ["alice@dest.test", "bob@dest.test"], mx.messages
    wait_for(lambda: "skipped_duplicates=1" in relay.log(), "the log line")  # logs follow by one loop turn


@test
def resets_the_other_legs_when_one_destination_refuses_a_fanned_out_rcpt(mx, relay):
    # bob@dest.test refuses at RCPT: the sender's "support" is refused as a
    # whole, and alice's leg for it is reset, so alice gets "sales" only once.
    mx.rcpt_reply = lambda address: "550 5.1.1 no bob" if address == "bob@dest.test" else None
    s = client(relay)
    s.mail("bob@sender.test")
    assert s.rcpt("support@example.com") == (550, b"5.1.1 no bob")
    assert s.rcpt("sales@example.com")[0] == 250
    assert s.data(message())[0] == 250
    s.quit()
    wait_for(lambda: len(mx.messages) == 1, "alice's message")
    time.sleep(0.2)
    assert [m["rcpt_tos"] for m in mx.messages] == [["alice@dest.test"]]


@test
def drops_rejects_and_refuses_unknown_recipients(mx, relay):
    answers, result = send(relay, ["noreply@example.com"], message())
    assert answers[0][0] == 250 and result[0] == 250, (answers, result)
    answers, _ = send(relay, ["old-news@example.com", "nobody@example.com"], message())
    assert answers[0] == (550, b"5.7.1 This address is retired"), answers
    assert answers[1] == (550, b"5.1.1 No such recipient here"), answers
    time.sleep(0.2)
    assert mx.messages == []


@test
def is_not_an_open_relay(mx, relay):
    r = Raw(relay.port)
    r.cmd("EHLO sender.test")
    r.cmd("MAIL FROM:<bob@sender.test>")
    for rcpt in ["victim@foreign.test", "victim%foreign.test@example.com", "foreign.test!victim@example.com",
                 '"victim@foreign.test"@example.com', "@example.com:victim@foreign.test", "victim@[127.0.0.1]"]:
        reply = r.cmd("RCPT TO:<%s>" % rcpt)
        assert reply[:1] == "5", (rcpt, reply)
    assert r.cmd("DATA").startswith("554 5.5.1")
    r.cmd("RSET")
    r.cmd('MAIL FROM:<"evil>x"@relay.test>')
    assert r.cmd("RCPT TO:<sales@example.com>").startswith("550 5.1.7")
    r.close()
    assert mx.messages == []


@test
def passes_on_destination_failures_and_delivers_nothing(mx, relay):
    mx.rcpt_reply = "450 4.2.1 Mailbox busy"
    answers, _ = send(relay, ["sales@example.com"], message())
    assert answers[0] == (450, b"4.2.1 Mailbox busy"), answers
    mx.rcpt_reply = "550 5.1.1 User unknown"
    answers, _ = send(relay, ["sales@example.com"], message())
    assert answers[0] == (550, b"5.1.1 User unknown"), answers
    mx.rcpt_reply = None
    mx.data_reply = "452 4.3.1 Insufficient storage"
    _, result = send(relay, ["sales@example.com"], message())
    assert result[0] == 451 and result[1].startswith(b"4.4.0"), result
    mx.data_reply = "554 5.7.1 Spam \x1b[31m detected"
    _, result = send(relay, ["sales@example.com"], message())
    assert result == (554, b"5.7.1 Spam [31m detected"), result
    assert mx.messages == []


@test
def answers_451_when_the_destination_is_down_drops_or_stalls(mx, relay):
    for mode, where in [("down", "rcpt"), ("drop", "data"), ("stall", "rcpt")]:
        raw = RawMX(mode) if mode != "down" else None
        port = raw.port if raw else free_port()
        r = Relay(BINARY, ROOT, port, args=["--upstream-timeout", "1"])
        try:
            answers, result = send(r, ["sales@example.com"], message())
            if where == "rcpt":
                assert answers[0][0] == 451 and answers[0][1].startswith(b"4.4."), (mode, answers)
            else:
                assert answers[0][0] == 250 and result[0] == 451 and result[1].startswith(b"4.4."), (mode, result)
        finally:
            r.stop()
            if raw:
                raw.stop()


@test
def reconnects_when_the_destination_gave_up_a_kept_open_connection(mx, relay):
    for mode, why in (("once", "one message per connection"), ("once-silent", "closed the connection")):
        raw = RawMX(mode)
        r = Relay(BINARY, ROOT, raw.port)
        try:
            for n in range(3):  # the 2nd and 3rd find the kept-open connection given up
                answers, result = send(r, ["sales@example.com"], message(subject="m%d" % n))
                assert [a[0] for a in answers] == [250] and result[0] == 250, (mode, n, answers, result)
            wait_for(lambda: raw.messages == 3, "three messages at the destination")
            wait_for(lambda: r.log().count("event=reconnect") == 2, "two reconnect log lines")
            assert why in r.log().split("event=reconnect")[1].split("\n")[0], r.log()
        finally:
            r.stop()
            raw.stop()


@test
def answers_451_when_a_slow_destination_passes_the_leg_deadline(mx, relay):
    # Every reply comes inside the per-wait timeout (1.5 s), but their sum
    # passes the leg's deadline (2 s): at the RCPT when each reply takes 0.6 s
    # (greeting, EHLO, MAIL, RCPT: 2.4 s), or while waiting for the 354 when
    # the dialogue took 1.2 s and the 354 would take 1.2 s more.
    for delay, data_delay, where in [(0.6, 0, "rcpt"), (0.3, 1.2, "data")]:
        raw = RawMX("slow", delay, data_delay)
        r = Relay(BINARY, ROOT, raw.port, args=["--upstream-timeout", "1.5", "--destination-deadline", "2"])
        try:
            start = time.monotonic()
            answers, result = send(r, ["sales@example.com"], message())
            took = time.monotonic() - start
            if where == "rcpt":
                code, text = answers[0]
            else:
                assert answers[0][0] == 250, answers
                code, text = result
                wait_for(lambda: len(raw.ended) == 1, "the destination to see the relay hang up")
                assert raw.ended == [False], "the destination got the final dot"
            assert code == 451 and text.startswith(b"4.4.") and b"deadline" in text, (where, code, text)
            assert 1.9 < took < 3.5, took
        finally:
            r.stop()
            raw.stop()


@test
def answers_451_4_4_3_when_dns_cannot_be_asked(mx, relay):
    r = Relay(BINARY, ROOT, None)  # no deliver_via: MX lookups, at a closed port
    try:
        assert "next_hop=\"MX via DNS 127.0.0.1:" in r.log(), r.log()
        answers, _ = send(r, ["sales@example.com"], message())
        assert answers[0][0] == 451 and answers[0][1].startswith(b"4.4.3"), answers
        wait_for(lambda: "event=rcpt-deferred" in r.log(), "the log line")  # logs follow by one loop turn
        assert "destination=alice@dest.test" in r.log(), r.log()
    finally:
        r.stop()


SMUGGLING = [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r\n\x00.\r\n", b"\r\n.\n", b"\n.\r", b"\r.\r\n",
             b"\r\n.\r\r\n"]


@test
def lets_no_smuggling_sequence_through(mx, relay):
    for seq in SMUGGLING:
        mx.reset()
        r = Raw(relay.port)
        r.cmd("EHLO sender.test")
        r.cmd("MAIL FROM:<bob@sender.test>")
        assert r.cmd("RCPT TO:<sales@example.com>").startswith("250")
        assert r.cmd("DATA").startswith("354")
        r.send(b"Subject: first\r\n\r\nfirst" + seq +
               b"MAIL FROM:<evil@sender.test>\r\nRCPT TO:<sales@example.com>\r\nDATA\r\n"
               b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n")
        first = r.reply()
        r.send(b"\r\n.\r\n")
        second = r.reply()
        r.cmd("QUIT")
        r.close()
        time.sleep(0.1)
        assert len(mx.messages) <= 1, (seq, mx.messages)
        assert all(b"Subject: smuggled" not in m["content"].split(b"\r\n\r\n")[0] or
                   b"Subject: first" in m["content"] for m in mx.messages), (seq, mx.messages)
        assert first.startswith("550 5.5.2") or second.startswith("550 5.5.2"), (seq, first, second)


@test
def refuses_bare_lf_and_too_many_hops(mx, relay):
    r = Raw(relay.port)
    r.cmd("EHLO sender.test")
    r.cmd("MAIL FROM:<bob@sender.test>")
    r.cmd("RCPT TO:<sales@example.com>")
    r.cmd("DATA")
    r.send(b"Subject: x\r\n\r\nbare\nlf\r\n.\r\n")
    assert r.reply().startswith("550 5.5.2")
    r.cmd("MAIL FROM:<bob@sender.test>")
    r.cmd("RCPT TO:<sales@example.com>")
    r.cmd("DATA")
    r.send(b"".join(b"Received: from hop%d\r\n" % i for i in range(31)) + b"\r\nloop\r\n.\r\n")
    assert r.reply().startswith("554 5.4.6")
    r.close()
    time.sleep(0.1)
    assert mx.messages == []


@test
def refuses_oversize_with_and_without_size(mx, relay):
    r = Relay(BINARY, ROOT, mx.port, size="64KiB")
    try:
        s = client(r)
        assert b"SIZE 65536" in s.ehlo_resp
        assert s.mail("bob@sender.test", ["SIZE=70000"])[0] == 552
        s.mail("bob@sender.test")
        s.rcpt("sales@example.com")
        code, text = s.data(message(body=("y" * 70 + "\r\n") * 1000))
        assert code == 552 and text.startswith(b"5.3.4"), (code, text)
        s.close()
        time.sleep(0.1)
        assert mx.messages == []
    finally:
        r.stop()


@test
def offers_the_extensions_but_not_starttls_and_answers_the_basics(mx, relay):
    s = client(relay)
    for ext in ["pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8"]:
        assert s.has_extn(ext), ext
    assert not s.has_extn("starttls")
    assert s.verify("sales@example.com")[0] == 252
    assert s.noop()[0] == 250 and s.rset()[0] == 250
    assert s.docmd("HELP")[0] == 214
    assert s.docmd("RCPT TO:<sales@example.com>")[0] == 503
    s.close()
    r = Raw(relay.port)
    r.cmd("EHLO sender.test")
    r.cmd("MAIL FROM:<bob@sender.test>")
    r.cmd("RCPT TO:<sales@example.com>")
    r.send(b"DATA\r\nSubject: too early\r\n")
    assert r.reply().startswith("554 5.5.0")
    r.close()


@test
def sends_with_swaks(mx, relay):
    out = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % relay.port, "--to", "sales@example.com",
                          "--from", "bob@sender.test", "--helo", "sender.test", "--pipeline"],
                         capture_output=True, text=True, timeout=TIMEOUT * 2)
    assert out.returncode == 0, out.stdout + out.stderr
    wait_for(lambda: len(mx.messages) == 1, "the swaks message")


@test
def reloads_on_sighup_without_dropping_a_session_and_keeps_the_old_table_when_broken(mx, relay):
    r = Relay(BINARY, ROOT, mx.port)
    try:
        s = client(r)
        s.mail("bob@sender.test")
        assert s.rcpt("sales@example.com")[0] == 250
        r.write_config(sales="carol@dest.test")
        r.signal(signal.SIGHUP)
        wait_for(lambda: "event=reloaded" in r.log(), "the reload")
        assert s.data(message())[0] == 250  # the transaction in flight keeps its table
        s.mail("bob@sender.test")
        s.rcpt("sales@example.com")
        assert s.data(message())[0] == 250
        wait_for(lambda: len(mx.messages) == 2, "two messages")
        assert [m["rcpt_tos"] for m in mx.messages] == [["alice@dest.test"], ["carol@dest.test"]]
        r.write_config(text="[relay]\nhostname = \n")
        r.signal(signal.SIGHUP)
        wait_for(lambda: "event=reload-failed" in r.log(), "the refused reload")
        s.mail("bob@sender.test")
        s.rcpt("sales@example.com")
        assert s.data(message())[0] == 250
        wait_for(lambda: len(mx.messages) == 3, "three messages")
        assert mx.messages[2]["rcpt_tos"] == ["carol@dest.test"]
        s.quit()
    finally:
        r.stop()


@test
def finishes_a_message_in_flight_on_sigterm(mx, relay):
    r = Relay(BINARY, ROOT, mx.port)
    raw = Raw(r.port)
    raw.cmd("EHLO sender.test")
    raw.cmd("MAIL FROM:<bob@sender.test>")
    raw.cmd("RCPT TO:<sales@example.com>")
    assert raw.cmd("DATA").startswith("354")
    raw.send(b"Subject: sigterm\r\n\r\nfirst half\r\n")
    r.signal(signal.SIGTERM)
    time.sleep(0.3)
    assert r.proc.poll() is None
    raw.send(b"second half\r\n.\r\n")
    assert raw.reply().startswith("250")
    assert raw.reply().startswith("421")
    raw.close()
    assert r.proc.wait(TIMEOUT) == 0
    r.stop()
    assert len(mx.messages) == 1 and b"second half" in mx.messages[0]["content"]


@test
def logs_one_line_per_transaction_without_content(mx, relay):
    send(relay, ["sales@example.com"], message(subject="secret-subject", body="secret-body\r\n"))
    wait_for(lambda: len(mx.messages) == 1, "the message")
    wait_for(lambda: "secret" in relay.log() or "event=transaction" in relay.log(), "the log line")
    log = relay.log()
    assert "secret" not in log
    last = [l for l in log.splitlines() if "event=transaction" in l][-1]
    for key in ["id=", "client=", "from=", "rcpts=sales@example.com", "destinations=alice@dest.test", "reply=",
                "size=", "duration_ms="]:
        assert key in last, (key, last)


@test
def logs_each_refused_recipient_with_its_reply(mx, relay):
    mx.rcpt_reply = lambda address: "550 5.1.1 No such mailbox here" if address == "bob@dest.test" else None
    answers, _ = send(relay, ["nobody@example.com", "victim@elsewhere.test", "support@example.com",
                              "sales@example.com"], message(), sender="carol@sender.test")
    assert [a[0] for a in answers] == [550, 554, 550, 250], answers
    wait_for(lambda: relay.log().count("event=rcpt-refused") >= 3, "three rcpt-refused lines")
    lines = [l for l in relay.log().splitlines() if "event=rcpt-refused" in l][-3:]
    expected = [("rcpt=nobody@example.com", 'reply="550 5.1.1 '), ("rcpt=victim@elsewhere.test", 'reply="554 5.7.1 '),
                ("rcpt=support@example.com", 'reply="550 5.1.1 No such mailbox here"')]
    for line, (rcpt, reply) in zip(lines, expected):
        assert rcpt in line and reply in line and "from=<carol@sender.test>" in line and "client=" in line, line
    last = [l for l in relay.log().splitlines() if "event=transaction" in l][-1]
    assert "refused=3" in last and "rcpts=sales@example.com" in last, last


@test
def loses_nothing_under_load_while_the_destination_fails_at_random(mx, relay):
    rng = random.Random(4)
    mx.data_reply = lambda envelope: "451 4.3.0 random failure" if rng.random() < 0.2 else None
    accepted = []
    errors = []

    def sender(n):
        try:
            s = client(relay)
            for i in range(n):
                s.mail("load%d@sender.test" % i)
                s.rcpt("sales@example.com")
                code, _ = s.data(message(subject="load", body="z" * 200 + "\r\n"))
                if code == 250:
                    accepted.append(1)
            s.quit()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=sender, args=(300,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    time.sleep(0.2)
    assert len(accepted) == len(mx.messages), (len(accepted), len(mx.messages))
    assert 2000 < len(accepted) < 3000, len(accepted)


@test
def says_421_to_a_silent_sender_and_beyond_the_connection_limits(mx, relay):
    r = Relay(BINARY, ROOT, mx.port, args=["--command-timeout", "1", "--max-connections-per-ip", "2"])
    try:
        first = Raw(r.port)
        assert first.cmd("EHLO sender.test").startswith("250")
        second = Raw(r.port)
        third = Raw(r.port)
        assert third.greeting.startswith("421 4.7.0"), third.greeting
        third.close()
        start = time.monotonic()
        assert first.reply().startswith("421 4.4.2")
        assert 0.8 < time.monotonic() - start < 5
        first.close()
        second.close()
    finally:
        r.stop()


@test
def serves_with_several_workers_sharing_the_port(mx, relay):
    r = Relay(BINARY, ROOT, mx.port, args=["--workers", "2"])
    try:
        wait_for(lambda: r.log().count("event=listening") == 2, "two workers listening")
        for i in range(20):
            answers, result = send(r, ["sales@example.com"], message(subject="worker %d" % i))
            assert result[0] == 250, result
        wait_for(lambda: len(mx.messages) == 20, "twenty messages")
        wait_for(lambda: r.log().count("event=transaction") >= 20, "twenty log lines")
        pids = {l.split("id=")[1][8:12] for l in r.log().splitlines() if "event=transaction" in l}
        assert len(pids) == 2, "both workers served"
        r.signal(signal.SIGTERM)
        assert r.proc.wait(TIMEOUT) == 0
    finally:
        r.stop()


@test
def drops_privileges_with_user_and_still_reloads(mx, relay):
    if os.getuid() != 0:
        print("     (skipped: needs root)")
        return
    os.chmod(ROOT, 0o755)
    r = Relay(BINARY, ROOT, mx.port, args=["--user", "nobody"])
    try:
        os.chmod(r.dir, 0o755)
        os.chmod(r.config, 0o644)
        status = open("/proc/%d/status" % r.proc.pid).read()
        uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0]
        assert uid_line.split()[1:] == ["65534"] * 4, uid_line
        assert send(r, ["sales@example.com"], message())[1][0] == 250
        r.write_config(sales="carol@dest.test")
        r.signal(signal.SIGHUP)
        wait_for(lambda: "event=reload" in r.log(), "the reload")
        assert "event=reloaded" in r.log(), r.log()
        send(r, ["sales@example.com"], message())
        wait_for(lambda: len(mx.messages) == 2, "two messages")
        assert mx.messages[1]["rcpt_tos"] == ["carol@dest.test"]
    finally:
        r.stop()


@test
def streams_a_large_message_in_flat_memory(mx, relay):
    r = Relay(BINARY, ROOT, mx.port, size="64MiB")
    try:
        def peak_kib():
            for line in open("/proc/%d/status" % r.proc.pid):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
            return 0
        before = peak_kib()
        line = b"y" * 998 + b"\r\n"
        body = line * (40 * 1024)  # 40 MiB
        raw = Raw(r.port)
        raw.cmd("EHLO sender.test")
        raw.cmd("MAIL FROM:<bob@sender.test>")
        assert raw.cmd("RCPT TO:<sales@example.com>").startswith("250")
        assert raw.cmd("DATA").startswith("354")
        raw.sock.settimeout(60)
        raw.send(b"Subject: big\r\n\r\n" + body + b".\r\n")
        assert raw.reply().startswith("250")
        raw.close()
        wait_for(lambda: len(mx.messages) == 1, "the large message")
        grown = peak_kib() - before
        assert grown < 8 * 1024, "the relay grew by %d KiB for a 40 MiB message" % grown
        assert mx.messages[0]["content"].endswith(body)
    finally:
        r.stop()


@test
def survives_a_sender_that_hangs_up_while_its_rcpt_waits_for_the_destination(mx, relay):
    raw_mx = RawMX("stall")
    r = Relay(BINARY, ROOT, raw_mx.port, args=["--upstream-timeout", "1"])
    try:
        for _ in range(3):
            raw = Raw(r.port)
            raw.cmd("EHLO sender.test")
            raw.cmd("MAIL FROM:<bob@sender.test>")
            raw.send(b"RCPT TO:<sales@example.com>\r\n")
            time.sleep(0.2)
            raw.close()
        time.sleep(1.5)
        assert r.proc.poll() is None, r.log()
        assert Raw(r.port).greeting.startswith("220")
    finally:
        r.stop()
        raw_mx.stop()


@test
def bounds_the_destinations_of_one_transaction(mx, relay):
    r = Relay(BINARY, ROOT, mx.port)
    try:
        text = open(r.config).read() + "".join('u%d = "d%d@dest.test"\n' % (i, i) for i in range(17))
        r.write_config(text=text)
        r.signal(signal.SIGHUP)
        wait_for(lambda: "event=reloaded" in r.log(), "the reload")
        answers, result = send(r, ["u%d@example.com" % i for i in range(17)], message())
        assert [a[0] for a in answers] == [250] * 16 + [452], answers
        assert result[0] == 250
        wait_for(lambda: len(mx.messages) == 16, "sixteen copies")
    finally:
        r.stop()


def main():
    usage = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True).stdout
    if "--table" not in usage:
        print("FAIL: %s has no serve subcommand (cli/main.cpp must call add_serve_command)" % BINARY)
        return 1
    mx = MX()
    relay = Relay(BINARY, ROOT, mx.port)
    failed = []
    try:
        for fn in TESTS:
            if ONLY and ONLY not in fn.__name__:
                continue
            mx.reset()
            run_case(fn, (mx, relay), failed, width=80)
            if relay.proc.poll() is not None:
                print("FAIL the shared relay died:\n" + relay.log())
                return 1
    finally:
        try:
            relay.stop()
        except AssertionError as e:
            failed.append("shared relay: %s" % e)
        mx.stop()
        kill_all()
        shutil.rmtree(ROOT, ignore_errors=True)
    print("%d tests, %d failed%s" % (len(TESTS), len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
