"""The relay's asynchronous resolver and MX planner against a real
authoritative server: NSD on 127.0.0.1 with the zones under zones/ (mostly
resolver.test), driven by BUILD_DIR/resolve_mx (tests/tools/resolve_mx.cpp).
No question goes to the machine's own resolver: every run names its servers.

Usage: /usr/bin/python3 resolver_test.py BUILD_DIR
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_dns_test import Nsd  # noqa: E402  (the same NSD set-up as check-dns)

TIMEOUT = 20  # seconds, for every run of the driver

# name, extra options, domains, lines that must appear exactly, stats that must hold (key → minimum)
CASES = [
    ("MX with two hosts, IPv6 first", [], ["two.resolver.test"],
     ["two.resolver.test ok [2001:db8::21]:25 192.0.2.21:25 192.0.2.22:25"], {}),
    ("no IPv6 here", ["--no-ipv6"], ["two.resolver.test"],
     ["two.resolver.test ok 192.0.2.21:25 192.0.2.22:25"], {}),
    ("upstream port", ["--port", "2525"], ["two.resolver.test"],
     ["two.resolver.test ok [2001:db8::21]:2525 192.0.2.21:2525 192.0.2.22:2525"], {}),
    ("null MX", [], ["null.resolver.test"],
     ["null.resolver.test fail 556 5.1.10 Destination domain does not accept mail (null MX) | "
      "null.resolver.test. accepts no mail (null MX, RFC 7505)"], {}),
    ("NXDOMAIN", [], ["gone.resolver.test"],
     ["gone.resolver.test fail 550 5.1.2 Destination domain not found | gone.resolver.test. does not exist (NXDOMAIN)"], {}),
    ("MX host is a CNAME into another zone", [], ["cname.resolver.test"],
     ["cname.resolver.test ok 192.0.2.10:25"], {}),
    ("MX host is a CNAME within the zone", [], ["cname2.resolver.test"],
     ["cname2.resolver.test ok [2001:db8::21]:25 192.0.2.21:25"], {}),
    ("no MX but A and AAAA (implicit MX)", [], ["bare.resolver.test"],
     ["bare.resolver.test ok [2001:db8::41]:25 192.0.2.41:25"], {}),
    ("no MX and no address", [], ["empty.resolver.test"],
     ["empty.resolver.test fail 550 5.1.2 Destination domain not found | empty.resolver.test. has no MX and no address"], {}),
    ("SERVFAIL", ["--timeout-ms", "500"], ["servfail.test"], [], {}),
    ("MX hosts on loopback and private ranges refused", [], ["private.resolver.test"],
     ["private.resolver.test fail 550 5.4.4 Destination mail servers are on addresses we do not deliver to | "
      "every address refused (allow_private_destinations is false): lo.private.resolver.test. 127.0.0.1 is loopback; "
      "ten.private.resolver.test. 10.0.0.25 is private (RFC 1918)"], {}),
    ("... unless allowed", ["--allow-private"], ["private.resolver.test"],
     ["private.resolver.test ok 127.0.0.1:25 10.0.0.25:25"], {}),
    ("big MX RRset: TC, then TCP", [], ["big.resolver.test"],
     ["big.resolver.test ok 192.0.2.51:25 192.0.2.52:25"], {"tcp": 1}),
    ("big RRset asked directly", ["--query", "MX"], ["big.resolver.test"],
     ["big.resolver.test records 64"], {"tcp": 1}),
]


def stats_of(stdout):
    for line in stdout.splitlines():
        if line.startswith("stats "):
            return {k: int(v) for k, v in (p.split("=") for p in line.split()[1:])}
    return {}


def run(driver, servers, options, names):
    args = [driver]
    for s in servers:
        args += ["--server", s]
    start = time.monotonic()
    p = subprocess.run(args + options + names, capture_output=True, text=True, timeout=TIMEOUT)
    return p, time.monotonic() - start


def check(name, ok, p, failures, took=None):
    print(("ok   " if ok else "FAIL ") + name + (f" ({took:.1f}s)" if took is not None else ""))
    if not ok:
        failures.append(name)
        print(f"--- exit {p.returncode}\n--- stdout\n{p.stdout}--- stderr\n{p.stderr}")


def main():
    if len(sys.argv) != 2:
        print("usage: resolver_test.py BUILD_DIR", file=sys.stderr)
        return 2
    driver = os.path.join(os.path.abspath(sys.argv[1]), "resolve_mx")
    root = tempfile.mkdtemp(prefix="emailroute-resolver-")
    failures = []
    nsd = None
    silent = None
    try:
        nsd = Nsd(root)
        server = f"127.0.0.1:{nsd.port}"
        for name, options, domains, want_lines, want_stats in CASES:
            p, _ = run(driver, [server], options, domains)
            lines = p.stdout.splitlines()
            stats = stats_of(p.stdout)
            ok = p.returncode == 0 and all(w in lines for w in want_lines)
            ok = ok and all(stats.get(k, 0) >= v for k, v in want_stats.items())
            if name == "SERVFAIL":
                ok = p.returncode == 0 and any(
                    l.startswith("servfail.test fail 451 4.4.3 ") and "SERVFAIL" in l for l in lines)
            check(name, ok, p, failures)

        # Equal preferences: every plan shuffles them, so 24 plans show more than one order.
        p, _ = run(driver, [server], [], ["equal.resolver.test"] * 24)
        orders = {l for l in p.stdout.splitlines() if l.startswith("equal.resolver.test ok ")}
        hosts_ok = all(sorted(o.split()[2:]) == ["192.0.2.31:25", "192.0.2.32:25", "192.0.2.33:25"] for o in orders)
        stats = stats_of(p.stdout)
        # 24 plans, one MX question and three A and three AAAA: shared or cached, never asked twice.
        check("equal preferences shuffled, questions shared", p.returncode == 0 and len(orders) > 1 and hosts_ok
              and stats.get("udp", 99) <= 7, p, failures)

        # A first server that never answers: a UDP port bound here and never read.
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        quiet = f"127.0.0.1:{silent.getsockname()[1]}"
        p, took = run(driver, [quiet, server], ["--timeout-ms", "500", "--query", "A"], ["mx1.two.resolver.test"])
        stats = stats_of(p.stdout)
        check("a server that never answers, then the next one", p.returncode == 0
              and "mx1.two.resolver.test records 1" in p.stdout and stats.get("timeouts") == 1
              and 0.5 <= took < 5, p, failures, took)
        p, took = run(driver, [quiet], ["--timeout-ms", "300"], ["two.resolver.test"])
        check("only a server that never answers: 451", p.returncode == 0
              and "two.resolver.test fail 451 4.4.3 " in p.stdout and "no answer within 300 ms" in p.stdout
              and took < 5, p, failures, took)
    finally:
        if silent is not None:
            silent.close()
        if nsd is not None:
            nsd.stop()
        if failures and nsd is not None:
            print("--- nsd.log\n" + nsd.log())
        shutil.rmtree(root, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all resolver tests passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
