#!/usr/bin/env python3
"""Aggregates bench/run's JSON lines into the markdown table (medians, ratios, targets).

Usage: report.py RAW.jsonl [--machine …] [--load …] …  (see bench/run)
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict

PEERS = ["vsftpd", "pure-ftpd", "proftpd"]
SERVERS = ["wharf"] + PEERS


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


class Cell:
    """The runs of one scenario on one server."""

    def __init__(self, rows, key):
        self.rows = rows
        self.key = key
        self.values = [r[key] for r in rows
                       if r.get("ok") and not r.get("skipped") and isinstance(r.get(key), (int, float))]
        self.skipped = next((r["skipped"] for r in rows if r.get("skipped")), None)
        self.errors = [r.get("error", "failed") for r in rows if not r.get("ok")]

    @property
    def median(self):
        return statistics.median(self.values) if self.values else None

    def spread(self):
        if len(self.values) < 2:
            return ""
        return f"{min(self.values):.4g}–{max(self.values):.4g}"


def fmt(v, scale=1.0, digits=4):
    if v is None:
        return "–"
    v = v * scale
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def ratio(w, p, higher):
    if w is None or p is None or w == 0 or p == 0:
        return None
    return w / p if higher else p / w


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    for opt in ("machine", "load", "runs", "size-mib", "pstor-mib", "loop-secs", "data",
                "peers", "wharf", "quick", "admin-interval", "list-repeat"):
        ap.add_argument("--" + opt, default="")
    a = ap.parse_args()
    rows = load(a.raw)
    by = defaultdict(list)
    for r in rows:
        by[(r.get("id"), r.get("server"))].append(r)

    size = f"{a.size_mib} MiB" if a.size_mib != "1024" else "1 GiB"
    idle_ids = sorted({r["id"] for r in rows if r.get("id", "").startswith("idle-")
                       and not r["id"].endswith("-hold")}, key=lambda s: int(s.split("-")[1]))
    # (id, label, key, unit, scale, higher is better, compare with the ceiling)
    scen = [
        ("retr", f"RETR {size}, 1 stream", "mib_s", "MiB/s", 1, True, True),
        ("stor", f"STOR {size}, 1 stream", "mib_s", "MiB/s", 1, True, False),
        ("parallel-retr", f"RETR {size}, 4 streams", "mib_s", "MiB/s", 1, True, False),
        ("parallel-stor", f"STOR 4 streams × {a.pstor_mib} MiB", "mib_s", "MiB/s", 1, True, False),
        ("small-retr", "4 KiB RETR, 8 workers", "ops_s", "files/s", 1, True, False),
        ("churn", "connect+login+QUIT, 8 clients", "ops_s", "logins/s", 1, True, False),
        ("list", f"LIST of 10,000 entries (median of {a.list_repeat or 1} a session)", "secs", "ms", 1000, False, False),
        ("ftps-retr", f"FTPS RETR {size}", "mib_s", "MiB/s", 1, True, False),
    ]
    for i in idle_ids:
        n = int(i.split("-")[1])
        scen.append((i, f"{n:,} idle sessions: total PSS", "pss_kib", "MiB", 1 / 1024, False, False))
        scen.append((i, f"{n:,} idle sessions: PSS per session", "per_session_kib", "KiB", 1, False, False))

    plain_ceiling = Cell(by.get(("ceiling", "loopback"), []), "mib_s")
    corked_ceiling = Cell(by.get(("ceiling-corked", "loopback"), []), "mib_s")
    copy_ceiling = Cell(by.get(("ceiling-copy", "loopback"), []), "mib_s")
    # The ceiling is what the issue names: sendfile(2) of the file into a loopback socket,
    # done the faster of two ways (one call, or 1 MiB calls under TCP_CORK). The copy loop
    # is shown beside it: on some machines it beats sendfile for one stream.
    ceiling = max((c for c in (plain_ceiling, corked_ceiling) if c.median is not None),
                  key=lambda c: c.median, default=plain_ceiling)
    out = []
    p = out.append
    p("# Wharf vs peers: latest run")
    p("")
    p(f"- Machine: {a.machine}; load average at the end {a.load} "
      "(shared machine: other builds and tests ran meanwhile; see the spread columns)")
    p(f"- Wharf {a.wharf}; peers from Debian packages: {a.peers}")
    p(f"- {a.runs} run(s) per cell, interleaved across servers; medians shown; data on {a.data}"
      + ("; **quick mode** (small sizes, 1 run)" if a.quick == "1" else ""))
    p(f"- Loopback ceiling: **{fmt(ceiling.median)} MiB/s**, the faster way of `sendfile(2)` of the "
      f"same file into a loopback socket: one call ({fmt(plain_ceiling.median)} MiB/s, runs "
      f"{plain_ceiling.spread() or 'one'}) or 1 MiB calls under `TCP_CORK` "
      f"({fmt(corked_ceiling.median)} MiB/s, runs {corked_ceiling.spread() or 'one'}); "
      "the reader discards into a 1 MiB buffer")
    if copy_ceiling.median is not None:
        w_retr = Cell(by.get(("retr", "wharf"), []), "mib_s").median
        vs_copy = (f"; Wharf's RETR is {w_retr / copy_ceiling.median:.0%} of it"
                   if w_retr else "")
        p(f"- Copy loop, for comparison: **{fmt(copy_ceiling.median)} MiB/s** (runs "
          f"{copy_ceiling.spread() or 'one'}): read(2) into a 1 MiB buffer and write(2) to the "
          f"socket, the path of a server without zero-copy{vs_copy}")
    up = Cell(by.get(("ceiling-upload", "loopback"), []), "mib_s")
    if up.median is not None:
        p(f"- Upload ceiling: **{fmt(up.median)} MiB/s** (runs {up.spread() or 'one'}): a loopback "
          "socket read into a 1 MiB buffer and written to a file on the same tmpfs, the least "
          "work any STOR can do without splice(2)")
    sink = Cell(by.get(("ceiling-sink", "loopback"), []), "mib_s")
    if sink.median is not None:
        p(f"- Sink ceiling: **{fmt(sink.median)} MiB/s** (runs {sink.spread() or 'one'}): the same "
          "sender into a loopback socket whose reader only discards (no file): no STOR from this "
          "client can go faster")
    floor = Cell(by.get(("small-floor", "loopback"), []), "ops_s")
    if floor.median is not None:
        p(f"- Small-file floor: **{fmt(floor.median)} files/s** (runs {floor.spread() or 'one'}): the "
          "4 KiB RETR scenario against a minimal FTP server built into the load generator (one "
          "thread per session, no file system, no authentication, one passive listener per "
          "session): no server can serve this client faster")
    lfloor1 = Cell(by.get(("list-floor", "loopback"), []), "secs")
    lfloor2 = Cell(by.get(("list-floor-2", "loopback"), []), "secs")
    lfloor = min((c for c in (lfloor1, lfloor2) if c.median is not None),
                 key=lambda c: c.median, default=None)
    if lfloor is not None:
        p(f"- Listing floor: **{fmt(lfloor.median * 1000)} ms**, the faster of reading the 10,000-entry "
          f"folder and inspecting every entry (`getdents` + `statx`, no FTP) on one thread "
          f"({fmt((lfloor1.median or 0) * 1000)} ms) or two ({fmt((lfloor2.median or 0) * 1000)} ms), "
          f"median of {a.list_repeat} passes a run: no server can list the folder faster")
    p("- Ratios: how many times better Wharf is (higher is better; for time and memory, the peer's "
      "value over Wharf's). `Wharf/ceiling` is Wharf's throughput over the loopback ceiling.")
    p("")
    hdr = ["scenario", "unit"] + SERVERS + [f"vs {s}" for s in PEERS] + ["Wharf/ceiling"]
    p("| " + " | ".join(hdr) + " |")
    p("|" + "|".join(["---"] * 2 + ["---:"] * (len(hdr) - 2)) + "|")
    cells = {}
    for sid, label, key, unit, scale, higher, vs_ceiling in scen:
        row = [label, unit]
        cs = {s: Cell(by.get((sid, s), []), key) for s in SERVERS}
        cells[(sid, key)] = cs
        if all(not c.rows for c in cs.values()):
            continue
        for s in SERVERS:
            c = cs[s]
            if c.values:
                txt = fmt(c.median, scale)
                short = [r for r in c.rows if r.get("requested") and r.get("sessions") is not None
                         and r["sessions"] < r["requested"]]
                if short:
                    txt += f" (at {short[-1]['sessions']:,} sessions{': memory guard' if short[-1].get('memory_guard') else ''})"
                if c.errors:
                    txt += f" ({len(c.errors)} failed)"
            elif c.skipped:
                txt = "skipped"
            elif c.errors:
                txt = "failed"
            else:
                txt = "–"
            row.append(txt)
        w = cs["wharf"].median
        for s in PEERS:
            row.append(fmt_ratio(ratio(w, cs[s].median, higher)))
        if sid == "stor" and w and up.median:
            row.append(f"{w / up.median:.0%} (upload)")
        else:
            row.append(f"{w / ceiling.median:.0%}" if vs_ceiling and w and ceiling.median else "")
        p("| " + " | ".join(row) + " |")
    p("")

    # Spread of every cell, so noise is visible.
    p("<details><summary>Spread (min–max over runs) and failures</summary>")
    p("")
    p("| scenario | " + " | ".join(SERVERS) + " |")
    p("|---|" + "|".join(["---"] * len(SERVERS)) + "|")
    for sid, label, key, unit, scale, higher, _ in scen:
        cs = cells.get((sid, key))
        if not cs or all(not c.rows for c in cs.values()):
            continue
        row = [label]
        for s in SERVERS:
            c = cs[s]
            bits = []
            if len(c.values) > 1:
                bits.append(f"{fmt(min(c.values), scale)}–{fmt(max(c.values), scale)}")
            if c.errors:
                bits.append("errors: " + "; ".join(sorted(set(e[:120] for e in c.errors))))
            if c.skipped:
                bits.append(c.skipped[:120])
            row.append(" ".join(bits).replace("|", "/") or "")
        p("| " + " | ".join(row) + " |")
    p("")
    p("</details>")
    p("")

    # Sessions held: errors and survivors.
    holds = [i for i in {r["id"] for r in rows} if i.endswith("-hold")]
    if holds:
        p("Sessions held (opened, errors while opening, still answering NOOP after the hold):")
        p("")
        p("| sessions | " + " | ".join(SERVERS) + " |")
        p("|---|" + "|".join(["---"] * len(SERVERS)) + "|")
        for h in sorted(holds, key=lambda s: int(s.split("-")[1])):
            n = int(h.split("-")[1])
            row = [f"{n:,}"]
            for s in SERVERS:
                rr = by.get((h, s), [])
                if not rr:
                    row.append("–")
                    continue
                o = rr[-1]
                opened = by.get((f"idle-{n}", s), [{}])[-1]
                guard = " (stopped by the memory guard)" if o.get("memory_guard") else ""
                txt = (f"{o.get('sessions', '?')} opened{guard}, {o.get('open_errors', '?')} errors, "
                       f"{o.get('alive_after_hold', '?')} alive; "
                       f"{opened.get('processes', '?')} processes, "
                       f"opened in {fmt(o.get('open_secs'))} s")
                if o.get("error"):
                    txt += f" ({o['error'][:80]})"
                row.append(txt.replace("|", "/"))
            p("| " + " | ".join(row) + " |")
        p("")

    admin = by.get(("admin", "wharf"), [])
    if admin:
        o = admin[-1]
        p(f"Admin API (Wharf): `GET /api/v1/sessions` polled every {a.admin_interval} ms while "
          "a client downloads the big file (3 RETRs back to back per phase), sessions held as above.")
        p("")
        if o.get("skipped"):
            p(f"- skipped: {o['skipped']}")
        elif not o.get("ok") and "ms_p50" not in o:
            p(f"- failed: {o.get('error')}")
        else:
            p(f"- sessions listed: {o.get('listed_sessions')}, response {fmt(o.get('response_bytes', 0) / 1024)} KiB")
            p(f"- list latency, no transfer: {fmt(o.get('idle_ms_p50'))} ms (median)")
            p(f"- list latency during RETR: median {fmt(o.get('ms_p50'))} ms, p95 {fmt(o.get('ms_p95'))} ms, "
              f"max {fmt(o.get('ms_max'))} ms over {o.get('polls')} polls ({o.get('failed_polls')} failed)")
            pairs = o.get("retr_cost_pairs_pct") or []
            p(f"- RETR alone {fmt(o.get('retr_alone_mib_s'))} MiB/s, while polled "
              f"{fmt(o.get('retr_polled_mib_s'))} MiB/s (medians); cost {fmt(o.get('retr_cost_pct'))} %, "
              f"the median of {len(pairs)} pairs run in alternating order "
              f"(pairs: {', '.join(fmt(c) for c in pairs)} %)")
            if o.get("floor_cost_pct") is not None:
                fpairs = o.get("floor_cost_pairs_pct") or []
                p(f"- admin floor: the same response bytes served by a static responder in the load "
                  f"generator, polled at the same rate, cost {fmt(o.get('floor_cost_pct'))} % "
                  f"(median of {len(fpairs)} pairs: {', '.join(fmt(c) for c in fpairs)} %): moving "
                  f"the list through loopback alone costs that much, whatever renders it")
            if o.get("server_cpu_ms_per_list") is not None:
                ms = o["server_cpu_ms_per_list"]
                p(f"- CPU per list, no transfer ({o.get('cpu_polls')} polls, from /proc/PID/task/*/schedstat): "
                  f"Wharf {fmt(ms)} ms, the poller {fmt(o['poller_cpu_ms_per_list'])} ms. RETR alone kept "
                  f"the machine's {o.get('cores')} cores {fmt(o.get('retr_alone_busy_pct'))} % busy: its bottleneck "
                  "is one core (the sender, which on loopback also runs the receive path), so a list can take "
                  "from the RETR at most its own CPU time out of that core's second. Upper bound on the "
                  f"throughput cost: **{fmt(list_cost_bound(o, 1000))} %** at one list a second, "
                  f"{fmt(list_cost_bound(o, a.admin_interval))} % at one per {a.admin_interval} ms")
        p("")

    # Targets.
    p("## Targets")
    p("")
    p("| target | measured | status |")
    p("|---|---|---|")

    def best_peer(sid, key, higher):
        vals = [(cells[(sid, key)][s].median, s) for s in PEERS
                if (sid, key) in cells and cells[(sid, key)][s].median is not None]
        if not vals:
            return None, None
        return (max if higher else min)(vals)

    def status(ok):
        return "–" if ok is None else ("met" if ok else "**not met**")

    def wv(sid, key):
        c = cells.get((sid, key))
        return c["wharf"].median if c else None

    w = wv("retr", "mib_s")
    bp, bs = best_peer("retr", "mib_s", True)
    if w and ceiling.median and bp:
        ok = w >= 0.95 * ceiling.median and w >= bp
        p(f"| RETR 1 stream ≥ 95% of ceiling and ≥ best peer | {w / ceiling.median:.0%} of ceiling; "
          f"{w / bp:.2f}× {bs} | {status(ok)} |")
    w, bp = wv("stor", "mib_s"), best_peer("stor", "mib_s", True)[0]
    # The sink ceiling bounds every STOR from this client; older runs only had the upload one.
    bound, bound_name = (sink, "sink ceiling") if sink.median else (up, "upload ceiling")
    if bound.median and bp:
        p(f"| (STOR: is 3× reachable?) | 3× best peer = {fmt(3 * bp)} MiB/s; {bound_name} "
          f"{fmt(bound.median)} MiB/s | {'within the ceiling' if 3 * bp <= bound.median else '**above the ceiling: out of reach on this machine**'} |")
    bp_small = best_peer("small-retr", "ops_s", True)[0]
    if floor.median and bp_small:
        p(f"| (4 KiB RETR: is 2× reachable?) | 2× best peer = {fmt(2 * bp_small)} files/s; small-file "
          f"floor {fmt(floor.median)} files/s | {'within the floor' if 2 * bp_small <= floor.median else '**above the floor: out of reach on this machine**'} |")
    bp_list = best_peer("list", "secs", False)[0]
    if lfloor is not None and bp_list:
        p(f"| (LIST: is half reachable?) | half the best peer = {fmt(bp_list * 500)} ms; listing floor "
          f"{fmt(lfloor.median * 1000)} ms | {'within the floor' if bp_list / 2 >= lfloor.median else '**below the floor: out of reach on this machine**'} |")
    for sid, key, higher, need, label, unit in [
        ("stor", "mib_s", True, 3, "STOR 1 stream ≥ 3× best peer", ""),
        ("small-retr", "ops_s", True, 2, "4 KiB RETR rate ≥ 2× best peer", ""),
        ("list", "secs", False, 2, "LIST 10k ≤ half the best peer's time", ""),
    ]:
        w = wv(sid, key)
        bp, bs = best_peer(sid, key, higher)
        r = ratio(w, bp, higher)
        p(f"| {label} | {fmt_ratio(r)} {bs or ''} | {status(None if r is None else r >= need)} |")
    w = wv("churn", "ops_s")
    v = cells.get(("churn", "ops_s"), {}).get("vsftpd")
    r = ratio(w, v.median if v else None, True)
    p(f"| login churn ≥ 20× vsftpd | {fmt_ratio(r)} | {status(None if r is None else r >= 20)} |")
    if idle_ids:
        big = idle_ids[-1]
        c = cells.get((big, "per_session_kib"), {}).get("wharf")
        if c and c.median is not None:
            p(f"| idle session ≤ 64 KiB PSS | {c.median:.1f} KiB per session at {big.split('-')[1]} | "
              f"{status(c.median <= 64)} |")
    hold = by.get(("idle-10000-hold", "wharf"), [])
    if hold:
        o = hold[-1]
        ok = (o.get("ok") and o.get("open_errors") == 0 and o.get("sessions") == 10000
              and o.get("alive_after_hold") == 10000)
        p(f"| 10,000 sessions, no errors | {o.get('sessions')} opened, {o.get('open_errors')} errors, "
          f"{o.get('alive_after_hold')} alive | {status(bool(ok))} |")
    if admin:
        o = admin[-1]
        if "ms_p95" in o and o.get("ms_p95") is not None:
            latency_ok = o["ms_p95"] <= 50
            cost, floor = o.get("retr_cost_pct") or 0, o.get("floor_cost_pct")
            bound = list_cost_bound(o, 1000)
            ok = latency_ok and (cost < 3 or (bound is not None and bound < 3))
            verdict = status(ok)
            if ok and cost >= 3:
                verdict = (f"met at one list a second (CPU bound {fmt(bound)} %); at {a.admin_interval} ms "
                           f"polls the bound is {fmt(list_cost_bound(o, a.admin_interval))} %")
            elif latency_ok and not ok and floor is not None and floor >= 3:
                verdict = (f"**latency met; cost out of reach at {a.admin_interval} ms polls "
                           f"(static floor {fmt(floor)} %)**")
            p(f"| admin list of {o.get('listed_sessions')} sessions ≤ 50 ms during transfers, < 3% RETR cost | "
              f"p95 {fmt(o['ms_p95'])} ms (max {fmt(o.get('ms_max'))}); throughput pairs at {a.admin_interval} ms "
              f"polls {fmt(cost)} %{'' if floor is None else f' (floor {fmt(floor)} %)'}"
              f"{'' if bound is None else f'; CPU bound at 1 list/s {fmt(bound)} %'} | {verdict} |")
        else:
            p(f"| admin list ≤ 50 ms, < 3% RETR cost | {o.get('skipped') or o.get('error')} | not measured |")
    p("")
    sys.stdout.write("\n".join(out) + "\n")


def list_cost_bound(o, interval_ms):
    """Most of a RETR's throughput a list every `interval_ms` can take, in percent: the
    server's CPU time per list out of each second of the one core the transfer is bound by."""
    ms = o.get("server_cpu_ms_per_list")
    if ms is None:
        return None
    return ms * (1000 / float(interval_ms)) / 1000 * 100


if __name__ == "__main__":
    main()
