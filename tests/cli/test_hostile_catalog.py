"""A damaged or hostile catalog.db must not make vidx read, block on or delete
anything outside OUT (found by tests/fuzz/fuzz_catalog.c; docs/SECURITY.md,
"Fuzzing").

  verify_repair_stays_inside_out  rows whose key or location climb out of OUT
                                  ('..') are reported, never read, and --repair
                                  removes nothing outside OUT
  verify_fifo_location            a location that is a FIFO is reported, not
                                  opened (opening it blocked verify forever)
  verify_repair_refused_keeps_files  a catalog that refuses to forget the
                                  damaged video: --repair fails (exit 10) and
                                  removes no file (it removed the video's
                                  folder before its unchecked DELETE/COMMIT)
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


def test_verify_repair_refused_keeps_files():
    base, out = _run_out('hostile_catalog_refused')
    db = sqlite3.connect(str(out / 'catalog.db'))
    key, loc = db.execute('SELECT v.key, f.location FROM frames f JOIN videos v ON v.id = f.video_id '
                          'WHERE f.seq = 0').fetchone()
    db.close()
    frame = out / loc
    frame.write_bytes(frame.read_bytes()[:-10])  # damaged: verify reports it, --repair forgets it
    before = sorted(p.name for p in (out / 'frames' / key).iterdir())
    _sql(out, "CREATE TRIGGER refuse BEFORE DELETE ON videos BEGIN SELECT RAISE(ABORT, 'refused'); END")
    r, rep = _verify(out, '--repair')
    folder = out / 'frames' / key
    after = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    check(after == before, 'verify --repair removed files although the catalog kept the video: '
          'before %s, after %s' % (before, after))
    db = sqlite3.connect(str(out / 'catalog.db'))
    n = db.execute('SELECT count(*) FROM videos WHERE key = ?', (key,)).fetchone()[0]
    db.close()
    check(n == 1, 'the refused video should still be in the catalog, found %d rows' % n)
    check(r.rc == 10, 'verify --repair on a catalog that refuses: expected exit 10, got %s\n  %s'
          % (r.rc, r.describe()))
    check('refused' in r.stderr and 'catalog.db' in r.stderr,
          'verify --repair: expected the catalog and its refusal named\n  %s' % r.describe())
