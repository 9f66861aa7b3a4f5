#!/usr/bin/python3
"""Peak memory of a command (and all its child processes).

Usage: /usr/bin/python3 bench/peakmem.py [--runs 3] [--prepare CMD] [--name NAME] -- CMD

Runs `/usr/bin/time -v sh -c CMD` RUNS times (PREPARE, via sh -c, before each) and
reports, as one tab-separated line  NAME  maxrss_kb  tree_rss_kb  tree_pss_kb  runs:
  maxrss_kb    "Maximum resident set size" from /usr/bin/time -v: the peak RSS of the
               largest single process in the tree (getrusage of waited-for children
               keeps the max, not a sum), median over the runs;
  tree_rss_kb  peak of the SUM of VmRSS over the whole process tree, sampled every
               20 ms (shared pages counted once per process), median over the runs;
  tree_pss_kb  the same with Pss from /proc/PID/smaps_rollup (shared pages split
               between the processes that map them: the best "total memory" figure).
Sampling can miss peaks shorter than 20 ms.  The command's output is discarded.
Exit status: the command's, if non-zero.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid, kids):
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(kids.get(p, ()))
    return out


def field_kb(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def one_run(cmd, prepare):
    if prepare:
        subprocess.run(["sh", "-c", prepare], check=True)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tf.name, "sh", "-c", cmd],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        peak_rss = peak_pss = 0
        while p.poll() is None:
            kids = children_map()
            pids = [q for q in tree(p.pid, kids) if q != p.pid]  # leave out `time` itself
            rss = sum(field_kb(f"/proc/{q}/status", "VmRSS:") for q in pids)
            pss = sum(field_kb(f"/proc/{q}/smaps_rollup", "Pss:") for q in pids)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.02)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
        maxrss = int(m.group(1)) if m else 0
    return p.returncode, maxrss, peak_rss, peak_pss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prepare", default="")
    ap.add_argument("--name", default="")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")
    cmd = " ".join(cmd)
    res = []
    for _ in range(a.runs):
        rc, maxrss, rss, pss = one_run(cmd, a.prepare)
        if rc != 0:
            print(f"peakmem: command failed (rc={rc}): {cmd}", file=sys.stderr)
            return rc
        res.append((maxrss, rss, pss))
    med = [int(statistics.median(r[i] for r in res)) for i in range(3)]
    print(f"{a.name or cmd}\t{med[0]}\t{med[1]}\t{med[2]}\t{a.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
