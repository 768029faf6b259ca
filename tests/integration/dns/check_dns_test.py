"""check-dns against a real authoritative server: NSD on 127.0.0.1 with the
zones under zones/, one config per case, asserting the exit status and the
lines printed. No question goes to the machine's own resolver: every run
passes --resolver 127.0.0.1:PORT (or a port where nothing answers).

Usage: /usr/bin/python3 check_dns_test.py BUILD_DIR
"""
import json
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


def dns_query_soa(port, name):
    """A minimal SOA query over UDP; True when the server answers at all."""
    qid = 0x4242
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split("."))
    msg = qid.to_bytes(2, "big") + b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x00\x06\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(msg, ("127.0.0.1", port))
            data, _ = s.recvfrom(4096)
            return data[:2] == msg[:2]
        except OSError:
            return False


class Nsd:
    def __init__(self, root):
        self.root = root
        self.port = free_port()
        zones = sorted(f[: -len(".zone")] for f in os.listdir(ZONES) if f.endswith(".zone"))
        for z in zones:
            shutil.copy(os.path.join(ZONES, z + ".zone"), root)
        conf = os.path.join(root, "nsd.conf")
        with open(conf, "w") as f:
            f.write(
                "server:\n"
                f"  ip-address: 127.0.0.1@{self.port}\n"
                f"  port: {self.port}\n"
                '  username: ""\n'
                '  chroot: ""\n'
                f'  zonesdir: "{root}"\n'
                '  database: ""\n'
                f'  pidfile: "{root}/nsd.pid"\n'
                f'  xfrdfile: "{root}/xfrd.state"\n'
                f'  zonelistfile: "{root}/zone.list"\n'
                f'  logfile: "{root}/nsd.log"\n'
                "  server-count: 1\n"
                "  verbosity: 1\n"
                "remote-control:\n"
                "  control-enable: no\n"
            )
            for z in zones:
                f.write(f"zone:\n  name: {z}\n  zonefile: {z}.zone\n")
        self.pidfile = os.path.join(root, "nsd.pid")
        subprocess.run(["nsd", "-c", conf], check=True, timeout=TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while not dns_query_soa(self.port, "correct.test"):
            if time.monotonic() > deadline:
                raise RuntimeError("NSD did not answer; log:\n" + self.log())
            time.sleep(0.1)

    def log(self):
        try:
            with open(os.path.join(self.root, "nsd.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def write_config(root, name, domain, srs_domain="relay.test", hostname="mx.relay.test"):
    path = os.path.join(root, name + ".toml")
    with open(path, "w") as f:
        f.write(
            "[relay]\n"
            f'hostname = "{hostname}"\n'
            f'srs_domain = "{srs_domain}"\n'
            'srs_secret_file = "srs.key"\n'
            "require_verified = false\n"
            f'\n[domains."{domain}"]\n'
            'catch_all = "owner@example.org"\n'
        )
    return path


# name, domain, srs_domain, expected exit, lines that must appear (each exactly, as a whole line)
CASES = [
    ("correct", "correct.test", "relay.test", 0, [
        "OK      A/AAAA mx.relay.test.  address 192.0.2.10",
        "OK      PTR    10.2.0.192.in-addr.arpa.  PTR mx.relay.test.",
        "OK      TXT    relay.test.  SPF v=spf1 ip4:192.0.2.10 -all",
        "OK      MX     correct.test.  MX 10 mx.relay.test.",
        "OK      TXT    _dmarc.correct.test.  DMARC v=DMARC1; p=reject; rua=mailto:dmarc@correct.test",
        "5 records: 5 OK, 0 MISSING, 0 WRONG, 0 could not be checked; 0 warnings",
    ]),
    ("missing MX", "nomx.test", "relay.test", 1, [
        "MISSING MX     nomx.test.  MX missing; expected: 10 mx.relay.test. (no MX record)",
        "; records to add:",
        "nomx.test.\t3600\tIN\tMX\t10 mx.relay.test.",
        "5 records: 4 OK, 1 MISSING, 0 WRONG, 0 could not be checked; 0 warnings",
    ]),
    ("stale foreign MX", "stale.test", "relay.test", 1, [
        "WRONG   MX     stale.test.  MX wrong; found: 10 mx.relay.test., 20 mx.oldprovider.example.; expected: 10 mx.relay.test. "
        "(other MX host mx.oldprovider.example. left behind: mail would be split between it and mx.relay.test.)",
        "; records to remove:",
        "stale.test.\t3600\tIN\tMX\t20 mx.oldprovider.example.",
    ]),
    ("null MX", "nullmx.test", "relay.test", 1, [
        "WRONG   MX     nullmx.test.  MX wrong; found: 0 .; expected: 10 mx.relay.test. "
        "(null MX (RFC 7505): the domain says it accepts no mail)",
        "nullmx.test.\t3600\tIN\tMX\t10 mx.relay.test.",
        "nullmx.test.\t3600\tIN\tMX\t0 .",
    ]),
    ("MX via CNAME", "viacname.test", "relay.test", 1, [
        "WRONG   MX     viacname.test.  MX wrong; found: 10 alias.relay.test.; expected: 10 mx.relay.test. "
        "(alias.relay.test. is an alias (CNAME) of mx.relay.test.; an MX must name the host itself (RFC 2181 section 10.3))",
        "viacname.test.\t3600\tIN\tMX\t10 mx.relay.test.",
    ]),
    ("no MX but an A record", "amx.test", "relay.test", 1, [
        "MISSING MX     amx.test.  MX missing; expected: 10 mx.relay.test. "
        "(no MX record: mail goes to the domain's own A record (implicit MX))",
        "amx.test.\t3600\tIN\tMX\t10 mx.relay.test.",
    ]),
    ("no SPF", "correct.test", "nospf.test", 1, [
        "MISSING TXT    nospf.test.  SPF missing; expected: v=spf1 ip4:192.0.2.10 -all "
        "(no v=spf1 record: forwarded mail (sent from nospf.test.) would fail SPF)",
        'nospf.test.\t3600\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 -all"',
    ]),
    ("SPF with too many lookups", "correct.test", "manyspf.test", 1, [
        "WRONG   TXT    manyspf.test.  SPF wrong; found: v=spf1 include:spf1.manyspf.test include:spf2.manyspf.test "
        "ip4:192.0.2.10 -all; expected: v=spf1 ip4:192.0.2.10 -all "
        "(SPF permerror: too many DNS lookups (more than 10, RFC 7208 section 4.6.4))",
        'manyspf.test.\t3600\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 -all"',
    ]),
    ("two SPF records", "correct.test", "twospf.test", 1, [
        "WRONG   TXT    twospf.test.  SPF wrong; found: v=spf1 ip4:192.0.2.10 -all, v=spf1 a:mx.relay.test -all; "
        "expected: v=spf1 ip4:192.0.2.10 -all "
        "(more than one v=spf1 record (RFC 7208 section 4.5: a permerror); keep exactly one)",
    ]),
    ("SPF that does not authorise the relay", "correct.test", "otherspf.test", 1, [
        "WRONG   TXT    otherspf.test.  SPF wrong; found: v=spf1 ip4:198.51.100.0/24 ~all; "
        "expected: v=spf1 ip4:192.0.2.10 ip4:198.51.100.0/24 ~all "
        "(does not authorise 192.0.2.10 (result softfail))",
        'otherspf.test.\t3600\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 ip4:198.51.100.0/24 ~all"',
    ]),
    ("SPF answer too big for UDP (TCP fallback)", "correct.test", "bigtxt.test", 0, [
        "OK      TXT    bigtxt.test.  SPF v=spf1 include:relay.test -all",
    ]),
    ("no DMARC is a warning", "nodmarc.test", "relay.test", 0, [
        "WARNING TXT    _dmarc.nodmarc.test.  DMARC missing; expected: v=DMARC1; p=none "
        "(no DMARC record (a warning: receivers fall back to their own policy))",
        '_dmarc.nodmarc.test.\t3600\tIN\tTXT\t"v=DMARC1; p=none"',
        "5 records: 4 OK, 0 MISSING, 0 WRONG, 0 could not be checked; 1 warning",
    ]),
    ("malformed DMARC", "baddmarc.test", "relay.test", 1, [
        "WRONG   TXT    _dmarc.baddmarc.test.  DMARC wrong; found: v=DMARC1; p=maybe; expected: v=DMARC1; p=none "
        "(malformed DMARC record: p=maybe is not none, quarantine or reject)",
    ]),
    ("SERVFAIL", "servfail.test", "relay.test", 2, [
        "ERROR   MX     servfail.test.  MX could not be checked: MX servfail.test.: SERVFAIL",
    ]),
    ("relay host without an address", "correct.test", "relay.test", 1, [
        "MISSING A/AAAA nothere.relay.test.  address missing; expected: the relay's public IPv4 and/or IPv6 address "
        "(the relay host has no address)",
    ], "nothere.relay.test"),
]


def run(binary, config, resolver, *extra):
    start = time.monotonic()
    p = subprocess.run([binary, "check-dns", config, "--resolver", resolver, *extra],
                       capture_output=True, text=True, timeout=TIMEOUT * 2)
    return p, time.monotonic() - start


def main():
    if len(sys.argv) != 2:
        print("usage: check_dns_test.py BUILD_DIR", file=sys.stderr)
        return 2
    binary = os.path.join(os.path.abspath(sys.argv[1]), "emailroute")
    root = tempfile.mkdtemp(prefix="emailroute-dns-")
    with open(os.path.join(root, "srs.key"), "w") as f:
        f.write("dGVzdCBzZWNyZXQgZm9yIGNoZWNrLWRucyB0ZXN0cw==\n")
    failures = []
    nsd = None
    silent = None
    try:
        nsd = Nsd(root)
        resolver = f"127.0.0.1:{nsd.port}"
        for case in CASES:
            name, domain, srs, want_exit, want_lines = case[:5]
            hostname = case[5] if len(case) > 5 else "mx.relay.test"
            config = write_config(root, name.replace(" ", "_"), domain, srs, hostname)
            p, _ = run(binary, config, resolver)
            lines = p.stdout.splitlines()
            problems = []
            if p.returncode != want_exit:
                problems.append(f"exit {p.returncode}, want {want_exit}")
            for want in want_lines:
                if want not in lines:
                    problems.append(f"missing line: {want!r}")
            if problems:
                failures.append(name)
                print(f"FAIL {name}: " + "; ".join(problems) + f"\n--- stdout\n{p.stdout}--- stderr\n{p.stderr}")
            else:
                print(f"ok   {name}")

        # JSON: the same findings, per record.
        config = write_config(root, "json", "stale.test")
        p, _ = run(binary, config, resolver, "--format", "json")
        try:
            doc = json.loads(p.stdout)
            mx = [r for r in doc["records"] if r["type"] == "MX"][0]
            ok = (p.returncode == 1 and doc["exit"] == 1 and mx["name"] == "stale.test." and mx["status"] == "WRONG"
                  and mx["expected"] == ["10 mx.relay.test."]
                  and mx["found"] == ["10 mx.relay.test.", "20 mx.oldprovider.example."])
        except (ValueError, KeyError, IndexError) as e:
            ok = False
            print(f"bad JSON: {e}")
        print(("ok   " if ok else "FAIL ") + "json")
        if not ok:
            failures.append("json")
            print(p.stdout, p.stderr)

        # A server that never answers: a UDP port bound here and never read.
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        config = write_config(root, "silent", "correct.test")
        p, took = run(binary, config, f"127.0.0.1:{silent.getsockname()[1]}")
        ok = (p.returncode == 2 and "the DNS server did not answer" in p.stdout
              and "5 records" not in p.stdout and took < 15)
        print(("ok   " if ok else "FAIL ") + f"server that never answers ({took:.1f}s)")
        if not ok:
            failures.append("silent server")
            print(p.stdout, p.stderr)

        # Usage errors and an unreadable config are exit 2 too.
        p, _ = run(binary, os.path.join(root, "nonexistent.toml"), resolver)
        p2, _ = run(binary, config, "not-an-address")
        ok = p.returncode == 2 and p2.returncode == 2 and "--resolver" in p2.stderr and "not a numeric IP address" in p2.stderr
        print(("ok   " if ok else "FAIL ") + "unreadable config and bad --resolver")
        if not ok:
            failures.append("usage")
            print(p.stderr, p2.stderr)
    finally:
        if silent is not None:
            silent.close()
        if nsd is not None:
            nsd.stop()
        if failures and nsd is not None:
            print("--- nsd.log\n" + nsd.log())
        if os.environ.get("KEEP"): print("kept", root)
        else: shutil.rmtree(root, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all check-dns tests passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
