"""--hwaccel (docs/GPU.md): where each video decodes, and the fallback, reported everywhere.

Run only these with:  /usr/bin/python3 tests/cli/run.py -k gpu::

What is covered, on any machine (CI and the development boxes have no GPU):
  frames_auto_fallback      --hwaccel auto (the default) on a machine without a usable GPU:
                            the JSON says "cpu (REASON)" and the frames are byte-identical
                            to --hwaccel none's (on a GPU machine: "cuda", and the pixels are
                            the device script's business, bench/gpu/device_check.sh)
  frames_unsupported        streams NVDEC does not decode go to the CPU with that reason,
                            whatever the machine: H.263, H.264 4:4:4, 10-bit H.264
  frames_cuda_required      --hwaccel cuda without a GPU: exit 14 naming the file and the
                            cause, no frames written, the user's file in DIR left alone
  run_devices               vidx run: catalog videos.device per video, the summary's
                            "decoded on:" line, --jsonl's device, frames identical to
                            --hwaccel none's; --gpu-sessions names the workers past it
  run_cuda_required         vidx run --hwaccel cuda without a driver: exit 14 before anything
                            is touched (a new OUT is not created; an existing OUT, its
                            catalog and a user's file in it are unchanged)
  usage                     --hwaccel bogus, --gpu-sessions 0: exit 2
"""
import hashlib
import json
import sqlite3

import common
from common import Failures, check, corpus_clip, fail, new_out_dir, parse_json_stdout, run, run_vidx

NO_DRIVER_HINTS = ('no CUDA driver', 'no CUDA device', 'no NVDEC', 'built without CUDA')


def work(tag):
    d = new_out_dir(tag)
    d.mkdir(parents=True)
    return d.resolve()


def ffmpeg(*args):
    r = run([common.FFMPEG, '-nostdin', '-v', 'error', '-y'] + [str(a) for a in args], timeout=120)
    if r.rc != 0:
        fail('ffmpeg failed: %s' % r.stderr[-500:])


def lavfi_clip(path, pix_fmt):
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=2', '-c:v', 'libx264', '-pix_fmt', pix_fmt, path)
    return path


def tree_digest(d):
    """{relative name: sha256} of the image files under d."""
    out = {}
    for p in sorted(d.rglob('*')):
        if p.is_file() and p.suffix in ('.jpg', '.png', '.webp'):
            out[str(p.relative_to(d))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def frames_json(clip, out, *extra):
    r = run_vidx(['frames', clip, '-o', out, '--count', '4', '--json'] + list(extra))
    return r, (parse_json_stdout(r, 'frames --json') if r.stdout.strip() else {})


def no_gpu_reason(device):
    return device.startswith('cpu (') and any(h in device for h in NO_DRIVER_HINTS)


def test_frames_auto_fallback():
    clip = corpus_clip('psd_testvideo.mp4')
    w = work('gpu_auto')
    F = Failures('frames --hwaccel auto')
    r, o = frames_json(clip, w / 'auto')
    F.check(r.rc == 0, 'auto: %s' % r.describe())
    dev = o.get('device', '')
    if dev == 'cuda':
        common.note('a GPU is here: frames decoded on it (pixels: bench/gpu/device_check.sh)')
        F.raise_if_any()
        return
    F.check(no_gpu_reason(dev), 'auto without a usable GPU: device %r, expected "cpu (REASON)" naming '
            'the missing driver/device' % dev)
    r2, o2 = frames_json(clip, w / 'none', '--hwaccel', 'none')
    F.check(r2.rc == 0 and o2.get('device') == 'cpu (--hwaccel none)',
            'none: device %r\n  %s' % (o2.get('device'), r2.describe()))
    a, b = tree_digest(w / 'auto'), tree_digest(w / 'none')
    F.check(len(a) == 4 and a == b, 'auto (fallen back) and none wrote different frames:\n  %s\n  %s' % (a, b))
    F.raise_if_any()


def test_frames_unsupported():
    w = work('gpu_unsupported')
    cases = [
        (corpus_clip('androidx_bbb_176x144_128kbps_15fps_h263.3gp'), 'NVDEC does not decode h263'),
        (lavfi_clip(w / 'yuv444.mp4', 'yuv444p'), 'NVDEC does not decode h264 yuv444p (4:2:0 only here)'),
        (lavfi_clip(w / 'h264_10bit.mp4', 'yuv420p10le'), 'NVDEC does not decode 10-bit h264'),
    ]
    F = Failures('streams NVDEC does not decode')
    for i, (clip, why) in enumerate(cases):
        r, o = frames_json(clip, w / ('out%d' % i))
        F.check(r.rc == 0 and o.get('device') == 'cpu (%s)' % why,
                '%s: device %r, expected "cpu (%s)"\n  %s' % (clip.name, o.get('device'), why, r.describe()))
        # required, the same reason is the error
        r = run_vidx(['frames', clip, '-o', w / ('req%d' % i), '--count', '2', '--hwaccel', 'cuda'])
        F.check(r.rc == 14 and why in r.stderr and str(clip) in r.stderr,
                '%s with --hwaccel cuda: exit %s, expected 14 naming the file and "%s"\n  %s'
                % (clip.name, r.rc, why, r.describe()))
    F.raise_if_any()


def test_frames_cuda_required():
    clip = corpus_clip('psd_testvideo.mp4')
    w = work('gpu_required')
    out = w / 'out'
    r, o = frames_json(clip, w / 'probe')
    if o.get('device') == 'cuda':
        common.note('a GPU is here: --hwaccel cuda is expected to work')
        r, o = frames_json(clip, out, '--hwaccel', 'cuda')
        check(r.rc == 0 and o.get('device') == 'cuda', '--hwaccel cuda on a GPU: %s' % r.describe())
        return
    out.mkdir()
    (out / 'mine.txt').write_text('the user\'s')  # not a vidx output yet: refused (12) ...
    r = run_vidx(['frames', clip, '-o', out, '--count', '2', '--hwaccel', 'cuda'])
    check(r.rc == 12, 'a DIR with a user file: exit %s, expected 12\n  %s' % (r.rc, r.describe()))
    (out / 'mine.txt').unlink()
    r = run_vidx(['frames', clip, '-o', out, '--count', '2', '--hwaccel', 'cuda'])
    F = Failures('frames --hwaccel cuda without a GPU')
    F.check(r.rc == 14, 'exit %s, expected 14\n  %s' % (r.rc, r.describe()))
    F.check(str(clip) in r.stderr and any(h in r.stderr for h in NO_DRIVER_HINTS),
            'the error names neither the file nor the cause: %r' % r.stderr)
    F.check(not tree_digest(out), 'frames were written: %s' % tree_digest(out))
    r, o = frames_json(clip, w / 'json', '--hwaccel', 'cuda')
    F.check(r.rc == 14 and o.get('status') == 'nogpu', '--json: exit %s, status %r, expected 14 and '
            '"nogpu"' % (r.rc, o.get('status')))
    F.raise_if_any()


def catalog_rows(out):
    con = sqlite3.connect(str(out / 'catalog.db'))
    try:
        rows = con.execute('SELECT path, device FROM videos').fetchall()
        frames = con.execute('SELECT v.path, f.seq, f.checksum FROM frames f JOIN videos v ON v.id = '
                             'f.video_id ORDER BY 1, 2').fetchall()
    finally:
        con.close()
    return dict(rows), frames


def test_run_devices():
    w = work('gpu_run')
    clips = [corpus_clip('psd_testvideo.mp4'), corpus_clip('androidx_bbb_176x144_128kbps_15fps_h263.3gp'),
             corpus_clip('androidx_bear-vp9.webm'), lavfi_clip(w / 'yuv444.mp4', 'yuv444p')]
    F = Failures('vidx run devices')
    r = run_vidx(['run'] + clips + ['-o', w / 'auto', '--count', '3', '--progress', 'none'], timeout=180)
    F.check(r.rc == 0, 'auto: %s' % r.describe())
    dev, frames_auto = catalog_rows(w / 'auto')
    F.check(dev.get(str(clips[1])) == 'cpu (NVDEC does not decode h263)' and
            dev.get(str(clips[3])) == 'cpu (NVDEC does not decode h264 yuv444p (4:2:0 only here))',
            'catalog device of the unsupported streams: %s' % dev)
    gpu = any(dev.get(str(c)) == 'cuda' for c in clips)
    if not gpu:
        for c in (clips[0], clips[2]):
            F.check(no_gpu_reason(dev.get(str(c)) or ''), '%s: catalog device %r, expected the missing '
                    'driver' % (c.name, dev.get(str(c))))
    line = [l for l in r.stderr.splitlines() if l.startswith('vidx run: decoded on:')]
    F.check(len(line) == 1 and 'cpu (NVDEC does not decode h263): 1' in line[0],
            'summary line "decoded on:" missing or wrong: %r' % r.stderr[-800:])
    r = run_vidx(['run'] + clips + ['-o', w / 'none', '--count', '3', '--hwaccel', 'none', '--jsonl'],
                 timeout=180)
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    F.check(r.rc == 0 and len(lines) == 4 and all(l.get('device') == 'cpu (--hwaccel none)' for l in lines),
            '--jsonl device: %s\n  %s' % ([l.get('device') for l in lines], r.describe()))
    dev_none, frames_none = catalog_rows(w / 'none')
    F.check(set(dev_none.values()) == {'cpu (--hwaccel none)'}, 'none: catalog %s' % dev_none)
    if not gpu:
        F.check(frames_auto == frames_none and len(frames_auto) == 12,
                'auto (all on the CPU) and none recorded different frames (checksums)')
    # --gpu-sessions 1 with 2 workers: a video on the second worker says so
    r = run_vidx(['run'] + clips + ['-o', w / 'sessions', '--count', '3', '--jobs', '2', '--threads', '1',
                                     '--gpu-sessions', '1', '--progress', 'none'], timeout=180)
    dev_s, _ = catalog_rows(w / 'sessions')
    ok = all(d == 'cuda' or d.startswith('cpu (NVDEC does not') or no_gpu_reason(d) or
             d == 'cpu (worker 2: --gpu-sessions 1)' for d in dev_s.values())
    F.check(r.rc == 0 and len(dev_s) == 4 and ok, '--gpu-sessions 1: %s\n  %s' % (dev_s, r.describe()))
    F.raise_if_any()


def test_run_cuda_required():
    w = work('gpu_run_required')
    clip = corpus_clip('psd_testvideo.mp4')
    r = run_vidx(['frames', clip, '-o', w / 'probe', '--count', '1', '--json'])
    if '"device":"cuda"' in r.stdout:
        common.note('a GPU is here: nothing to refuse')
        return
    F = Failures('vidx run --hwaccel cuda without a driver')
    r = run_vidx(['run', clip, '-o', w / 'new', '--hwaccel', 'cuda', '--progress', 'none'])
    lib_missing = 'no CUDA driver' in r.stderr or 'built without CUDA' in r.stderr
    if not lib_missing:  # libcuda loads but there is no device: each video fails, class nogpu
        F.check(r.rc == 1, 'driver without device: exit %s, expected 1\n  %s' % (r.rc, r.describe()))
        F.raise_if_any()
        return
    F.check(r.rc == 14 and not (w / 'new').exists(), 'new OUT: exit %s (expected 14), created: %s\n  %s'
            % (r.rc, (w / 'new').exists(), r.describe()))
    out = w / 'old'
    r = run_vidx(['run', clip, '-o', out, '--count', '2', '--progress', 'none'])
    check(r.rc == 0, 'first run: %s' % r.describe())
    (out / 'notes.txt').write_text('mine')
    before = {p: p.read_bytes() for p in out.rglob('*') if p.is_file()}
    r = run_vidx(['run', clip, '-o', out, '--hwaccel', 'cuda', '--progress', 'none'])
    after = {p: p.read_bytes() for p in out.rglob('*') if p.is_file()}
    F.check(r.rc == 14 and 'no CUDA driver' in r.stderr, 'existing OUT: exit %s, expected 14\n  %s'
            % (r.rc, r.describe()))
    F.check(before == after, 'files in OUT changed: %s' % sorted(set(before) ^ set(after)))
    F.raise_if_any()


def test_usage():
    clip = corpus_clip('psd_testvideo.mp4')
    w = work('gpu_usage')
    F = Failures('--hwaccel / --gpu-sessions usage')
    for args in (['frames', clip, '-o', w / 'a', '--hwaccel', 'bogus'],
                 ['run', clip, '-o', w / 'b', '--hwaccel', 'gpu'],
                 ['run', clip, '-o', w / 'c', '--gpu-sessions', '0']):
        r = run_vidx(args)
        F.check(r.rc == 2 and r.stderr.strip(), '%s: exit %s, expected 2 with a message' % (args[-2:], r.rc))
    for cmd in ('frames', 'run'):
        r = run_vidx([cmd, '--help'])
        F.check(r.rc == 0 and '--hwaccel' in (r.stdout + r.stderr), '%s --help does not list --hwaccel' % cmd)
    F.raise_if_any()
