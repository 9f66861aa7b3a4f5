"""Raw H.264 / HEVC elementary streams (.h264, .hevc): packets without any timestamp.

FFmpeg's raw demuxers give these packets no pts or dts, and decoded pictures no time
either; ffmpeg itself times picture i at i / frame rate. vidx must do the same: before
the fix, `vidx frames` failed on every such file with "planning: video could not be
decoded" (exit 4; `vidx run` recorded it as failed/decode), and --index/--keyframes
delivered frames at time -7.7e12 s (pts INT64_MIN) with names like
000000_-7686143364045646ms.jpg. Found by the hostile library (bench/make_hostile.py).

Each case checks, against `ffmpeg -f framemd5` of the same file (presentation order):
the frame delivered for each --count target is the picture shown at that time (its md5),
its time is index / rate, and a batch records the file ok.
"""
import json
import subprocess
from pathlib import Path

import common
import test_run as tr
from common import Failures, fail

RATE = 25
N_FRAMES = 50
STREAMS = {
    'h264': ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '12', '-pix_fmt', 'yuv420p',
             '-bsf:v', 'h264_mp4toannexb', '-f', 'h264'],
    'hevc': ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:bframes=2:keyint=12',
             '-pix_fmt', 'yuv420p', '-f', 'hevc'],
}


def make_stream(kind):
    d = common.new_out_dir('raw_' + kind)
    d.mkdir(parents=True)
    path = d / ('clip.' + kind)
    subprocess.run(common.FFMPEG.split() + ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i',
                   'testsrc2=size=64x48:rate=%d' % RATE, '-frames:v', str(N_FRAMES)] + STREAMS[kind]
                   + [str(path)], check=True, timeout=120)
    return path


def ffmpeg_md5s(path):
    r = common.run([common.FFMPEG, '-nostdin', '-v', 'error', '-i', path, '-f', 'framemd5', '-'], timeout=120)
    rows = [line.split(',') for line in r.stdout.splitlines() if line and not line.startswith('#')]
    return [row[5].strip() for row in rows]


def check_frames(path, args, want_idx, md5s, F):
    out = common.new_out_dir('raw_frames')
    r = common.run_vidx(['frames', path, '-o', out, '--md5'] + args)
    if r.rc != 0:
        F.add('frames %s: exit %s\n  %s' % (' '.join(args), r.rc, r.describe()))
        return
    rows = [json.loads(x) for x in (Path(out) / 'manifest.jsonl').read_text().splitlines() if x]
    got = [m['index'] for m in rows]
    if got != want_idx:
        F.add('frames %s: indices %s, expected %s' % (' '.join(args), got, want_idx))
    for m in rows:
        i = m['index']
        if not (0 <= i < len(md5s)) or m.get('md5') != md5s[i]:
            F.add('frames %s: frame %s md5 %s, ffmpeg says %s' % (
                ' '.join(args), i, m.get('md5'), md5s[i] if 0 <= i < len(md5s) else 'no such frame'))
        if abs(m['time'] - i / RATE) > 1e-6 or m['pts'] < 0:
            F.add('frames %s: frame %d at time %s (pts %s), expected %.3f' % (
                ' '.join(args), i, m['time'], m['pts'], i / RATE))
        if not common.expected_name_ok(m['path'], i, m['time'], 'jpg'):
            F.add('frames %s: file name %r for frame %d at %s s' % (' '.join(args), m['path'], i, m['time']))


def raw_case(kind):
    def case():
        common.require_vidx()
        path = make_stream(kind)
        md5s = ffmpeg_md5s(path)
        if len(md5s) != N_FRAMES:
            fail('ffmpeg decoded %d frames of %s, expected %d' % (len(md5s), path, N_FRAMES))
        F = Failures('raw %s stream' % kind)
        # --count 8: target (i + 0.5) * 2 s / 8; the picture shown then is floor(target * rate)
        count_idx = [int((i + 0.5) * N_FRAMES / 8) for i in range(8)]
        check_frames(path, ['--count', '8'], count_idx, md5s, F)
        check_frames(path, ['--index', '0,7,-1'], [0, 7, N_FRAMES - 1], md5s, F)
        check_frames(path, ['--at', '0.5,1.3'], [int(0.5 * RATE), int(1.3 * RATE + 1e-9)], md5s, F)
        out = common.new_out_dir('raw_run_' + kind)
        res = tr.vrun(['run', path, '-o', out, '--jobs', 1])
        v = tr.read_catalog(out)['videos'].get(str(path)) if res.rc in (0, 1) else None
        if v is None or (v['status'], v['frames']) != ('ok', 8):
            F.add('vidx run: %s\n  %s' % (v and (v['status'], v['error'], v['frames']), res.describe()))
        F.raise_if_any()
    return case


def tests():
    return [('%s_count_index_at' % k, raw_case(k)) for k in STREAMS]
