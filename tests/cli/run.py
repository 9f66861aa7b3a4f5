#!/usr/bin/python3
"""Tiny test runner for the vidx CLI end-to-end tests (stdlib only).

    /usr/bin/python3 tests/cli/run.py [-j JOBS] [-k PATTERN]... [--timeout S] [--keep] [--list]

Collects tests from tests/cli/test_*.py: every function named test_* (called
with no arguments) plus the (name, callable) pairs returned by a module-level
tests() function. Each test runs in a worker thread with a timeout. Prints one
PASS/FAIL/SKIP line per test and ends with exactly
    N passed, N failed[, N skipped]
Exit status 1 if any test failed, else 0.

Environment: VIDX_BIN (binary), VIDX_CORPUS (clips), TMPDIR (caches).
"""
import argparse
import fnmatch
import importlib
import os
import sys
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402


def collect():
    tests = []
    for f in sorted(HERE.glob('test_*.py')):
        mod = importlib.import_module(f.stem)
        short = f.stem[len('test_'):]
        for name in sorted(dir(mod)):
            obj = getattr(mod, name)
            if name.startswith('test_') and callable(obj) and getattr(obj, '__module__', None) == mod.__name__:
                tests.append(('%s::%s' % (short, name[5:]), obj))
        gen = getattr(mod, 'tests', None)
        if callable(gen):
            for name, fn in gen():
                tests.append(('%s::%s' % (short, name), fn))
    return tests


class Outcome:
    def __init__(self, name):
        self.name = name
        self.status = None
        self.msg = ''
        self.elapsed = 0.0
        self.notes = []


def run_one(name, fn, out):
    t0 = time.time()
    common.set_notes_sink(out.notes)
    try:
        fn()
        out.status = 'PASS'
    except common.Skip as e:
        out.status = 'SKIP'
        out.msg = str(e)
    except common.TestFailure as e:
        out.status = 'FAIL'
        out.msg = str(e)
    except Exception:
        out.status = 'FAIL'
        out.msg = 'exception in test:\n' + traceback.format_exc()
    out.elapsed = time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-j', '--jobs', type=int, default=int(os.environ.get('VIDX_TEST_JOBS', '3')))
    ap.add_argument('-k', dest='patterns', action='append', default=[],
                    help='run only tests whose name contains PATTERN (or matches it as a glob)')
    ap.add_argument('--timeout', type=float, default=240.0, help='per-test timeout in seconds')
    ap.add_argument('--keep', action='store_true', help='keep the output directories')
    ap.add_argument('--list', action='store_true')
    a = ap.parse_args()

    tests = collect()
    if a.patterns:
        tests = [(n, f) for n, f in tests
                 if any(p in n or fnmatch.fnmatch(n, p) for p in a.patterns)]
    if a.list:
        for n, _ in tests:
            print(n)
        return 0

    print('# vidx binary: %s%s' % (common.vidx_bin(), '' if common.have_vidx() else ' (MISSING)'))
    print('# corpus: %s' % (common.corpus_dir() or 'NOT FOUND (corpus tests will be skipped)'))
    print('# %d tests, %d jobs, timeout %.0fs' % (len(tests), a.jobs, a.timeout), flush=True)

    # heavy tests first so the pool drains evenly
    def weight(n):
        return 0 if any(s in n for s in ('psd_testvideo', 'big_buck_bunny', 'colour', 'interrupt',
                                         'hdr10', 'long')) else 1
    queue = sorted(tests, key=lambda t: weight(t[0]))
    qlock = threading.Lock()
    plock = threading.Lock()
    results = []
    t_start = time.time()

    def report(o):
        with plock:
            results.append(o)
            line = '%s %s (%.1fs)' % (o.status, o.name, o.elapsed)
            if o.status == 'SKIP':
                line += ': ' + o.msg
            print(line, flush=True)
            for n in o.notes:
                print('    note: ' + n)
            if o.status == 'FAIL':
                for l in o.msg.rstrip().splitlines():
                    print('    ' + l)
                sys.stdout.flush()

    def worker():
        while True:
            with qlock:
                if not queue:
                    return
                name, fn = queue.pop(0)
            o = Outcome(name)
            th = threading.Thread(target=run_one, args=(name, fn, o), daemon=True)
            t0 = time.time()
            th.start()
            th.join(a.timeout)
            if th.is_alive():
                o.status = 'FAIL'
                o.msg = 'test timed out after %.0fs' % a.timeout
                o.elapsed = time.time() - t0
            report(o)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, a.jobs))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    npass = sum(1 for r in results if r.status == 'PASS')
    nfail = sum(1 for r in results if r.status == 'FAIL')
    nskip = sum(1 for r in results if r.status == 'SKIP')
    kept = common.cleanup_work_dir(keep=a.keep or False)
    if a.keep and kept:
        print('# outputs kept in %s' % kept)
    if nfail:
        print('# failed tests:')
        for r in sorted(results, key=lambda r: r.name):
            if r.status == 'FAIL':
                print('#   ' + r.name)
    print('# total time %.1fs' % (time.time() - t_start))
    summary = '%d passed, %d failed' % (npass, nfail)
    if nskip:
        summary += ', %d skipped' % nskip
    print(summary, flush=True)
    return 1 if nfail else 0


if __name__ == '__main__':
    code = main()
    sys.stdout.flush()
    os._exit(code)
