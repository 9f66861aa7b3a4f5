"""End-to-end tests of `vidx run` (the batch command), `vidx status` and `vidx export`.

Collected by tests/cli/run.py like every tests/cli/test_*.py (functions named
test_*). Run only these with:

    /usr/bin/python3 tests/cli/run.py -k run::

What is covered (each test runs its own batches into fresh output dirs):
  batch_mixed_inputs        lavfi clips + the whole corpus + bad inputs (empty, truncated,
                            random, text, directory named .mp4, missing, injected crash and
                            hang): statuses, error classes, catalog <-> files <-> manifests,
                            audio, exit code, status --json, progress events
  resume_retry_options      re-run skips everything (catalog and files untouched), --retry
                            redoes only the failures, a changed --count redoes the ok ones,
                            a changed input file is redone alone
  interrupted_kill9_resume  kill -9 of the supervisor mid-batch (workers must die too, one of
                            them hanging mid-video), then the same command: same catalog and
                            files as an uninterrupted run, no orphans
  interrupted_sigint_resume Ctrl-C mid-batch: exit 130 promptly, then resume to completion
  url_inputs                http:// inputs from a loopback server (Range support, 404, stall)
  input_forms               @list.txt, '-' (stdin), directory walk (probing, skipping)
  status_export_help        export jsonl/csv row counts, status text/JSON, --help, usage errors
  status_text_no_null       `vidx status` text output never prints '(null)'
  permission_denied         an unreadable input (as uid nobody when running as root)
  odd_file_names            quotes, spaces, non-ASCII, '#', '@', leading '-' in walked names
  control_char_file_names   tab / newline in walked names (legal on Linux)
  long_path_event           a 1200+ character input path survives into the progress events

Fixture clips are made with FFmpeg lavfi sources (cached in $TMPDIR like the other
fixtures); bad inputs are written into each test's own output dir. The corpus is used
read-only in place and never copied.
"""
import csv
import hashlib
import http.server
import io
import json
import os
import queue
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import wave
from pathlib import Path

import common
from common import Failures, Skip, check, fail, note

VIDX_RUN_TIMEOUT = 150  # seconds for one `vidx run` invocation
COUNT = 8               # vidx run's default --count
FAULT_CRASH = 'FAULTCRASHME'
FAULT_HANG = 'FAULTHANGME'
FAULT_ENV = 'crash=%s,hang=%s' % (FAULT_CRASH, FAULT_HANG)
NOT_OK = ('failed', 'crashed', 'timeout')
TIMING_COLUMNS = ('id', 'started_at', 'seconds', 'updated_at')
KEY_RE = re.compile(r'^[A-Za-z0-9._-]{1,47}-[0-9a-f]{16}$')

# ---------------------------------------------------------------------------
# fixtures: small lavfi clips, generated once and cached by a hash of these commands

_FF = ['ffmpeg', '-nostdin', '-hide_banner', '-v', 'error', '-y']
_X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']
FIXTURE_CMDS = [
    # 2 s, 160x120, 25 fps, H.264 + AAC stereo 44.1 kHz, moov at the end (ffmpeg's default)
    ('g_audio.mp4', _FF + ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=2',
                           '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=2']
     + _X264 + ['-g', '25', '-c:a', 'aac', '-ac', '2', '-shortest', '{out}']),
    # 3 s, 160x120, 25 fps, H.264, no audio, moov at the end
    ('g_noaudio.mp4', _FF + ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=3']
     + _X264 + ['-g', '25', '{out}']),
    # 2 s, 160x120, MPEG-4 part 2 + Vorbis mono 22.05 kHz in Matroska
    ('g_audio.mkv', _FF + ['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=2',
                           '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=22050:duration=2',
                           '-c:v', 'mpeg4', '-q:v', '5', '-c:a', 'libvorbis', '-ac', '1',
                           '-shortest', '{out}']),
    # g_noaudio.mp4 with the moov first (a truncated copy still opens)
    ('g_noaudio_fs.mp4', _FF + ['-i', '{dir}/g_noaudio.mp4', '-c', 'copy', '-movflags', '+faststart',
                                '{out}']),
    # 20 distinct 2 s clips with audio (one 40 s encode cut at keyframes): the kill -9 test
    ('many', _FF + ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=40',
                    '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=44100:duration=40']
     + _X264 + ['-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-c:a', 'aac',
                '-f', 'segment', '-segment_time', '2', '-reset_timestamps', '1',
                '{out}/c%02d.mp4']),
]
GOOD_CLIPS = ('g_audio.mp4', 'g_noaudio.mp4', 'g_audio.mkv')

_fx_lock = threading.Lock()
_fx_dir = [None]


def fixtures():
    """Directory with the FIXTURE_CMDS outputs (made once, cached in $TMPDIR)."""
    import fcntl
    with _fx_lock:
        if _fx_dir[0] is not None:
            return _fx_dir[0]
        h = hashlib.sha256((json.dumps(FIXTURE_CMDS) + common._ffmpeg_version()).encode()).hexdigest()[:16]
        root = common.cache_root()
        final = root / ('run-fixtures-' + h)
        with open(root / ('run-fixtures-' + h + '.lock'), 'w') as lockf:
            fcntl.flock(lockf, fcntl.LOCK_EX)
            if not (final / '.complete').is_file():
                tmp = Path(tempfile.mkdtemp(prefix='run-fixtures-tmp-', dir=root))
                for name, cmd in FIXTURE_CMDS:
                    if name == 'many':
                        (tmp / 'many').mkdir()
                    cmd = [c.replace('{out}', str(tmp / name)).replace('{dir}', str(tmp)) for c in cmd]
                    r = common.run(cmd, timeout=120)
                    if r.rc != 0:
                        shutil.rmtree(tmp, ignore_errors=True)
                        fail('fixture %s: ffmpeg failed:\n  %s' % (name, r.describe()))
                n_many = len(list((tmp / 'many').glob('c*.mp4')))
                if n_many != 20:
                    shutil.rmtree(tmp, ignore_errors=True)
                    fail('fixture many/: expected 20 segments, ffmpeg made %d' % n_many)
                (tmp / '.complete').write_text('ok\n')
                if final.exists():
                    shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
        _fx_dir[0] = final
        return final


def good_clips():
    d = fixtures()
    return [d / n for n in GOOD_CLIPS]


_audio_cache = {}
_audio_lock = threading.Lock()


def has_audio(path):
    """Whether ffprobe sees an audio stream in path (cached)."""
    path = str(path)
    with _audio_lock:
        if path in _audio_cache:
            return _audio_cache[path]
    r = common.run([common.FFPROBE, '-v', 'error', '-select_streams', 'a', '-show_entries',
                    'stream=index', '-of', 'csv=p=0', path], timeout=60)
    v = r.rc == 0 and bool(r.stdout.strip())
    with _audio_lock:
        _audio_cache[path] = v
    return v


def prefetch_audio(paths):
    """has_audio() for many paths, a few ffprobe processes at a time."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=4) as ex:
        return dict(zip(paths, ex.map(has_audio, paths)))


def mp4_boxes(data):
    """Top-level (type, offset, size) boxes of an MP4 file's bytes."""
    out, off = [], 0
    while off + 8 <= len(data):
        size = int.from_bytes(data[off:off + 4], 'big')
        typ = data[off + 4:off + 8].decode('latin-1')
        hdr = 8
        if size == 1:
            size = int.from_bytes(data[off + 8:off + 16], 'big')
            hdr = 16
        elif size == 0:
            size = len(data) - off
        out.append((typ, off, size, hdr))
        if size < hdr:
            break
        off += size
    return out


# ---------------------------------------------------------------------------
# running vidx

def vrun(args, env_extra=None, stdin_data=None, timeout=VIDX_RUN_TIMEOUT, cwd=None):
    """Runs vidx ARGS (own process group, killed on timeout); stdin from stdin_data."""
    common.require_vidx()
    cmd = [str(common.vidx_bin())] + [str(a) for a in args]
    env = dict(os.environ)
    env.pop('VIDX_FAULT', None)
    if env_extra:
        env.update(env_extra)
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                         start_new_session=True, env=env, cwd=cwd)
    timed_out = False
    try:
        out, err = p.communicate(input=stdin_data.encode() if stdin_data is not None else None,
                                 timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
    return common.Result(cmd, p.returncode, out.decode('utf-8', 'replace'),
                         err.decode('utf-8', 'replace'), time.time() - t0, timed_out)


def parse_events(res, F=None):
    """JSON-lines events of --progress json; every stdout line must be JSON."""
    evs = []
    for i, line in enumerate(res.stdout.splitlines()):
        if not line.strip():
            continue
        try:
            evs.append(json.loads(line))
        except ValueError as e:
            msg = 'stdout line %d is not JSON (%s): %r' % (i + 1, e, line[:300])
            if F is None:
                fail(msg)
            F.add(msg)
    return evs


def end_event(evs):
    ends = [e for e in evs if e.get('event') == 'end']
    if len(ends) != 1:
        fail('expected exactly one "end" progress event, got %d (events: %s)' % (len(ends), evs[-3:]))
    return ends[0]


def video_events(evs):
    return [e for e in evs if e.get('event') == 'video']


# ---------------------------------------------------------------------------
# reading the catalog and the output tree

def read_catalog(out):
    db = Path(out) / 'catalog.db'
    if not db.is_file():
        fail('no catalog at %s (files there: %s)' % (db, sorted(os.listdir(out))[:20] if Path(out).is_dir() else 'none'))
    con = sqlite3.connect(str(db), timeout=10)
    con.row_factory = sqlite3.Row
    try:
        videos = {r['path']: dict(r) for r in con.execute('SELECT * FROM videos')}
        byid = {v['id']: p for p, v in videos.items()}
        frames = {p: [] for p in videos}
        for r in con.execute('SELECT * FROM frames ORDER BY video_id, seq'):
            d = dict(r)
            frames.setdefault(byid.get(d['video_id'], '<no video %s>' % d['video_id']), []).append(d)
        audio = {}
        for r in con.execute('SELECT * FROM audio'):
            d = dict(r)
            audio[byid.get(d['video_id'], '<no video %s>' % d['video_id'])] = d
        counts = {r[0]: r[1] for r in con.execute('SELECT status, count(*) FROM videos GROUP BY status')}
        n_frames_rows = con.execute('SELECT count(*) FROM frames').fetchone()[0]
        n_audio_rows = con.execute('SELECT count(*) FROM audio').fetchone()[0]
        integrity = con.execute('PRAGMA integrity_check').fetchone()[0]
    finally:
        con.close()
    return {'videos': videos, 'frames': frames, 'audio': audio, 'counts': counts,
            'n_frames_rows': n_frames_rows, 'n_audio_rows': n_audio_rows, 'integrity': integrity}


def catalog_dump(cat):
    """Catalog content minus ids and timing columns, keyed by video path."""
    vids = {p: {k: v for k, v in row.items() if k not in TIMING_COLUMNS} for p, row in cat['videos'].items()}
    frames = {p: [{k: v for k, v in r.items() if k != 'video_id'} for r in rows]
              for p, rows in cat['frames'].items()}
    audio = {p: {k: v for k, v in r.items() if k != 'video_id'} for p, r in cat['audio'].items()}
    return {'videos': vids, 'frames': frames, 'audio': audio}


def diff_dumps(a, b, label_a, label_b, limit=20):
    msgs = []
    for table in ('videos', 'frames', 'audio'):
        ta, tb = a[table], b[table]
        for p in sorted(set(ta) | set(tb)):
            if p not in ta:
                msgs.append('%s: %s row(s) for %s only in %s' % (table, table, p, label_b))
            elif p not in tb:
                msgs.append('%s: %s row(s) for %s only in %s' % (table, table, p, label_a))
            elif ta[p] != tb[p]:
                ra, rb = ta[p], tb[p]
                if isinstance(ra, dict):
                    keys = [k for k in sorted(set(ra) | set(rb)) if ra.get(k) != rb.get(k)]
                    det = '; '.join('%s: %s=%r %s=%r' % (k, label_a, _short(ra.get(k)), label_b,
                                                          _short(rb.get(k))) for k in keys)
                else:
                    det = '%s has %d rows, %s has %d' % (label_a, len(ra), label_b, len(rb))
                    for i, (x, y) in enumerate(zip(ra, rb)):
                        if x != y:
                            keys = [k for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k)]
                            det += '; first difference at seq %d: %s' % (i, ', '.join(
                                '%s %r vs %r' % (k, x.get(k), y.get(k)) for k in keys))
                            break
                msgs.append('%s: %s differs: %s' % (table, p, det))
    return msgs[:limit] + (['... and %d more differences' % (len(msgs) - limit)] if len(msgs) > limit else [])


def _short(v, n=160):
    s = repr(v)
    return v if len(s) <= n else s[:n] + '...'


def tree_stat(root):
    """{relative path: (size, mtime_ns)} of every file under root."""
    root = Path(root)
    out = {}
    if root.is_dir():
        for p in root.rglob('*'):
            if not p.is_dir():
                st = p.lstat()
                out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def tree_md5(root):
    root = Path(root)
    out = {}
    if root.is_dir():
        for p in root.rglob('*'):
            if p.is_file():
                out[str(p.relative_to(root))] = hashlib.md5(p.read_bytes()).hexdigest()
    return out


def read_manifest(path):
    rows = []
    for i, line in enumerate(Path(path).read_text().splitlines()):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                fail('%s line %d is not JSON (%s): %r' % (path, i + 1, e, line[:200]))
    return rows


def check_outputs(out, cat, F, ext='jpg'):
    """Catalog <-> manifest <-> files consistency, for every video of a run."""
    out = Path(out)
    if cat['integrity'] != 'ok':
        F.add('catalog integrity_check: %r' % cat['integrity'])
    keys = {}
    owned = set()
    for path, v in sorted(cat['videos'].items()):
        key, st = v['key'], v['status']
        frows = cat['frames'].get(path, [])
        if not KEY_RE.match(key or ''):
            F.add('%s: key %r is not <sanitized basename>-<16 hex digits>' % (path, key))
        base = path.rstrip('/').rsplit('/', 1)[-1]
        if re.match(r'^[A-Za-z0-9_-][A-Za-z0-9._-]{0,46}$', base) and not (key or '').startswith(base + '-'):
            F.add('%s: key %r does not start with the basename %r' % (path, key, base))
        if key in keys:
            F.add('key %r used by both %s and %s' % (key, keys[key], path))
        keys[key] = path
        if v['frames'] != len(frows):
            F.add('%s: videos.frames=%s but %d frames rows' % (path, v['frames'], len(frows)))
        vdir = out / 'frames' / key
        if st in NOT_OK:
            if frows:
                F.add('%s: status %s but %d frames rows' % (path, st, len(frows)))
            if path in cat['audio']:
                F.add('%s: status %s but an audio row %s' % (path, st, cat['audio'][path]))
            if not v['error_class']:
                F.add('%s: status %s without an error_class (error=%r)' % (path, st, v['error']))
            if vdir.exists():
                F.add('%s: status %s but its output dir remains: %s' % (
                    path, st, sorted(os.listdir(vdir))[:5] if vdir.is_dir() else vdir))
            continue
        if st not in ('ok', 'partial'):
            F.add('%s: unknown status %r' % (path, st))
            continue
        mf = vdir / 'manifest.jsonl'
        if not mf.is_file():
            F.add('%s: status %s but no %s' % (path, st, mf.relative_to(out)))
            continue
        owned.add(str(mf.relative_to(out)))
        man = read_manifest(mf)
        if len(man) != len(frows):
            F.add('%s: manifest has %d lines, catalog %d frames rows' % (path, len(man), len(frows)))
        for i, r in enumerate(frows):
            loc = r['location']
            owned.add(loc)
            if r['seq'] != i:
                F.add('%s: frames rows seq %s at position %d' % (path, r['seq'], i))
            if not loc.startswith('frames/%s/' % key):
                F.add('%s: frames.location %r is not under frames/%s/' % (path, loc, key))
            f = out / loc
            if not f.is_file():
                F.add('%s: frames.location %s does not exist' % (path, loc))
            elif f.stat().st_size != r['bytes']:
                F.add('%s: %s has %d bytes, catalog says %d' % (path, loc, f.stat().st_size, r['bytes']))
            name = loc.rsplit('/', 1)[-1]
            if not common.expected_name_ok(name, r['idx'], r['time'], ext):
                F.add('%s: frame file %r is not <idx %%06d>_<ms>ms.%s for idx=%s time=%s' % (
                    path, name, ext, r['idx'], r['time']))
            if i < len(man):
                m = man[i]
                got = (m.get('index'), m.get('path'), m.get('bytes'))
                exp = (r['idx'], name, r['bytes'])
                if got != exp:
                    F.add('%s: manifest line %d (index, path, bytes)=%r, catalog %r' % (path, i + 1, got, exp))
            if not (r['width'] > 0 and r['height'] > 0):
                F.add('%s: frame %d size %sx%s' % (path, i, r['width'], r['height']))
    for path, a in cat['audio'].items():
        owned.add(a['path'])
    # orphans and scratch files
    for rel in sorted(tree_stat(out)):
        if rel.startswith('catalog.db') or rel in ('.vidx-output', '.vidx-lock'):
            continue  # the catalog, the ownership marker and the one-writer lock file
        if rel.endswith('.tmp') or '/.' in '/' + rel:
            F.add('scratch/hidden file left in OUT: %s' % rel)
        elif rel.startswith('frames/') and rel not in owned:
            F.add('orphan file under OUT/frames (not a manifest, audio or frames.location): %s' % rel)
        elif not rel.startswith('frames/'):
            F.add('unexpected file at the top of OUT: %s' % rel)


def check_audio(out, cat, F, expect_audio, lavfi_duration=None):
    """expect_audio: {path: bool} for videos that are ok/partial. WAV: 16 kHz mono s16."""
    out = Path(out)
    for path, want in sorted(expect_audio.items()):
        a = cat['audio'].get(path)
        if not want:
            if a is not None:
                F.add('%s has no audio stream but an audio row %s' % (path, a))
            continue
        if a is None:
            F.add('%s has an audio stream but no audio row' % path)
            continue
        key = cat['videos'][path]['key']
        exp_path = 'frames/%s/audio.wav' % key
        if a['path'] != exp_path:
            F.add('%s: audio.path %r, expected %r' % (path, a['path'], exp_path))
        if (a['rate'], a['channels']) != (16000, 1):
            F.add('%s: audio row rate/channels %s/%s, expected 16000/1' % (path, a['rate'], a['channels']))
        wav = out / a['path']
        if not wav.is_file():
            F.add('%s: audio file %s missing' % (path, a['path']))
            continue
        try:
            with wave.open(str(wav), 'rb') as w:
                params = (w.getframerate(), w.getnchannels(), w.getsampwidth())
                n = w.getnframes()
                got = len(w.readframes(n)) // max(1, w.getsampwidth() * w.getnchannels())
        except Exception as e:
            F.add('%s: %s is not a readable WAV: %s' % (path, a['path'], e))
            continue
        if got != n:
            F.add('%s: %s header says %d sample frames, the file holds %d' % (path, a['path'], n, got))
        if params != (16000, 1, 2):
            F.add('%s: WAV (rate, channels, bytes/sample)=%r, expected (16000, 1, 2)' % (path, params))
            continue
        dur = n / 16000.0
        if a['duration'] is None or abs(a['duration'] - dur) > 0.01:
            F.add('%s: audio.duration %s but the WAV holds %.4f s' % (path, a['duration'], dur))
        if lavfi_duration and path in lavfi_duration and abs(dur - lavfi_duration[path]) > 0.15:
            F.add('%s: WAV is %.3f s, the source audio is %.3f s' % (path, dur, lavfi_duration[path]))


def check_status_json(out, cat, F):
    r = vrun(['status', out, '--json'], timeout=60)
    if r.rc != 0:
        F.add('vidx status --json: rc %s, expected 0\n  %s' % (r.rc, r.describe()))
        return None
    try:
        st = json.loads(r.stdout)
    except ValueError as e:
        F.add('vidx status --json: not JSON (%s): %r' % (e, r.stdout[:300]))
        return None
    if st.get('counts') != cat['counts']:
        F.add('vidx status --json counts %s, catalog %s' % (st.get('counts'), cat['counts']))
    if st.get('videos') != len(cat['videos']):
        F.add('vidx status --json videos %s, catalog %d' % (st.get('videos'), len(cat['videos'])))
    nf = sum(v['frames'] for v in cat['videos'].values())
    if st.get('frames') != nf:
        F.add('vidx status --json frames %s, catalog sum(frames) %d' % (st.get('frames'), nf))
    fails = {f.get('path'): f for f in st.get('failures') or []}
    for path, v in cat['videos'].items():
        if v['status'] in NOT_OK:
            f = fails.get(path)
            exp = (v['status'], v['error_class'], v['error'], v['attempts'])
            got = f and (f.get('status'), f.get('class'), f.get('error'), f.get('attempts'))
            if got != exp:
                F.add('vidx status --json failures[%s]: got (status, class, error, attempts)=%r, expected %r'
                      % (path, got, exp))
        elif v['status'] == 'ok' and path in fails:
            F.add('vidx status --json lists ok video %s among failures' % path)
    return st


def check_events(res, cat, F, expect_paths):
    """--progress json: one video event per processed path, matching the catalog."""
    evs = parse_events(res, F)
    if not evs or evs[0].get('event') != 'start':
        F.add('first progress event is not "start": %s' % (evs[:1],))
    vev = video_events(evs)
    seen = {}
    for e in vev:
        p = e.get('path')
        if p in seen:
            F.add('two "video" events for %s' % p)
        seen[p] = e
        v = cat['videos'].get(p)
        if v is None:
            F.add('"video" event for %s, which the catalog does not have' % p)
            continue
        got = (e.get('status'), e.get('class') or None)
        exp = (v['status'], v['error_class'] if v['status'] in NOT_OK else None)
        if got[0] != exp[0] or (exp[0] in NOT_OK and got[1] != exp[1]):
            F.add('"video" event for %s: (status, class)=%r, catalog %r' % (p, got, exp))
    missing = sorted(set(expect_paths) - set(seen))
    if missing:
        F.add('no "video" event for %d path(s): %s' % (len(missing), missing[:5]))
    ends = [e for e in evs if e.get('event') == 'end']
    if len(ends) != 1:
        F.add('expected one "end" event, got %d' % len(ends))
    else:
        end = ends[0]
        exp = (len(expect_paths), len(expect_paths), 0, sum(v['frames'] for v in cat['videos'].values()
                                                           if v['status'] in ('ok', 'partial')))
        got = (end.get('done'), end.get('total'), end.get('skipped'), end.get('frames'))
        if got != exp:
            F.add('"end" event (done, total, skipped, frames)=%r, expected %r' % (got, exp))
    return evs


def make_bad_inputs(d, with_faults=True):
    """Writes the bad inputs into d; returns {path: expectation}."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    fx = fixtures()
    exp = {}

    def put(name, data, e):
        p = d / name
        p.write_bytes(data)
        exp[str(p)] = e
        return p

    put('empty.mp4', b'', {'status': 'failed', 'class': {'empty'}})
    put('random.mp4', random.Random(1234).randbytes(50000), {'status': 'failed', 'class': {'format'}})
    put('text.mp4', b'this is a plain text file, not a video\n' * 20, {'status': 'failed', 'class': {'format'}})
    xdir = d / 'x.mp4'
    xdir.mkdir(exist_ok=True)
    (xdir / 'inside.txt').write_text('a file inside a directory named x.mp4\n')
    exp[str(xdir)] = {'status': 'failed', 'class': {'notfile'}}
    exp[str(d / 'missing.mp4')] = {'status': 'failed', 'class': {'notfound'}}

    # moov-at-end file cut before its moov: no index, nothing can be decoded => failed
    src = (fx / 'g_noaudio.mp4').read_bytes()
    boxes = {t: (off, size) for t, off, size, _ in mp4_boxes(src)}
    if 'moov' not in boxes or 'mdat' not in boxes or boxes['moov'][0] < boxes['mdat'][0] \
            or boxes['moov'][0] < 0.9 * len(src):
        fail('fixture g_noaudio.mp4 does not have its moov at the end: boxes %s' % mp4_boxes(src))
    for pct in (10, 50, 90):
        put('moovend_trunc%d.mp4' % pct, src[:len(src) * pct // 100],
            {'status': 'failed', 'class': {'format', 'truncated', 'decode'}, 'frames': 0})
    # faststart file cut inside the first packet: opens, but no frame is there => failed
    fs = (fx / 'g_noaudio_fs.mp4').read_bytes()
    fsb = {t: (off, size, hdr) for t, off, size, hdr in mp4_boxes(fs)}
    if 'moov' not in fsb or 'mdat' not in fsb or fsb['moov'][0] > fsb['mdat'][0]:
        fail('fixture g_noaudio_fs.mp4 does not have its moov first: boxes %s' % mp4_boxes(fs))
    mdat_data = fsb['mdat'][0] + fsb['mdat'][2]
    put('fs_trunc_first.mp4', fs[:mdat_data + 200],
        {'status': 'failed', 'class': {'decode', 'truncated', 'format'}, 'frames': 0})
    # faststart file cut at 50% / 90%: the later sample times are missing => never 'ok'
    for pct in (50, 90):
        put('fs_trunc%d.mp4' % pct, fs[:len(fs) * pct // 100],
            {'status': {'partial', 'failed'}, 'class': {'decode', 'truncated'}, 'max_frames': COUNT - 1})
    if with_faults:
        good = (fx / 'g_audio.mp4').read_bytes()
        put('%s.mp4' % FAULT_CRASH, good, {'status': 'crashed', 'class': {'crash'}, 'error_has': 'SIGSEGV'})
        put('%s.mp4' % FAULT_HANG, good, {'status': 'timeout', 'class': {'timeout'}})
    return exp


def check_expectation(path, v, e, F):
    if v is None:
        F.add('%s: not in the catalog (expected status %s)' % (path, e['status']))
        return
    st = v['status']
    want = e['status'] if isinstance(e['status'], set) else {e['status']}
    desc = '%s: status=%s class=%s error=%r frames=%s' % (path, st, v['error_class'], v['error'], v['frames'])
    if st not in want:
        F.add('%s -- expected status %s' % (desc, '/'.join(sorted(want))))
        return
    if st in NOT_OK and v['error_class'] not in e['class']:
        F.add('%s -- expected class %s' % (desc, '/'.join(sorted(e['class']))))
    if 'frames' in e and v['frames'] != e['frames']:
        F.add('%s -- expected %d frames' % (desc, e['frames']))
    if st == 'partial' and not (1 <= v['frames'] <= e.get('max_frames', 10 ** 9)):
        F.add('%s -- a partial result must hold 1..%s frames' % (desc, e.get('max_frames')))
    if 'error_has' in e and e['error_has'] not in (v['error'] or ''):
        F.add('%s -- expected the error to mention %s' % (desc, e['error_has']))
    if v['attempts'] != e.get('attempts', 1):
        F.add('%s -- attempts=%s, expected %s' % (desc, v['attempts'], e.get('attempts', 1)))


def check_class_summary(res, cat, F):
    """The summary's 'not ok by class' line agrees with the catalog (a fresh OUT)."""
    want = {}
    for v in cat['videos'].values():
        if v['status'] in ('ok', 'partial'):
            continue
        cls = v['status'] if v['status'] in ('crashed', 'timeout') else v['error_class']
        want[cls] = want.get(cls, 0) + 1
    m = re.search(r'^vidx run: not ok by class: (.*)$', res.stderr, re.M)
    if not m:
        F.add('no "not ok by class" line in the summary: %r' % res.stderr[-500:])
        return
    got = {}
    for part in m.group(1).split(', '):
        name, _, n = part.rpartition(' ')
        got[name] = int(n)
    if got != want:
        F.add('summary by class %s, catalog says %s' % (got, want))


# ---------------------------------------------------------------------------
# 1. one batch over good clips, the corpus and bad inputs

def test_batch_mixed_inputs():
    fx = fixtures()
    out = common.new_out_dir('run_batch')
    inp = common.new_out_dir('run_batch_inputs')
    exp = make_bad_inputs(inp)
    good = [str(p) for p in good_clips()]
    inputs = good + sorted(exp)
    corpus = common.corpus_dir()
    corpus_paths = []
    if corpus is None:
        note('corpus not found (set VIDX_CORPUS): the batch runs without the corpus clips')
    else:
        inputs.append(str(corpus))   # a directory: walked
        # A video is known by its canonical path: the corpus may sit behind a symlink.
        corpus_paths = [os.path.join(os.path.realpath(corpus), n) for n in common.corpus_clips()]
    if os.geteuid() == 0:
        note('running as root: a chmod 000 input stays readable, so the permission case is in '
             'test permission_denied (run as uid nobody)')
    else:
        locked = inp / 'locked.mp4'
        shutil.copyfile(fx / 'g_noaudio.mp4', locked)
        os.chmod(locked, 0)
        exp[str(locked)] = {'status': 'failed', 'class': {'permission'}}
        inputs.append(str(locked))

    # The hanging input gets its own invocation (same OUT, same options) with --timeout 3:
    # a 3 s limit on the whole batch would also cut real clips short on a loaded machine.
    hang = [p for p in sorted(exp) if FAULT_HANG in p]
    main_inputs = [p for p in inputs if p not in hang]
    common_args = ['-o', out, '--jobs', 2, '--audio', 'wav', '--progress', 'json']
    fault = {'VIDX_FAULT': FAULT_ENV}
    res = vrun(['run'] + main_inputs + common_args, env_extra=fault)
    F = Failures('vidx run over %d inputs' % len(main_inputs))
    if res.rc != 1:
        F.add('exit code %s, expected 1 (some videos failed)\n  %s' % (res.rc, res.describe()))
    if 'vidx run' not in res.stderr:
        F.add('no summary on stderr: %r' % res.stderr[-300:])
    expected_paths = set(good) | set(exp) | set(corpus_paths)
    check_events(res, read_catalog(out), F, sorted(expected_paths - set(hang)))
    check_class_summary(res, read_catalog(out), F)
    rh = vrun(['run'] + hang + common_args + ['--timeout', 3], env_extra=fault, timeout=60)
    if rh.rc != 1 or rh.elapsed > 30:
        F.add('hanging input with --timeout 3: exit %s after %.1fs, expected 1 within 30 s\n  %s' % (
            rh.rc, rh.elapsed, rh.describe()))
    cat = read_catalog(out)
    vids = cat['videos']
    extra = sorted(set(vids) - expected_paths)
    if extra:
        F.add('catalog has unexpected paths (directory walk?): %s' % extra[:10])
    # good lavfi clips: ok, exactly COUNT frames of 160x120
    for p in good:
        v = vids.get(p)
        if v is None:
            F.add('%s: not in the catalog' % p)
            continue
        if (v['status'], v['frames']) != ('ok', COUNT):
            F.add('%s: (status, frames)=(%s, %s) error=%r, expected (ok, %d)' % (
                p, v['status'], v['frames'], v['error'], COUNT))
        sizes = {(r['width'], r['height']) for r in cat['frames'].get(p, [])}
        if sizes and sizes != {(160, 120)}:
            F.add('%s: frame sizes %s, expected 160x120' % (p, sorted(sizes)))
    # corpus clips: ok, except the known-damaged ones which must be handled, not crash
    for p in corpus_paths:
        v = vids.get(p)
        name = os.path.basename(p)
        if v is None:
            F.add('corpus clip %s: not in the catalog (directory walk missed it)' % p)
            continue
        desc = 'corpus %s: status=%s class=%s error=%r frames=%s' % (
            name, v['status'], v['error_class'], v['error'], v['frames'])
        if name in common.CORRUPT_CLIPS:
            if v['status'] in ('crashed', 'timeout'):
                F.add('%s -- a damaged clip (%s) must fail cleanly, not crash/time out' % (
                    desc, common.CORRUPT_CLIPS[name]))
            elif name == 'androidx_invalid-bitstream.webm' and v['status'] == 'ok':
                F.add('%s -- nothing of it is decodable, it cannot be ok' % desc)
            elif v['status'] == 'failed' and v['error_class'] not in ('decode', 'format'):
                F.add('%s -- expected class decode' % desc)
            elif v['status'] in ('ok', 'partial') and v['frames'] < 1:
                F.add('%s -- ok/partial without frames' % desc)
            note('%s -> %s%s, %d frames' % (name, v['status'],
                                            '/' + v['error_class'] if v['error_class'] else '', v['frames']))
        elif v['status'] != 'ok' or v['frames'] < 1:
            F.add('%s -- expected ok with frames' % desc)
    # bad inputs
    for p, e in sorted(exp.items()):
        check_expectation(p, vids.get(p), e, F)
    check_outputs(out, cat, F)
    audio_exp = prefetch_audio(sorted(p for p, v in vids.items() if v['status'] in ('ok', 'partial')))
    check_audio(out, cat, F, audio_exp, lavfi_duration={str(fx / 'g_audio.mp4'): 2.0,
                                                        str(fx / 'g_audio.mkv'): 2.0})
    if not any(audio_exp.values()):
        F.add('no ok video with audio: the audio checks did not run')
    if cat['n_frames_rows'] != sum(v['frames'] for v in vids.values()):
        F.add('frames table has %d rows, sum(videos.frames)=%d' % (
            cat['n_frames_rows'], sum(v['frames'] for v in vids.values())))
    man_total = sum(len(read_manifest(Path(out) / 'frames' / v['key'] / 'manifest.jsonl'))
                    for v in vids.values() if v['status'] in ('ok', 'partial')
                    and (Path(out) / 'frames' / v['key'] / 'manifest.jsonl').is_file())
    if man_total != cat['n_frames_rows']:
        F.add('frames rows %d != sum of manifest lines %d' % (cat['n_frames_rows'], man_total))
    check_status_json(out, cat, F)
    note('%d videos: %s, %d frames rows, %d audio rows, %.1fs' % (
        len(vids), cat['counts'], cat['n_frames_rows'], cat['n_audio_rows'], res.elapsed))
    F.raise_if_any(40)


# ---------------------------------------------------------------------------
# 2. resume, --retry, changed options

def test_resume_retry_options():
    out = common.new_out_dir('run_resume')
    inp = common.new_out_dir('run_resume_inputs')
    inp.mkdir(parents=True)
    copy = inp / 'copy.mp4'   # a good clip that the last step rewrites (new fingerprint)
    shutil.copyfile(fixtures() / 'g_noaudio.mp4', copy)
    good = [str(p) for p in good_clips()] + [str(copy)]
    bad = {}
    for name, data, st in (('text.mp4', b'plain text\n' * 10, 'failed'),
                           ('%s.mp4' % FAULT_CRASH, (fixtures() / 'g_audio.mp4').read_bytes(), 'crashed'),
                           ('%s.mp4' % FAULT_HANG, (fixtures() / 'g_audio.mp4').read_bytes(), 'timeout')):
        (inp / name).write_bytes(data)
        bad[str(inp / name)] = st
    inputs = good + sorted(bad)
    # --timeout applies to every video: 5 s leaves the tiny good clips room on a loaded machine
    base = ['run'] + inputs + ['-o', out, '--jobs', 2, '--timeout', 5, '--audio', 'wav', '--progress', 'json']
    env = {'VIDX_FAULT': FAULT_ENV}

    r1 = vrun(base, env_extra=env)
    check(r1.rc == 1, 'first run: exit %s, expected 1\n  %s' % (r1.rc, r1.describe()))
    c1 = read_catalog(out)
    F = Failures('first run')
    for p in good:
        F.check(c1['videos'].get(p, {}).get('status') == 'ok', '%s: %s, expected ok' % (p, c1['videos'].get(p)))
    for p, st in bad.items():
        F.check(c1['videos'].get(p, {}).get('status') == st, '%s: %s, expected %s' % (p, c1['videos'].get(p), st))
    check_outputs(out, c1, F)
    F.raise_if_any()
    d1, s1 = catalog_dump(c1), tree_stat(Path(out) / 'frames')
    time.sleep(0.05)  # so that a rewritten file gets a different mtime

    # same command again: everything skipped, nothing touched, still exit 1
    r2 = vrun(base, env_extra=env)
    F = Failures('second (identical) run')
    if r2.rc != 1:
        F.add('exit %s, expected 1 (earlier failures remain)\n  %s' % (r2.rc, r2.describe()))
    evs = parse_events(r2, F)
    end = end_event(evs)
    got = (end.get('total'), end.get('skipped'), end.get('done'))
    if got != (len(inputs), len(inputs), 0):
        F.add('"end" event (total, skipped, done)=%r, expected %r' % (got, (len(inputs), len(inputs), 0)))
    redone = [e for e in video_events(evs) if e.get('status') != 'skipped']
    if redone:
        F.add('videos processed again: %s' % [(e.get('path'), e.get('status')) for e in redone])
    c2 = read_catalog(out)
    F.msgs += diff_dumps(d1, catalog_dump(c2), 'run1', 'run2')
    s2 = tree_stat(Path(out) / 'frames')
    changed = sorted(k for k in set(s1) | set(s2) if s1.get(k) != s2.get(k))
    if changed:
        F.add('%d output file(s) changed: %s' % (len(changed), ['%s: %s -> %s' % (k, s1.get(k), s2.get(k))
                                                              for k in changed[:5]]))
    F.raise_if_any()

    # --retry: only the failures are redone (attempts 2); ok videos untouched
    r3 = vrun(base + ['--retry'], env_extra=env)
    F = Failures('run with --retry')
    if r3.rc != 1:
        F.add('exit %s, expected 1 (the failures fail again)\n  %s' % (r3.rc, r3.describe()))
    evs = parse_events(r3, F)
    redone = sorted(e.get('path') for e in video_events(evs) if e.get('status') != 'skipped')
    if redone != sorted(bad):
        F.add('videos processed: %s, expected exactly the failed ones %s' % (redone, sorted(bad)))
    end = end_event(evs)
    if (end.get('skipped'), end.get('done')) != (len(good), len(bad)):
        F.add('"end" event (skipped, done)=%r, expected %r' % ((end.get('skipped'), end.get('done')),
                                                               (len(good), len(bad))))
    c3 = read_catalog(out)
    for p, st in bad.items():
        v = c3['videos'].get(p) or {}
        if (v.get('status'), v.get('attempts')) != (st, 2):
            F.add('%s: (status, attempts)=%r, expected %r' % (p, (v.get('status'), v.get('attempts')), (st, 2)))
    for p in good:
        v = c3['videos'].get(p) or {}
        if (v.get('status'), v.get('attempts')) != ('ok', 1):
            F.add('%s: (status, attempts)=%r, expected (ok, 1): --retry must not redo ok videos' % (
                p, (v.get('status'), v.get('attempts'))))
    s3 = tree_stat(Path(out) / 'frames')
    changed = sorted(k for k in set(s1) | set(s3) if s1.get(k) != s3.get(k))
    if changed:
        F.add('--retry changed files of ok videos: %s' % changed[:5])
    check_outputs(out, c3, F)
    F.raise_if_any()

    # --count 4: the options changed, so the ok videos are redone with 4 frames
    r4 = vrun(base + ['--count', 4], env_extra=env)
    F = Failures('run with --count 4')
    if r4.rc != 1:
        F.add('exit %s, expected 1\n  %s' % (r4.rc, r4.describe()))
    evs = parse_events(r4, F)
    redone = {e.get('path') for e in video_events(evs) if e.get('status') != 'skipped'}
    if not set(good) <= redone:
        F.add('ok videos not reprocessed after --count changed: %s' % sorted(set(good) - redone))
    c4 = read_catalog(out)
    for p in good:
        v = c4['videos'].get(p) or {}
        got = (v.get('status'), v.get('frames'), v.get('attempts'), len(c4['frames'].get(p, [])))
        if got != ('ok', 4, 2, 4):
            F.add('%s: (status, frames, attempts, frames rows)=%r, expected (ok, 4, 2, 4)' % (p, got))
        if v.get('options_hash') == d1['videos'][p]['options_hash']:
            F.add('%s: options_hash unchanged (%s) after --count changed' % (p, v.get('options_hash')))
    for p in bad:
        v = c4['videos'].get(p) or {}
        if v.get('status') not in NOT_OK:
            F.add('%s: status %s after --count 4, expected it to stay not ok' % (p, v.get('status')))
    check_outputs(out, c4, F)  # also: no frame file of the 8-frame run may remain
    F.raise_if_any()

    # the content of one input changes: only that one is redone (same options otherwise)
    d4, s4 = catalog_dump(c4), tree_stat(Path(out) / 'frames')
    time.sleep(0.05)
    tmp = inp / '.copy.new'
    shutil.copyfile(fixtures() / 'g_audio.mp4', tmp)
    os.replace(tmp, copy)
    r5 = vrun(base + ['--count', 4], env_extra=env)
    F = Failures('run after %s changed' % copy.name)
    if r5.rc != 1:
        F.add('exit %s, expected 1\n  %s' % (r5.rc, r5.describe()))
    evs = parse_events(r5, F)
    redone = sorted(e.get('path') for e in video_events(evs) if e.get('status') != 'skipped')
    if redone != [str(copy)]:
        F.add('videos processed: %s, expected only the changed %s' % (redone, copy))
    c5 = read_catalog(out)
    v = c5['videos'].get(str(copy)) or {}
    if v.get('fingerprint') == d4['videos'][str(copy)]['fingerprint']:
        F.add('%s: fingerprint unchanged (%s) after its content changed' % (copy, v.get('fingerprint')))
    got = (v.get('status'), v.get('frames'), v.get('attempts'), str(copy) in c5['audio'])
    if got != ('ok', 4, 3, True):
        F.add('%s: (status, frames, attempts, has audio row)=%r, expected (ok, 4, 3, True)' % (copy, got))
    d5 = catalog_dump(c5)
    for t in ('videos', 'frames', 'audio'):
        d4[t].pop(str(copy), None)
        d5[t].pop(str(copy), None)
    F.msgs += diff_dumps(d4, d5, 'before', 'after')
    key = v.get('key', '?')
    s5 = tree_stat(Path(out) / 'frames')
    changed = sorted(k for k in set(s4) | set(s5) if s4.get(k) != s5.get(k) and not k.startswith(key + '/'))
    if changed:
        F.add('files of unchanged videos were touched: %s' % changed[:5])
    check_outputs(out, c5, F)
    F.raise_if_any()


# ---------------------------------------------------------------------------
# 3. kill -9 of the supervisor mid-batch, then resume == uninterrupted run

def _proc_stat(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(')') + 2:].split()
    return {'state': rest[0], 'ppid': int(rest[1]), 'starttime': int(rest[19])}


def _children(pid):
    kids = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            st = _proc_stat(int(d))
            if st and st['ppid'] == pid:
                kids.append((int(d), st['starttime']))
    return kids


def _alive(pid, starttime):
    st = _proc_stat(pid)
    return st is not None and st['starttime'] == starttime and st['state'] not in ('Z', 'X')


def interrupt_run(args, fault, kill):
    """Starts vidx ARGS (--progress json) with VIDX_FAULT=fault, calls kill(pid) once the
    first "video" event is out, waits for the supervisor; returns (popen, workers seen at
    the kill, workers still alive 10 s later, seconds from the kill to the exit)."""
    common.require_vidx()
    cmd = [str(common.vidx_bin())] + [str(a) for a in args]
    env = dict(os.environ)
    env['VIDX_FAULT'] = fault
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=env)
    lines = queue.Queue()
    err = []

    def reader():
        for line in p.stdout:
            lines.put(line.decode('utf-8', 'replace'))
        lines.put(None)
    threading.Thread(target=reader, daemon=True).start()
    threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True).start()
    workers, alive = [], []
    try:
        deadline = time.time() + 60
        got_video = False
        while time.time() < deadline:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            if line is None:
                break
            try:
                if json.loads(line).get('event') == 'video':
                    got_video = True
                    break
            except ValueError:
                pass
        if not got_video:
            fail('no "video" progress event within 60 s (rc=%s)' % p.poll())
        workers = _children(p.pid)
        t_kill = time.time()
        kill(p.pid)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fail('the supervisor did not exit within 30 s of the signal')
        t_exit = time.time() - t_kill
        alive = list(workers)
        while alive and time.time() - t_kill < 10:
            alive = [w for w in alive if _alive(*w)]
            if alive:
                time.sleep(0.05)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # our own process group: whatever survived
        except (ProcessLookupError, PermissionError):
            pass
    p.stderr_text = err[0].decode('utf-8', 'replace') if err and err[0] else ''
    return p, workers, alive, t_exit


def test_interrupted_kill9_resume():
    many = fixtures() / 'many'
    n = len(list(many.glob('c*.mp4')))
    args_tail = ['--jobs', 2, '--fps', 10, '--format', 'png', '--audio', 'wav', '--progress', 'json']
    ref = common.new_out_dir('run_kill_reference')
    out = common.new_out_dir('run_kill')

    rr = vrun(['run', many, '-o', ref] + args_tail)
    check(rr.rc == 0, 'uninterrupted reference run: exit %s, expected 0\n  %s' % (rr.rc, rr.describe()))
    ref_cat = read_catalog(ref)
    check(len(ref_cat['videos']) == n, 'reference run recorded %d videos, expected %d' % (len(ref_cat['videos']), n))

    # c01.mp4 hangs in its worker (test-only fault): that worker is mid-video when the
    # supervisor dies, so only PR_SET_PDEATHSIG can end it (the closed task pipe cannot).
    p, workers, alive, _ = interrupt_run(['run', many, '-o', out] + args_tail, 'hang=/c01.mp4',
                                         lambda pid: os.kill(pid, signal.SIGKILL))
    F = Failures('kill -9 of the supervisor')
    if p.returncode != -signal.SIGKILL:
        F.add('supervisor exit status %s, expected killed by SIGKILL' % p.returncode)
    if alive:
        F.add('worker(s) %s still alive 10 s after the supervisor was killed (no PDEATHSIG?)' % [w[0] for w in alive])
    if len(workers) < 2:
        F.add('expected 2 workers (--jobs 2) when the first video was done, found %s' % [w[0] for w in workers])
    mid = read_catalog(out)
    n_mid = len(mid['videos'])
    if mid['integrity'] != 'ok':
        F.add('catalog integrity_check after kill -9: %r' % mid['integrity'])
    for path, v in mid['videos'].items():  # a recorded video is complete
        for r in mid['frames'].get(path, []):
            f = Path(out) / r['location']
            if not f.is_file() or f.stat().st_size != r['bytes']:
                F.add('after kill -9: recorded %s but %s is missing or has the wrong size' % (path, r['location']))
                break
    F.raise_if_any()
    if n_mid >= n:
        raise Skip('the batch finished (%d/%d recorded) before the kill landed: nothing was interrupted' % (n_mid, n))
    note('killed after %d of %d videos were recorded; %d workers' % (n_mid, n, len(workers)))

    r2 = vrun(['run', many, '-o', out] + args_tail)
    F = Failures('run after kill -9')
    if r2.rc != 0:
        F.add('exit %s, expected 0\n  %s' % (r2.rc, r2.describe()))
    evs = parse_events(r2, F)
    end = end_event(evs)
    if (end.get('total'), end.get('skipped'), end.get('done')) != (n, n_mid, n - n_mid):
        F.add('"end" event (total, skipped, done)=%r, expected %r' % (
            (end.get('total'), end.get('skipped'), end.get('done')), (n, n_mid, n - n_mid)))
    cat = read_catalog(out)
    F.msgs += diff_dumps(catalog_dump(ref_cat), catalog_dump(cat), 'uninterrupted', 'resumed')
    m_ref, m_out = tree_md5(ref), tree_md5(out)
    for k in sorted(set(m_ref) | set(m_out)):
        if k.startswith('catalog.db'):
            continue
        if k not in m_out:
            F.add('file missing after resume: %s' % k)
        elif k not in m_ref:
            F.add('extra file after resume (not in the uninterrupted run): %s' % k)
        elif k == '.vidx-output':  # each OUT has an id of its own (the catalog binding)
            a, b = (json.loads((Path(d) / k).read_text()) for d in (ref, out))
            if a.pop('id', None) == b.pop('id', None) or a != b:
                F.add('marker differs from the uninterrupted run (or has the same id): %s / %s'
                      % (a, b))
        elif m_ref[k] != m_out[k]:
            F.add('file differs from the uninterrupted run: %s' % k)
    check_outputs(out, cat, F, ext='png')
    F.raise_if_any(30)


# ---------------------------------------------------------------------------
# 4. URL inputs from a loopback HTTP server

class _Server:
    def __init__(self, root):
        self.root = Path(root)
        self.stop = threading.Event()
        self.log = []
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.log.append((self.path, self.headers.get('Range')))
                try:
                    if self.path.startswith('/stall/'):
                        self.send_response(200)
                        self.send_header('Content-Type', 'video/mp4')
                        self.send_header('Content-Length', '10000000')
                        self.end_headers()
                        self.wfile.flush()
                        srv.stop.wait(90)
                        return
                    if not self.path.startswith('/files/'):
                        self.send_error(404, 'Not Found')
                        return
                    f = srv.root / self.path[len('/files/'):]
                    if '..' in self.path or not f.is_file():
                        self.send_error(404, 'Not Found')
                        return
                    data = f.read_bytes()
                    rng = self.headers.get('Range')
                    m = re.match(r'bytes=(\d+)-(\d*)$', rng or '')
                    if m:
                        a = int(m.group(1))
                        b = int(m.group(2)) if m.group(2) else len(data) - 1
                        if a >= len(data):
                            self.send_response(416)
                            self.send_header('Content-Range', 'bytes */%d' % len(data))
                            self.send_header('Content-Length', '0')
                            self.end_headers()
                            return
                        b = min(b, len(data) - 1)
                        self.send_response(206)
                        self.send_header('Content-Range', 'bytes %d-%d/%d' % (a, b, len(data)))
                        body = data[a:b + 1]
                    else:
                        self.send_response(200)
                        body = data
                    self.send_header('Accept-Ranges', 'bytes')
                    self.send_header('Content-Type', 'video/mp4')
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)

    def url(self, path):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def frame_digests(out, cat, path):
    v = cat['videos'][path]
    man = Path(out) / 'frames' / v['key'] / 'manifest.jsonl'
    if not man.is_file():
        return None
    res = []
    for m in read_manifest(man):
        f = man.parent / m['path']
        res.append((m['index'], m['path'], hashlib.md5(f.read_bytes()).hexdigest() if f.is_file() else None))
    return res


def test_url_inputs():
    fx = fixtures()
    out = common.new_out_dir('run_urls')
    local = {'g_audio.mp4': str(fx / 'g_audio.mp4'), 'g_noaudio_fs.mp4': str(fx / 'g_noaudio_fs.mp4')}
    with _Server(fx) as srv:
        urls = {n: srv.url('/files/' + n) for n in local}
        u404 = srv.url('/missing/nothing.mp4')
        ustall = srv.url('/stall/slow.mp4')
        inputs = sorted(local.values()) + sorted(urls.values()) + [u404, ustall]
        res = vrun(['run'] + inputs + ['-o', out, '--jobs', 2, '--timeout', 10, '--audio', 'wav',
                                       '--progress', 'json'], timeout=90)
        reqs = list(srv.log)
    F = Failures('vidx run with http:// inputs')
    if res.timed_out or res.elapsed >= 60:
        F.add('run took %.1fs (timed out: %s); with --timeout 10 it must end well within 60 s' % (
            res.elapsed, res.timed_out))
    if res.rc != 1:
        F.add('exit %s, expected 1 (404 and stall fail)\n  %s' % (res.rc, res.describe()))
    cat = read_catalog(out)
    vids = cat['videos']
    for name, lp in local.items():
        u = urls[name]
        vl, vu = vids.get(lp), vids.get(u)
        if not vl or vl['status'] != 'ok':
            F.add('local %s: %s, expected ok' % (name, vl and (vl['status'], vl['error'])))
            continue
        if not vu or vu['status'] != 'ok':
            F.add('URL %s: %s, expected ok (requests the server saw: %s)' % (
                u, vu and (vu['status'], vu['error_class'], vu['error']),
                [r for r in reqs if name in r[0]][:6]))
            continue
        dl, du = frame_digests(out, cat, lp), frame_digests(out, cat, u)
        if dl != du:
            F.add('URL %s: frames differ from the local file:\n    local %s\n    url   %s' % (u, dl, du))
        al, au = cat['audio'].get(lp), cat['audio'].get(u)
        if (al is None) != (au is None):
            F.add('URL %s: audio row %s, local file %s' % (u, au, al))
        elif al is not None:
            ml = hashlib.md5((Path(out) / al['path']).read_bytes()).hexdigest()
            mu = hashlib.md5((Path(out) / au['path']).read_bytes()).hexdigest()
            if ml != mu:
                F.add('URL %s: audio.wav differs from the local file\'s' % u)
    v = vids.get(u404)
    if not v:
        F.add('404 URL not in the catalog')
    elif v['status'] != 'failed' or v['error_class'] not in ('network', 'notfound') or \
            not re.search(r'404|not found', v['error'] or '', re.I):
        F.add('404 URL: (status, class, error)=%r, expected failed, network/notfound, error naming 404'
              % ((v['status'], v['error_class'], v['error']),))
    v = vids.get(ustall)
    if not v:
        F.add('stalled URL not in the catalog')
    elif v['status'] not in ('failed', 'timeout') or \
            (v['status'] == 'failed' and v['error_class'] not in ('network', 'timeout')):
        F.add('stalled URL: (status, class, error)=%r, expected timeout (or failed/network)' % (
            (v['status'], v['error_class'], v['error']),))
    check_outputs(out, cat, F)
    note('URL run: %.1fs, %d HTTP requests' % (res.elapsed, len(reqs)))
    F.raise_if_any()


# ---------------------------------------------------------------------------
# 5. input forms: @list, stdin, directory walk

def test_input_forms():
    fx = fixtures()
    F = Failures('input forms')
    a, b, c = (str(p) for p in good_clips())

    work = common.new_out_dir('run_inputs')
    work.mkdir(parents=True)
    lst = work / 'list.txt'
    lst.write_text('%s\n%s\n' % (a, b))
    out1 = work / 'out_list'
    r = vrun(['run', '@%s' % lst, '-o', out1, '--jobs', 2, '--progress', 'json'])
    F.check(r.rc == 0, '@list.txt: exit %s, expected 0\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out1)
    got = {p: v['status'] for p, v in cat['videos'].items()}
    F.check(got == {a: 'ok', b: 'ok'}, '@list.txt: catalog %s, expected both listed paths ok' % got)

    out2 = work / 'out_stdin'
    r = vrun(['run', '-', '-o', out2, '--jobs', 2, '--progress', 'json'], stdin_data='%s\n%s\n' % (c, b))
    F.check(r.rc == 0, "'-' (stdin): exit %s, expected 0\n  %s" % (r.rc, r.describe()))
    cat = read_catalog(out2)
    got = {p: v['status'] for p, v in cat['videos'].items()}
    F.check(got == {c: 'ok', b: 'ok'}, "'-' (stdin): catalog %s, expected the 2 paths from stdin ok" % got)

    tree = work / 'tree'
    (tree / 'sub' / 'deep').mkdir(parents=True)
    shutil.copyfile(b, tree / 'clip_noext')                  # no extension: found by probing
    shutil.copyfile(c, tree / 'sub' / 'deep' / 'clip.mkv')   # nested, by extension
    shutil.copyfile(a, tree / '.hidden.mp4')                 # hidden: skipped
    (tree / 'notes.txt').write_text('notes, not a video\n' * 50)   # skipped
    (tree / 'sub' / 'README').write_text('no extension, not a video\n' * 50)  # skipped
    out3 = work / 'out_tree'
    r = vrun(['run', tree, '-o', out3, '--jobs', 2, '--progress', 'json'])
    F.check(r.rc == 0, 'directory: exit %s, expected 0\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out3)
    got = {os.path.normpath(p): v['status'] for p, v in cat['videos'].items()}
    exp = {str(tree / 'clip_noext'): 'ok', str(tree / 'sub' / 'deep' / 'clip.mkv'): 'ok'}
    F.check(got == exp, 'directory walk: catalog %s, expected %s (notes.txt, README, .hidden.mp4 skipped)'
            % (got, exp))
    for o in (out1, out2, out3):
        check_outputs(o, read_catalog(o), F)
    F.raise_if_any()


# ---------------------------------------------------------------------------
# 6. status, export, help, usage errors

def test_status_export_help():
    F = Failures('status/export/help')
    for sub in ('run', 'status', 'export', 'sync'):
        r = vrun([sub, '--help'], timeout=30)
        if r.rc != 0 or 'usage' not in (r.stdout + r.stderr).lower():
            F.add('vidx %s --help: rc %s, expected 0 with a usage text; output %r' % (
                sub, r.rc, (r.stdout + r.stderr)[:200]))
    work = common.new_out_dir('run_status_export')
    work.mkdir(parents=True)
    a, b = str(fixtures() / 'g_audio.mp4'), str(fixtures() / 'g_noaudio.mp4')
    for args, why in ((['run', a], 'no -o'), (['run', '-o', work / 'u1'], 'no INPUT'),
                      (['run', a, '-o', work / 'u2', '--progress', 'bogus'], 'bad --progress'),
                      (['run', a, '-o', work / 'u3', '--count', 'abc'], 'bad --count')):
        r = vrun(args, timeout=30)
        F.check(r.rc == 2, 'vidx %s (%s): exit %s, expected 2 (usage)' % (' '.join(map(str, args)), why, r.rc))

    txt = work / 'notavideo.mp4'
    txt.write_text('text\n' * 10)
    out = work / 'out'
    r = vrun(['run', a, b, txt, '-o', out, '--jobs', 2, '--audio', 'wav', '--progress', 'none'])
    F.check(r.rc == 1, 'batch: exit %s, expected 1\n  %s' % (r.rc, r.describe()))
    F.check(r.stdout == '', '--progress none: stdout should be empty, got %r' % r.stdout[:200])
    cat = read_catalog(out)
    counts = {'videos': len(cat['videos']), 'frames': cat['n_frames_rows'], 'audio': cat['n_audio_rows']}
    F.check(counts == {'videos': 3, 'frames': 2 * COUNT, 'audio': 1},
            'catalog row counts %s, expected 3 videos, %d frames, 1 audio' % (counts, 2 * COUNT))
    for table, n in counts.items():
        r = vrun(['export', out, '--table', table, '--format', 'jsonl'], timeout=30)
        if r.rc != 0:
            F.add('export --table %s --format jsonl: rc %s\n  %s' % (table, r.rc, r.describe()))
        else:
            rows = []
            for i, line in enumerate(r.stdout.splitlines()):
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    F.add('export %s jsonl line %d not JSON (%s): %r' % (table, i + 1, e, line[:200]))
            F.check(len(rows) == n, 'export --table %s jsonl: %d rows, catalog has %d' % (table, len(rows), n))
            if table == 'frames':
                locs = sorted(x.get('location') for x in rows)
                exp = sorted(f['location'] for fr in cat['frames'].values() for f in fr)
                F.check(locs == exp, 'export frames jsonl locations differ from the catalog: %s vs %s' % (
                    locs[:3], exp[:3]))
        r = vrun(['export', out, '--table', table, '--format', 'csv'], timeout=30)
        if r.rc != 0:
            F.add('export --table %s --format csv: rc %s\n  %s' % (table, r.rc, r.describe()))
        else:
            rows = list(csv.reader(io.StringIO(r.stdout)))
            F.check(len(rows) == n + 1, 'export --table %s csv: %d lines incl. header, expected %d' % (
                table, len(rows), n + 1))
            if rows:
                widths = {len(x) for x in rows}
                F.check(len(widths) == 1, 'export --table %s csv: ragged rows (field counts %s)' % (table, widths))
    r = vrun(['export', out, '--table', 'bogus'], timeout=30)
    F.check(r.rc != 0, 'export --table bogus: exit 0, expected an error')
    st = check_status_json(out, cat, F)
    if st is not None:
        F.check(st.get('counts') == {'ok': 2, 'failed': 1}, 'status counts %s, expected ok 2, failed 1'
                % st.get('counts'))
    r = vrun(['status', out], timeout=30)
    F.check(r.rc in (0, 1), 'vidx status (text): rc %s' % r.rc)
    F.check(str(txt) in r.stdout + r.stderr, 'vidx status (text) does not name the failed video %s: %r'
            % (txt, (r.stdout + r.stderr)[:300]))
    F.raise_if_any()


def test_status_text_no_null():
    """vidx status (text) must not print '(null)' for a video without class/error (a partial one)."""
    work = common.new_out_dir('run_status_text')
    work.mkdir(parents=True)
    fs = (fixtures() / 'g_noaudio_fs.mp4').read_bytes()
    part = work / 'half.mp4'
    part.write_bytes(fs[:len(fs) // 2])
    out = work / 'out'
    r = vrun(['run', part, '-o', out, '--jobs', 2, '--progress', 'none'])
    cat = read_catalog(out)
    v = cat['videos'].get(str(part))
    check(v is not None, 'half.mp4 not in the catalog\n  %s' % r.describe())
    if v['status'] != 'partial':
        raise Skip('half.mp4 gave %s, not partial: nothing to check' % v['status'])
    r = vrun(['status', out], timeout=30)
    text = r.stdout + r.stderr
    check('(null)' not in text, 'vidx status prints "(null)" for the partial video (C printf of a NULL '
          'class/error):\n    %s' % '\n    '.join(l for l in text.splitlines() if '(null)' in l))


# ---------------------------------------------------------------------------
# 7. an unreadable input

def test_permission_denied():
    fx = fixtures()
    base = Path(tempfile.mkdtemp(prefix='vidx-run-perm-'))
    try:
        os.chmod(base, 0o755)
        locked = base / 'locked.mp4'
        shutil.copyfile(fx / 'g_noaudio.mp4', locked)
        os.chmod(locked, 0)
        readable = base / 'readable.mp4'
        shutil.copyfile(fx / 'g_noaudio.mp4', readable)
        out = base / 'out'
        out.mkdir()
        common.require_vidx()
        cmd = [str(common.vidx_bin()), 'run', str(locked), str(readable), '-o', str(out), '--jobs', '2',
               '--progress', 'json']
        preexec = None
        if os.geteuid() == 0:
            nobody = 65534
            os.chown(out, nobody, nobody)
            os.chmod(readable, 0o644)
            # the binary and the inputs must be reachable by nobody
            for target in (common.vidx_bin().resolve(), base):
                for d in list(Path(target).parents)[:-1]:
                    if not os.stat(d).st_mode & 0o001:
                        raise Skip('running as root, and uid nobody cannot reach %s (dir %s is not o+x)'
                                   % (target, d))

            def preexec():
                os.setgroups([])
                os.setgid(nobody)
                os.setuid(nobody)
            note('running as root: this case runs vidx as uid %d' % nobody)
        env = dict(os.environ)
        env.pop('VIDX_FAULT', None)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, preexec_fn=preexec,
                               env=env, stdin=subprocess.DEVNULL)
        except (PermissionError, OSError) as e:
            raise Skip('cannot run vidx as another user here: %s' % e)
        F = Failures('unreadable input')
        F.check(p.returncode == 1, 'exit %s, expected 1\n  stderr: %s' % (p.returncode, p.stderr[-800:]))
        cat = read_catalog(out)
        v = cat['videos'].get(str(locked))
        got = v and (v['status'], v['error_class'])
        F.check(got == ('failed', 'permission'), 'chmod 000 input: (status, class)=%r error=%r, expected '
                '(failed, permission)' % (got, v and v['error']))
        v = cat['videos'].get(str(readable))
        F.check(v is not None and v['status'] == 'ok', 'readable input next to it: %r, expected ok' % (
            (v and (v['status'], v['error'])),))
        F.raise_if_any()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_interrupted_sigint_resume():
    """Ctrl-C (SIGINT to the process group) mid-batch: exit 130, workers gone, then resume."""
    many = fixtures() / 'many'
    n = len(list(many.glob('c*.mp4')))
    out = common.new_out_dir('run_sigint')
    args = ['run', many, '-o', out, '--jobs', 2, '--progress', 'json']
    p, workers, alive, t_exit = interrupt_run(args, 'hang=/c01.mp4', lambda pid: os.killpg(pid, signal.SIGINT))
    F = Failures('SIGINT mid-batch')
    if p.returncode != 130:
        F.add('exit status %s, expected 130 (interrupted)\n  stderr: %s' % (p.returncode, p.stderr_text[-800:]))
    if t_exit > 5:
        F.add('exited %.1fs after SIGINT (a worker hangs: the supervisor must not wait for it)' % t_exit)
    if 'vidx run' not in p.stderr_text:
        F.add('no summary on stderr after the interrupt: %r' % p.stderr_text[-300:])
    if alive:
        F.add('worker(s) %s still alive after the interrupted run exited' % [w[0] for w in alive])
    mid = read_catalog(out)
    if mid['integrity'] != 'ok':
        F.add('catalog integrity_check: %r' % mid['integrity'])
    if len(mid['videos']) >= n:
        F.add('%d of %d videos recorded although c01.mp4 never finished' % (len(mid['videos']), n))
    bad = {p_: v['status'] for p_, v in mid['videos'].items() if v['status'] != 'ok'}
    if bad:
        F.add('videos recorded not ok by an interrupted run (they should just be redone): %s' % bad)
    F.raise_if_any()
    r = vrun(args)
    F = Failures('run after SIGINT')
    if r.rc != 0:
        F.add('exit %s, expected 0\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out)
    st = sorted({v['status'] for v in cat['videos'].values()})
    if len(cat['videos']) != n or st != ['ok']:
        F.add('%d videos recorded with statuses %s, expected %d ok' % (len(cat['videos']), st, n))
    if any(v['attempts'] != 1 for v in cat['videos'].values()):
        F.add('attempts %s, expected 1 each (the interrupted video was never recorded)' % sorted(
            {v['attempts'] for v in cat['videos'].values()}))
    check_outputs(out, cat, F)
    F.raise_if_any()


ODD_NAMES = ['we"ird name \u00e9.mp4', '#hash @at.mp4', '-dash.mp4', 'back\\slash.mp4', '\u6f22\u5b57.mkv']
CONTROL_NAMES = ['tab\there.mp4', 'new\nline.mp4']


def _names_case(names, tag):
    src = fixtures() / 'g_noaudio.mp4'
    work = common.new_out_dir(tag)
    tree = work / 'in'
    tree.mkdir(parents=True)
    for n in names:
        shutil.copyfile(src, tree / n)
    out = work / 'out'
    r = vrun(['run', tree, '-o', out, '--jobs', 2, '--progress', 'json'])
    F = Failures('file names %s' % [n for n in names])
    if r.rc != 0:
        F.add('exit %s, expected 0\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out)
    for n in names:
        p = str(tree / n)
        v = cat['videos'].get(p)
        if v is None:
            F.add('%r: not in the catalog (paths there: %r)' % (n, sorted(cat['videos'])))
        elif (v['status'], v['frames']) != ('ok', COUNT):
            F.add('%r: (status, class, error, frames)=%r, expected ok with %d frames' % (
                n, (v['status'], v['error_class'], v['error'], v['frames']), COUNT))
    evs = parse_events(r, F)
    epaths = sorted(e.get('path') for e in video_events(evs))
    if epaths != sorted(cat['videos']):
        F.add('"video" event paths %r differ from the catalog paths %r (JSON escaping?)' % (
            epaths, sorted(cat['videos'])))
    check_outputs(out, cat, F)
    F.raise_if_any()


def test_odd_file_names():
    """Quotes, spaces, non-ASCII, '#', '@', leading '-', backslash in walked file names."""
    _names_case(ODD_NAMES, 'run_odd_names')


def test_control_char_file_names():
    """Tab and newline are legal in Linux file names; a walked directory may hold them."""
    _names_case(CONTROL_NAMES, 'run_control_names')


def test_long_path_event():
    """A walked file 1200+ characters deep: its "video" event must carry the whole path."""
    work = common.new_out_dir('run_long_path')
    d = work / 'in'
    for i in range(6):
        d = d / ('d' * 200 + str(i))
    d.mkdir(parents=True)
    clip = d / 'clip.mp4'
    shutil.copyfile(fixtures() / 'g_noaudio.mp4', clip)
    out = work / 'out'
    r = vrun(['run', work / 'in', '-o', out, '--jobs', 2, '--progress', 'json'])
    F = Failures('input path of %d characters' % len(str(clip)))
    if r.rc != 0:
        F.add('exit %s, expected 0\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out)
    v = cat['videos'].get(str(clip))
    if v is None or v['status'] != 'ok':
        F.add('catalog: %s, expected the clip ok' % ({p[-40:]: x['status'] for p, x in cat['videos'].items()},))
    paths = [e.get('path') or '' for e in video_events(parse_events(r, F))]
    if paths != [str(clip)]:
        F.add('"video" event path(s) of length %s, expected exactly the catalog path (%d characters); '
              'event path ends %r' % ([len(p) for p in paths], len(str(clip)), [p[-24:] for p in paths]))
    check_outputs(out, cat, F)
    F.raise_if_any()
