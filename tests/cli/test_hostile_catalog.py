"""A damaged or hostile catalog.db must not make vidx read, block on or delete
anything outside OUT (found by tests/fuzz/fuzz_catalog.c; docs/SECURITY.md,
"Fuzzing").

  verify_repair_stays_inside_out  rows whose key or location climb out of OUT
                                  ('..') are reported, never read, and --repair
                                  removes nothing outside OUT
  verify_fifo_location            a location that is a FIFO is reported, not
                                  opened (opening it blocked verify forever)
"""
import json
import os
import sqlite3
from pathlib import Path

import common
from common import check, run_vidx

CLIP = common.REPO / 'tests' / 'fuzz' / 'corpus' / 'media' / 'h264.mp4'


def _run_out(tag):
    base = common.new_out_dir(tag)
    out = base / 'out'
    base.mkdir(parents=True)
    r = run_vidx(['run', CLIP, '-o', out, '--count', 2, '--size', 16, '--progress', 'none', '--jobs', 1])
    check(r.rc == 0, 'vidx run: exit %s\n  %s' % (r.rc, r.describe()))
    return base, out


def _sql(out, *stmts):
    db = sqlite3.connect(str(out / 'catalog.db'))
    for s in stmts:
        db.execute(s)
    db.commit()
    db.close()


def _verify(out, *extra):
    r = run_vidx(['verify', out, '--json'] + list(extra), timeout=30)
    check(not r.timed_out, 'vidx verify hung\n  %s' % r.describe())
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, {}


def test_verify_repair_stays_inside_out():
    base, out = _run_out('hostile_catalog_repair')
    victim = base / 'victim'
    victim.mkdir()
    (victim / 'keep.txt').write_text('the user\'s file\n')
    _sql(out, "UPDATE videos SET key='../../victim'",
         "UPDATE frames SET location='../victim/keep.txt' WHERE seq=0",
         "UPDATE frames SET location='objects/../../victim/keep.txt' WHERE seq=1")
    r, rep = _verify(out)
    problems = sorted((e.get('location'), e.get('problem')) for e in rep.get('list', []))
    want = [('../victim/keep.txt', 'location outside the output'),
            ('objects/../../victim/keep.txt', 'location outside the output')]
    check(r.rc == 1 and problems == want,
          'verify: expected exit 1 and %s, got exit %s, %s' % (want, r.rc, problems))
    r, rep = _verify(out, '--repair')
    check((victim / 'keep.txt').is_file(),
          'verify --repair deleted a file outside OUT (%s)\n  %s' % (victim / 'keep.txt', r.describe()))
    check(rep.get('repaired') is True, 'verify --repair: expected repaired, got %s' % rep)


def test_verify_fifo_location():
    base, out = _run_out('hostile_catalog_fifo')
    os.mkfifo(out / 'frames' / 'pipe')
    _sql(out, "UPDATE frames SET location='frames/pipe' WHERE seq=0")
    r, rep = _verify(out)
    problems = [(e.get('location'), e.get('problem')) for e in rep.get('list', [])]
    check(r.rc == 1 and problems == [('frames/pipe', 'not a regular file')],
          'verify: expected exit 1 and a "not a regular file" problem, got exit %s, %s' % (r.rc, problems))
