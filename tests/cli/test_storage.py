"""End-to-end tests of vidx's storage layer: the files and WebDataset shard layouts,
crash safety (test-only fault points and real SIGKILL), dedup, the disk budget and
a full disk, verify / du / gc, and --scratch.

Collected by tests/cli/run.py like every tests/cli/test_*.py. Run only these with:

    /usr/bin/python3 tests/cli/run.py -k storage::

What is covered (each test makes its own output dirs; references are shared):
  fault_points_files/_shards  VIDX_FAULT=die=POINT:N (N = 1, 2, 4, 5, 9) kills the supervisor at
                              the Nth video's pass of a group commit point: store (staged, not
                              yet synced), sync (synced, not yet in the catalog), record (the
                              group's transaction committed); then verify is clean
                              and the same command completes to exactly what an uninterrupted
                              run makes (catalog rows, frame files / shard members, no scratch,
                              every shard a closed tar that the catalog's offsets read back).
                              Plus die=frame (a worker dies: the video is 'crashed', --retry redoes it).
  sigkill_shards_random       real SIGKILL of the supervisor at several times in a shards run
                              (once twice in a row), then resume: same checks.
  shards_10k                  >= 10,000 frames in shards of --shard-samples 2500: every catalog
                              row against tarfile's view (bytes, names, .jpg/.json pairs, JSON
                              content), no video spans two shards, shards close when full.
  shards_repeated_frames      --fps 50 on 25 fps clips: a frame delivered for two targets is one
                              sample; every member name occurs once across the shards.
  dedup_phash                 --dedup 2 on a moving-then-still clip: exactly the frames within
                              distance 2 of the last kept one are dropped (dup_of, no file).
  dedup_exact_files/_shards   --dedup-exact over two copies of a clip: one object per content.
  verify_repair               damaged/missing files are reported (checksum/size/missing),
                              --repair + re-run restores the reference; also with --dedup-exact.
  disk_budget_max_disk        --max-disk stops with exit 11 without crossing, resumable.
  enospc_files/_shards        OUT on a small tmpfs: exit 11, catalog and verify clean, then
                              a bigger filesystem completes it. --min-free on tmpfs.
  du_gc                       du by kind against a walk; gc removes exactly planted orphans
                              (and leaves a shard the catalog does not record alone).
  scratch_elsewhere           --scratch on another filesystem / dir, both layouts, and after a
                              crash: same output, nothing left in the scratch dir.
  layout_fixed                another --layout on the same OUT: usage error (exit 2), OUT untouched.

Needs root for the tmpfs tests (mount -t tmpfs; loop-mounted ext4 as a fallback; else SKIP).
Fixture clips come from FFmpeg lavfi sources, cached in $TMPDIR; the corpus is not used.
"""
import collections
import contextlib
import fcntl
import hashlib
import json
import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import common
from common import Failures, Skip, check, fail, note

RUN_TIMEOUT = 120
TIMING_COLUMNS = ('id', 'started_at', 'seconds', 'updated_at')
TAR_BLOCK = 512

# ---------------------------------------------------------------------------
# fixtures

_FF = ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'error', '-y']
_X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']
FIXTURE_STEPS = [
    # 10 distinct 1 s clips, 160x120 25 fps H.264 + AAC (one 10 s encode cut at keyframes)
    ('many', 10, _FF + ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=10',
                        '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=44100:duration=10']
     + _X264 + ['-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-c:a', 'aac',
                '-f', 'segment', '-segment_time', '1', '-reset_timestamps', '1', '{out}/c%02d.mp4']),
    # 2 s of a rotating test pattern, then the last frame held for 3 s; lossless, so the
    # held frames decode identically (perceptual hash distance 0, identical JPEGs)
    ('dedup.mp4', 0, _FF + ['-f', 'lavfi', '-i',
                            'testsrc2=size=160x120:rate=25:duration=2,rotate=a=t*2:c=black,'
                            'tpad=stop_mode=clone:stop_duration=3']
     + _X264 + ['-qp', '0', '{out}']),
    # the same bytes under another name (for --dedup-exact)
    ('dedup_copy.mp4', 0, ['copy', '{dir}/dedup.mp4', '{out}']),
    # 5 clips of 2 s at 1000 fps, 64x48: 10,000 tiny frames with --fps 1000
    ('dense', 5, _FF + ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=1000:duration=10']
     + _X264 + ['-g', '250', '-keyint_min', '250', '-sc_threshold', '0',
                '-f', 'segment', '-segment_time', '2', '-reset_timestamps', '1', '{out}/d%02d.mp4']),
]

_fx_lock = threading.Lock()
_fx_dir = [None]


def fixtures():
    """Directory with the FIXTURE_STEPS outputs (made once, cached in $TMPDIR)."""
    with _fx_lock:
        if _fx_dir[0] is not None:
            return _fx_dir[0]
        h = hashlib.sha256((json.dumps(FIXTURE_STEPS) + common._ffmpeg_version()).encode()).hexdigest()[:16]
        root = common.cache_root()
        final = root / ('storage-fixtures-' + h)
        with open(root / ('storage-fixtures-' + h + '.lock'), 'w') as lockf:
            fcntl.flock(lockf, fcntl.LOCK_EX)
            if not (final / '.complete').is_file():
                tmp = Path(tempfile.mkdtemp(prefix='storage-fixtures-tmp-', dir=root))
                try:
                    for name, nseg, cmd in FIXTURE_STEPS:
                        if nseg:
                            (tmp / name).mkdir()
                        cmd = [c.replace('{out}', str(tmp / name)).replace('{dir}', str(tmp)) for c in cmd]
                        if cmd[0] == 'copy':
                            shutil.copyfile(cmd[1], cmd[2])
                            continue
                        r = common.run(cmd, timeout=180)
                        if r.rc != 0:
                            fail('fixture %s: ffmpeg failed:\n  %s' % (name, r.describe()))
                        if nseg and len(list((tmp / name).iterdir())) != nseg:
                            fail('fixture %s/: expected %d segments, ffmpeg made %d' % (
                                name, nseg, len(list((tmp / name).iterdir()))))
                    (tmp / '.complete').write_text('ok\n')
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
                if final.exists():
                    shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
        _fx_dir[0] = final
        return final


# ---------------------------------------------------------------------------
# running vidx

def vrun(args, env_extra=None, timeout=RUN_TIMEOUT):
    """vidx ARGS in its own process group (killed on timeout); VIDX_FAULT only from env_extra."""
    common.require_vidx()
    env = dict(os.environ)
    env.pop('VIDX_FAULT', None)
    if env_extra:
        env.update(env_extra)
    return common.run([common.vidx_bin()] + [str(a) for a in args], timeout=timeout, env=env)


def killed(res):
    return res.rc in (-signal.SIGKILL, 128 + signal.SIGKILL)


def cmdline(args, env_extra=None):
    pre = ' '.join('%s=%s' % kv for kv in (env_extra or {}).items())
    return (pre + ' ' if pre else '') + ' '.join(common._q(a) for a in [common.vidx_bin()] + list(args))


def verify_json(out):
    r = vrun(['verify', out, '--json'])
    try:
        rep = json.loads(r.stdout)
    except ValueError:
        rep = None
    return r, rep


def check_verify_clean(out, F, label):
    r, rep = verify_json(out)
    if rep is None:
        F.add('%s: vidx verify --json printed no JSON\n  %s' % (label, r.describe()))
    elif r.rc != 0 or rep.get('problems') != 0:
        F.add('%s: vidx verify: expected exit 0 and 0 problems, got exit %s, %s problem(s): %s' % (
            label, r.rc, rep.get('problems'), json.dumps(rep.get('list'))[:800]))


# ---------------------------------------------------------------------------
# reading an output directory

def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read_db(out):
    db = Path(out) / 'catalog.db'
    if not db.is_file():
        fail('no catalog at %s (there: %s)' % (db, sorted(os.listdir(out)) if Path(out).is_dir() else 'nothing'))
    con = sqlite3.connect(str(db), timeout=10)
    con.row_factory = sqlite3.Row
    if not con.execute("SELECT 1 FROM sqlite_master WHERE name='videos'").fetchone():
        # killed before the schema was created: an empty catalog, nothing recorded
        integrity = con.execute('PRAGMA integrity_check').fetchone()[0]
        con.close()
        return {'videos': {}, 'frames': {}, 'audio': {}, 'shards': {}, 'blobs': {}, 'meta': {},
                'integrity': integrity}
    try:
        videos = {r['path']: dict(r) for r in con.execute('SELECT * FROM videos')}
        byid = {v['id']: p for p, v in videos.items()}
        frames = {p: [] for p in videos}
        for r in con.execute('SELECT * FROM frames ORDER BY video_id, seq'):
            d = dict(r)
            frames.setdefault(byid.get(d['video_id'], '<no video %s>' % d['video_id']), []).append(d)
        audio = {byid.get(r['video_id'], '<no video %s>' % r['video_id']): dict(r)
                 for r in con.execute('SELECT * FROM audio')}
        shards = {r['name']: dict(r) for r in con.execute('SELECT * FROM shards')}
        blobs = {r['checksum']: dict(r) for r in con.execute('SELECT * FROM blobs')}
        meta = {r['key']: r['value'] for r in con.execute('SELECT * FROM meta')}
        integrity = con.execute('PRAGMA integrity_check').fetchone()[0]
    finally:
        con.close()
    return {'videos': videos, 'frames': frames, 'audio': audio, 'shards': shards, 'blobs': blobs,
            'meta': meta, 'integrity': integrity}


def catalog_dump(cat, placement=True):
    """Catalog content by video path, minus ids and timing; placement=False also drops
    frames.location/offset (where a shard run puts a video depends on completion order)."""
    drop_f = {'video_id'} | (set() if placement else {'location', 'offset'})
    return {
        'videos': {p: {k: v for k, v in r.items() if k not in TIMING_COLUMNS} for p, r in cat['videos'].items()},
        'frames': {p: [{k: v for k, v in r.items() if k not in drop_f} for r in rows]
                   for p, rows in cat['frames'].items()},
        'audio': {p: {k: v for k, v in r.items() if k != 'video_id'} for p, r in cat['audio'].items()},
    }


def diff_dumps(a, b, la, lb, limit=12):
    msgs = []
    for table in ('videos', 'frames', 'audio'):
        ta, tb = a[table], b[table]
        for p in sorted(set(ta) | set(tb)):
            if p not in ta or p not in tb:
                msgs.append('%s row(s) of %s only in %s' % (table, p, la if p in ta else lb))
            elif ta[p] != tb[p]:
                x, y = ta[p], tb[p]
                if isinstance(x, dict):
                    det = ', '.join('%s: %r vs %r' % (k, str(x.get(k))[:100], str(y.get(k))[:100])
                                    for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k))
                else:
                    det = '%d vs %d rows' % (len(x), len(y))
                    for i, (r1, r2) in enumerate(zip(x, y)):
                        if r1 != r2:
                            det += '; first difference at seq %d: %s' % (i, ', '.join(
                                '%s %r vs %r' % (k, r1.get(k), r2.get(k))
                                for k in sorted(set(r1) | set(r2)) if r1.get(k) != r2.get(k)))
                            break
                msgs.append('%s of %s differ (%s vs %s): %s' % (table, p, la, lb, det))
    return msgs[:limit] + (['... and %d more differences' % (len(msgs) - limit)] if len(msgs) > limit else [])


def tree_files(root, sub=''):
    """{path relative to root: sha256} of the files under root/sub."""
    root = Path(root)
    base = root / sub if sub else root
    out = {}
    if base.is_dir():
        for p in base.rglob('*'):
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(root))] = sha256(p.read_bytes())
    return out


def read_shards(out, F=None):
    """{'shards/NNNNNN.tar': [(member name, data offset, size)]} as Python's tarfile sees them."""
    res = {}
    d = Path(out) / 'shards'
    if not d.is_dir():
        return res
    for p in sorted(d.iterdir()):
        rel = 'shards/' + p.name
        try:
            with tarfile.open(str(p), 'r:') as t:
                members = [(m.name, m.offset_data, m.size) for m in t if m.isfile()]
            size = p.stat().st_size
            for name, off, n in members:
                if off + n > size:
                    raise tarfile.ReadError('member %s runs past the end of the file' % name)
        except (tarfile.TarError, OSError) as e:
            if F is None:
                fail('%s is not a readable tar: %s' % (rel, e))
            F.add('%s is not a readable tar (%s), size %d' % (rel, e, p.stat().st_size))
            continue
        res[rel] = members
    return res


def shard_multiset(out, F=None):
    """Counter of (member name, sha256 of its data) over every shard file."""
    c = collections.Counter()
    for rel, members in read_shards(out, F).items():
        with open(Path(out) / rel, 'rb') as f:
            for name, off, n in members:
                f.seek(off)
                c[(name, sha256(f.read(n)))] += 1
    return c


def ms_of(t):
    return int(math.floor(t * 1000.0 + 0.5))


def frame_file_name(row, ext='jpg'):
    return '%06d_%dms.%s' % (row['idx'], ms_of(row['time']), ext)


def check_out(out, F, label, layout, blobs=False, ext='jpg'):
    """Invariants of an output dir at rest: catalog <-> bytes on disk, no scratch, no strays,
    closed shards, and vidx verify clean."""
    out = Path(out)
    cat = read_db(out)
    if cat['integrity'] != 'ok':
        F.add('%s: catalog integrity_check: %r' % (label, cat['integrity']))
    if cat['meta'].get('layout') != layout:
        F.add('%s: meta.layout is %r, expected %r' % (label, cat['meta'].get('layout'), layout))
    # no scratch anywhere under OUT
    if (out / '.scratch').exists():
        left = [str(p.relative_to(out)) for p in (out / '.scratch').rglob('*')]
        F.add('%s: OUT/.scratch still exists after the run (%d entries: %s)' % (label, len(left), left[:5]))
    tmps = [str(p.relative_to(out)) for p in out.rglob('*') if p.name.endswith('.tmp')
            and not str(p.relative_to(out)).startswith('.scratch')]
    if tmps:
        F.add('%s: scratch files left: %s' % (label, tmps[:8]))
    shards = read_shards(out, F) if layout == 'shards' else {}
    by_off = {rel: {off: (name, n) for name, off, n in ms} for rel, ms in shards.items()}
    names = collections.Counter(name for ms in shards.values() for name, _, _ in ms)
    twice = sorted(name for name, k in names.items() if k > 1)
    if twice:
        F.add('%s: %d tar member names occur more than once across the shards: %s' % (
            label, len(twice), twice[:4]))
    owned = set()   # files under OUT a catalog row accounts for
    n_stored = collections.Counter()  # shard -> distinct (offset) samples referenced
    seen_samples = set()
    for path, v in cat['videos'].items():
        rows = cat['frames'].get(path, [])
        if v['status'] in ('ok', 'partial') and v['frames'] != len(rows):
            F.add('%s: %s: videos.frames=%s but %d frame rows' % (label, path, v['frames'], len(rows)))
        if v['status'] in ('ok', 'partial'):
            owned.add('frames/%s/manifest.jsonl' % v['key'])
            if not (out / 'frames' / v['key'] / 'manifest.jsonl').is_file():
                F.add('%s: %s (%s) has no frames/%s/manifest.jsonl' % (label, path, v['status'], v['key']))
        elif rows:
            F.add('%s: %s is %s but has %d frame rows' % (label, path, v['status'], len(rows)))
        for r in rows:
            loc = r['location']
            if loc is None:
                if r['dup_of'] is None:
                    F.add('%s: %s seq %d has no location and no dup_of' % (label, path, r['seq']))
                continue
            f = out / loc
            try:
                with open(f, 'rb') as fh:
                    if r['offset'] is None:
                        data = fh.read()
                    else:
                        fh.seek(r['offset'])
                        data = fh.read(r['bytes'])
            except OSError as e:
                F.add('%s: %s seq %d: cannot read %s: %s' % (label, path, r['seq'], loc, e))
                continue
            if len(data) != r['bytes'] or sha256(data) != r['checksum']:
                F.add('%s: %s seq %d: %s @%s reads %d bytes sha256 %s, catalog says %d bytes %s' % (
                    label, path, r['seq'], loc, r['offset'], len(data), sha256(data)[:12], r['bytes'],
                    (r['checksum'] or 'NULL')[:12]))
            owned.add(loc)
            want = frame_file_name(r, ext)
            if layout == 'files':
                exp = ('objects/%s/%s.%s' % (r['checksum'][:2], r['checksum'], ext) if blobs and r['checksum']
                       else 'frames/%s/%s' % (v['key'], want))
                if loc != exp:
                    F.add('%s: %s seq %d: location %r, expected %r' % (label, path, r['seq'], loc, exp))
                if r['offset'] is not None:
                    F.add('%s: %s seq %d: files layout row has offset %r' % (label, path, r['seq'], r['offset']))
            else:
                if r['offset'] is None:
                    F.add('%s: %s seq %d: shard row without offset' % (label, path, r['seq']))
                    continue
                if loc not in cat['shards']:
                    F.add('%s: %s seq %d: %s is not in the shards table' % (label, path, r['seq'], loc))
                m = by_off.get(loc, {}).get(r['offset'])
                if loc in by_off and m is None:
                    F.add('%s: %s seq %d: no tar member has its data at %s offset %d' % (
                        label, path, r['seq'], loc, r['offset']))
                elif m is not None and not blobs:
                    exp = '%s/%s' % (v['key'].replace('.', '_'), want)
                    if m[0] != exp or m[1] != r['bytes']:
                        F.add('%s: %s seq %d: member at %s@%d is %r (%d bytes), expected %r (%d bytes)' % (
                            label, path, r['seq'], loc, r['offset'], m[0], m[1], exp, r['bytes']))
                if (loc, r['offset']) not in seen_samples:
                    seen_samples.add((loc, r['offset']))
                    n_stored[loc] += 1
        a = cat['audio'].get(path)
        if a:
            owned.add(a['path'])
            f = out / a['path']
            if not f.is_file() or f.stat().st_size != a['bytes']:
                F.add('%s: %s audio %s missing or not %s bytes' % (label, path, a['path'], a['bytes']))
    # every file is accounted for
    for p in sorted(out.rglob('*')):
        if p.is_dir():
            continue
        rel = str(p.relative_to(out))
        if rel.startswith('catalog.db') or rel in owned or rel in ('.vidx-output', '.vidx-lock'):
            continue  # the catalog, the ownership marker, the one-writer lock
        if rel.startswith('shards/') and rel in cat['shards']:
            continue
        F.add('%s: %s is on disk but no catalog row accounts for it' % (label, rel))
    if layout == 'shards':
        for rel, sh in sorted(cat['shards'].items()):
            p = out / rel
            if not p.is_file():
                F.add('%s: shards table names %s, which does not exist' % (label, rel))
                continue
            data_end = p.stat().st_size
            with open(p, 'rb') as fh:
                fh.seek(sh['size'])
                tail = fh.read()
            if data_end != sh['size'] + 2 * TAR_BLOCK or tail.strip(b'\0'):
                F.add('%s: %s is not closed at its committed size: file %d bytes, committed %d '
                      '(expected committed + 1024 zero bytes)' % (label, rel, data_end, sh['size']))
            members = shards.get(rel)
            if members is not None:
                jpgs = sum(1 for m in members if not m[0].endswith('.json'))
                if sh['samples'] != jpgs:
                    F.add('%s: shards table says %s has %d samples, tar has %d image members' % (
                        label, rel, sh['samples'], jpgs))
                if not blobs and n_stored[rel] != jpgs:
                    F.add('%s: %s holds %d image members but the catalog references %d' % (
                        label, rel, jpgs, n_stored[rel]))
    check_verify_clean(out, F, label)
    return cat


# ---------------------------------------------------------------------------
# shared reference runs (uninterrupted), memoised by (inputs, args)

_refs = {}
_refs_lock = threading.Lock()


def reference(inputs, args):
    key = (tuple(str(i) for i in inputs), tuple(str(a) for a in args))
    with _refs_lock:
        ent = _refs.get(key)
        if ent is None:
            ent = _refs[key] = {'lock': threading.Lock(), 'val': None}
    with ent['lock']:
        if ent['val'] is None:
            out = common.new_out_dir('storage_reference')
            r = vrun(['run'] + list(inputs) + ['-o', out] + list(args))
            check(r.rc == 0, 'uninterrupted reference run: exit %s, expected 0\n  %s' % (r.rc, r.describe()))
            F = Failures('reference run %s' % cmdline(['run'] + list(inputs) + ['-o', out] + list(args)))
            layout = 'shards' if 'shards' in [str(a) for a in args] else 'files'
            cat = check_out(out, F, 'reference', layout, blobs='--dedup-exact' in args, ext=ext_of(args))
            F.raise_if_any()
            ent['val'] = {'out': out, 'cat': cat, 'elapsed': r.elapsed, 'frames': tree_files(out, 'frames'),
                          'objects': tree_files(out, 'objects'),
                          'members': shard_multiset(out) if layout == 'shards' else None}
        return ent['val']


def ext_of(args):
    args = [str(a) for a in args]
    return args[args.index('--format') + 1] if '--format' in args else 'jpg'


def compare_to_ref(out, ref, F, label, layout):
    cat = read_db(out)
    F.msgs += ['%s: %s' % (label, m) for m in
               diff_dumps(catalog_dump(ref['cat'], layout == 'files'), catalog_dump(cat, layout == 'files'),
                          'reference', label)]
    for what, got in (('frames', tree_files(out, 'frames')), ('objects', tree_files(out, 'objects'))):
        exp = ref[what]
        for k in sorted(set(exp) | set(got)):
            if k not in got:
                F.add('%s: %s missing (the reference run has it)' % (label, k))
            elif k not in exp:
                F.add('%s: extra file %s (not in the reference run)' % (label, k))
            elif exp[k] != got[k]:
                F.add('%s: %s differs from the reference run' % (label, k))
    if layout == 'shards':
        got = shard_multiset(out, F)
        exp = ref['members']
        if got != exp:
            extra, missing = got - exp, exp - got
            F.add('%s: shard members (name, sha256) differ from the reference run: %d extra %s, %d missing %s' % (
                label, sum(extra.values()), sorted(extra.items())[:3], sum(missing.values()),
                sorted(missing.items())[:3]))
    return cat


# ---------------------------------------------------------------------------
# 1. fault points

BATCH_ARGS = ['--count', 4, '--audio', 'wav', '--jobs', 2, '--progress', 'none']
SHARD_ARGS = ['--layout', 'shards', '--shard-samples', 12]


def _resume_matches(full, out, ref, G, label, layout):
    """Runs the same command again: it must finish, and OUT must equal the reference run."""
    r = vrun(full)
    if r.rc != 0:
        G.add('%s: resume: exit %s, expected 0\n  %s' % (label, r.rc, r.describe()))
    check_out(out, G, label + ' (resumed)', layout)
    compare_to_ref(out, ref, G, label + ' (resumed)', layout)


def _fault_points(layout):
    many = fixtures() / 'many'
    args = BATCH_ARGS + (SHARD_ARGS if layout == 'shards' else [])
    ref = reference([many], args)
    F = Failures('fault injection, %s layout' % layout)
    for point in ('store', 'sync', 'record'):
        # with --shard-samples 12 (3 videos a shard) the 4th store opens a new shard mid-run
        for n in (1, 2, 4, 5, 9):
            out = common.new_out_dir('fault_%s_%s_%d' % (layout, point, n))
            env = {'VIDX_FAULT': 'die=%s:%d' % (point, n)}
            label = 'die=%s:%d' % (point, n)
            full = ['run', many, '-o', out] + args
            r = vrun(full, env)
            if not killed(r):
                F.add('%s: expected the run to be SIGKILLed, got exit %s\n  %s' % (label, r.rc, r.describe()))
            G = Failures()
            _check_mid(out, G, label + ' (after the kill)', layout)
            _resume_matches(full, out, ref, G, label, layout)
            if G.msgs:
                F.add('repro: %s ; %s ; %s\n    ' % (cmdline(full, env), cmdline(['verify', out]), cmdline(full))
                      + '\n    '.join(G.msgs[:10]) + ('\n    ...' if len(G.msgs) > 10 else ''))
    # a worker dies after its 6th frame (each worker: the 2nd video it takes): those videos
    # are recorded crashed with nothing stored; --retry redoes exactly them
    out = common.new_out_dir('fault_%s_frame' % layout)
    full = ['run', many, '-o', out] + args
    env = {'VIDX_FAULT': 'die=frame:6'}
    r = vrun(full, env)
    G = Failures()
    cat = read_db(out)
    st = collections.Counter(v['status'] for v in cat['videos'].values())
    if r.rc != 1 or not st.get('crashed') or len(cat['videos']) != 10:
        G.add('die=frame:6: expected exit 1 with some videos crashed (10 recorded), got exit %s, statuses %s\n  %s'
              % (r.rc, dict(st), r.describe()))
    check_out(out, G, 'die=frame:6', layout)
    r2 = vrun(full + ['--retry'])
    if r2.rc != 0:
        G.add('die=frame:6 then --retry: exit %s, expected 0\n  %s' % (r2.rc, r2.describe()))
    check_out(out, G, 'die=frame:6 + --retry', layout)
    cat2 = read_db(out)
    for p, v in cat2['videos'].items():  # retried videos count 2 attempts: compare the rest
        if cat['videos'].get(p, {}).get('status') == 'crashed':
            v['attempts'] = ref['cat']['videos'].get(p, {}).get('attempts')
    G.msgs += ['die=frame:6 + --retry: ' + m for m in
               diff_dumps(catalog_dump(ref['cat'], layout == 'files'), catalog_dump(cat2, layout == 'files'),
                          'reference', 'retried')]
    if G.msgs:
        F.add('repro: %s ; %s\n    ' % (cmdline(full, env), cmdline(full + ['--retry'])) + '\n    '.join(G.msgs[:10]))
    F.raise_if_any(40)


def _check_mid(out, F, label, layout):
    """After a crash: the catalog is intact, what it records is complete, verify is clean."""
    if not (Path(out) / 'catalog.db').is_file():
        return   # killed before the catalog was created: nothing recorded yet
    cat = read_db(out)
    if cat['integrity'] != 'ok':
        F.add('%s: catalog integrity_check: %r' % (label, cat['integrity']))
    for path, rows in cat['frames'].items():
        for r in rows:
            if r['location'] is None:
                continue
            try:
                with open(Path(out) / r['location'], 'rb') as fh:
                    if r['offset'] is not None:
                        fh.seek(r['offset'])
                    data = fh.read(r['bytes'] if r['offset'] is not None else -1)
            except OSError as e:
                F.add('%s: recorded %s seq %d: %s' % (label, path, r['seq'], e))
                break
            if sha256(data) != r['checksum']:
                F.add('%s: recorded %s seq %d: bytes at %s@%s do not match the checksum' % (
                    label, path, r['seq'], r['location'], r['offset']))
                break
    check_verify_clean(out, F, label)


def test_fault_points_files():
    _fault_points('files')


def test_fault_points_shards():
    _fault_points('shards')


# ---------------------------------------------------------------------------
# 2. real SIGKILL of the supervisor during a shards run

KILL_ARGS = ['--fps', 8, '--audio', 'wav', '--jobs', 2, '--progress', 'none', '--layout', 'shards',
             '--shard-samples', 20]


def _start_and_kill(cmd, delay):
    """Starts cmd, SIGKILLs the supervisor after delay s; returns (was it still running, rc)."""
    common.require_vidx()
    env = dict(os.environ)
    env.pop('VIDX_FAULT', None)
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    try:
        time.sleep(delay)
        running = p.poll() is None
        if running:
            os.kill(p.pid, signal.SIGKILL)
        rc = p.wait(timeout=60)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)   # workers, should any survive the supervisor
        except (ProcessLookupError, PermissionError):
            pass
    t0 = time.time()
    while time.time() - t0 < 5:  # wait for the group to be gone (no writer left in OUT)
        try:
            os.killpg(p.pid, 0)
        except (ProcessLookupError, PermissionError):
            break
        time.sleep(0.05)
    return running, rc


def test_sigkill_shards_random():
    many = fixtures() / 'many'
    ref = reference([many], KILL_ARGS)
    seed = int(os.environ.get('VIDX_TEST_SEED') or time.time())
    rnd = random.Random(seed)
    base = max(ref['elapsed'], 0.5)
    plans = [[f * base * rnd.uniform(0.8, 1.2)] for f in (0.1, 0.3, 0.5, 0.75)]
    plans.append([0.5 * base, 0.25 * base])   # kill, then kill the resume too
    note('seed %d (VIDX_TEST_SEED), reference run %.2fs, kill plans %s' % (
        seed, ref['elapsed'], [[round(x, 2) for x in p] for p in plans]))
    F = Failures('SIGKILL during a shards run')
    landed = 0
    for i, plan in enumerate(plans):
        out = common.new_out_dir('sigkill_%d' % i)
        full = ['run', many, '-o', out] + KILL_ARGS
        G = Failures()
        label = 'kill after %s s' % '+'.join('%.2f' % d for d in plan)
        for d in plan:
            running, rc = _start_and_kill([common.vidx_bin()] + full, d)
            landed += running
            _check_mid(out, G, label + ' (after the kill)', 'shards')
        r2 = vrun(full)
        if r2.rc != 0:
            G.add('%s: resume: exit %s, expected 0\n  %s' % (label, r2.rc, r2.describe()))
        check_out(out, G, label + ' (resumed)', 'shards')
        compare_to_ref(out, ref, G, label + ' (resumed)', 'shards')
        if G.msgs:
            F.add('repro: %s, killed after %s s, then the same command\n    ' % (cmdline(full), plan)
                  + '\n    '.join(G.msgs[:10]))
    F.raise_if_any(40)
    if not landed:
        raise Skip('every run had finished before its kill: nothing was interrupted')
    note('%d kills landed mid-run' % landed)


# ---------------------------------------------------------------------------
# tmpfs / loop filesystems

_mnt_lock = threading.Lock()


class SmallFs:
    """A small filesystem mounted at path: tmpfs, else a loop-mounted ext4 image."""

    def __init__(self, path, size_k):
        self.path, self.size_k, self.kind, self.image = Path(path), size_k, None, None

    def __enter__(self):
        self.path.mkdir(parents=True, exist_ok=True)
        errs = []
        r = common.run(['mount', '-t', 'tmpfs', '-o', 'size=%dk' % self.size_k, 'tmpfs', self.path], timeout=30)
        if r.rc == 0:
            self.kind = 'tmpfs'
            return self
        errs.append('mount -t tmpfs: %s' % r.stderr.strip())
        self.image = self.path.parent / (self.path.name + '.img')
        with open(self.image, 'wb') as f:
            f.truncate(max(self.size_k, 1024) * 1024)
        r = common.run(['mkfs.ext4', '-q', '-F', '-m', '0', self.image], timeout=60)
        if r.rc == 0:
            with _mnt_lock:  # losetup races between threads
                r = common.run(['mount', '-o', 'loop', self.image, self.path], timeout=60)
            if r.rc == 0:
                self.kind = 'ext4'
                return self
        errs.append('loop ext4: %s' % r.stderr.strip())
        self.image.unlink()
        raise Skip('cannot mount a small filesystem: ' + '; '.join(errs))

    def grow(self, size_k):
        """Makes room: tmpfs is remounted bigger; returns the directory holding the data."""
        if self.kind == 'tmpfs':
            r = common.run(['mount', '-o', 'remount,size=%dk' % size_k, self.path], timeout=30)
            check(r.rc == 0, 'remount of the tmpfs failed: %s' % r.describe())
            return self.path
        return None

    def __exit__(self, *exc):
        for _ in range(20):
            r = common.run(['umount', self.path], timeout=30)
            if r.rc == 0:
                break
            time.sleep(0.25)
        else:
            common.run(['umount', '-l', self.path], timeout=30)
        if self.image and self.image.exists():
            self.image.unlink()


def free_bytes(path):
    st = os.statvfs(str(path))
    return st.f_bavail * st.f_frsize


# ---------------------------------------------------------------------------
# 3. 10,000 frames in shards

def test_shards_10k():
    dense = fixtures() / 'dense'
    out = common.new_out_dir('shards_10k')
    args = ['--fps', 1000, '--layout', 'shards', '--shard-samples', 2500, '--jobs', 2, '--progress', 'none']
    F = Failures('10k frames in shards')
    # the workers fsync every frame: scratch on a tmpfs keeps this fast (the store path is the same)
    mnt = common.new_out_dir('shards_10k_scratch')
    try:
        fs = SmallFs(mnt, 256 * 1024).__enter__()
    except Skip:
        fs = None
    try:
        scratch = ['--scratch', mnt] if fs else []
        r = vrun(['run', dense, '-o', out] + args + scratch, timeout=200)
        if r.rc != 0:
            fail('exit %s, expected 0\n  %s' % (r.rc, r.describe()))
    finally:
        if fs:
            fs.__exit__(None, None, None)
    note('%d frames in %.1fs%s' % (10000, r.elapsed, ' (scratch on tmpfs)' if fs else ''))
    cat = check_out(out, F, 'shards_10k', 'shards')
    shards = read_shards(out, F)
    rows = [(p, v, r) for p, v in cat['videos'].items() for r in cat['frames'][p]]
    uniq = {(r['location'], r['offset']) for _, _, r in rows}
    if len(uniq) < 10000:
        F.add('expected >= 10000 distinct stored frames, catalog has %d (%d rows)' % (len(uniq), len(rows)))
    total_members = sum(len(m) for m in shards.values())
    if total_members != 2 * len(uniq):
        F.add('tar members in all shards: %d, expected 2 x %d distinct frames = %d' % (
            total_members, len(uniq), 2 * len(uniq)))
    # members pair up: <base>.jpg immediately followed by <base>.json
    base_of = {}
    for rel, ms in shards.items():
        for i in range(0, len(ms), 2):
            a = ms[i]
            b = ms[i + 1] if i + 1 < len(ms) else None
            if not a[0].endswith('.jpg') or b is None or b[0] != a[0][:-4] + '.json':
                F.add('%s: member %d %r is not followed by its .json (next: %r)' % (rel, i, a[0], b and b[0]))
                break
            if '.' in a[0][:-4]:
                F.add('%s: member %r has a dot before the extension (WebDataset splits there)' % (rel, a[0]))
            base_of[(rel, a[1])] = (a, b)
    # every row against the tar member, byte for byte, and its JSON
    handles = {}
    try:
        for path, v, r in rows:
            pair = base_of.get((r['location'], r['offset']))
            if pair is None:
                F.add('%s seq %d: no .jpg member with data at %s@%s' % (path, r['seq'], r['location'], r['offset']))
                continue
            (jname, joff, jsize), (sname, soff, ssize) = pair
            fh = handles.get(r['location'])
            if fh is None:
                fh = handles[r['location']] = open(Path(out) / r['location'], 'rb')
            fh.seek(joff)
            data = fh.read(jsize)
            if jsize != r['bytes'] or sha256(data) != r['checksum']:
                F.add('%s seq %d: member %s is %d bytes sha %s, catalog %d bytes sha %s' % (
                    path, r['seq'], jname, jsize, sha256(data)[:12], r['bytes'], r['checksum'][:12]))
            exp = '%s/%s' % (v['key'].replace('.', '_'), frame_file_name(r))
            if jname != exp:
                F.add('%s seq %d: member name %r, expected %r' % (path, r['seq'], jname, exp))
            fh.seek(soff)
            try:
                js = json.loads(fh.read(ssize))
            except ValueError as e:
                F.add('%s: %s does not parse as JSON: %s' % (r['location'], sname, e))
                continue
            got = (js.get('index'), js.get('sha256'), js.get('width'), js.get('height'), js.get('video_key'))
            want = (r['idx'], r['checksum'], r['width'], r['height'], v['key'])
            if got != want or not isinstance(js.get('time'), (int, float)) or abs(js['time'] - r['time']) > 1e-6:
                F.add('%s: %s = %s; catalog row: index %s time %s sha %s %dx%d key %s' % (
                    r['location'], sname, json.dumps(js)[:300], r['idx'], r['time'], r['checksum'][:12],
                    r['width'], r['height'], v['key']))
            if len(F.msgs) > 40:
                break
    finally:
        for fh in handles.values():
            fh.close()
    # no video spans two shards; a shard takes another video only while under --shard-samples
    vid_shards = collections.defaultdict(set)
    for path, v, r in rows:
        vid_shards[path].add(r['location'])
    for p, s in vid_shards.items():
        if len(s) != 1:
            F.add('%s spans shards %s' % (p, sorted(s)))
    for rel, ms in shards.items():
        keys = [m[0].split('/')[0] for m in ms if m[0].endswith('.jpg')]
        runs = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
        if len(runs) != len(set(runs)):
            F.add('%s: a video\'s samples are not contiguous: %s' % (rel, runs))
        before_last = len(keys) - keys.count(runs[-1]) if runs else 0
        if before_last >= 2500:
            F.add('%s: it already held %d >= 2500 samples when its last video (%s) was appended' % (
                rel, before_last, runs[-1]))
    note('%d shards: %s' % (len(shards), {k: len(v) // 2 for k, v in sorted(shards.items())}))
    F.raise_if_any(40)


# ---------------------------------------------------------------------------
# 4. dedup

def phash_dist(a, b):
    return bin((a ^ b) & 0xFFFFFFFFFFFFFFFF).count('1')


def test_shards_repeated_frames():
    """--fps 50 on 25 fps clips delivers every frame for two targets: each frame is one
    sample (one member name) in the shards, both targets' rows point at it, and the
    frames read back equal the files layout's."""
    many = fixtures() / 'many'
    F = Failures('repeated frames in shards')
    args = ['--fps', 50, '--jobs', 2, '--progress', 'none']
    outs = {}
    for layout in ('files', 'shards'):
        out = outs[layout] = common.new_out_dir('repeated_%s' % layout)
        r = vrun(['run', many, '-o', out, '--layout', layout] + args)
        F.check(r.rc == 0, '%s: exit %s\n  %s' % (layout, r.rc, r.describe()))
        check_out(out, F, '%s --fps 50' % layout, layout)
    rows = {}
    for layout, out in outs.items():
        cat = read_db(out)
        rows[layout] = sorted((p, r['seq'], r['checksum']) for p, fr in cat['frames'].items() for r in fr)
    F.check(rows['files'] == rows['shards'], 'files and shards catalogs differ in frames (%d vs %d rows)'
            % (len(rows['files']), len(rows['shards'])))
    n_rows = len(rows['shards'])
    n_samples = sum(1 for ms in read_shards(outs['shards'], F).values() for m in ms if m[0].endswith('.jpg'))
    F.check(0 < n_samples < n_rows, 'shards: %d image members for %d frame rows; expected each repeated '
            'frame once' % (n_samples, n_rows))
    note('%d frame rows, %d samples' % (n_rows, n_samples))
    F.raise_if_any()


def test_dedup_phash():
    clip = fixtures() / 'dedup.mp4'
    base = ['--fps', 4, '--progress', 'none', '--jobs', 2]
    plain = common.new_out_dir('dedup_none')
    dd = common.new_out_dir('dedup_2')
    r1 = vrun(['run', clip, '-o', plain] + base)
    r2 = vrun(['run', clip, '-o', dd] + base + ['--dedup', 2])
    check(r1.rc == 0, 'without --dedup: exit %s\n  %s' % (r1.rc, r1.describe()))
    check(r2.rc == 0, '--dedup 2: exit %s\n  %s' % (r2.rc, r2.describe()))
    F = Failures('--dedup 2 (%s)' % cmdline(['run', clip, '-o', dd] + base + ['--dedup', 2]))
    c1 = check_out(plain, F, 'no dedup', 'files')
    c2 = check_out(dd, F, 'dedup', 'files')
    rows1 = c1['frames'][str(clip)]
    rows2 = c2['frames'][str(clip)]
    if len(rows1) != 20 or len(rows2) != 20:
        fail('expected 20 frame rows (5 s at --fps 4) in both runs, got %d and %d' % (len(rows1), len(rows2)))
    if any(r['dup_of'] is not None or r['location'] is None for r in rows1):
        F.add('without --dedup some frames were dropped: %s' % [(r['seq'], r['dup_of']) for r in rows1 if r['dup_of'] is not None])
    # the fixture: the moving part differs a lot, the held part not at all
    moving = [r for r in rows1 if r['time'] < 1.99]
    held = [r for r in rows1 if r['time'] > 2.01]
    d_moving = [phash_dist(a['phash'], b['phash']) for a, b in zip(moving, moving[1:])]
    check(min(d_moving) > 6 and all(phash_dist(r['phash'], held[0]['phash']) == 0 for r in held),
          'fixture assumption broken: moving-part distances %s, held-part distances %s' % (
              d_moving, [phash_dist(r['phash'], held[0]['phash']) for r in held]))
    # expected: drop every frame within distance 2 of the last kept one
    kept = None
    exp = []
    for r in rows1:
        if kept is not None and phash_dist(r['phash'], rows1[kept]['phash']) <= 2:
            exp.append(kept)
        else:
            kept = r['seq']
            exp.append(None)
    key = c2['videos'][str(clip)]['key']
    for r, r1, e in zip(rows2, rows1, exp):
        for k in ('idx', 'time', 'pts', 'phash', 'width', 'height'):
            if r[k] != r1[k]:
                F.add('seq %d: %s=%r with --dedup, %r without' % (r['seq'], k, r[k], r1[k]))
        if r['dup_of'] != e:
            F.add('seq %d (t=%.2f): dup_of=%r, expected %r' % (r['seq'], r['time'], r['dup_of'], e))
        f = Path(dd) / 'frames' / key / frame_file_name(r)
        if e is None:
            if r['location'] != r1['location'] or r['checksum'] != r1['checksum']:
                F.add('kept seq %d: location/checksum %r/%s differ from the plain run %r/%s' % (
                    r['seq'], r['location'], r['checksum'], r1['location'], r1['checksum']))
        else:
            if r['location'] is not None or r['offset'] is not None:
                F.add('dropped seq %d has location %r offset %r (expected NULL)' % (r['seq'], r['location'], r['offset']))
            if f.exists():
                F.add('dropped seq %d: its file %s was written' % (r['seq'], f.name))
    n_drop = sum(1 for e in exp if e is not None)
    if n_drop < 10 or any(r['dup_of'] is not None for r in rows2 if r['time'] < 1.99):
        F.add('expected the held part (>= 10 frames) dropped and none of the moving part; dropped seqs %s' % (
            [r['seq'] for r in rows2 if r['dup_of'] is not None]))
    man = [json.loads(l) for l in (Path(dd) / 'frames' / key / 'manifest.jsonl').read_text().splitlines() if l.strip()]
    if [m.get('dup_of') for m in man] != exp:
        F.add('manifest dup_of %s, expected %s' % ([m.get('dup_of') for m in man], exp))
    jpgs = sorted(p.name for p in (Path(dd) / 'frames' / key).glob('*.jpg'))
    if len(jpgs) != 20 - n_drop:
        F.add('%d jpg files written, expected %d kept frames' % (len(jpgs), 20 - n_drop))
    F.raise_if_any()


def _dedup_exact(layout):
    fx = fixtures()
    a, b = fx / 'dedup.mp4', fx / 'dedup_copy.mp4'
    out = common.new_out_dir('dedup_exact_%s' % layout)
    args = ['--fps', 4, '--dedup-exact', '--progress', 'none', '--jobs', 2] + (
        ['--layout', 'shards'] if layout == 'shards' else [])
    full = ['run', a, b, '-o', out] + args
    r = vrun(full)
    check(r.rc == 0, 'exit %s\n  %s' % (r.rc, r.describe()))
    F = Failures('--dedup-exact, %s layout (%s)' % (layout, cmdline(full)))
    cat = check_out(out, F, 'dedup-exact', layout, blobs=True)
    ra, rb = cat['frames'].get(str(a), []), cat['frames'].get(str(b), [])
    if len(ra) != 20 or len(rb) != 20:
        fail('expected 20 frame rows per copy, got %d and %d' % (len(ra), len(rb)))
    sums = {r['checksum'] for r in ra + rb}
    by_sum = collections.defaultdict(set)
    for r in ra + rb:
        by_sum[r['checksum']].add((r['location'], r['offset']))
    for s, locs in by_sum.items():
        if len(locs) != 1:
            F.add('content %s is stored at %d places: %s' % (s[:12], len(locs), sorted(locs, key=str)))
    for x, y in zip(ra, rb):
        if (x['location'], x['offset'], x['checksum']) != (y['location'], y['offset'], y['checksum']):
            F.add('seq %d: the copy points at %s@%s, the original at %s@%s' % (
                x['seq'], y['location'], y['offset'], x['location'], x['offset']))
    if layout == 'files':
        objs = tree_files(out, 'objects')
        if len(objs) != len(sums):
            F.add('%d files under objects/, expected one per distinct checksum (%d)' % (len(objs), len(sums)))
        for rel, h in objs.items():
            if Path(rel).stem != h:
                F.add('%s holds content %s (name is not its sha256)' % (rel, h[:12]))
        stray = [k for k in tree_files(out, 'frames') if not k.endswith(('manifest.jsonl', 'audio.wav'))]
        if stray:
            F.add('frame files outside objects/: %s' % stray[:5])
    else:
        jpgs = sum(1 for ms in read_shards(out, F).values() for m in ms if m[0].endswith('.jpg'))
        if jpgs != len(sums):
            F.add('%d image members in the shards, expected one per distinct checksum (%d)' % (jpgs, len(sums)))
    if set(cat['blobs']) != sums:
        F.add('blobs table has %d checksums, frames have %d distinct' % (len(cat['blobs']), len(sums)))
    # a second run of the same command is a no-op
    before = tree_files(out)
    r2 = vrun(full)
    after = tree_files(out)
    changed = sorted(k for k in set(before) | set(after) if not k.startswith('catalog.db') and before.get(k) != after.get(k))
    if r2.rc != 0 or changed:
        F.add('second run: exit %s, changed files %s' % (r2.rc, changed[:5]))
    F.raise_if_any()


def test_dedup_exact_files():
    _dedup_exact('files')


def test_dedup_exact_shards():
    _dedup_exact('shards')


# ---------------------------------------------------------------------------
# verify --repair

def test_verify_repair():
    many = fixtures() / 'many'
    ref = reference([many], BATCH_ARGS)
    out = common.new_out_dir('verify_repair')
    full = ['run', many, '-o', out] + BATCH_ARGS
    r = vrun(full)
    check(r.rc == 0, 'exit %s\n  %s' % (r.rc, r.describe()))
    cat = read_db(out)
    paths = sorted(cat['videos'])
    F = Failures('verify / --repair (files layout)')
    # damage three videos three ways
    f0 = Path(out) / cat['frames'][paths[0]][1]['location']
    data = bytearray(f0.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f0.write_bytes(bytes(data))
    f1 = Path(out) / cat['frames'][paths[1]][2]['location']
    f1.write_bytes(f1.read_bytes()[:-10])
    f2 = Path(out) / cat['audio'][paths[2]]['path']
    f2.unlink()
    want = sorted([(paths[0], str(f0.relative_to(out)), 'checksum'), (paths[1], str(f1.relative_to(out)), 'size'),
                   (paths[2], str(f2.relative_to(out)), 'missing')])
    r, rep = verify_json(out)
    got = sorted((e.get('video'), e.get('location'), e.get('problem')) for e in (rep or {}).get('list', []))
    if r.rc != 1 or got != want or (rep or {}).get('problems') != 3 or (rep or {}).get('videos') != 3:
        F.add('verify --json: expected exit 1, 3 problems in 3 videos %s; got exit %s, %s' % (
            want, r.rc, json.dumps(rep)[:800]))
    r = vrun(['verify', out, '--repair', '--json'])
    try:
        rep = json.loads(r.stdout)
    except ValueError:
        rep = {}
    if rep.get('repaired') is not True or rep.get('videos') != 3:
        F.add('verify --repair: expected repaired true for 3 videos, got exit %s %s' % (r.rc, r.stdout[:400]))
    r2 = vrun(full)
    if r2.rc != 0:
        F.add('run after --repair: exit %s\n  %s' % (r2.rc, r2.describe()))
    check_out(out, F, 'repaired + re-run', 'files')
    cat2 = read_db(out)
    for p in paths[:3]:   # redone: a second attempt
        if p in cat2['videos']:
            cat2['videos'][p]['attempts'] = ref['cat']['videos'][p]['attempts']
    F.msgs += diff_dumps(catalog_dump(ref['cat']), catalog_dump(cat2), 'reference', 'repaired')
    exp, got = ref['frames'], tree_files(out, 'frames')
    if exp != got:
        F.add('files under frames/ differ from the reference after repair: %s' % sorted(
            k for k in set(exp) | set(got) if exp.get(k) != got.get(k))[:6])
    F.raise_if_any()

    # the same with --dedup-exact: a damaged object must be replaced, not reused
    fx = fixtures()
    out = common.new_out_dir('verify_repair_blobs')
    full = ['run', fx / 'dedup.mp4', fx / 'dedup_copy.mp4', '-o', out, '--fps', 4, '--dedup-exact',
            '--progress', 'none', '--jobs', 2]
    r = vrun(full)
    check(r.rc == 0, 'exit %s\n  %s' % (r.rc, r.describe()))
    cat = read_db(out)
    loc = cat['frames'][str(fx / 'dedup.mp4')][1]['location']
    p = Path(out) / loc
    data = bytearray(p.read_bytes())
    data[100] ^= 0xFF
    p.write_bytes(bytes(data))
    G = Failures('verify --repair with --dedup-exact (repro: %s; corrupt one byte of %s; vidx verify OUT '
                 '--repair; the same run; vidx verify OUT)' % (cmdline(full), loc))
    r, rep = verify_json(out)
    if r.rc != 1 or not rep or rep.get('problems', 0) < 1:
        G.add('verify missed the damaged object: exit %s %s' % (r.rc, r.stdout[:300]))
    vrun(['verify', out, '--repair'])
    r2 = vrun(full)
    if r2.rc != 0:
        G.add('run after --repair: exit %s\n  %s' % (r2.rc, r2.describe()))
    check_out(out, G, 'after --repair and a re-run', 'files', blobs=True)
    G.raise_if_any()


# ---------------------------------------------------------------------------
# 5. disk budget and a full disk

PNG_ARGS = ['--fps', 10, '--format', 'png', '--audio', 'wav', '--jobs', 2, '--progress', 'none']


def walk_usage(out, allocated=True):
    total = 0
    for p in Path(out).rglob('*'):
        if p.is_file() and not p.is_symlink():
            st = p.lstat()
            total += st.st_blocks * 512 if allocated else st.st_size
    return total


def test_disk_budget_max_disk():
    many = fixtures() / 'many'
    ref = reference([many], PNG_ARGS)
    need = walk_usage(ref['out'])
    out = common.new_out_dir('max_disk')
    F = Failures('--max-disk (full batch needs %d bytes on disk)' % need)
    prev = 0
    prev_used = 0
    for budget in ('1M', '2M', '%dK' % (need // 1024 // 2)):
        full = ['run', many, '-o', out] + PNG_ARGS + ['--max-disk', budget]
        r = vrun(full)
        limit = int(budget[:-1]) * (1 << 20 if budget.endswith('M') else 1 << 10)
        cat = read_db(out)
        n = len(cat['videos'])
        used = walk_usage(out)
        note('--max-disk %s: exit %s, %d/10 videos, %d bytes used' % (budget, r.rc, n, used))
        if limit >= need and r.rc == 0:
            continue
        if r.rc != 11:
            F.add('--max-disk %s: exit %s, expected 11 (stopped by the budget)\n  %s' % (budget, r.rc, r.describe()))
        if 'budget' not in r.stderr and 'disk' not in r.stderr:
            F.add('--max-disk %s: no message about the disk budget on stderr: %r' % (budget, r.stderr[-300:]))
        if used > limit and used > prev_used:  # an OUT already past a smaller budget may stay so
            F.add('--max-disk %s: OUT uses %d bytes after the run, more than the budget %d (%s)' % (
                budget, used, limit, cmdline(full)))
        if n < prev:
            F.add('--max-disk %s: fewer videos recorded (%d) than before (%d)' % (budget, n, prev))
        prev = n
        prev_used = used
        check_out(out, F, '--max-disk %s' % budget, 'files', ext='png')
    full = ['run', many, '-o', out] + PNG_ARGS + ['--max-disk', '64M']
    r = vrun(full)
    if r.rc != 0:
        F.add('--max-disk 64M: exit %s, expected 0\n  %s' % (r.rc, r.describe()))
    check_out(out, F, 'completed', 'files', ext='png')
    compare_to_ref(out, ref, F, 'completed after budget stops', 'files')
    F.raise_if_any()


def _enospc(layout):
    many = fixtures() / 'many'
    args = PNG_ARGS + (['--layout', 'shards', '--shard-samples', 25] if layout == 'shards' else [])
    ref = reference([many], args)
    need = walk_usage(ref['out'])
    F = Failures('full disk (ENOSPC), %s layout; the batch needs %d bytes' % (layout, need))
    # scratch on the small filesystem (the workers hit ENOSPC first), or elsewhere (then
    # the store's copy/append or the catalog does). With --shard-samples 1 every video opens
    # a new shard, so the append that fails is always a new shard's first.
    plans = [(0.3, False, None), (0.55, False, None), (0.8, False, None), (0.3, True, None), (0.6, True, None)]
    if layout == 'shards':
        plans.append((0.3, True, 1))
    for frac, elsewhere, samples in plans:
        size_k = int(need * frac) // 1024
        mnt = common.new_out_dir('enospc_%s_%dk' % (layout, size_k))
        with SmallFs(mnt, size_k) as fs:
            out = mnt / 'out'
            extra = []
            if elsewhere:
                sdir = common.new_out_dir('enospc_scratch')
                sdir.mkdir(parents=True)
                extra = ['--scratch', sdir]
            run_args = list(args)
            if samples:
                run_args[run_args.index('--shard-samples') + 1] = samples
            full = ['run', many, '-o', out] + run_args + extra
            label = '%s of %dK%s%s' % (fs.kind, size_k, ', --scratch elsewhere' if elsewhere else '',
                                       ', --shard-samples %s' % samples if samples else '')
            G = Failures()
            r = vrun(full)
            cat = read_db(out)
            n = len(cat['videos'])
            note('%s: exit %s, %d/10 videos recorded, %d bytes free' % (label, r.rc, n, free_bytes(mnt)))
            if r.rc != 11:
                G.add('%s: exit %s, expected 11 (stopped by a full disk)\n  %s' % (label, r.rc, r.describe()))
            bad = [p for p, v in cat['videos'].items() if v['status'] != 'ok']
            if bad:
                G.add('%s: videos recorded as not ok (a full disk must leave them unrecorded): %s' % (
                    label, [(p, cat['videos'][p]['status'], cat['videos'][p]['error']) for p in bad]))
            check_out(out, G, label + ' (stopped)', layout, ext='png')
            target = fs.grow(64 * 1024)
            if target is None:   # loop ext4: carry on in a roomy directory
                target = common.new_out_dir('enospc_moved')
                shutil.copytree(out, target / 'out')
                target = target / 'out'
                full = ['run', many, '-o', target] + run_args + extra
            else:
                target = out
            r2 = vrun(full)
            if r2.rc != 0:
                G.add('%s: resume with room: exit %s, expected 0\n  %s' % (label, r2.rc, r2.describe()))
            check_out(target, G, label + ' (resumed)', layout, ext='png')
            compare_to_ref(target, ref, G, label + ' (resumed)', layout)
            if G.msgs:
                F.add('repro: mount -t tmpfs -o size=%dk tmpfs MNT; %s; mount -o remount,size=64m MNT; the same run\n    '
                      % (size_k, cmdline(['run', many, '-o', 'MNT/out'] + run_args + extra)) + '\n    '.join(G.msgs[:10]))
    # --min-free on a small filesystem: stops before free space drops below it
    mnt = common.new_out_dir('minfree_%s' % layout)
    size_k = need * 3 // 4 // 1024 + 1024
    with SmallFs(mnt, size_k) as fs:
        out = mnt / 'out'
        full = ['run', many, '-o', out] + args + ['--min-free', '1M']
        r = vrun(full)
        free = free_bytes(mnt)
        note('--min-free 1M on %s of %dK: exit %s, %d/10 videos recorded, %d bytes free after' % (
            fs.kind, size_k, r.rc, len(read_db(out)['videos']), free))
        if r.rc != 11:
            F.add('--min-free 1M on a %dK %s: exit %s, expected 11\n  %s' % (size_k, fs.kind, r.rc, r.describe()))
        if free < (1 << 20):
            F.add('--min-free 1M: only %d bytes free after the run (%s)' % (free, cmdline(full)))
        check_out(out, F, '--min-free stop', layout, ext='png')
    F.raise_if_any(40)


def test_enospc_files():
    _enospc('files')


def test_enospc_shards():
    _enospc('shards')


# ---------------------------------------------------------------------------
# 6. du and gc

def du_kind(rel):
    parts = rel.split('/')
    base = parts[-1]
    if parts[0] == '.scratch' or any(p.startswith('.') for p in parts):
        return 'scratch'
    if parts[0].startswith('catalog.db'):
        return 'catalog'
    if parts[0] in ('shards', 'objects'):
        return parts[0]
    if parts[0] == 'transcode':
        return 'renditions'
    if parts[0] == 'frames' and (base in ('manifest.jsonl', 'scenes.json') or base.startswith('transcript.')):
        return 'manifests'
    if parts[0] == 'frames' and base.startswith('audio.'):
        return 'audio'
    if parts[0] == 'frames':
        return 'frames'
    return 'other'


def walk_by_kind(out):
    res = {}
    for mode in ('allocated', 'apparent'):
        d = collections.defaultdict(lambda: {'bytes': 0, 'files': 0})
        for p in Path(out).rglob('*'):
            if p.is_dir() and not p.is_symlink():
                continue
            st = p.lstat()
            k = du_kind(str(p.relative_to(out)))
            d[k]['bytes'] += st.st_blocks * 512 if mode == 'allocated' else st.st_size
            d[k]['files'] += 1
        tot = {'bytes': sum(v['bytes'] for v in d.values()), 'files': sum(v['files'] for v in d.values())}
        res[mode] = {k: dict(d.get(k, {'bytes': 0, 'files': 0})) for k in
                     ('frames', 'shards', 'objects', 'audio', 'manifests', 'catalog', 'scratch', 'renditions',
                      'other')}
        res[mode]['total'] = tot
    return res


def check_du(out, F, label):
    r = vrun(['du', out, '--json'])
    try:
        du = json.loads(r.stdout)
    except ValueError:
        F.add('%s: vidx du printed no JSON (exit %s): %r' % (label, r.rc, r.stdout[:300]))
        return
    walk = walk_by_kind(out)
    if r.rc != 0:
        F.add('%s: vidx du exit %s' % (label, r.rc))
    if du != walk['allocated'] and du != walk['apparent']:
        F.add('%s: vidx du %s\n      walk (allocated bytes) %s' % (label, json.dumps(du), json.dumps(walk['allocated'])))
    # the text form tells the same counts
    t = vrun(['du', out])
    want = ['%s: ' % out] + ['  %-10s %10d files' % (k, v['files']) for k, v in du.items()
                             if k != 'total' and (v['files'] or v['bytes'])]
    for w in want:
        if w not in t.stdout:
            F.add('%s: vidx du (text) lacks %r:\n%s' % (label, w, t.stdout))
    if not t.stdout.rstrip().endswith('in %d files' % du['total']['files']):
        F.add('%s: vidx du (text) total is not %d files:\n%s' % (label, du['total']['files'], t.stdout))


def test_du_gc():
    many = fixtures() / 'many'
    fx = fixtures()
    F = Failures('du / gc')
    setups = [
        ('files', [many], BATCH_ARGS, False),
        ('shards', [many], BATCH_ARGS + SHARD_ARGS, False),
        ('files', [fx / 'dedup.mp4', fx / 'dedup_copy.mp4'], ['--fps', 4, '--dedup-exact', '--progress', 'none'], True),
    ]
    for layout, inputs, args, blobs in setups:
        out = common.new_out_dir('du_gc_%s%s' % (layout, '_blobs' if blobs else ''))
        full = ['run'] + inputs + ['-o', out] + args
        label = '%s%s' % (layout, ' --dedup-exact' if blobs else '')
        r = vrun(full)
        check(r.rc == 0, '%s: exit %s\n  %s' % (label, r.rc, r.describe()))
        check_out(out, F, label, layout, blobs=blobs)
        check_du(out, F, label + ' (clean)')
        cat = read_db(out)
        keys = sorted(v['key'] for v in cat['videos'].values())
        o = Path(out)
        orphans = {}

        def plant(rel, data):
            p = o / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            orphans[rel] = len(data)
        jpg = b'\xff\xd8\xff\xe0' + os.urandom(3000) + b'\xff\xd9'
        plant('frames/%s/999999_99999ms.jpg' % keys[0], jpg)
        plant('frames/%s/.000001_40ms.jpg.tmp' % keys[0], jpg[:1000])
        plant('frames/ghost.mp4-0123456789abcdef/000000_0ms.jpg', jpg)
        plant('frames/ghost.mp4-0123456789abcdef/manifest.jsonl', b'{"index":0}\n')
        plant('frames/ghost.mp4-0123456789abcdef/audio.wav', b'RIFF' + bytes(2000))
        plant('.scratch/%s/000003_120ms.jpg' % keys[-1], jpg)
        kept = []
        if layout == 'shards':  # a shard the catalog does not record is not vidx's: gc leaves it
            src = sorted(cat['shards'])[0]
            plant('shards/000077.tar', (o / src).read_bytes())
            del orphans['shards/000077.tar']
            kept.append('shards/000077.tar')
        if blobs:
            plant('objects/ab/ab%s.jpg' % ('0' * 62), jpg)
        check_du(out, F, label + ' (with orphans)')
        before = tree_files(out)
        r = vrun(['gc', out, '--json'])
        try:
            rep = json.loads(r.stdout)
        except ValueError:
            F.add('%s: vidx gc printed no JSON (exit %s): %r' % (label, r.rc, r.stdout[:300]))
            continue
        after = tree_files(out)
        gone = sorted(set(before) - set(after))
        if r.rc != 0 or sorted(rep.get('files', [])) != sorted(orphans) or rep.get('removed') != len(orphans) \
                or rep.get('bytes') != sum(orphans.values()):
            F.add('%s: vidx gc: expected to remove exactly %s (%d bytes); got exit %s, %s' % (
                label, sorted(orphans), sum(orphans.values()), r.rc, json.dumps(rep)[:800]))
        if gone != sorted(orphans):
            F.add('%s: gc deleted %s; expected exactly %s' % (label, gone, sorted(orphans)))
        left = [e.get('path') for e in rep.get('left_alone', [])]
        if sorted(left) != kept:
            F.add('%s: gc left alone %s; expected %s' % (label, left, kept))
        for rel in kept:  # the user takes their file back; the checks below read every shard
            if after.get(rel) != before.get(rel):
                F.add('%s: gc changed the user\'s %s' % (label, rel))
            (o / rel).unlink()
        after = tree_files(out)
        changed = [k for k in after if not k.startswith('catalog.db') and after[k] != before.get(k)]
        if changed:
            F.add('%s: gc changed %s' % (label, changed[:5]))
        check_out(out, F, label + ' (after gc)', layout, blobs=blobs)
        check_du(out, F, label + ' (after gc)')
        r = vrun(['gc', out, '--json'])
        try:
            rep2 = json.loads(r.stdout)
        except ValueError:
            rep2 = {}
        if rep2.get('removed') != 0:
            F.add('%s: a second gc removed %s' % (label, r.stdout[:300]))
        r = vrun(full)
        after2 = tree_files(out)
        if r.rc != 0 or any(after2.get(k) != after.get(k) for k in set(after) | set(after2)
                            if not k.startswith('catalog.db')):
            F.add('%s: the same run after gc: exit %s, changed files %s' % (label, r.rc, sorted(
                k for k in set(after) | set(after2) if after2.get(k) != after.get(k) and not k.startswith('catalog'))[:5]))
    F.raise_if_any(40)


# ---------------------------------------------------------------------------
# 7. --scratch elsewhere

def test_scratch_elsewhere():
    many = fixtures() / 'many'
    F = Failures('--scratch')
    mnt = common.new_out_dir('scratch_tmpfs')
    try:
        fs = SmallFs(mnt, 64 * 1024).__enter__()
        where = [('%s (another filesystem)' % fs.kind, mnt)]
    except Skip as e:
        fs = None
        note('no tmpfs (%s): --scratch only on the same filesystem' % e)
        where = []
    try:
        plain = common.new_out_dir('scratch_plain')
        plain.mkdir(parents=True)
        where.append(('a plain directory', plain))
        for layout in ('files', 'shards'):
            args = BATCH_ARGS + (SHARD_ARGS if layout == 'shards' else [])
            ref = reference([many], args)
            for desc, sdir in where:
                out = common.new_out_dir('scratch_%s' % layout)
                full = ['run', many, '-o', out] + args + ['--scratch', sdir]
                label = '%s, --scratch on %s' % (layout, desc)
                G = Failures()
                r = vrun(full)
                if r.rc != 0:
                    G.add('exit %s, expected 0\n  %s' % (r.rc, r.describe()))
                check_out(out, G, label, layout)
                compare_to_ref(out, ref, G, label, layout)
                left = sorted(str(p.relative_to(sdir)) for p in Path(sdir).rglob('*'))
                if left:
                    G.add('left in the scratch dir: %s' % left[:8])
                # a crash with scratch elsewhere, then resume
                out2 = common.new_out_dir('scratch_%s_crash' % layout)
                full2 = ['run', many, '-o', out2] + args + ['--scratch', sdir]
                env = {'VIDX_FAULT': 'die=store:3'}
                r = vrun(full2, env)
                if not killed(r):
                    G.add('die=store:3: expected SIGKILL, got exit %s' % r.rc)
                _check_mid(out2, G, 'die=store:3', layout)
                r = vrun(full2)
                if r.rc != 0:
                    G.add('resume after die=store:3: exit %s\n  %s' % (r.rc, r.describe()))
                check_out(out2, G, 'resumed after die=store:3', layout)
                compare_to_ref(out2, ref, G, 'resumed after die=store:3', layout)
                left = sorted(str(p.relative_to(sdir)) for p in Path(sdir).rglob('*'))
                if left:
                    G.add('left in the scratch dir after the resumed run: %s' % left[:8])
                if G.msgs:
                    F.add('%s (repro: %s)\n    ' % (label, cmdline(full)) + '\n    '.join(G.msgs[:10]))
    finally:
        if fs:
            fs.__exit__(None, None, None)
    F.raise_if_any(40)


# ---------------------------------------------------------------------------
# layout is fixed per OUT

def test_layout_fixed():
    many = fixtures() / 'many'
    F = Failures('--layout fixed per OUT')
    for first, second in (('files', 'shards'), ('shards', 'files')):
        args = BATCH_ARGS + (SHARD_ARGS if first == 'shards' else [])
        ref = reference([many], args)
        out = common.new_out_dir('layout_%s' % first)
        shutil.copytree(ref['out'], out)
        before = tree_files(out)
        other = BATCH_ARGS + (SHARD_ARGS if second == 'shards' else ['--layout', 'files'])
        full = ['run', many, '-o', out] + other
        r = vrun(full)
        if r.rc != 2:
            F.add('%s OUT run with --layout %s: exit %s, expected 2 (usage error) (%s)\n  stderr: %s' % (
                first, second, r.rc, cmdline(full), r.stderr.strip()[-300:]))
        if 'layout' not in r.stderr:
            F.add('%s OUT run with --layout %s: stderr does not mention the layout: %r' % (first, second, r.stderr[-300:]))
        after = tree_files(out)
        changed = sorted(k for k in set(before) | set(after) if not k.startswith('catalog.db')
                         and before.get(k) != after.get(k))
        if changed:
            F.add('%s OUT run with --layout %s changed %s' % (first, second, changed[:5]))
        check_out(out, F, '%s OUT after the refused run' % first, first)
    F.raise_if_any()


# ---------------------------------------------------------------------------
# 8. --max-scratch: scratch in use at once stays within it

def _scratch_peak(cmd, scratch, stop):
    """Runs cmd while sampling the bytes under scratch every few ms; returns (result, peak)."""
    peak = [0]

    def sample():
        while not stop.is_set():
            total = 0
            for root, _, files in os.walk(scratch):
                for f in files:
                    try:
                        total += os.lstat(os.path.join(root, f)).st_size
                    except OSError:
                        pass
            peak[0] = max(peak[0], total)
            time.sleep(0.003)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        r = vrun(cmd)
    finally:
        stop.set()
        t.join()
    return r, peak[0]


def test_max_scratch():
    """--max-scratch bounds the frames a video keeps in scratch: files, and shards with
    --dedup-exact (whose frames wait in scratch for the store to copy the new ones).
    Plain shards write frames straight into the worker's shard: there the limit does
    not apply to them, and a tiny one lets every video through."""
    many = fixtures() / 'many'
    F = Failures('--max-scratch')
    out = common.new_out_dir('max_scratch_shards_direct')
    r = vrun(['run', many, '-o', out] + BATCH_ARGS + SHARD_ARGS + ['--max-scratch', '8K'])
    F.check(r.rc == 0, 'shards: --max-scratch 8K: exit %s, expected 0 (frames do not go to scratch)\n  %s'
            % (r.rc, r.describe()))
    check_out(out, F, 'shards --max-scratch 8K', 'shards')
    for layout, extra in (('files', []), ('shards', SHARD_ARGS + ['--dedup-exact'])):
        args = BATCH_ARGS + extra
        # what one video of this set needs in scratch, at most, measured without a limit
        out = common.new_out_dir('max_scratch_ref_%s' % layout)
        r, need = _scratch_peak(['run', many, '-o', out] + args, out / '.scratch', threading.Event())
        F.check(r.rc == 0, '%s: reference run: exit %s\n  %s' % (layout, r.rc, r.describe()))
        # enough for every video: all ok, and scratch never above the limit
        limit = 4 * (need + 65536)
        out = common.new_out_dir('max_scratch_ok_%s' % layout)
        r, peak = _scratch_peak(['run', many, '-o', out] + args + ['--max-scratch', limit],
                                out / '.scratch', threading.Event())
        F.check(r.rc == 0, '%s: --max-scratch %d: exit %s\n  %s' % (layout, limit, r.rc, r.describe()))
        F.check(peak <= limit, '%s: scratch peaked at %d bytes, above --max-scratch %d' % (layout, peak, limit))
        check_out(out, F, '%s --max-scratch %d' % (layout, limit), layout, blobs='--dedup-exact' in extra)
        note('%s: scratch peak %d bytes with no limit, %d with --max-scratch %d' % (layout, need, peak, limit))
        # far too little: every video fails with class limit, nothing is left behind
        out = common.new_out_dir('max_scratch_small_%s' % layout)
        r = vrun(['run', many, '-o', out] + args + ['--max-scratch', '8K'])
        F.check(r.rc == 1, '%s: --max-scratch 8K: exit %s, expected 1\n  %s' % (layout, r.rc, r.describe()))
        cat = read_db(out)
        classes = sorted({v['error_class'] for v in cat['videos'].values()})
        statuses = sorted({v['status'] for v in cat['videos'].values()})
        F.check(statuses == ['failed'] and classes == ['limit'],
                '%s: --max-scratch 8K: statuses %s, classes %s; expected failed/limit' % (layout, statuses, classes))
        left = sorted(str(p) for p in (out / '.scratch').rglob('*')) if (out / '.scratch').exists() else []
        F.check(not left, '%s: scratch left after the run: %s' % (layout, left[:5]))
        check_verify_clean(out, F, '%s --max-scratch 8K' % layout)
    F.raise_if_any()


# ---------------------------------------------------------------------------
# 9. the catalog refuses a commit the store already made (a disk full exactly there)

def test_catalog_full_rollback():
    """VIDX_FAULT=nospace=catalog:N: the Nth video's catalog commit fails once with ENOSPC
    after its files (or shard members) were committed. The store must undo them (shard
    bytes and sample counts included: the videos still in flight commit after it, to the
    same shard), the run stops with exit 11, and the same run then finishes exactly like
    an uninterrupted one."""
    many = fixtures() / 'many'
    F = Failures('catalog commit refused')
    for layout in ('files', 'shards'):
        args = BATCH_ARGS + (SHARD_ARGS if layout == 'shards' else [])
        ref = reference([many], args)
        for n in (1, 2, 5):
            out = common.new_out_dir('catalog_full_%s_%d' % (layout, n))
            full = ['run', many, '-o', out] + args
            env = {'VIDX_FAULT': 'nospace=catalog:%d' % n}
            label = '%s, nospace=catalog:%d' % (layout, n)
            G = Failures()
            r = vrun(full, env)
            if r.rc != 11:
                G.add('%s: exit %s, expected 11 (disk full)\n  %s' % (label, r.rc, r.describe()))
            recorded = len(read_db(out)['videos'])
            if recorded >= n + 2:  # n-1 before the fault, then only the two in flight
                G.add('%s: %d videos recorded after the commit was refused' % (label, recorded))
            check_out(out, G, label + ' (stopped)', layout)
            _resume_matches(full, out, ref, G, label, layout)
            if G.msgs:
                F.add('repro: %s ; %s\n    ' % (cmdline(full, env), cmdline(full)) + '\n    '.join(G.msgs[:10]))
    F.raise_if_any(40)
