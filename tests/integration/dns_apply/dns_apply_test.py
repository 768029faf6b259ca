"""`emailroute dns apply` against a real primary: Knot DNS (knotd) on
127.0.0.1 with its own config, rundir and storage in a temporary folder, the
zones under zones/, and a TSIG key allowed to update them. Each step asserts
the exit status and the lines printed, and check-dns (asking the same Knot)
says what DNS holds afterwards. No question goes to the machine's resolver:
every run passes --resolver 127.0.0.1:PORT.

Usage: /usr/bin/python3 dns_apply_test.py BUILD_DIR
"""
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ZONES = os.path.join(HERE, "zones")
TIMEOUT = 10  # seconds, for every wait
KEY_NAME = "emailroute-test"


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def soa_serial(port, name):
    """The SOA serial of zone `name` over UDP, or None when nothing answers."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split("."))
    query = b"\x42\x42\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x00\x06\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(query, ("127.0.0.1", port))
            data, _ = s.recvfrom(4096)
        except OSError:
            return None
    if data[:2] != query[:2] or int.from_bytes(data[6:8], "big") < 1:
        return None
    # The answer's owner is a compression pointer (2 bytes) to the question;
    # then type, class, TTL, rdlength, and the rdata: mname, rname, serial.
    pos = len(query) + 2 + 10
    for _ in range(2):  # mname, rname: labels or a pointer
        while data[pos] != 0 and data[pos] < 0xC0:
            pos += data[pos] + 1
        pos += 2 if data[pos] >= 0xC0 else 1
    return int.from_bytes(data[pos:pos + 4], "big")


class Knot:
    def __init__(self, root, secret):
        self.root = root
        self.port = free_port()
        zones = sorted(f[: -len(".zone")] for f in os.listdir(ZONES) if f.endswith(".zone"))
        storage = os.path.join(root, "zones")
        os.makedirs(storage)
        os.makedirs(os.path.join(root, "db"))
        for z in zones:
            shutil.copy(os.path.join(ZONES, z + ".zone"), storage)
        conf = os.path.join(root, "knot.conf")
        with open(conf, "w") as f:
            f.write(
                "server:\n"
                f'  rundir: "{root}"\n'
                f"  listen: 127.0.0.1@{self.port}\n"
                "log:\n"
                "  - target: stderr\n"
                "    any: info\n"
                "database:\n"
                f'  storage: "{root}/db"\n'
                "key:\n"
                f"  - id: {KEY_NAME}\n"
                "    algorithm: hmac-sha256\n"
                f"    secret: {secret}\n"
                "acl:\n"
                "  - id: update\n"
                f"    key: {KEY_NAME}\n"
                "    action: update\n"
                "template:\n"
                "  - id: default\n"
                f'    storage: "{storage}"\n'
                '    file: "%s.zone"\n'
                "    zonefile-sync: -1\n"  # keep the test's zone files as they are
                "    acl: update\n"
                "zone:\n"
            )
            for z in zones:
                f.write(f"  - domain: {z}\n")
        self.logfile = open(os.path.join(root, "knot.log"), "w")
        # In the foreground: the PID is the child's, and it is stopped by that PID.
        self.proc = subprocess.Popen(["knotd", "-c", conf], stdout=self.logfile, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + TIMEOUT
        while soa_serial(self.port, "relay.test") is None:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("knotd did not answer; log:\n" + self.log())
            time.sleep(0.1)

    def log(self):
        try:
            with open(os.path.join(self.root, "knot.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=TIMEOUT)
        self.logfile.close()


def write_config(root, name, domain, srs_domain):
    path = os.path.join(root, name + ".toml")
    with open(path, "w") as f:
        f.write(
            "[relay]\n"
            'hostname = "mx.relay.test"\n'
            f'srs_domain = "{srs_domain}"\n'
            'srs_secret_file = "srs.key"\n'
            "require_verified = false\n"
            f'\n[domains."{domain}"]\n'
            'catch_all = "owner@example.org"\n'
        )
    return path


def write(root, name, text):
    path = os.path.join(root, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class Runner:
    def __init__(self, binary, port):
        self.binary = binary
        self.resolver = f"127.0.0.1:{port}"
        self.failures = []

    def run(self, *args):
        return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=TIMEOUT * 3)

    def apply(self, config, key, *extra):
        return self.run("dns", "apply", config, "--server", self.resolver, "--tsig-key", key,
                        "--resolver", self.resolver, *extra)

    def check_dns(self, config):
        return self.run("check-dns", config, "--resolver", self.resolver)

    def expect(self, name, p, want_exit, lines=(), contains=(), absent=()):
        out = p.stdout.splitlines()
        text = p.stdout + p.stderr
        problems = []
        if p.returncode != want_exit:
            problems.append(f"exit {p.returncode}, want {want_exit}")
        problems += [f"missing line: {w!r}" for w in lines if w not in out]
        problems += [f"missing text: {w!r}" for w in contains if w not in text]
        problems += [f"unexpected text: {w!r}" for w in absent if w in text]
        self.report(name, problems, f"--- stdout\n{p.stdout}--- stderr\n{p.stderr}")

    def report(self, name, problems, detail=""):
        if problems:
            self.failures.append(name)
            print(f"FAIL {name}: " + "; ".join(problems) + "\n" + detail)
        else:
            print(f"ok   {name}")


def main():
    if len(sys.argv) != 2:
        print("usage: dns_apply_test.py BUILD_DIR", file=sys.stderr)
        return 2
    binary = os.path.join(os.path.abspath(sys.argv[1]), "emailroute")
    root = tempfile.mkdtemp(prefix="emailroute-dns-apply-")
    write(root, "srs.key", "dGVzdCBzZWNyZXQgZm9yIGRucyBhcHBseSB0ZXN0cw==\n")
    secret = base64.b64encode(os.urandom(32)).decode()
    wrong = base64.b64encode(os.urandom(32)).decode()
    knot = None
    r = None
    try:
        knot = Knot(root, secret)
        r = Runner(binary, knot.port)
        bind_key = write(root, "bind.key", f'key "{KEY_NAME}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n')
        knot_key = write(root, "knot.key", f"# hmac-sha256:{KEY_NAME}:{secret}\nkey:\n  - id: {KEY_NAME}\n"
                                           f"    algorithm: hmac-sha256\n    secret: {secret}\n")
        wrong_key = write(root, "wrong.key", f"hmac-sha256:{KEY_NAME}:{wrong}\n")
        shop = write_config(root, "shop", "shop.test", "relay.test")
        moved = write_config(root, "moved", "moved.test", "moved.test")
        shop_adds = [
            "  + 10.2.0.192.in-addr.arpa.\t3600\tIN\tPTR\tmx.relay.test.",
            '  + relay.test.\t3600\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 -all"',
            "  + shop.test.\t3600\tIN\tMX\t10 mx.relay.test.",
            '  + _dmarc.shop.test.\t3600\tIN\tTXT\t"v=DMARC1; p=none"',
        ]

        # 1. Without --yes: the diff, and nothing changes.
        p = r.apply(shop, bind_key)
        r.expect("without --yes: shows the diff", p, 0, shop_adds + [
            "update of zone shop.test. (applied only if its SOA is unchanged: serial 1)",
            "not sent: run again with --yes to send 3 updates",
        ])
        r.report("without --yes: nothing changed", [] if soa_serial(knot.port, "shop.test") == 1 else ["shop.test serial moved"])
        r.expect("check-dns before: records missing", r.check_dns(shop), 1,
                 ["5 records: 1 OK, 3 MISSING, 0 WRONG, 0 could not be checked; 1 warning"])

        # 2. A key with the wrong secret: refused, clearly, and nothing changes.
        p = r.apply(shop, wrong_key, "--yes")
        r.expect("wrong TSIG secret: refused", p, 1, [
            "zone shop.test.: refused by the server: NOTAUTH, TSIG error BADSIG: the server has this key name with another secret",
        ], absent=[wrong, "applied ("])
        r.report("wrong TSIG secret: nothing changed",
                 [] if soa_serial(knot.port, "shop.test") == 1 else ["shop.test serial moved"])

        # 3. With --yes (the Knot-format key file): applied, and check-dns is clean.
        p = r.apply(shop, knot_key, "--yes")
        r.expect("with --yes: applied", p, 0, shop_adds + [
            "zone 2.0.192.in-addr.arpa.: applied (NOERROR)",
            "zone relay.test.: applied (NOERROR)",
            "zone shop.test.: applied (NOERROR)",
        ], absent=[secret])
        r.expect("check-dns after: clean", r.check_dns(shop), 0,
                 ["5 records: 5 OK, 0 MISSING, 0 WRONG, 0 could not be checked; 0 warnings"])
        r.expect("again: nothing to change", r.apply(shop, bind_key, "--yes"), 0,
                 ["no update to send", f"nothing to change: DNS already says what {shop} needs"])
        # Deletes name single records: the other TXT record at shop.test stayed.
        txt = subprocess.run(["drill", "-p", str(knot.port), "@127.0.0.1", "TXT", "shop.test"],
                             capture_output=True, text=True, timeout=TIMEOUT) if shutil.which("drill") else None
        if txt is not None:
            r.report("other TXT records untouched",
                     [] if "google-site-verification=abc123" in txt.stdout else ["site verification TXT gone"], txt.stdout)

        # 4. WRONG records (an old provider's MX, an SPF that does not
        #    authorise the relay) are shown and not deleted without --replace.
        p = r.apply(moved, bind_key, "--yes")
        r.expect("WRONG without --replace: nothing sent", p, 1, [
            "not changed without --replace:",
            "      would delete: moved.test.\t3600\tIN\tMX\t10 mx.oldprovider.example.",
            '      would delete: moved.test.\t3600\tIN\tTXT\t"v=spf1 ip4:198.51.100.0/24 ~all"',
            "nothing sent: what is left needs --replace or manual action",
        ], contains=["pass --replace MX to allow that", "pass --replace SPF to allow that"], absent=["applied ("])
        r.expect("WRONG without --replace: still WRONG", r.check_dns(moved), 1,
                 ["5 records: 3 OK, 0 MISSING, 2 WRONG, 0 could not be checked; 0 warnings"])

        # 5. --replace MX only: the MX is replaced, the SPF stays as it was.
        p = r.apply(moved, bind_key, "--yes", "--replace", "mx")
        r.expect("--replace MX: only the MX", p, 0, [
            "  - moved.test.\t300\tIN\tMX\t10 mx.oldprovider.example.",
            "  + moved.test.\t3600\tIN\tMX\t10 mx.relay.test.",
            "zone moved.test.: applied (NOERROR)",
            "still to fix: the findings above that need --replace or manual action",
        ], contains=["pass --replace SPF to allow that"])
        r.expect("--replace MX: SPF still WRONG", r.check_dns(moved), 1,
                 ["5 records: 4 OK, 0 MISSING, 1 WRONG, 0 could not be checked; 0 warnings"])

        # 6. --replace SPF: the record split into two strings is found and replaced.
        p = r.apply(moved, bind_key, "--yes", "--replace", "SPF")
        r.expect("--replace SPF: the exact record deleted", p, 0, [
            '  - moved.test.\t300\tIN\tTXT\t"v=spf1 ip4:198.51.100.0/24 " "~all"',
            '  + moved.test.\t3600\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 ip4:198.51.100.0/24 ~all"',
            "zone moved.test.: applied (NOERROR)",
        ])
        r.expect("--replace SPF: check-dns clean", r.check_dns(moved), 0,
                 ["5 records: 5 OK, 0 MISSING, 0 WRONG, 0 could not be checked; 0 warnings"])

        # 7. Usage and I/O errors are exit 2, and nothing is sent.
        r.expect("bad --replace", r.apply(shop, bind_key, "--replace", "CNAME"), 2,
                 contains=['--replace takes MX, SPF, DMARC, TXT (SPF and DMARC) or PTR, not "CNAME"'])
        r.expect("missing key file", r.apply(shop, os.path.join(root, "nonexistent.key")), 2,
                 contains=["cannot read the TSIG key file"])
        bad = write(root, "bad.key", 'key "k" { algorithm hmac-sha999; secret "c2VjcmV0"; };\n')
        r.expect("unknown algorithm", r.apply(shop, bad), 2, contains=['algorithm "hmac-sha999" is not one of'])
        two = write(root, "two.key", f'key "a" {{ algorithm hmac-sha256; secret "{secret}"; }};\n'
                                     f'key "b" {{ algorithm hmac-sha256; secret "{secret}"; }};\n')
        r.expect("two keys in one file", r.apply(shop, two), 2, contains=["holds 2 keys; keep exactly one"], absent=[secret])
        r.expect("no --server", r.run("dns", "apply", shop, "--tsig-key", bind_key), 2, contains=["--server is required"])
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        try:
            dead = f"127.0.0.1:{silent.getsockname()[1]}"
            start = time.monotonic()
            p = r.run("dns", "apply", shop, "--server", dead, "--tsig-key", bind_key, "--resolver", dead, "--yes")
            took = time.monotonic() - start
            r.expect(f"server that never answers ({took:.1f}s)", p, 2, contains=["nothing sent"], absent=["applied ("])
        finally:
            silent.close()
    finally:
        if knot is not None:
            knot.stop()
        if r is not None and r.failures and knot is not None:
            print("--- knot.log\n" + knot.log())
        if os.environ.get("KEEP"):
            print("kept", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    failures = r.failures if r is not None else ["setup"]
    print(f"{len(failures)} failed" if failures else "all dns apply tests passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
