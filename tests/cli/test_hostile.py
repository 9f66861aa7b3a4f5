"""End-to-end: `vidx run` over a generated hostile library (issue 8, item 8).

bench/make_hostile.py writes a small library (COUNT entries; every hostile kind at least
once, the rest good clips in several codecs and containers) into a temporary folder, with
a file outside it (outside/canary.txt) that hostile playlists point at, and a manifest
of the expected outcome of every entry. One batch per layout (files, shards) runs over it
with run_args() (per-video caps short enough for CI), plus the separate invocations the
manifest asks for (the self-including @list). Then, one test case each:

  kind_<KIND>         every entry of that kind ends as its row of KINDS says: status,
                      error class, a reason matching the kind's pattern (a specific one,
                      not a generic one), distinct frames; good clips ok with 8 frames
  batch_completes     the batch never aborts: exit code 1 (docs/CLI.md: some videos not
                      ok), the summary's counts add up and agree with the catalog and the
                      end event, no catalog row for anything that is not an input (no
                      walk through symlinked folders), catalog <-> files consistency
  rerun_is_boring     the same command again: everything skipped as done before, the
                      catalog unchanged (timing columns aside)
  within_cap          no video past its cap: catalog seconds <= CAP + SLACK
  no_foreign_bytes    no byte of /etc/passwd or of the canary in any output file (frames,
                      shards, audio, manifests, catalog) nor on stdout/stderr
  inputs_unchanged    every input (files, links, FIFOs, the canary) hashes the same after

The expectations are ONE table: KINDS in bench/make_hostile.py (the generator copies
each row into the manifest; bench/run_hostile.sh checks the 1,000-entry library against
the same rows). A row with 'pending': BRANCH names the branch that delivers the
behaviour: that kind is left out of the generated library (so it cannot disturb the
other cases) and its case SKIPs with 'pending: BRANCH'. Delete the key once the branch
has landed. VIDX_HOSTILE_PENDING=check runs and checks the pending kinds too, and
VIDX_HOSTILE_PENDING=check:BRANCH[,BRANCH] those of the branches named (to see where a
branch stands; a symlink loop followed without end makes a batch time out).
"""
import os
import re
import sys
import threading
from pathlib import Path

import common
import test_run as tr
from common import Failures, Skip, fail, note

sys.path.insert(0, str(common.REPO / 'bench'))
import check_hostile as ch  # noqa: E402
import make_hostile as mh  # noqa: E402

COUNT = 80       # library entries (good + hostile)
CAP = 20         # per-video cap (s): --timeout-max (or --timeout where vidx has no --timeout-max)
STALL = 8        # --stall: a video without progress for this long ends as timeout
SLACK = 10       # a killed video's catalog seconds may pass CAP by this much (kill, reap, record)
LAYOUTS = ('files', 'shards')
RUN_TIMEOUT = 240  # seconds for one whole batch (a hang fails the test, it does not block it)
STATUSES = ch.STATUSES


def run_args():
    """Sampling + the caps: the stall watchdog and the capped default timeout when this vidx
    has them (so a file declaring 1e15 ms meets the default timeout), else a fixed --timeout."""
    caps = ['--timeout', CAP]
    if '--timeout-max' in common.run_vidx(['run', '--help']).stdout:
        caps = ['--timeout-max', CAP, '--stall', STALL]
    return ['--jobs', 2, '--audio', 'wav', '--progress', 'json'] + caps


def pending_kinds():
    """{kind: branch} of the pending rows, less those VIDX_HOSTILE_PENDING=check[:BRANCH,...]
    asks to check anyway (all of them without a branch list)."""
    want = os.environ.get('VIDX_HOSTILE_PENDING', '')
    check = set(want[6:].split(',')) if want.startswith('check:') else None
    return {k: row['pending'] for k, row in mh.KINDS.items()
            if row.get('pending') and want != 'check' and not (check and row['pending'] in check)}


# ---------------------------------------------------------------------------
# the library and the batches, made once and shared by every case

class Batch:
    pass


_lock = threading.Lock()
_batch = None


def batch():
    global _batch
    with _lock:
        if _batch is None:
            b = Batch()
            try:
                _make(b)
            except Exception as e:  # every case reports the same setup failure
                b.error = e
            _batch = b
        if getattr(_batch, 'error', None) is not None:
            raise _batch.error
        return _batch


def _make(b):
    common.require_vidx()
    root = Path(os.path.realpath(common.new_out_dir('hostile_lib')))
    omit = sorted(k for k in pending_kinds() if k in mh.MAKERS or k in mh.SPECIAL)
    r = common.run([sys.executable, common.REPO / 'bench' / 'make_hostile.py', root,
                    '--count', COUNT, '--omit', ','.join(omit)], timeout=180)
    if r.rc != 0:
        fail('make_hostile.py failed:\n  %s\n%s' % (r.describe(), r.stdout[-2000:]))
    args = run_args()
    b.before = ch.snapshot(root)
    b.runs = {}
    with ch.StallServer(ch.manifest_files(ch.load(root))) as srv:
        b.m = ch.load(root, srv.base_url)
        b.root = b.m['root']
        for layout in LAYOUTS:
            out = common.new_out_dir('hostile_out_' + layout)
            with ch.Writers(b.m):
                res = tr.vrun(['run'] + ch.input_args(b.m) + ['-o', out, '--layout', layout] + args,
                              timeout=RUN_TIMEOUT)
            b.runs[layout] = (out, res)
        out = b.runs['files'][0]
        b.first_dump = tr.catalog_dump(tr.read_catalog(out))
        with ch.Writers(b.m):  # the same command again: everything is done before
            b.rerun = tr.vrun(['run'] + ch.input_args(b.m) + ['-o', out, '--layout', 'files'] + args,
                              timeout=RUN_TIMEOUT)
    b.list_runs = {}
    for lr in b.m['list_runs']:
        out = common.new_out_dir('hostile_out_' + lr['kind'])
        largs = ['@%s/%s' % (b.root, a[1:]) if a.startswith('@') else str(b.root / a) for a in lr['args']]
        b.list_runs[lr['kind']] = (out, tr.vrun(['run'] + largs + ['-o', out] + args, timeout=120))
    b.after = ch.snapshot(b.root)
    # now, before the cases run: a case opening a catalog makes its -wal/-shm files come
    # and go, which a walk of OUT running alongside would trip over
    scan_outputs(b)
    G = Failures()
    tr.check_outputs(b.runs['files'][0], tr.read_catalog(b.runs['files'][0]), G)
    b.files_problems = G.msgs
    note('library: %d good + %d hostile entries (%s left out: pending); %s; batches: %s' % (
        b.m['good'], b.m['hostile'], ', '.join(omit) or 'nothing', ' '.join(map(str, args)),
        ', '.join('%s %.1fs rc=%s' % (k, res.elapsed, res.rc) for k, (_, res) in b.runs.items())))


def kind_case(kind):
    def case():
        if kind in pending_kinds():
            raise Skip('pending: %s (kind %s left out of the library)' % (mh.KINDS[kind]['pending'], kind))
        b = batch()
        if kind in b.list_runs:
            return check_list_run(b, kind)
        F = Failures('kind %s' % kind)
        mine = {p: e for p, e in b.m['main'].items() if e['kind'] == kind}
        if not mine:
            fail('the library has no entry of kind %s' % kind)
        for layout, (out, res) in b.runs.items():
            vids, frames = ch.read_catalog(out)
            for p, e in sorted(mine.items()):
                for x in ch.entry_problems(e, vids.get(p), frames.get(p, [])):
                    F.add('%s layout: %s -- %s' % (layout, ch.describe(b.root, p, e, vids.get(p)), x))
            if mh.KINDS[kind].get('one_per_group'):
                F.msgs += ['%s layout: %s' % (layout, x) for x in ch.group_problems(b.root, b.m['main'], vids)]
        note('%d entries of kind %s' % (len(mine), kind))
        F.raise_if_any(40)
    return case


def check_list_run(b, kind):
    """A list run either refuses the list (exit 2/3 naming it) or warns and goes on."""
    out, res = b.list_runs[kind]
    ex = mh.KINDS[kind]
    F = Failures('vidx run %s' % res.cmd[2])
    if res.timed_out or res.rc is None or res.rc < 0 or res.rc >= 10:
        F.add('the run did not end cleanly\n  %s' % res.describe())
    elif res.rc in (2, 3):
        if 'refused' not in ex['status']:
            F.add('refused (exit %s), expected %s\n  %s' % (res.rc, ex['status'], res.describe()))
    elif 'ok' not in ex['status']:
        F.add('exit %s, expected the list to be refused\n  %s' % (res.rc, res.describe()))
    else:
        vids, frames = ch.read_catalog(out)
        for p, e in b.m['by_path'].items():
            if e.get('run') == kind and e['kind'] == 'good':
                F.msgs += [ch.describe(b.root, p, e, vids.get(p)) + ' -- ' + x
                           for x in ch.entry_problems(e, vids.get(p), frames.get(p, []))]
    if not re.search(ex['error'], res.stderr, re.I):
        F.add('stderr does not say why (/%s/): %r' % (ex['error'], res.stderr[-600:]))
    F.raise_if_any()


# ---------------------------------------------------------------------------
# the batch as a whole

def test_batch_completes():
    b = batch()
    F = Failures('hostile batch')
    for layout, (out, res) in b.runs.items():
        tag = '%s layout: ' % layout
        if res.timed_out or res.rc != 1:
            F.add(tag + 'exit %s, expected 1 (some videos not ok)\n  %s' % (res.rc, res.describe()))
            continue
        cat = tr.read_catalog(out)
        vids = cat['videos']
        counts = {s: cat['counts'].get(s, 0) for s in STATUSES}
        m = ch.SUMMARY_RE.search(res.stderr)
        if not m:
            F.add(tag + 'no summary line on stderr: %r' % res.stderr[-500:])
        else:
            n = [int(x) for x in m.groups()]
            if n[0] != sum(n[1:6]) or dict(zip(STATUSES, n[1:6])) != counts or n[0] != len(vids):
                F.add(tag + 'summary %r does not add up to the catalog %s (%d rows)' % (
                    m.group(0), counts, len(vids)))
        try:
            end = tr.end_event(tr.parse_events(res))
            if any(end.get(s) != counts[s] for s in STATUSES):
                F.add(tag + 'end event %s, catalog %s' % (end, counts))
        except common.TestFailure as e:
            F.add(tag + str(e))
        tr.check_class_summary(res, cat, F)
        unexpected = sorted(set(vids) - set(b.m['main']))
        if unexpected:
            F.add(tag + '%d catalog rows for paths that are no input (walked through a link?): %s' % (
                len(unexpected), [ch.rel(b.root, p) for p in unexpected[:8]]))
        if layout == 'files':
            F.msgs += [tag + m for m in b.files_problems]
    F.raise_if_any(40)


def test_rerun_is_boring():
    """The same command again over the same OUT: every video skipped as done before (the
    failures too, without --retry), the catalog unchanged but for timing columns."""
    b = batch()
    out, _ = b.runs['files']
    res = b.rerun
    F = Failures('rerun of the hostile batch')
    cat = tr.read_catalog(out)
    m = ch.SUMMARY_RE.search(res.stderr)
    if res.timed_out or res.rc != 1 or not m:
        F.add('exit %s, expected 1 (earlier failures skipped) and a summary\n  %s' % (res.rc, res.describe()))
    elif int(m.group(7)) != len(cat['videos']) or int(m.group(1)) != len(cat['videos']):
        F.add('summary %r: expected all %d videos skipped as done before' % (m.group(0), len(cat['videos'])))
    F.msgs += tr.diff_dumps(b.first_dump, tr.catalog_dump(cat), 'first run', 'rerun')
    note('rerun: %s (%.1f s)' % (m.group(0) if m else '-', res.elapsed))
    F.raise_if_any()


def test_within_cap():
    b = batch()
    F = Failures('per-video cap %d s (+%d s slack)' % (CAP, SLACK))
    slowest = []
    runs = list(b.runs.items()) + list(b.list_runs.items())
    for layout, (out, res) in runs:
        if not (Path(out) / 'catalog.db').is_file():
            continue
        for p, v in tr.read_catalog(out)['videos'].items():
            slowest.append((v['seconds'] or 0, layout, p, v['status']))
            if v['seconds'] is None or v['seconds'] > CAP + SLACK:
                F.add('%s: %s took %s s (status %s)' % (layout, p, v['seconds'], v['status']))
    if slowest:
        s = max(slowest)
        note('slowest video: %.1f s (%s, %s, %s)' % (s[0], s[1], ch.rel(b.root, s[2]), s[3]))
    F.raise_if_any()


def scan_outputs(b):
    """Every output file and the runs' stdout/stderr, searched for the secrets' bytes."""
    b.needles = ch.secret_needles(b.m)
    b.leaks, b.scanned = [], 0
    for layout, (out, res) in list(b.runs.items()) + list(b.list_runs.items()):
        found, n = ch.leaks(b.needles, out, [('%s stdout' % layout, res.stdout.encode()),
                                             ('%s stderr' % layout, res.stderr.encode())])
        b.scanned += n
        b.leaks += found


def test_no_foreign_bytes():
    b = batch()
    F = Failures('content of a file outside the inputs in an output')
    for s in b.m['secrets']:  # the scan itself: each secret is found in its own bytes
        p = Path(s) if os.path.isabs(s) else b.root / s
        if p.is_file() and not ch.leaks(b.needles, b.root / 'no such dir', [(str(p), p.read_bytes())])[0]:
            fail('the scan does not find %s in its own content' % p)
    F.msgs += ['%s holds %r from %s' % f for f in b.leaks]
    note('%d needles from %d secret files, %.1f MB scanned' % (len(b.needles), len(b.m['secrets']), b.scanned / 1e6))
    F.raise_if_any()


def test_inputs_unchanged():
    b = batch()
    F = Failures('inputs changed by the runs')
    F.msgs += ch.snapshot_changes(b.before, b.after)
    note('%d input entries compared' % len(b.before))
    F.raise_if_any()


def tests():
    return [('kind_' + k, kind_case(k)) for k in mh.KINDS]
