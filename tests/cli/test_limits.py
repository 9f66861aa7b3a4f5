"""Bounded work on files that lie (issue 8, items 4 and 5): run with

    /usr/bin/python3 tests/cli/run.py -k limits::

  options_hash_each_field   every field of the options table (src/batch/options.c, parsed
                            here) changed alone makes `vidx run` redo the video; the same
                            command again skips it
  fifo_and_devices_refused  `frames`, `probe` and `run` on a FIFO with no writer and on a
                            character device end at once with "not a regular file: FIFO"
  many_streams_bounded      a Matroska file with 1,000 tracks is refused naming
                            --max-streams, with a small peak RSS (was 1.5 GB); 64 tracks work
  limit_errors_name_flag    --max-pixels, --max-frames and a Y4M header declaring a
                            100000x100000 frame: messages name the limit and its flag /
                            "invalid header" (was "Device or resource busy")
  size_documented_range     --size at the documented maximum writes images; beyond it (and
                            WebP beyond 16383) is a usage error before anything is created
  lying_duration_partial    a file declaring 1e12 s of a 2 s video: --count 8 gives the last
                            frame once, exit 6 / status partial, naming both durations
  stall_ends_video          a loopback HTTP server that sends the start of a file declaring
                            1e12 s and then stalls: --stall ends the video as timeout with
                            "no progress"; with --stall 0, --timeout-max caps the timeout

Memory figures are peak RSS of one child (os.wait4), with wide margins: they are not timing.
No assertion depends on how long anything took; every vidx call has a generous timeout, so
a regression to "blocks forever" fails instead of hanging the suite.
"""
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import threading
from pathlib import Path

import common
from common import Failures, check, fail, note

sys.path.insert(0, str(common.REPO / 'bench'))
import check_hostile as ch  # noqa: E402  (its StallServer)

HERE = Path(__file__).resolve().parent
OPTIONS_C = HERE.parents[1] / 'src' / 'batch' / 'options.c'


# ---------------------------------------------------------------------------
# helpers

def ffmpeg(args, timeout=120):
    r = common.run([common.FFMPEG, '-v', 'error', '-y'] + [str(a) for a in args], timeout=timeout)
    if r.rc != 0:
        fail('ffmpeg failed:\n  ' + r.describe())


_made = {}
_made_lock = threading.Lock()


def made(name, make):
    """A generated input, made once per test session under the work dir."""
    with _made_lock:
        p = _made.get(name)
        if p is None:
            d = common.work_dir() / 'limits-inputs'
            d.mkdir(parents=True, exist_ok=True)
            p = d / name
            make(p)
            _made[name] = p
        return p


def clip_with_audio(p):
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=2', '-f', 'lavfi', '-i',
            'sine=frequency=440:duration=2', '-c:v', 'libx264', '-g', '10', '-pix_fmt', 'yuv420p',
            '-c:a', 'aac', '-shortest', p])


def lying_mkv(p, seconds=10, declared_ms=1e15):
    """An MKV of `seconds` s whose Segment Info Duration says declared_ms (ms)."""
    tmp = p.with_suffix('.honest.mkv')
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=%d' % seconds, '-c:v',
            'libx264', '-g', '25', '-pix_fmt', 'yuv420p', tmp])
    b = bytearray(tmp.read_bytes())
    i = b.find(b'\x44\x89\x88')  # Duration, 8-byte float
    check(i > 0, 'no Duration element in the generated MKV')
    b[i + 3:i + 11] = struct.pack('>d', declared_ms)
    p.write_bytes(bytes(b))


def many_tracks(n):
    def make(p):
        tiny = p.with_suffix('.src.mp4')
        ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=5:duration=1', '-c:v', 'libx264',
                '-pix_fmt', 'yuv420p', tiny])
        maps = []
        for _ in range(n):
            maps += ['-map', '0:v']
        ffmpeg(['-i', tiny] + maps + ['-c', 'copy', p])
    return made('tracks%d.mkv' % n, make)


def run_rss(args, timeout=120):
    """Runs vidx ARGS; returns (rc, stderr, peak RSS in MiB) of that one child."""
    common.require_vidx()
    p = subprocess.Popen([str(common.vidx_bin())] + [str(a) for a in args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    timer = threading.Timer(timeout, lambda: os.killpg(p.pid, 9))
    timer.start()
    try:
        err = p.stderr.read().decode('utf-8', 'replace')
        _, status, ru = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err, ru.ru_maxrss / 1024.0


def catalog(out):
    db = sqlite3.connect('file:%s?mode=ro' % (Path(out) / 'catalog.db'), uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {r['path']: dict(r) for r in db.execute('SELECT * FROM videos')}
    finally:
        db.close()


def only_video(out):
    vids = catalog(out)
    check(len(vids) == 1, 'expected one video in the catalog, got %r' % list(vids))
    return next(iter(vids.values()))


def summary_counts(stderr):
    m = re.search(r'(\d+) videos?: (\d+) ok, (\d+) partial, (\d+) failed, (\d+) crashed, '
                  r'(\d+) timeout, (\d+) skipped', stderr)
    if not m:
        fail('no summary line in vidx run output:\n' + stderr[-2000:])
    keys = ('total', 'ok', 'partial', 'failed', 'crashed', 'timeout', 'skipped')
    return dict(zip(keys, map(int, m.groups())))


# ---------------------------------------------------------------------------
# item 4: the options hash

# For each options-table field: (arguments before, arguments after the change). None: the
# setting has no CLI flag (API only), covered by tests/unit/test_options.c.
CHANGES = {
    'mode': ([], ['--keyframes']),
    'count': (['--count', '3'], ['--count', '4']),
    'fps': (['--fps', '1'], ['--fps', '2']),
    'approx': ([], ['--approx']),
    'max_side': ([], ['--size', '64']),
    'width': (['--size', '64x48'], ['--size', '80x48']),
    'height': (['--size', '64x48'], ['--size', '64x40']),
    'fit': (['--size', '64x48'], ['--size', '64x48', '--fit', 'pad']),
    'format': ([], ['--format', 'png']),
    'quality': ([], ['--quality', '50']),
    'md5': ([], ['--md5']),
    'audio': (['--audio', 'wav'], ['--audio', 'flac']),
    'audio_rate': (['--audio', 'wav'], ['--audio', 'wav', '--audio-rate', '8000']),
    'audio_channels': (['--audio', 'wav'], ['--audio', 'wav', '--audio-channels', '2']),
    'audio_stream': (['--audio', 'wav'], ['--audio', 'wav', '--audio-stream', '0']),
    'stream': ([], ['--stream', '0']),
    'times': (['--at', '0.5'], ['--at', '0.7']),
    'indices': (['--index', '3'], ['--index', '4']),
    'dedup': ([], ['--dedup', '4']),
    'dedup_exact': ([], ['--dedup-exact']),
    'manifest': None,
    'scenes': ([], ['--scenes']),
    'transcribe': None,  # needs a recogniser: tests/unit/test_options.c, test_run_transcribe.py
    'label': None,  # needs an endpoint: tests/unit/test_options.c, test_labels.py (labels_run)
    'per_scene': ([], ['--per-scene', '2']),
    'per_scene_pick': (['--per-scene', '2'], ['--per-scene', '2', '--per-scene-pick', 'first']),
    'hwaccel': ([], ['--hwaccel', 'none']),
    # need an endpoint: tests/unit/test_options.c, test_labels.py (labels_resume)
    'label_model': None,
    'label_prompt': None,
    'label_size': None,
    'label_quality': None,
    'transcode': ([], ['--transcode', 'proxy']),
    'no_frames': (['--transcode', 'proxy'], ['--transcode', 'proxy', '--no-frames']),
}


def table_fields():
    """The names in the options table, in order, read from its source."""
    text = OPTIONS_C.read_text()
    body = text[text.index('static const OptionField fields[]'):]
    body = body[:body.index('};')]
    names = re.findall(r'(?:V1|NEW)\((\w+)\)|\{"(\w+)"', body)
    return [a or b for a, b in names]


def test_options_hash_each_field():
    names = table_fields()
    check(len(names) >= 20, 'options table not found in %s (got %r)' % (OPTIONS_C, names))
    F = Failures('options hash')
    src = made('av.mp4', clip_with_audio)
    for name in names:
        if name not in CHANGES:
            F.add('options table field %r has no change in test_limits.CHANGES' % name)
            continue
        if CHANGES[name] is None:
            continue
        before, after = CHANGES[name]
        out = common.new_out_dir('opthash_' + name)
        base = ['run', src, '-o', out, '--progress', 'none']
        r1 = common.run_vidx(base + before, timeout=120)
        r2 = common.run_vidx(base + after, timeout=120)
        r3 = common.run_vidx(base + after, timeout=120)
        if r1.rc != 0 or r2.rc != 0 or r3.rc != 0:
            F.add('%s: a run failed\n  %s\n  %s\n  %s' % (name, r1.describe(), r2.describe(), r3.describe()))
            continue
        c2, c3 = summary_counts(r2.stderr), summary_counts(r3.stderr)
        F.check(c2['skipped'] == 0 and c2['ok'] == 1,
                '%s: %s then %s: the video was not redone (%r)' % (name, before, after, c2))
        F.check(c3['skipped'] == 1, '%s: the same command again did not skip the video (%r)' % (name, c3))
    F.raise_if_any()


# ---------------------------------------------------------------------------
# item 5: inputs that are not regular files

def test_fifo_and_devices_refused():
    F = Failures('FIFO / device')
    d = common.new_out_dir('fifo')
    d.mkdir(parents=True)
    fifo = d / 'clip.mp4'
    os.mkfifo(fifo)
    for args in (['frames', fifo, '-o', d / 'o1'], ['probe', fifo]):
        r = common.run_vidx(args, timeout=30)
        F.check(not r.timed_out and r.rc == 3 and 'not a regular file: FIFO' in r.stderr,
                'expected exit 3 and "not a regular file: FIFO"\n  ' + r.describe())
    F.check(not (d / 'o1').exists(), 'frames on a FIFO created its output directory')
    r = common.run_vidx(['probe', '/dev/null'], timeout=30)
    F.check(r.rc == 3 and 'not a regular file: character device' in r.stderr,
            'probe /dev/null: expected "not a regular file: character device"\n  ' + r.describe())
    out = d / 'run'
    r = common.run_vidx(['run', fifo, '-o', out, '--progress', 'none'], timeout=60)
    if r.timed_out or r.rc != 1:
        F.add('run on a FIFO: expected exit 1 (one video failed)\n  ' + r.describe())
    else:
        v = only_video(out)
        F.check(v['status'] == 'failed' and v['error_class'] == 'notfile' and
                'FIFO' in (v['error'] or ''), 'run on a FIFO recorded %r' % (
                    (v['status'], v['error_class'], v['error']),))
    F.raise_if_any()


# ---------------------------------------------------------------------------
# item 5: streams and memory

def test_many_streams_bounded():
    F = Failures('many streams')
    big = many_tracks(1000)
    for cmd in (['probe', big], ['frames', big, '-o', common.new_out_dir('tracks1000')]):
        rc, err, rss = run_rss(cmd)
        note('%s on 1,000 tracks: peak RSS %.0f MiB' % (cmd[0], rss))
        F.check(rc == 3 and '1000 streams exceed --max-streams (64)' in err,
                '%s: expected exit 3 naming --max-streams, got rc=%s: %s' % (cmd[0], rc, err.strip()[-400:]))
        F.check(rss < 400, '%s: peak RSS %.0f MiB on a 1,000-track file (bound 400; was ~1500)' % (cmd[0], rss))
    ok = many_tracks(64)
    out = common.new_out_dir('tracks64')
    rc, err, rss = run_rss(['frames', ok, '-o', out, '--count', '2'])
    note('frames on 64 tracks: peak RSS %.0f MiB' % rss)
    F.check(rc == 0 and len(list(out.glob('*.jpg'))) == 2, '64 tracks: rc=%s %s' % (rc, err.strip()[-400:]))
    F.check(rss < 1024, '64 tracks: peak RSS %.0f MiB (bound 1024)' % rss)
    F.raise_if_any()


# ---------------------------------------------------------------------------
# item 5: every limit names itself and its flag

def test_limit_errors_name_flag():
    F = Failures('limit messages')
    src = made('av.mp4', clip_with_audio)
    out = common.new_out_dir('maxpixels')
    r = common.run_vidx(['frames', src, '-o', out, '--max-pixels', '1000'])
    F.check(r.rc == 3 and 'frame area 160x120 exceeds --max-pixels (1000)' in r.stderr,
            '--max-pixels: ' + r.describe())
    r = common.run_vidx(['frames', src, '-o', common.new_out_dir('maxframes'), '--fps', '25',
                         '--max-frames', '10'])
    F.check(r.rc == 3 and '50 frames exceed --max-frames (10)' in r.stderr, '--max-frames: ' + r.describe())
    d = common.new_out_dir('y4m')
    d.mkdir(parents=True)
    y4m = d / 'huge.y4m'
    y4m.write_bytes(b'YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n' + bytes(4096))
    for args in (['probe', y4m], ['frames', y4m, '-o', d / 'o']):
        r = common.run_vidx(args)
        F.check(r.rc == 3 and 'invalid header' in r.stderr and 'resource busy' not in r.stderr.split('said')[0],
                'huge Y4M header: expected exit 3 and "invalid header"\n  ' + r.describe())
    out = common.new_out_dir('maxstreams_run')
    r = common.run_vidx(['run', many_tracks(64), '-o', out, '--progress', 'none', '--max-streams', '8'])
    if r.rc != 1:
        F.add('run --max-streams 8 on 64 tracks: expected exit 1\n  ' + r.describe())
    else:
        v = only_video(out)
        F.check(v['error_class'] == 'limit' and '64 streams exceed --max-streams (8)' in (v['error'] or ''),
                'catalog error for too many streams: %r' % ((v['error_class'], v['error']),))
    F.raise_if_any()


def test_size_documented_range():
    F = Failures('--size range')
    src = made('av.mp4', clip_with_audio)
    out = common.new_out_dir('size_max')
    r = common.run_vidx(['frames', src, '-o', out, '--count', '1', '--size', '16255'], timeout=180)
    imgs = sorted(out.glob('*.jpg'))
    if F.check(r.rc == 0 and len(imgs) == 1, '--size 16255 (documented maximum): ' + r.describe()):
        w, h = common.image_size(imgs[0])
        F.check(w == 16255 and abs(h - 16255 * 3 / 4) <= 1, '--size 16255 gave %dx%d' % (w, h))
    for size, fmt, want in (('16256x16256', 'jpg', "FFmpeg's image limit"),
                            ('16384x64', 'webp', 'WebP images are at most 16383'),
                            ('16256', 'jpg', 'not an integer in [1, 16255]')):
        out = common.new_out_dir('size_' + size)
        r = common.run_vidx(['frames', src, '-o', out, '--size', size, '--format', fmt])
        F.check(r.rc == 2 and want in r.stderr, '--size %s --format %s: expected exit 2 and %r\n  %s'
                % (size, fmt, want, r.describe()))
        F.check(not out.exists(), '--size %s: a usage error created %s' % (size, out))
    # A size inside the range that FFmpeg's scaler cannot make from this picture (1x1 to
    # 8000x8000): a clear error naming both sizes, not "invalid settings" alone.
    tiny = Path(common.work_dir()) / 'one_pixel.y4m'
    tiny.write_bytes(b'YUV4MPEG2 W1 H1 F25:1 Ip A1:1 C420jpeg\nFRAME\n\x80\x80\x80')
    out = common.new_out_dir('size_from_1x1')
    r = common.run_vidx(['frames', str(tiny), '-o', out, '--size', '8000'])
    F.check(r.rc == 2 and 'cannot make 8000x8000 from this 1x1 picture' in r.stderr,
            '1x1 to --size 8000: expected exit 2 naming both sizes\n  ' + r.describe())
    F.check(not out.exists() or not any(out.iterdir()), '1x1 to --size 8000: wrote into %s' % out)
    F.raise_if_any()


# ---------------------------------------------------------------------------
# item 5: the file says it is longer than it is

def test_lying_duration_partial():
    F = Failures('lying duration')
    src = made('lie.mkv', lambda p: lying_mkv(p, seconds=2, declared_ms=1e15))
    out = common.new_out_dir('lie_frames')
    r = common.run_vidx(['frames', src, '-o', out, '--count', '8'])
    F.check(r.rc == 6, '--count 8 on a lying duration: expected exit 6 (partial)\n  ' + r.describe())
    F.check(re.search(r'declares a duration of 1000000000000\.\d+ s but its video ends at 2\.\d+ s',
                      r.stderr), 'message does not name the declared and the real duration:\n  ' + r.stderr)
    mf = out / 'manifest.jsonl'
    rows = [json.loads(l) for l in mf.read_text().splitlines()] if mf.is_file() else []
    idx = [row['index'] for row in rows]
    F.check(len(rows) >= 1 and len(idx) == len(set(idx)),
            'frames delivered for the unreachable targets repeat: indices %r' % idx)
    F.check(len(list(out.glob('*.jpg'))) == len(rows), 'files and manifest disagree')
    out = common.new_out_dir('lie_run')
    r = common.run_vidx(['run', src, '-o', out, '--progress', 'none', '--count', '8'])
    if F.check(r.rc in (0, 1), 'run: ' + r.describe()):
        v = only_video(out)
        F.check(v['status'] == 'partial' and 'declares a duration' in (v['error'] or ''),
                'catalog: %r' % ((v['status'], v['error']),))
    F.raise_if_any()


# ---------------------------------------------------------------------------
# item 5: a stall, and the cap on the duration-based timeout

def test_stall_ends_video():
    F = Failures('stall')
    src = made('lie10.mkv', lambda p: lying_mkv(p, seconds=10, declared_ms=1e15))
    data = src.read_bytes()
    cases = (
        (['--stall', '2'], r'no progress for \d+ s \(--stall\)'),
        (['--stall', '0', '--timeout-max', '3'], r'no result after \d+ s \(default timeout.*--timeout-max 3 s\)'),
    )
    with ch.StallServer({'lie.mkv': (data, len(data) // 2)}) as srv:
        for extra, want in cases:
            out = common.new_out_dir('stall')
            r = common.run_vidx(['run', srv.base_url + 'lie.mkv', '-o', out, '--progress', 'none'] + extra, timeout=90)
            if r.timed_out or r.rc != 1:
                F.add('%s: expected exit 1 (the video timed out)\n  %s' % (extra, r.describe()))
                continue
            v = only_video(out)
            F.check(v['status'] == 'timeout' and re.search(want, v['error'] or ''),
                    '%s: catalog has %r, expected timeout matching %r' % (extra, (v['status'], v['error']), want))
    F.raise_if_any()
