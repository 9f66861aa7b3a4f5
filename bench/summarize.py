#!/usr/bin/python3
"""Merge the per-round hyperfine JSON of one benchmark and report medians and ratios.

Usage: /usr/bin/python3 bench/summarize.py RESDIR TAG [REF_NAME]

Reads RESDIR/TAG.round*.json (written by hf_alternate in bench/common.sh) and, when
present, RESDIR/TAG.mem.tsv (bench/peakmem.py).  Writes RESDIR/TAG.json (every command
with all its times, median, mean, stddev, min, max) and RESDIR/TAG.md (a table), and
prints the table.  Ratios are to REF_NAME (default: the first command):
  ratio = median(REF) / median(peer)   ("REF/peer", < 1: REF is faster)
  paired = median over rounds of REF_time / peer_time in the same round.
"""
import glob
import json
import os
import re
import statistics
import sys


def main():
    resdir, tag = sys.argv[1], sys.argv[2]
    ref = sys.argv[3] if len(sys.argv) > 3 else None
    files = sorted(glob.glob(os.path.join(resdir, f"{tag}.round*.json")),
                   key=lambda p: int(re.search(r"round(\d+)", p).group(1)))
    order, times, rounds = [], {}, []
    for p in files:
        with open(p) as f:
            d = json.load(f)
        this = {}
        for r in d["results"]:
            name = r["command"]
            if name not in times:
                order.append(name)
                times[name] = []
            times[name].extend(r["times"])
            this[name] = statistics.median(r["times"])
        rounds.append(this)
    if not order:
        print(f"summarize: no results for {tag} in {resdir}", file=sys.stderr)
        return 1
    ref = ref or order[0]
    mem = {}
    mp = os.path.join(resdir, f"{tag}.mem.tsv")
    if os.path.exists(mp):
        with open(mp) as f:
            next(f)
            for line in f:
                name, maxrss, trss, tpss, _ = line.rstrip("\n").split("\t")
                mem[name] = (int(maxrss), int(trss), int(tpss))
    stats = {}
    for name in order:
        t = times[name]
        stats[name] = {
            "command": name, "times": t, "runs": len(t),
            "median": statistics.median(t), "mean": statistics.fmean(t),
            "stddev": statistics.stdev(t) if len(t) > 1 else 0.0,
            "min": min(t), "max": max(t),
        }
        if name in mem:
            stats[name].update(zip(("maxrss_kb", "tree_rss_kb", "tree_pss_kb"), mem[name]))
    if ref in stats:
        rmed = stats[ref]["median"]
        for name in order:
            s = stats[name]
            s["ratio_ref_over_this"] = rmed / s["median"]
            pr = [r[ref] / r[name] for r in rounds if ref in r and name in r]
            s["paired_ratio_median"] = statistics.median(pr) if pr else None
    with open(os.path.join(resdir, f"{tag}.json"), "w") as f:
        json.dump({"tag": tag, "reference": ref, "rounds": len(files),
                   "results": [stats[n] for n in order]}, f, indent=2)
    hdr = (f"| command | median s | mean ± sd s | min–max s | n | {ref}/this (medians) "
           f"| {ref}/this (paired) | max RSS MiB | tree PSS MiB |")
    lines = [hdr, "|" + "---|" * 9]
    for name in order:
        s = stats[name]
        ratio = f"{s['ratio_ref_over_this']:.2f}" if "ratio_ref_over_this" in s else "–"
        pr = s.get("paired_ratio_median")
        pr = f"{pr:.2f}" if pr is not None else "–"
        rss = f"{s['maxrss_kb'] / 1024:.0f}" if "maxrss_kb" in s else "–"
        pss = f"{s['tree_pss_kb'] / 1024:.0f}" if "tree_pss_kb" in s else "–"
        lines.append(f"| {name} | {s['median']:.3f} | {s['mean']:.3f} ± {s['stddev']:.3f} "
                     f"| {s['min']:.3f}–{s['max']:.3f} | {s['runs']} | {ratio} | {pr} "
                     f"| {rss} | {pss} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(resdir, f"{tag}.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
