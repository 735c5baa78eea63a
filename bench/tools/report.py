#!/usr/bin/python3
"""report.py - turns a bench/run output directory into the Markdown results page.

Usage: report.py OUTDIR > results/latest.md

Reads OUTDIR/runs/*.kv (the load driver's key=value output, one file per run,
plus machine.kv), OUTDIR/cap/*.tsv (every reply: index, latency, action) and
OUTDIR/work/{distinct.meta,domains.tsv}; prints the tables and the
differential: the SPF result each contender reached per request, compared with
spfgated's (or, while spfgated is absent, with the peers' majority).
Only the Python standard library.
"""

import collections
import glob
import os
import re
import sys

OUT = sys.argv[1]
ORDER = ["spfgated-server", "spfgated", "libspf2-server", "libspf2", "pypolicyd-spf", "perl"]
MODE = {"spfgated-server": "standalone", "spfgated": "spawn", "libspf2-server": "standalone",
        "libspf2": "spawn", "pypolicyd-spf": "spawn", "perl": "spawn"}
RESULTS = ["pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"]


def kv(path):
    d = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                d[k] = v
    return d


def num(d, k, default=None):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return default


def ms(us):
    return "-" if us is None else "%.2f" % (us / 1000.0) if us < 10000 else "%.0f" % (us / 1000.0)


def mb(kb):
    return "-" if kb is None or kb < 0 else "%.1f" % (kb / 1024.0)


def order_key(c):
    return ORDER.index(c) if c in ORDER else len(ORDER)


runs = {}
for p in glob.glob(os.path.join(OUT, "runs", "*.kv")):
    runs[os.path.basename(p)[:-3]] = kv(p)
M = runs.get("machine", {})
contenders = M.get("contenders", "").split()
contenders.sort(key=order_key)


def run(phase, c, conc):
    return runs.get("%s-%s-c%s" % (phase, c, conc))


out = []
w = out.append
w("# spfgate benchmark results")
w("")
w("Command: `%s` (seed %s%s).  " % (M.get("command", "bench/run"), M.get("seed", "?"),
                                   ", quick" if M.get("quick") == "1" else ""))
w("Machine: %s, %s CPUs, %s, %s, Debian %s.  " % (M.get("cpu", "?"), M.get("cpus", "?"),
                                                M.get("mem", "?"), M.get("uname", "?"),
                                                M.get("debian", "?")))
w("Date: %s; load average %s (other work on the machine shows here).  " % (
    M.get("date", "?"), M.get("loadavg", "?")))
w("Workload: %s.  " % M.get("workload", "?"))
if M.get("commit"):
    w("spfgate: %s, %s.  " % (M["commit"], M.get("spfgated") or "spfgated not built"))
vers = ", ".join("%s %s" % (k[8:], v) for k, v in M.items() if k.startswith("version.") and v)
w("Versions: %s." % vers)
if M.get("spfgated_note"):
    w("")
    w("**spfgated: %s.** Its rows are left out until it builds; rerun `bench/run` then." %
      M["spfgated_note"])
w("")
w("All contenders run in one network namespace and resolve through the same unbound "
  "(1 thread, caching, iterator only) in front of nsd serving the generated zones; "
  "a user-space relay between them adds the cold-cache round trip. Every contender does "
  "the same checks: HELO and MAIL FROM, header only (postfix-policyd-spf-perl cannot be "
  "configured so: it rejects a fail and defers a temperror). Spawn mode = one process per "
  "client over stdin/stdout as spawn(8) runs it; standalone = one server, one unix-socket "
  "connection per client. Each client sends many requests, one at a time.")
w("")

# ------------------------------------------------------------------ warm
levels = M.get("levels", "").split()
if any(run("warm", c, l) for c in contenders for l in levels):
    w("## Warm cache (%s s per run, contenders alternating)" % M.get("warm_t", "?"))
    w("")
    w("| contender | mode | clients | req/s | p50 ms | p99 ms | max ms | errors | "
      "contender CPU µs/req | unbound CPU µs/req | DNS queries/req | peak RSS MB |")
    w("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for l in levels:
        for c in contenders:
            r = run("warm", c, l)
            if not r:
                continue
            n = num(r, "requests", 0) or 1
            cpu = num(r, "children_cpu_s", num(r, "contender.cpu_s"))
            rss = num(r, "children_hwm_kb_max") if MODE[c] == "spawn" else num(r, "contender.hwm_kb")
            rss_s = mb(rss) + (" per process" if MODE[c] == "spawn" else "")
            w("| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %.2f | %s |" % (
                c, MODE[c], l, num(r, "rps", 0), ms(num(r, "p50_us")), ms(num(r, "p99_us")),
                ms(num(r, "max_us")), r.get("errors", "?"),
                "-" if cpu is None else "%.0f" % (cpu * 1e6 / n),
                "%.0f" % (num(r, "unbound.cpu_s", 0) * 1e6 / n),
                num(r, "dns_queries", 0) / n, rss_s))
    w("")
    ce = runs.get("ceiling")
    if ce:
        w("Load driver ceiling: %.0f req/s at 16 clients against a responder that answers DUNNO "
          "at once (driver CPU %.1f µs/req); the two cores are shared by the driver, the "
          "contender and unbound." % (num(ce, "rps", 0), num(ce, "driver_cpu_s", 0) * 1e6 /
                                       (num(ce, "requests", 1) or 1)))
        w("")
    w("CPU is user+system time from /proc/PID/stat (standalone) or the children's "
      "rusage less what they used before the clock started (spawn), over the run; peak RSS "
      "is VmHWM of the server or of the largest spawned process. Before the clock, every "
      "client sends %s requests (spawned processes start and load what they load on first "
      "use)." % M.get("prime", "?") + "  DNS queries/req counts queries the contender sent to "
      "unbound (its total.num.queries).")
    w("")

# ------------------------------------------------------------------ cold
cold = [(ph, c, l) for ph, l in (("cold", "16"), ("coldnohelo", "16"), ("cold", "1"))
        for c in contenders if run(ph, c, l)]
if cold:
    w("## Cold cache, %s ms round trip between unbound and nsd" % M.get("cold_rtt", "?"))
    w("")
    w("Every run starts with an empty resolver cache (`unbound-control reload`) and a freshly "
      "started contender; the requests are the first sender domains of the distinct set, "
      "so each needs its records fetched (shared provider records are fetched once per run).")
    w("")
    w("| contender | mode | HELO check | clients | requests | p50 ms | p90 ms | p99 ms | max ms | "
      "req/s | DNS queries/req | upstream queries/req | errors |")
    w("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for ph, c, l in cold:
        r = run(ph, c, l)
        n = num(r, "requests", 0) or 1
        w("| %s | %s | %s | %s | %d | %s | %s | %s | %s | %.1f | %.2f | %.2f | %s |" % (
            c, MODE[c], "no" if ph == "coldnohelo" else "yes", l, n, ms(num(r, "p50_us")), ms(num(r, "p90_us")), ms(num(r, "p99_us")),
            ms(num(r, "max_us")), num(r, "rps", 0), num(r, "dns_queries", 0) / n,
            num(r, "dns_cachemiss", 0) / n, r.get("errors", "?")))
    w("")
    w("Upstream queries/req is unbound's cache misses per request (each one a round trip "
      "to nsd through the relay). Without the HELO check: pypolicyd-spf with "
      "`HELO_reject = No_Check`, the libspf2 adapter without -H, spfgated with `helo = no`; "
      "postfix-policyd-spf-perl always checks HELO first and has no such row.")
    w("")

# ------------------------------------------------------------------ startup
st = [(c, runs["startup-" + c]) for c in contenders if "startup-" + c in runs]
if "startup-spfgated-static" in runs:
    st.insert(1, ("spfgated, libevent and c-ares linked in (`-DSPFGATE_STATIC_DEPS=ON`)",
                  runs["startup-spfgated-static"]))
if st:
    w("## Spawn mode: start-up to first answer")
    w("")
    w("| contender | starts | first answer p50 ms | min ms | max ms | peak RSS per process MB |")
    w("|---|--:|--:|--:|--:|--:|")
    for c, r in st:
        w("| %s | %s | %s | %s | %s | %s |" % (c, r.get("startups"), ms(num(r, "startup_p50_us")),
                                             ms(num(r, "startup_min_us")), ms(num(r, "startup_max_us")),
                                             mb(num(r, "hwm_kb_max"))))
    w("")
    w("From fork to the reply of one request for a domain in unbound's cache; RSS is the "
      "process's VmHWM after that answer.")
    w("")

# ------------------------------------------------------------------ idle
def idle_base(c):
    """req/s of the idle phase's runs without idle connections (before, after)."""
    return [num(run(p, c, 16), "rps", 0) for p in ("idlebase1", "idlebase2") if run(p, c, 16)]


idle = [(c, run("idle", c, 16)) for c in contenders if run("idle", c, 16)]
if idle:
    w("## Standalone with idle connections")
    w("")
    w("| contender | idle connections | RSS before MB | RSS with idle MB | RSS after load MB | "
      "req/s at 16 clients meanwhile | same load without idle, before / after | ratio | p99 ms | errors |")
    w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for c, r in idle:
        b = idle_base(c)
        w("| %s | %s | %s | %s | %s | %.0f | %s | %s | %s | %s |" % (
            c, r.get("idle_open", "?"), mb(num(r, "rss_before_kb")), mb(num(r, "contender.idle_rss_kb")),
            mb(num(r, "contender.rss_kb")), num(r, "rps", 0),
            " / ".join("%.0f" % x for x in b) if b else "—",
            "%.0f%%" % (100 * num(r, "rps", 0) / (sum(b) / len(b))) if b else "—",
            ms(num(r, "p99_us")), r.get("errors")))
    w("")
    w("The runs without idle connections come right before and after the one with them; "
      "the ratio is against their mean.")
    w("")

# ------------------------------------------------------------------ callgrind
cg = [(c, runs["callgrind-" + c]) for c in contenders if "callgrind-" + c in runs]
if cg:
    w("## Instructions per request (callgrind, warm cache)")
    w("")
    w("Spawn mode, K requests from the stream read twice (second lap with new instances); "
      "Ir per request = (Ir(2K) − Ir(K)) / K, so start-up is left out. Includes the "
      "contender's DNS client work (libspf2: its own cache over res_query; spfgated in spawn mode: its answer cache over the c-ares stub engine).")
    w("")
    w("| contender | K | Ir per request | vs libspf2 |")
    w("|---|--:|--:|--:|")
    base = None
    vals = {}
    for c, r in cg:
        k = num(r, "k", 0)
        a, b = num(r, "ir_k"), num(r, "ir_2k")
        if k and a is not None and b is not None:
            vals[c] = (b - a) / k
    base = vals.get("libspf2")
    for c, r in cg:
        v = vals.get(c)
        w("| %s | %s | %s | %s |" % (c, r.get("k"), "-" if v is None else "{:,.0f}".format(v),
                                    "-" if v is None or not base else "%.2f×" % (v / base)))
    w("")

# ------------------------------------------------------------------ differential
def norm(action, null_sender):
    """The MAIL FROM result a reply states (the HELO one for a null sender)."""
    a = action.strip()
    al = a.lower()
    if al.startswith("prepend "):
        h = a[8:]
        m = re.match(r"received-spf:\s*\(?([a-z]+)", h, re.I)
        if m:
            res = m.group(1).lower()
            ident = re.search(r"identity=([a-z]+)", h, re.I)
            # pypolicyd-spf prepends the HELO header when MAIL FROM gave none
            if ident and ident.group(1).lower() == "helo" and not null_sender:
                return "none"
            return {"unknown": "permerror", "error": "temperror"}.get(res, res)
        m = re.search(r"\bspf=([a-z]+)", h, re.I)
        if m:
            return m.group(1).lower()
        return "other"
    if re.match(r"(550 5\.7\.24|5\d\d 5\.7\.24)", al):
        return "permerror"
    if re.match(r"(5\d\d|reject)", al):
        return "fail"
    if re.match(r"(defer_if_permit|4\d\d|defer)", al):
        return "temperror"
    if al.startswith("dunno"):
        return "dunno"
    return "other"


meta = {}
mp = os.path.join(OUT, "work", "distinct.meta")
if os.path.exists(mp):
    with open(mp) as f:
        for line in f:
            if line.startswith("#"):
                continue
            idx, _msg, _first, dom, kind, scen = line.rstrip("\n").split("\t")
            meta[int(idx)] = (dom, kind, scen)
records = {}
dp = os.path.join(OUT, "work", "domains.tsv")
if os.path.exists(dp):
    with open(dp) as f:
        for line in f:
            if not line.startswith("#"):
                d, k, rec = line.rstrip("\n").split("\t", 2)
                records[d] = rec

diffres = {}
for c in contenders:
    p = os.path.join(OUT, "cap", "diff-%s-c16.tsv" % c)
    if not os.path.exists(p):
        continue
    res = {}
    with open(p) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) == 3:
                i = int(parts[0])
                res[i] = norm(parts[2], meta.get(i, ("", "", ""))[2] == "null")
    diffres[c] = res

if diffres:
    w("## Differential: the SPF result each contender reached")
    w("")
    w("Differential pass: one message per sender domain (%d requests), every contender. "
      "The result is the MAIL FROM one read from the reply (Received-SPF result word, "
      "or a reject = fail / defer = temperror; the HELO result for a null sender)."
      % max(len(r) for r in diffres.values()))
    w("")
    w("| contender | " + " | ".join(RESULTS) + " | other |")
    w("|---|" + "--:|" * (len(RESULTS) + 1))
    for c, res in diffres.items():
        cnt = collections.Counter(res.values())
        w("| %s | %s | %d |" % (c, " | ".join(str(cnt.get(r, 0)) for r in RESULTS),
                                sum(v for k, v in cnt.items() if k not in RESULTS)))
    w("")
    ref_name = next((c for c in ("spfgated-server", "spfgated") if c in diffres), None)
    common = set.intersection(*(set(r) for r in diffres.values()))
    if ref_name:
        ref = {i: diffres[ref_name][i] for i in common}
        ref_label = ref_name
    else:
        ref = {}
        # one vote per implementation (libspf2's two modes are one library)
        peers = []
        for c in diffres:
            if c.replace("-server", "") not in [p.replace("-server", "") for p in peers]:
                peers.append(c)
        for i in common:
            votes = collections.Counter(diffres[c][i] for c in peers)
            top, n = votes.most_common(1)[0]
            ref[i] = top if n * 2 > len(peers) else "no-majority"
        ref_label = "the peers' majority (spfgated absent)"
    w("Disagreements with %s, by the sender domain's kind (requests answered by all: %d):" %
      (ref_label, len(common)))
    w("")
    kinds = sorted(set(meta.get(i, ("", "?", ""))[1] for i in common))
    others = [c for c in diffres if c != ref_name]
    by = {c: collections.Counter() for c in others}
    doms = collections.defaultdict(dict)
    for c in others:
        for i in common:
            if diffres[c][i] != ref[i]:
                k = meta.get(i, ("", "?", ""))[1]
                by[c][k] += 1
                doms[i][c] = diffres[c][i]
    shown = [k for k in kinds if any(by[c][k] for c in others)]
    w("| contender | disagree | agree | " + " | ".join(shown) + " |")
    w("|---|--:|--:|" + "--:|" * len(shown))
    for c in others:
        tot = sum(by[c].values())
        w("| %s | %d | %d | %s |" % (c, tot, len(common) - tot,
                                     " | ".join(str(by[c][k]) for k in shown)))
    w("")
    if doms:
        w("Domains where a contender disagrees (first 25 by request order):")
        w("")
        w("| domain | kind | scenario | record | reference | " + " | ".join(others) + " |")
        w("|---|---|---|---|---|" + "---|" * len(others))
        for i in sorted(doms)[:25]:
            d, k, s = meta.get(i, ("?", "?", "?"))
            rec = records.get(d, "?").replace("|", "\\|")
            if len(rec) > 60:
                rec = rec[:57] + "..."
            w("| %s | %s | %s | `%s` | %s | %s |" % (d, k, s, rec, ref[i],
                                                   " | ".join(diffres[c][i] for c in others)))
        w("")

# ------------------------------------------------------------------ targets
w("## Issue 5 targets")
w("")


def target_rows():
    rows = []
    g = "spfgated-server"
    r16 = run("warm", g, 16)
    if r16:
        l2 = run("warm", "libspf2-server", 16)
        py = run("warm", "pypolicyd-spf", 16)
        x = num(r16, "rps", 0)
        rows.append(("warm c16 ≥ 4× libspf2 server", "%.1f×" % (x / num(l2, "rps", 1)) if l2 else "-",
                     l2 and x >= 4 * num(l2, "rps", 1)))
        rows.append(("warm c16 ≥ 30× pypolicyd-spf", "%.1f×" % (x / num(py, "rps", 1)) if py else "-",
                     py and x >= 30 * num(py, "rps", 1)))
        rows.append(("warm c16 p99 < 1 ms", ms(num(r16, "p99_us")) + " ms", num(r16, "p99_us", 1e9) < 1000))
    else:
        rows.append(("warm-cache targets", "spfgated not measured", None))
    for ph, label in (("cold", "with HELO"), ("coldnohelo", "without HELO")):
        cg16 = run(ph, g, 16)
        if not cg16:
            rows.append(("cold-cache targets, %s" % label, "spfgated not measured", None))
            continue
        others = [run(ph, c, 16) for c in contenders if not c.startswith("spfgated") and run(ph, c, 16)]
        if not others:
            continue
        p50 = min(num(o, "p50_us", 1e12) for o in others)
        p99 = min(num(o, "p99_us", 1e12) for o in others)
        q = min(num(o, "dns_queries", 0) / (num(o, "requests", 1) or 1) for o in others)
        mq = num(cg16, "dns_queries", 0) / (num(cg16, "requests", 1) or 1)
        rows.append(("cold %s: p50 below every contender's" % label,
                     "%s vs %s ms" % (ms(num(cg16, "p50_us")), ms(p50)), num(cg16, "p50_us", 1e12) < p50))
        rows.append(("cold %s: p99 ≤ half the best contender's" % label,
                     "%s vs %s ms" % (ms(num(cg16, "p99_us")), ms(p99)), num(cg16, "p99_us", 1e12) <= p99 / 2))
        rows.append(("cold %s: DNS queries/req ≤ 1.5× the fewest" % label, "%.2f vs %.2f" % (mq, q),
                     mq <= 1.5 * q))
    s = runs.get("startup-spfgated")
    if s:
        rows.append(("spawn start-up < 5 ms", ms(num(s, "startup_p50_us")) + " ms", num(s, "startup_p50_us", 1e9) < 5000))
        rows.append(("spawn RSS < 4 MB", mb(num(s, "hwm_kb_max")) + " MB", num(s, "hwm_kb_max", 1e9) < 4096))
        ss = runs.get("startup-spfgated-static")
        if ss:
            rows.append(("spawn start-up < 5 ms, libevent and c-ares linked in",
                         ms(num(ss, "startup_p50_us")) + " ms", num(ss, "startup_p50_us", 1e9) < 5000))
    else:
        rows.append(("spawn-mode targets", "spfgated not measured", None))
    i = run("idle", g, 16)
    if i:
        rows.append(("10,000 idle: RSS < 64 MB", mb(num(i, "contender.idle_rss_kb")) + " MB",
                     num(i, "contender.idle_rss_kb", 1e9) < 65536))
        b = idle_base(g)
        if b:
            base = sum(b) / len(b)
            rows.append(("10,000 idle: still full speed (≥ 90% of the same load without them)",
                         "%.0f vs %.0f req/s" % (num(i, "rps", 0), base),
                         num(i, "rps", 0) >= 0.9 * base))
        elif r16:
            rows.append(("10,000 idle: still full speed (≥ 90% of warm c16)",
                         "%.0f vs %.0f req/s" % (num(i, "rps", 0), num(r16, "rps", 0)),
                         num(i, "rps", 0) >= 0.9 * num(r16, "rps", 0)))
    else:
        rows.append(("idle-connection targets", "spfgated not measured", None))
    return rows


w("| target | measured | met |")
w("|---|---|---|")
for name, val, ok in target_rows():
    w("| %s | %s | %s |" % (name, val, "pending" if ok is None else "yes" if ok else "**no**"))
w("")
print("\n".join(out))
