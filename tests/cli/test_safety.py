"""Ownership of output directories (issue 8, items 1, 2 and 9): vidx writes and deletes only
in directories that are its own, and there only what it made; one writer per OUT.

Collected by tests/cli/run.py. Run only these with:

    /usr/bin/python3 tests/cli/run.py -k safety::

Every hostile case hashes the user's tree before and after and asserts it is byte-identical,
besides the exit code and the message:
  gc_home_dir            `vidx gc H` on a home-like folder (.ssh/id_rsa, notes): refused, exit 12,
                         nothing removed, no catalog.db created.
  readers_not_vidx       verify / verify --repair / du / export / status on such a folder: exit 12,
                         no catalog.db (verify used to create one and report "0 problems").
  writers_not_vidx       run and frames -o into a non-empty folder that is not vidx's: exit 12;
                         frames -o into a run's OUT and run into a frames DIR: exit 12.
  out_overlaps_input     `run lib -o lib`, `run lib -o lib/out`, and an input inside OUT: refused.
  user_shard_files       a user's shards/000000.tar in a files-layout and in a shards-layout OUT:
                         run (start-up and end) and gc never touch it.
  gc_dry_run_and_names   gc --dry-run removes nothing and lists what gc then removes: exactly the
                         vidx-named orphans; a user's files in frames/, frames/<key>/, objects/
                         and at the top are left alone and listed.
  gc_symlinks            symbolic links anywhere in OUT (to a user's file and folder) are left
                         alone, reported, and their targets untouched.
  legacy_output          an output without the marker (made before it existed) is read as it is
                         (no marker written) and adopted by the next run; a marker of a newer
                         format is refused.
  one_writer             a second run on the same OUT exits 13 naming OUT and the first run's pid,
                         touching nothing; readers run alongside; gc is refused too; the first
                         run ends with nothing lost; --wait waits and then runs.
  scratch_dir            --scratch DIR: a user's DIR/vidx-scratch is never touched, two runs with
                         different OUT share DIR without deleting each other's scratch, and a
                         folder with the name vidx would use but without its marker is refused.
  claim_interrupted      OUT left with only the marker's scratch file (killed while marking) is
                         claimed by the next run; verify on a marked OUT with no catalog yet: 0
                         problems, nothing created.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import common
from common import Failures, check, fail

NOT_OURS = 12
LOCKED = 13
RUN_ARGS = ['--count', '2', '--progress', 'none']


def tree(root, skip_vidx_own=False):
    """{relative path: sha256 or 'link -> target' or 'dir'} of everything under root (without
    the lock file, which holds its last writer's pid, and the catalog's files with skip_vidx_own)."""
    root = Path(root)
    out = {}
    if not root.exists():
        return out
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if skip_vidx_own and (rel == '.vidx-lock' or rel.startswith('catalog.db')):
                continue
            if p.is_symlink():
                out[rel] = 'link -> ' + os.readlink(p)
            elif p.is_dir():
                out[rel] = 'dir'
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def clip():
    return common.corpus_clip('androidx_bbb_2500ms.ts')


def library(tag, n=2):
    """A folder of n copies of a corpus clip under distinct names."""
    d = common.new_out_dir(tag)
    d.mkdir(parents=True)
    for i in range(n):
        shutil.copyfile(clip(), d / ('clip%02d.ts' % i))
    return d


def home_like(tag):
    h = common.new_out_dir(tag)
    (h / '.ssh').mkdir(parents=True)
    (h / '.ssh' / 'id_rsa').write_text('k\n')
    (h / 'notes.txt').write_text('my notes\n')
    (h / 'photos').mkdir()
    (h / 'photos' / 'a.jpg').write_bytes(b'\xff\xd8' + os.urandom(100))
    return h


def vidx(args, **kw):
    return common.run_vidx(args, **kw)


def expect_refused(F, label, r, d, before, code=NOT_OURS, words=('not a vidx output',)):
    F.check(r.rc == code, '%s: exit %s, expected %s\n  %s' % (label, r.rc, code, r.describe()))
    for w in (str(d),) + tuple(words):
        F.check(w in r.stderr, '%s: the message does not say %r:\n  %s' % (label, w, r.stderr))
    after = tree(d)
    F.check(after == before, '%s: the folder changed: added %s, removed %s, changed %s' % (
        label, sorted(set(after) - set(before)), sorted(set(before) - set(after)),
        sorted(k for k in before if k in after and before[k] != after[k])))


def make_output(tag, args=(), n=2):
    lib = library(tag + '_lib', n)
    out = common.new_out_dir(tag)
    r = vidx(['run', lib, '-o', out] + RUN_ARGS + list(args))
    check(r.rc == 0, '%s: run: exit %s\n  %s' % (tag, r.rc, r.describe()))
    return lib, out


def same(p, data):
    return p.is_file() and p.read_bytes() == data


def catalog(out, sql):
    db = sqlite3.connect('file:%s?mode=ro' % (Path(out) / 'catalog.db'), uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# ---------------------------------------------------------------------------

def test_gc_home_dir():
    F = Failures('gc on a folder that is not vidx\'s')
    h = home_like('gc_home')
    before = tree(h)
    for args in (['gc', h], ['gc', h, '--dry-run'], ['gc', h, '--json']):
        expect_refused(F, ' '.join(map(str, args[:1] + args[2:])), vidx(args), h, before)
    F.check(not (h / 'catalog.db').exists(), 'gc created catalog.db')
    F.raise_if_any()


def test_readers_not_vidx():
    F = Failures('readers on a folder that is not vidx\'s')
    h = home_like('readers')
    before = tree(h)
    for args in (['verify'], ['verify', '--repair'], ['du'], ['export'], ['status'],
                 ['status', '--json'], ['export', '--table', 'frames']):
        r = vidx([args[0], h] + args[1:])
        expect_refused(F, ' '.join(args), r, h, before)
        F.check('0 problems' not in r.stdout, '%s reported "0 problems"' % args)
    # an empty folder is not an output either, and stays empty
    e = common.new_out_dir('readers_empty')
    e.mkdir()
    for cmd in ('verify', 'du', 'export', 'status', 'gc'):
        r = vidx([cmd, e])
        F.check(r.rc == NOT_OURS and list(e.iterdir()) == [],
                '%s on an empty folder: exit %s, it now holds %s' % (cmd, r.rc, list(e.iterdir())))
    F.raise_if_any()


def test_writers_not_vidx():
    F = Failures('writers into a folder that is not vidx\'s')
    lib = library('writers_lib', 1)
    h = home_like('writers')
    before = tree(h)
    expect_refused(F, 'run', vidx(['run', lib, '-o', h] + RUN_ARGS), h, before)
    expect_refused(F, 'run --layout shards',
                   vidx(['run', lib, '-o', h, '--layout', 'shards'] + RUN_ARGS), h, before)
    expect_refused(F, 'frames -o', vidx(['frames', clip(), '-o', h, '--count', '2']), h, before)
    # kinds do not mix: frames -o into a run's OUT, run into a frames DIR
    _, out = make_output('writers_run')
    b = tree(out)
    expect_refused(F, 'frames -o OUT', vidx(['frames', clip(), '-o', out, '--count', '2']), out, b,
                   words=('vidx run',))
    fr = common.new_out_dir('writers_frames')
    r = vidx(['frames', clip(), '-o', fr, '--count', '2'])
    F.check(r.rc == 0 and (fr / '.vidx-output').is_file(), 'frames -o new DIR: exit %s, marker %s' % (
        r.rc, (fr / '.vidx-output').exists()))
    r = vidx(['frames', clip(), '-o', fr, '--count', '3'])
    F.check(r.rc == 0, 'frames -o its own DIR again: exit %s\n  %s' % (r.rc, r.describe()))
    b = tree(fr)
    expect_refused(F, 'run into a frames DIR', vidx(['run', lib, '-o', fr] + RUN_ARGS), fr, b,
                   words=('vidx frames',))
    F.raise_if_any()


def test_out_overlaps_input():
    F = Failures('OUT and the inputs')
    lib = library('overlap_lib', 1)
    before = tree(lib)
    expect_refused(F, 'run lib -o lib', vidx(['run', lib, '-o', lib] + RUN_ARGS), lib, before,
                   code=2, words=('inside the input',))
    expect_refused(F, 'run lib -o lib/out', vidx(['run', lib, '-o', lib / 'out'] + RUN_ARGS), lib,
                   before, code=2, words=('inside the input',))
    expect_refused(F, 'run lib/./ -o lib/../lib/x',
                   vidx(['run', str(lib) + '/./', '-o', str(lib) + '/../' + lib.name + '/x'] + RUN_ARGS),
                   lib, before, code=2, words=('inside the input',))
    # an input file inside OUT (OUT a vidx output already)
    _, out = make_output('overlap_out', n=1)
    shutil.copyfile(clip(), out / 'frames' / 'in.ts')
    b = tree(out)
    expect_refused(F, 'input inside OUT', vidx(['run', out / 'frames' / 'in.ts', '-o', out] + RUN_ARGS),
                   out, b, code=2, words=('holds the input',))
    listing = common.new_out_dir('overlap_list.txt')
    listing.write_text(str(out / 'frames' / 'in.ts') + '\n')
    expect_refused(F, 'input inside OUT via @list', vidx(['run', '@%s' % listing, '-o', out] + RUN_ARGS),
                   out, b, code=2, words=('holds the input',))
    F.raise_if_any()


def test_user_shard_files():
    F = Failures('a user\'s shards/000000.tar')
    user = b'my own tar, not vidx\'s\n' * 100
    # files layout: run start-up (and a later run) must not touch OUT/shards at all
    lib, out = make_output('usershard_files', n=1)
    (out / 'shards').mkdir()
    (out / 'shards' / '000000.tar').write_bytes(user)
    shutil.copyfile(clip(), lib / 'more.ts')
    r = vidx(['run', lib, '-o', out] + RUN_ARGS)
    F.check(r.rc == 0, 'files: second run exit %s\n  %s' % (r.rc, r.describe()))
    r = vidx(['gc', out, '--json'])
    F.check(r.rc == 0 and 'shards/000000.tar' in r.stdout, 'files: gc exit %s, does not list the '
            'user\'s shard as left alone: %s' % (r.rc, r.stdout[:400]))
    F.check(same(out / 'shards' / '000000.tar', user), 'files: the user\'s shard changed')
    # shards layout: an OUT made by a run with no videos, then the user's file, then real runs
    empty = common.new_out_dir('usershard_empty_lib')
    empty.mkdir()
    out = common.new_out_dir('usershard_shards')
    r = vidx(['run', empty, '-o', out, '--layout', 'shards'] + RUN_ARGS)
    F.check(r.rc == 0, 'shards: first (empty) run exit %s\n  %s' % (r.rc, r.describe()))
    (out / 'shards').mkdir(exist_ok=True)
    (out / 'shards' / '000000.tar').write_bytes(user)
    lib = library('usershard_shards_lib', 2)
    for extra in ([], ['--dedup-exact']):
        r = vidx(['run', lib, '-o', out, '--layout', 'shards', '--retry'] + RUN_ARGS + extra)
        F.check(r.rc == 0, 'shards %s: run exit %s\n  %s' % (extra, r.rc, r.describe()))
        F.check(same(out / 'shards' / '000000.tar', user),
                'shards %s: the user\'s shard changed' % extra)
        names = [n for (n,) in catalog(out, 'SELECT name FROM shards')]
        F.check('shards/000000.tar' not in names and names, 'shards: the catalog records %s' % names)
        r = vidx(['verify', out])
        F.check(r.rc == 0, 'shards: verify exit %s: %s' % (r.rc, r.stdout))
        shutil.copyfile(clip(), lib / ('next%d.ts' % len(extra)))
    r = vidx(['gc', out])
    F.check(r.rc == 0 and same(out / 'shards' / '000000.tar', user),
            'shards: gc exit %s or changed the user\'s shard' % r.rc)
    F.raise_if_any()


def test_gc_dry_run_and_names():
    F = Failures('gc --dry-run and the names gc removes')
    _, out = make_output('gcnames')
    key = sorted(p.name for p in (out / 'frames').iterdir())[0]
    orphans = ['frames/%s/999999_99999ms.jpg' % key, 'frames/%s/.000001_40ms.jpg.tmp' % key,
               'frames/ghost.ts-0123456789abcdef/manifest.jsonl', '.scratch/x/000003_120ms.jpg']
    users = ['notes.txt', 'frames/README', 'frames/%s/my notes.txt' % key,
             'frames/ghost.ts-0123456789abcdef/keep.doc', 'frames/album/000001_40ms.jpg',
             'objects/zz/photo.jpg', '.git/config']
    for rel in orphans + users:
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(64))
    before = tree(out, True)
    r = vidx(['gc', out, '--dry-run', '--json'])
    F.check(r.rc == 0 and tree(out, True) == before, 'gc --dry-run: exit %s, changed the tree' % r.rc)
    rep = json.loads(r.stdout or '{}')
    F.check(sorted(rep.get('files', [])) == sorted(orphans) and rep.get('dry_run') is True,
            'gc --dry-run would remove %s, expected %s' % (rep.get('files'), sorted(orphans)))
    t = vidx(['gc', out, '--dry-run'])
    F.check(all(('would remove ' + o) in t.stdout for o in orphans), 'gc --dry-run text: %s' % t.stdout)
    r = vidx(['gc', out, '--json'])
    rep2 = json.loads(r.stdout or '{}')
    after = tree(out, True)
    F.check(sorted(rep2.get('files', [])) == sorted(orphans), 'gc removed %s, dry run said %s' % (
        rep2.get('files'), rep.get('files')))
    gone = sorted(k for k in set(before) - set(after) if before[k] != 'dir')
    F.check(gone == sorted(orphans), 'gc deleted %s, expected %s' % (gone, sorted(orphans)))
    for u in users:
        F.check(after.get(u) == before[u], 'gc touched the user\'s %s' % u)
    left = {e['path'] for e in rep2.get('left_alone', [])}
    for u in ('notes.txt', 'frames/README', 'frames/%s/my notes.txt' % key, '.git',
              'frames/ghost.ts-0123456789abcdef/keep.doc', 'frames/album', 'objects/zz'):
        F.check(u in left, 'gc does not report %s as left alone: %s' % (u, sorted(left)))
    r = vidx(['verify', out])
    F.check(r.rc == 0, 'verify after gc: exit %s %s' % (r.rc, r.stdout))
    F.raise_if_any()


def test_gc_symlinks():
    F = Failures('gc and symbolic links')
    _, out = make_output('gclinks')
    key = sorted(p.name for p in (out / 'frames').iterdir())[0]
    precious = common.new_out_dir('gclinks_precious')
    precious.mkdir()
    (precious / '000001_40ms.jpg').write_bytes(b'precious')
    (precious / 'manifest.jsonl').write_bytes(b'precious')
    ptree = tree(precious)
    links = {'frames/%s/000777_1ms.jpg' % key: precious / '000001_40ms.jpg',
             'frames/linked.ts-0123456789abcdef': precious,
             'objects': precious, 'shards': precious, 'shortcut': precious,
             '.scratch': precious}
    for rel, target in links.items():
        os.symlink(target, out / rel)
    before = tree(out, True)
    r = vidx(['gc', out, '--json'])
    rep = json.loads(r.stdout or '{}')
    F.check(r.rc == 0 and rep.get('removed') == 0, 'gc: exit %s, removed %s' % (r.rc, rep.get('files')))
    F.check(tree(out, True) == before, 'gc changed OUT')
    F.check(tree(precious) == ptree, 'gc changed a link\'s target')
    left = {e['path']: e['why'] for e in rep.get('left_alone', [])}
    for rel in links:
        F.check('symbolic link' in left.get(rel, ''), '%s not reported as a link left alone: %s' % (
            rel, left.get(rel)))
    F.raise_if_any()


def test_legacy_output():
    F = Failures('outputs made before the marker')
    lib, out = make_output('legacy')
    (out / '.vidx-output').unlink()
    (out / '.vidx-lock').unlink()
    for args in (['status'], ['export'], ['verify'], ['du']):
        r = vidx([args[0], out] + args[1:])
        F.check(r.rc == 0, '%s on a legacy output: exit %s\n  %s' % (args, r.rc, r.describe()))
    F.check(not (out / '.vidx-output').exists(), 'a reader wrote the marker')
    r = vidx(['run', lib, '-o', out] + RUN_ARGS)
    F.check(r.rc == 0 and (out / '.vidx-output').is_file(),
            'run on a legacy output: exit %s, marker %s\n  %s' % (r.rc, (out / '.vidx-output').exists(), r.describe()))
    m = json.loads((out / '.vidx-output').read_text())
    F.check(m.get('format') == 1 and m.get('kind') == 'run' and 'vidx' in m.get('created_by', ''),
            'marker %r' % m)
    # a marker from the future is refused by writers and readers alike
    (out / '.vidx-output').write_text('{"format": 99, "kind": "run", "created_by": "vidx 9"}\n')
    before = tree(out)
    for args in (['run', lib, '-o', out] + RUN_ARGS, ['gc', out], ['status', out], ['verify', out]):
        expect_refused(F, args[0] + ' (newer format)', vidx(args), out, before, words=('newer vidx',))
    F.raise_if_any()


def _wait_for_start(out, proc):
    """Until the first run holds OUT and has begun its work: its pid in the lock file and
    its scratch made (or, for a vidx without the lock, work in its scratch)."""
    lock, scratch = Path(out) / '.vidx-lock', Path(out) / '.scratch'
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if lock.is_file() and lock.read_text().strip() == str(proc.pid) and scratch.is_dir():
            return
        if not lock.exists() and scratch.is_dir() and any(scratch.iterdir()):
            return
        time.sleep(0.05)
    fail('the first run never started (exit %s)' % proc.poll())


def test_one_writer():
    F = Failures('one writer per OUT')
    lib = library('writer_lib', 3)
    shutil.copyfile(clip(), lib / 'slow.ts')
    out = common.new_out_dir('writer')
    env = dict(os.environ, VIDX_FAULT='hang=slow.ts')
    waiter = None
    first = subprocess.Popen([str(common.vidx_bin()), 'run', str(lib), '-o', str(out), '--jobs', '1',
                              '--timeout', '5'] + RUN_ARGS, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_start(out, first)
        scratch_before = (out / '.scratch').is_dir()
        other = library('writer_lib2', 1)
        r = vidx(['run', other, '-o', out] + RUN_ARGS)
        F.check(r.rc == LOCKED, 'second run: exit %s, expected %d\n  %s' % (r.rc, LOCKED, r.describe()))
        F.check(str(out) in r.stderr and ('pid %d' % first.pid) in r.stderr,
                'second run: the message does not name OUT and pid %d: %s' % (first.pid, r.stderr))
        r = vidx(['gc', out])
        F.check(r.rc == LOCKED, 'gc during a run: exit %s' % r.rc)
        r = vidx(['verify', out, '--repair'])
        F.check(r.rc == LOCKED, 'verify --repair during a run: exit %s' % r.rc)
        for args in (['status', out], ['export', out], ['du', out], ['verify', out]):
            r = vidx(args)
            F.check(r.rc in (0, 1), 'reader %s alongside a run: exit %s\n  %s' % (args[0], r.rc, r.describe()))
        F.check(scratch_before and (out / '.scratch').is_dir(), 'the first run\'s scratch is gone')
        waiter = subprocess.Popen([str(common.vidx_bin()), 'run', str(other), '-o', str(out), '--wait']
                                  + RUN_ARGS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        so, se = first.communicate(timeout=120)
        wo, we = waiter.communicate(timeout=120)
    finally:
        for p in (first, waiter):
            if p is not None and p.poll() is None:
                p.kill()
    F.check(first.returncode == 1, 'first run: exit %s (expected 1: slow.ts timed out)\n%s' % (
        first.returncode, se))
    rows = dict(catalog(out, 'SELECT path, status FROM videos'))
    want = {str(lib / ('clip%02d.ts' % i)): 'ok' for i in range(3)}
    want[str(lib / 'slow.ts')] = 'timeout'
    want[str(other / 'clip00.ts')] = 'ok'
    got = {os.path.realpath(k): v for k, v in rows.items()}
    F.check(got == {os.path.realpath(k): v for k, v in want.items()}, 'catalog %s, expected %s' % (rows, want))
    F.check(waiter.returncode == 0 and 'waiting' in we, '--wait run: exit %s\n%s' % (waiter.returncode, we))
    r = vidx(['verify', out])
    F.check(r.rc == 0, 'verify after both: exit %s %s' % (r.rc, r.stdout))
    F.raise_if_any()


def test_scratch_dir():
    F = Failures('--scratch DIR')
    lib = library('scratch_lib', 2)
    s = common.new_out_dir('scratch_dir')
    (s / 'vidx-scratch').mkdir(parents=True)
    (s / 'vidx-scratch' / 'mine.txt').write_text('the user\'s\n')
    (s / 'other.txt').write_text('also the user\'s\n')
    before = tree(s)
    outs = [common.new_out_dir('scratch_out%d' % i) for i in range(2)]
    procs = [subprocess.Popen([str(common.vidx_bin()), 'run', str(lib), '-o', str(o), '--scratch', str(s),
                               '--jobs', '1'] + RUN_ARGS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for o in outs]
    for p, o in zip(procs, outs):
        _, err = p.communicate(timeout=120)
        F.check(p.returncode == 0, 'run -o %s --scratch: exit %s\n%s' % (o, p.returncode, err))
        r = vidx(['verify', o])
        F.check(r.rc == 0, 'verify %s: exit %s' % (o, r.rc))
    F.check(tree(s) == before, '--scratch DIR changed: %s' % sorted(set(tree(s)) ^ set(before)))
    r = vidx(['run', lib, '-o', outs[0], '--scratch', s, '--retry'] + RUN_ARGS)
    F.check(r.rc == 0 and tree(s) == before, 'rerun: exit %s, DIR changed' % r.rc)
    # a folder with the very name vidx would use, but not marked as vidx's: refused, untouched
    h = 1469598103934665603
    for b in os.path.realpath(outs[1]).encode():
        h = ((h ^ b) * 1099511628211) & (2 ** 64 - 1)
    mine = s / ('vidx-scratch-%016x' % h)
    mine.mkdir()
    (mine / 'keep.txt').write_text('the user\'s\n')
    before = tree(s)
    r = vidx(['run', lib, '-o', outs[1], '--scratch', s, '--retry'] + RUN_ARGS)
    expect_refused(F, 'a look-alike scratch folder', r, s, before, words=(str(mine), 'not vidx\'s scratch'))
    F.raise_if_any()


def test_claim_interrupted():
    """A first run killed while marking OUT, or before its catalog: OUT is still usable."""
    F = Failures('interrupted claims')
    lib = library('birth_lib', 1)
    out = common.new_out_dir('birth_marker_tmp')
    out.mkdir()
    (out / '..vidx-output.tmp').write_text('{"form')  # killed while writing the marker
    r = vidx(['run', lib, '-o', out] + RUN_ARGS)
    F.check(r.rc == 0 and (out / '.vidx-output').is_file(), 'run: exit %s\n  %s' % (r.rc, r.describe()))
    out = common.new_out_dir('birth_no_catalog')
    out.mkdir()
    (out / '.vidx-output').write_text('{"format":1,"kind":"run","created_by":"vidx 0.1.0"}\n')
    r = vidx(['verify', out, '--json'])
    F.check(r.rc == 0 and json.loads(r.stdout or '{}').get('problems') == 0,
            'verify on a marked OUT without a catalog: exit %s %s' % (r.rc, r.stdout))
    F.check(not (out / 'catalog.db').exists(), 'verify created catalog.db')
    F.raise_if_any()
