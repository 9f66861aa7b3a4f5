"""Shared helpers for the vidx CLI end-to-end tests (stdlib + numpy only).

Locations (all overridable by environment):
  VIDX_BIN      the binary under test      (default: <repo>/build/tools/vidx/vidx)
  VIDX_CORPUS   the real-clip corpus        (default: <repo>/../shared/corpus)
  TMPDIR        where fixtures/oracle data are cached between runs
"""
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS_CLI = Path(__file__).resolve().parent
GEN_SCRIPT = REPO / 'tests' / 'gen' / 'make_fixtures.sh'


def catalog_schema():
    """The catalog schema version this vidx writes (VIDX_CATALOG_SCHEMA, src/catalog/migrate.h)."""
    text = (REPO / 'src' / 'catalog' / 'migrate.h').read_text()
    return int(re.search(r'#define VIDX_CATALOG_SCHEMA (\d+)', text).group(1))

FFMPEG = os.environ.get('VIDX_TEST_FFMPEG', 'ffmpeg')
FFPROBE = os.environ.get('VIDX_TEST_FFPROBE', 'ffprobe')

VIDX_TIMEOUT = 60  # seconds for one vidx invocation (spec: no hang)


class Skip(Exception):
    """Raised by a test that cannot run here (missing corpus, ...)."""


class TestFailure(AssertionError):
    pass


def fail(msg):
    raise TestFailure(msg)


_tls = threading.local()


def note(msg):
    """Attaches an informational line (a measurement) to the current test's report."""
    lst = getattr(_tls, 'notes', None)
    if lst is not None:
        lst.append(msg)
    else:
        print('# note: ' + msg, flush=True)


def set_notes_sink(lst):
    _tls.notes = lst


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


class Failures:
    """Collects several failure messages and raises them together."""

    def __init__(self, context=''):
        self.context = context
        self.msgs = []

    def add(self, msg):
        self.msgs.append(msg)

    def check(self, cond, msg):
        if not cond:
            self.msgs.append(msg)
        return cond

    def raise_if_any(self, limit=25):
        if self.msgs:
            extra = '' if len(self.msgs) <= limit else '\n  ... and %d more' % (len(self.msgs) - limit)
            head = (self.context + ': ') if self.context else ''
            raise TestFailure(head + '%d problem(s):\n  ' % len(self.msgs) +
                              '\n  '.join(self.msgs[:limit]) + extra)


# ---------------------------------------------------------------------------
# locations

def cache_root():
    d = Path(os.environ.get('TMPDIR') or tempfile.gettempdir()) / 'vidx-cli-cache'
    d.mkdir(parents=True, exist_ok=True)
    return d


def vidx_bin():
    return Path(os.environ.get('VIDX_BIN') or (REPO / 'build' / 'tools' / 'vidx' / 'vidx'))


def have_vidx():
    b = vidx_bin()
    return b.is_file() and os.access(b, os.X_OK)


def require_vidx():
    if not have_vidx():
        raise Skip('vidx binary not found at %s (build it, or set VIDX_BIN)' % vidx_bin())


def corpus_dir():
    env = os.environ.get('VIDX_CORPUS')
    p = Path(env) if env else (REPO.parent / 'shared' / 'corpus')
    return p.resolve() if p.is_dir() else None  # vidx records real paths


def require_corpus():
    d = corpus_dir()
    if d is None:
        raise Skip('corpus not found (set VIDX_CORPUS, or place it at %s)' % (REPO.parent / 'shared' / 'corpus'))
    return d


def corpus_clip(name):
    d = require_corpus()
    p = d / name
    if not p.is_file():
        raise Skip('corpus clip %s missing from %s' % (name, d))
    return p


def truth_file(name):
    d = require_corpus()
    p = d / 'truth' / name
    if not p.is_file():
        raise Skip('truth file %s missing' % p)
    return p


# Corpus clips with documented damage: they get behaviour tests of their own
# (test_errors.py) instead of the exact-frame matrix.
CORRUPT_CLIPS = {
    'androidx_invalid-bitstream.webm': 'undecodable VP9 bitstream (0 frames decodable)',
    'androidx_sample_with_invalid_nalu.mp4': '1 of 30 samples has an invalid NAL unit',
}
VIDEO_EXTS = {'.mp4', '.mov', '.mkv', '.webm', '.avi', '.flv', '.ts', '.3gp', '.m4v'}


def corpus_clips():
    """All corpus clips (sorted names), including the corrupt ones."""
    d = corpus_dir()
    if d is None:
        return []
    return sorted(p.name for p in d.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTS)


# ---------------------------------------------------------------------------
# fixtures (generated once, cached by a hash of the generator script)

_fixture_lock = threading.Lock()
_fixture_dir = None


def _ffmpeg_version():
    try:
        out = subprocess.run([FFMPEG, '-version'], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0] if out else ''
    except Exception:
        return ''


def fixtures_dir():
    """Generates tests/gen/make_fixtures.sh output once (cached in $TMPDIR)."""
    global _fixture_dir
    with _fixture_lock:
        if _fixture_dir is not None:
            return _fixture_dir
        h = hashlib.sha256(GEN_SCRIPT.read_bytes() + _ffmpeg_version().encode()).hexdigest()[:16]
        root = cache_root()
        final = root / ('fixtures-' + h)
        lockf = open(root / ('fixtures-' + h + '.lock'), 'w')
        try:
            fcntl.flock(lockf, fcntl.LOCK_EX)
            if not (final / '.complete').is_file():
                tmp = Path(tempfile.mkdtemp(prefix='fixtures-tmp-', dir=root))
                t0 = time.time()
                r = subprocess.run(['bash', str(GEN_SCRIPT), str(tmp)], capture_output=True, text=True,
                                   timeout=300)
                if r.returncode != 0:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise TestFailure('fixture generation failed (rc=%d):\n%s' % (r.returncode, r.stderr[-3000:]))
                if final.exists():
                    shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
                print('# fixtures generated in %.1fs: %s' % (time.time() - t0, final), flush=True)
        finally:
            fcntl.flock(lockf, fcntl.LOCK_UN)
            lockf.close()
        _fixture_dir = final
        return final


def fixture(name):
    p = fixtures_dir() / name
    if not p.exists():
        fail('fixture %s was not generated' % p)
    return p


# ---------------------------------------------------------------------------
# processes

class Result:
    def __init__(self, cmd, rc, stdout, stderr, elapsed, timed_out):
        self.cmd, self.rc, self.stdout, self.stderr = cmd, rc, stdout, stderr
        self.elapsed, self.timed_out = elapsed, timed_out

    def describe(self):
        return 'command: %s\n  rc=%s%s (%.1fs)\n  stderr: %s' % (
            ' '.join(_q(c) for c in self.cmd), self.rc, ' TIMED OUT' if self.timed_out else '',
            self.elapsed, self.stderr.strip()[-1500:] or '(empty)')


def _q(s):
    s = str(s)
    return s if re.match(r'^[\w@%+=:,./-]+$', s) else "'" + s.replace("'", "'\\''") + "'"


def run(cmd, timeout=VIDX_TIMEOUT, text=True, env=None, cwd=None):
    """Runs cmd in its own process group; kills the group on timeout."""
    cmd = [str(c) for c in cmd]
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=env, cwd=cwd)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
    if text:
        out = out.decode('utf-8', 'replace')
    err = err.decode('utf-8', 'replace')
    return Result(cmd, p.returncode, out, err, time.time() - t0, timed_out)


def run_vidx(args, timeout=VIDX_TIMEOUT):
    require_vidx()
    return run([vidx_bin()] + [str(a) for a in args], timeout=timeout)


# ---------------------------------------------------------------------------
# scratch space for outputs

_work_lock = threading.Lock()
_work_dir = None
_counter = [0]


def work_dir():
    global _work_dir
    with _work_lock:
        if _work_dir is None:
            _work_dir = Path(tempfile.mkdtemp(prefix='vidx-cli-run-'))
        return _work_dir


def new_out_dir(tag):
    with _work_lock:
        _counter[0] += 1
        n = _counter[0]
    safe = re.sub(r'[^\w.-]+', '_', tag)[:80]
    return work_dir() / ('%04d_%s' % (n, safe))


def cleanup_work_dir(keep=False):
    if _work_dir is not None and not keep:
        shutil.rmtree(_work_dir, ignore_errors=True)
    return _work_dir


# ---------------------------------------------------------------------------
# running `vidx frames` (memoised: several tests look at the same run)

class FramesRun:
    def __init__(self, src, args, outdir, res):
        self.src, self.args, self.outdir, self.res = Path(src), list(args), Path(outdir), res
        self.manifest = None
        self.manifest_error = None
        mf = self.outdir / 'manifest.jsonl'
        if mf.is_file():
            self.manifest = []
            for i, line in enumerate(mf.read_text().splitlines()):
                if not line.strip():
                    continue
                try:
                    self.manifest.append(json.loads(line))
                except ValueError as e:
                    self.manifest_error = 'manifest line %d is not JSON (%s): %r' % (i + 1, e, line[:200])
                    break

    @property
    def rc(self):
        return self.res.rc

    def label(self):
        return '%s %s' % (self.src.name, ' '.join(self.args))

    def files(self):
        if not self.outdir.is_dir():
            return []
        return sorted(str(p.relative_to(self.outdir)) for p in self.outdir.rglob('*') if not p.is_dir())

    def require_ok(self, allowed=(0,)):
        if self.res.rc not in allowed:
            fail('%s: expected exit %s\n  %s' % (self.label(), '/'.join(map(str, allowed)), self.res.describe()))
        if self.manifest_error:
            fail('%s: %s' % (self.label(), self.manifest_error))
        if self.manifest is None:
            fail('%s: exit %d but no manifest.jsonl in %s (files: %s)' % (
                self.label(), self.res.rc, self.outdir, self.files()[:10]))
        return self


_runs = {}
_runs_lock = threading.Lock()


def vidx_frames(src, args, md5=True, memo=True, timeout=VIDX_TIMEOUT):
    """Runs `vidx frames SRC -o DIR ARGS [--md5]`; returns a FramesRun."""
    args = [str(a) for a in args] + (['--md5'] if md5 else [])
    key = (str(src), tuple(args))
    if memo:
        with _runs_lock:
            ev = _runs.get(key)
            if ev is None:
                ev = _runs[key] = [threading.Event(), None]
                owner = True
            else:
                owner = False
        if not owner:
            ev[0].wait()
            if isinstance(ev[1], BaseException):
                raise ev[1]
            return ev[1]
    out = new_out_dir('%s_%s' % (Path(src).name, '_'.join(args)))
    fr = None
    try:
        res = run_vidx(['frames', src, '-o', out] + args, timeout=timeout)
        fr = FramesRun(src, args, out, res)
    except BaseException as e:
        fr = e
        raise
    finally:
        if memo:
            with _runs_lock:
                _runs[key][1] = fr
                if isinstance(fr, BaseException):
                    del _runs[key]   # let a later caller retry
                ev[0].set()
    return fr


# ---------------------------------------------------------------------------
# images

def image_size(path):
    """(width, height) from a PNG, JPEG or WebP header (no decoding)."""
    with open(path, 'rb') as f:
        head = f.read(64)
        if head.startswith(b'\x89PNG\r\n\x1a\n'):
            w, h = struct.unpack('>II', head[16:24])
            return w, h
        if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
            chunk = head[12:16]
            if chunk == b'VP8 ':
                w, h = struct.unpack('<HH', head[26:30])
                return w & 0x3fff, h & 0x3fff
            if chunk == b'VP8L':
                b = head[21:25]
                v = int.from_bytes(b, 'little')
                return (v & 0x3fff) + 1, ((v >> 14) & 0x3fff) + 1
            if chunk == b'VP8X':
                w = int.from_bytes(head[24:27], 'little') + 1
                h = int.from_bytes(head[27:30], 'little') + 1
                return w, h
            raise ValueError('unknown WebP chunk %r' % chunk)
        if head[:2] == b'\xff\xd8':
            f.seek(2)
            while True:
                b = f.read(1)
                while b and b != b'\xff':
                    b = f.read(1)
                while b == b'\xff':
                    b = f.read(1)
                if not b:
                    raise ValueError('no SOF marker')
                m = b[0]
                if m in (0xd8, 0x01) or 0xd0 <= m <= 0xd7:
                    continue
                seglen = struct.unpack('>H', f.read(2))[0]
                if m in (0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf):
                    seg = f.read(5)
                    h, w = struct.unpack('>HH', seg[1:5])
                    return w, h
                f.seek(seglen - 2, 1)
        raise ValueError('not a PNG/JPEG/WebP file: %r' % head[:12])


def image_kind(path):
    with open(path, 'rb') as f:
        head = f.read(16)
    if head.startswith(b'\x89PNG'):
        return 'png'
    if head[:2] == b'\xff\xd8':
        return 'jpg'
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return 'webp'
    return None


def ffprobe_image_size(path):
    r = run([FFPROBE, '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height',
             '-of', 'json', path], timeout=30)
    s = json.loads(r.stdout)['streams'][0]
    return s['width'], s['height']


def decode_rgb(path, timeout=60, flags=None):
    """Decodes an image file with FFmpeg into an HxWx3 uint8 numpy array.
    flags: swscale flags for the conversion to RGB (e.g. 'accurate_rnd+full_chroma_int' to
    interpolate JPEG chroma instead of FFmpeg's default fast path)."""
    import numpy as np
    w, h = image_size(path)
    vf = ['-vf', 'scale=flags=%s,format=rgb24' % flags] if flags else []
    r = run([FFMPEG, '-nostdin', '-v', 'error', '-i', path] + vf + ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
            timeout=timeout, text=False)
    if r.rc != 0 or len(r.stdout) != w * h * 3:
        fail('ffmpeg could not decode %s (rc=%s, %d bytes, expected %d): %s' % (
            path, r.rc, len(r.stdout), w * h * 3, r.stderr[-500:]))
    return np.frombuffer(r.stdout, dtype=np.uint8).reshape(h, w, 3)


def psnr(a, b):
    import numpy as np
    if a.shape != b.shape:
        fail('PSNR: shape mismatch %s vs %s' % (a.shape, b.shape))
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if mse == 0:
        return float('inf')
    return 10.0 * np.log10(255.0 * 255.0 / mse)


# Output file names: DIR/<index %06d>_<time in ms>ms.<ext>
NAME_RE = re.compile(r'^(\d{6,})_(-?\d+)ms\.(jpg|webp|png)$')


def expected_name_ok(rel, index, time_s, ext):
    """The name must be <index %06d>_<ms>ms.<ext>; ms may be rounded or truncated."""
    m = NAME_RE.match(rel)
    if not m:
        return False
    if int(m.group(1)) != index or m.group(3) != ext:
        return False
    ms = int(m.group(2))
    import math
    x = time_s * 1000
    # rounded (any tie rule, the time itself being a rounded binary value) or truncated
    return abs(ms - x) <= 0.5 + 1e-6 or ms == int(math.floor(x + 1e-9))


def parse_json_stdout(res, what):
    try:
        return json.loads(res.stdout)
    except ValueError as e:
        fail('%s: stdout is not one JSON object (%s): %r' % (what, e, res.stdout[:500]))


# ---------------------------------------------------------------------------
# PostgreSQL (scripts/services.sh pg-start; scripts/test.sh starts one for the suite)

_pg_counter = [0]


def pg_server():
    """The test server's URL (VIDX_TEST_PG). Unset: the test fails, or skips with
    VIDX_TEST_NO_SERVICES=1 (a machine without the services)."""
    url = os.environ.get('VIDX_TEST_PG')
    if url:
        return url
    if os.environ.get('VIDX_TEST_NO_SERVICES') == '1':
        raise Skip('VIDX_TEST_NO_SERVICES=1: no PostgreSQL')
    fail('VIDX_TEST_PG is not set: start PostgreSQL (eval "$(scripts/services.sh pg-start)"), '
         'or run scripts/test.sh')


def pg_sql(sql, url=None):
    """Runs sql with psql on the test server (its maintenance database by default)."""
    res = run(['psql', '-v', 'ON_ERROR_STOP=1', '-qAtX', url or pg_server(), '-c', sql])
    check(res.rc == 0, 'psql: %s\n%s' % (sql, res.describe()))
    return res.stdout


def pg_database(tag):
    """A fresh, empty database on the test server; returns its URL."""
    base = pg_server()
    with _work_lock:
        _pg_counter[0] += 1
        n = _pg_counter[0]
    name = 'vidx_%d_%d_%s' % (os.getpid(), n, re.sub(r'\W+', '_', tag)[:30].lower())
    pg_sql('CREATE DATABASE %s' % name)
    return base.rsplit('/', 1)[0] + '/' + name
