#!/usr/bin/env python3
"""Generates the alias set of the routing-table benchmark (issue #2).

Writes into OUTDIR, deterministically from --seed:

  emailroute.toml   the spec: [relay] (hostname, srs_domain, relative srs_secret_file)
                    and one [domains."D".addresses] table per domain; domains in
                    shuffled order, keys shuffled inside each domain
  srs.key           the SRS secret the spec names
  virtual           the same alias set as a Postfix virtual_alias_maps source for
                    postmap, one `key value[, value]` line per entry, all lines
                    shuffled; wildcards are written as their literal key
                    (`team-*@domain`) and catch-alls as `@domain`, which is also
                    the key layout the tinycdb probes use
  probes.txt        `KIND<TAB>address` lines, KIND one of exact, subaddress,
                    wildcard, catchall, miss, foreign (a domain not in the spec),
                    shuffled

Every route is a forward (1 destination mostly, up to 3) so that the three
stores hold exactly the same mapping. Destinations live on provider domains
that the spec does not route, so nothing is resolved at compile time.
"""

import argparse
import os
import random

SYLL = ["al", "an", "ba", "be", "ca", "co", "da", "de", "el", "en", "fa", "fi", "ga", "go", "ha",
        "he", "in", "ja", "jo", "ka", "ki", "la", "li", "ma", "mi", "na", "no", "or", "pa", "pe",
        "ra", "ri", "sa", "se", "ta", "to", "ul", "va", "vi", "wa", "xe", "ya", "yo", "za", "zu"]
ROLES = ["sales", "support", "info", "billing", "admin", "hr", "jobs", "press", "team", "ops",
         "security", "abuse", "postmaster", "hello", "contact", "orders", "shop", "dev", "noc"]
WILDCARD_PREFIXES = ["team-", "old-", "news-", "ticket-", "list-", "shop-", "ci-", "tmp-",
                     "promo-", "alert-"]
PROVIDERS = ["gmail.test", "outlook.test", "proton.test", "fastmail.test", "yahoo.test",
             "icloud.test", "gmx.test", "mailbox.test", "zoho.test", "posteo.test"]
TLDS = ["com", "net", "org", "io", "dev", "co.uk", "de", "fr", "nl", "app"]


def word(rng, lo=1, hi=3):
    return "".join(rng.choice(SYLL) for _ in range(rng.randint(lo, hi)))


def random_case(rng, s):
    return "".join(c.upper() if rng.random() < 0.5 else c for c in s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--addresses", type=int, default=1_000_000)
    ap.add_argument("--domains", type=int, default=1_000)
    ap.add_argument("--destinations", type=int, default=10_000)
    ap.add_argument("--probes", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=20261128)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)

    # Domains: distinct, varied lengths.
    domains, seen = [], set()
    while len(domains) < a.domains:
        d = f"{word(rng, 2, 4)}{rng.randint(0, 999)}.{rng.choice(TLDS)}"
        if d not in seen:
            seen.add(d)
            domains.append(d)

    # Destinations: distinct mailboxes on provider domains outside the spec.
    dests, seen = [], set()
    while len(dests) < a.destinations:
        d = f"{word(rng)}.{word(rng)}{rng.randint(0, 99)}@{rng.choice(PROVIDERS)}"
        if d not in seen:
            seen.add(d)
            dests.append(d)

    def route():
        r = rng.random()
        n = 1 if r < 0.90 else (2 if r < 0.98 else 3)
        return rng.sample(dests, n)

    # Addresses: spread unevenly over the domains (a few large, many small).
    weights = [1.0 / (1 + i) ** 0.6 for i in range(a.domains)]
    rng.shuffle(weights)
    per_domain = {d: {} for d in domains}
    counts = [0] * a.domains
    for i, d in enumerate(rng.choices(range(a.domains), weights=weights, k=a.addresses)):
        counts[d] += 1
    for di, d in enumerate(domains):
        addrs = per_domain[d]
        for r in ROLES[: min(len(ROLES), counts[di] // 50)]:
            addrs[r] = route()
        while len(addrs) < counts[di]:
            k = rng.random()
            if k < 0.6:
                local = f"{word(rng)}.{word(rng)}"
            elif k < 0.85:
                local = f"{word(rng)}{rng.randint(0, 9999)}"
            else:
                local = f"{word(rng)}_{word(rng)}.{rng.randint(0, 99)}"
            if local not in addrs:
                addrs[local] = route()

    # Wildcards on a fifth of the domains, catch-alls on 30 %.
    wildcards = {d: {} for d in domains}
    for d in rng.sample(domains, a.domains // 5):
        for p in rng.sample(WILDCARD_PREFIXES, rng.randint(1, 4)):
            wildcards[d][p] = route()
    catch_all = {d: route() for d in rng.sample(domains, (a.domains * 3) // 10)}

    n_addr = sum(len(v) for v in per_domain.values())
    n_wild = sum(len(v) for v in wildcards.values())

    def toml_value(r):
        return f'"{r[0]}"' if len(r) == 1 else "[" + ", ".join(f'"{x}"' for x in r) + "]"

    # (a) the emailroute spec
    with open(os.path.join(a.outdir, "srs.key"), "w") as f:
        f.write("benchmark-secret-%d\n" % a.seed)
    os.chmod(os.path.join(a.outdir, "srs.key"), 0o600)
    order = domains[:]
    rng.shuffle(order)
    with open(os.path.join(a.outdir, "emailroute.toml"), "w") as f:
        f.write(f"# Benchmark spec: {n_addr} addresses, {n_wild} wildcards, {len(catch_all)} catch-alls,\n")
        f.write(f"# {a.domains} domains, {a.destinations} destinations; generated by bench/gen_aliases.py --seed {a.seed}\n")
        f.write('[relay]\nhostname = "mx.bench.test"\nsrs_domain = "bench.test"\nsrs_secret_file = "srs.key"\n'
                'require_verified = false\n')
        for d in order:
            f.write(f'\n[domains."{d}"]\n')
            if d in catch_all:
                f.write(f"catch_all = {toml_value(catch_all[d])}\n")
            f.write(f'\n[domains."{d}".addresses]\n')
            entries = list(per_domain[d].items()) + [(p + "*", r) for p, r in wildcards[d].items()]
            rng.shuffle(entries)
            for k, r in entries:
                f.write(f'"{k}" = {toml_value(r)}\n')

    # (b) the Postfix virtual source, every line shuffled
    lines = []
    for d in domains:
        for k, r in per_domain[d].items():
            lines.append(f"{k}@{d} {', '.join(r)}\n")
        for p, r in wildcards[d].items():
            lines.append(f"{p}*@{d} {', '.join(r)}\n")
        if d in catch_all:
            lines.append(f"@{d} {', '.join(catch_all[d])}\n")
    rng.shuffle(lines)
    with open(os.path.join(a.outdir, "virtual"), "w") as f:
        f.writelines(lines)

    # (c) probes
    with_wild = [d for d in domains if wildcards[d]]
    with_catch = [d for d in domains if d in catch_all]
    without_catch = [d for d in domains if d not in catch_all]
    keys = {d: list(per_domain[d]) for d in domains if per_domain[d]}
    key_domains = list(keys)

    def unknown_local(d):
        while True:
            l = f"zz{word(rng)}{rng.randint(0, 99999)}"
            if l not in per_domain[d] and not any(l.startswith(p) for p in wildcards[d]):
                return l

    probes = []
    mix = [("exact", 0.40), ("subaddress", 0.20), ("wildcard", 0.15), ("catchall", 0.15),
           ("miss", 0.07), ("foreign", 0.03)]
    for kind, share in mix:
        for _ in range(int(a.probes * share)):
            if kind == "exact":
                d = rng.choice(key_domains)
                l = rng.choice(keys[d])
                if rng.random() < 0.1:
                    l, d = random_case(rng, l), random_case(rng, d)
            elif kind == "subaddress":
                d = rng.choice(key_domains)
                l = rng.choice(keys[d]) + "+" + word(rng, 1, 4)
            elif kind == "wildcard":
                d = rng.choice(with_wild)
                l = rng.choice(list(wildcards[d])) + word(rng, 1, 4) + str(rng.randint(0, 999))
                if rng.random() < 0.3:
                    l += "+" + word(rng)
            elif kind == "catchall":
                d = rng.choice(with_catch)
                l = unknown_local(d)
            elif kind == "miss":
                d = rng.choice(without_catch)
                l = unknown_local(d)
            else:
                d = f"{word(rng, 2, 4)}{rng.randint(1000, 9999)}.example"
                l = rng.choice(keys[rng.choice(key_domains)])
            probes.append(f"{kind}\t{l}@{d}\n")
    rng.shuffle(probes)
    with open(os.path.join(a.outdir, "probes.txt"), "w") as f:
        f.writelines(probes)

    print(f"gen_aliases: {n_addr} addresses, {n_wild} wildcards, {len(catch_all)} catch-alls, "
          f"{a.domains} domains, {a.destinations} destinations, {len(probes)} probes -> {a.outdir}")


if __name__ == "__main__":
    main()
