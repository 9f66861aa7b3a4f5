"""Bad inputs, damaged clips, usage and output errors, interruption.

Exit codes (spec): 0 ok; 2 usage; 3 cannot open / not a video / refused by the
security policy; 4 nothing decodable; 5 output error; 6 partial; 130 interrupted.
Every error: a stderr line naming the file and the cause, no crash (exit < 128),
no hang (60 s), no temp files or partial junk left in the output directory.
"""
import os
import random
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from checks import check_frames_run, check_line_basics
from common import (NAME_RE, Failures, Skip, corpus_clip, fail, fixture, fixtures_dir, image_size, new_out_dir,
                    require_vidx, run_vidx, vidx_bin, vidx_frames)
from oracle import oracle

BAD_OPEN = [
    ('empty.mp4', 'zero-byte file'),
    ('random.mp4', 'random bytes named .mp4'),
    ('text.mp4', 'text file named .mp4'),
    ('audio_only.mp4', 'audio-only file'),
    ('playlist.m3u8', 'HLS playlist pointing at a local segment (must be refused)'),
    ('hls_disguised.mp4', 'HLS playlist named .mp4 (must be refused)'),
    ('list.ffconcat', 'concat demuxer list (must be refused)'),
    ('concat_disguised.mp4', 'concat list named .mp4 (must be refused)'),
]


def _names_path(stderr, path):
    """A stderr line contains the path and something more (the cause)."""
    p = str(path)
    for line in stderr.splitlines():
        if p in line and len(line.replace(p, '').strip(' :\'"-()[]')) >= 3:
            return True
    return False


def _no_crash(res, F):
    F.check(not res.timed_out, 'hung: killed after %.0fs' % res.elapsed)
    F.check(res.rc is not None and 0 <= res.rc < 128, 'crashed or killed: exit status %r' % res.rc)


def _no_junk(outdir, F, allow_empty_manifest=True):
    if not outdir.exists():
        return
    files = sorted(str(p.relative_to(outdir)) for p in outdir.rglob('*') if not p.is_dir())
    for f in files:
        if f == 'manifest.jsonl' and allow_empty_manifest:
            if (outdir / f).read_text().strip():
                F.add('failed run left a non-empty manifest: %r' % (outdir / f).read_text()[:300])
            continue
        F.add('failed run left %s in the output directory' % f)


def _bad_open_case(getpath, desc):
    def fn():
        path = getpath()
        F = Failures('%s (%s)' % (Path(path).name, desc))
        out = new_out_dir('bad_' + Path(path).name)
        r = run_vidx(['frames', path, '-o', out, '--count', '3'])
        _no_crash(r, F)
        F.check(r.rc == 3, 'frames: exit %r, expected 3\n  %s' % (r.rc, r.describe()))
        F.check(_names_path(r.stderr, path), 'frames: stderr does not name %s with a cause: %r' % (
            path, r.stderr[-500:]))
        _no_junk(out, F)
        r = run_vidx(['probe', path])
        _no_crash(r, F)
        F.check(r.rc == 3, 'probe: exit %r, expected 3\n  %s' % (r.rc, r.describe()))
        F.check(_names_path(r.stderr, path), 'probe: stderr does not name %s with a cause: %r' % (
            path, r.stderr[-500:]))
        F.raise_if_any()
    return fn


def tests():
    out = []
    for name, desc in BAD_OPEN:
        out.append(('exit3:%s' % name, _bad_open_case(lambda n=name: fixtures_dir() / 'bad' / n, desc)))
    out.append(('exit3:nonexistent', _bad_open_case(lambda: fixtures_dir() / 'bad' / 'no_such_file.mp4',
                                                     'file does not exist')))
    out.append(('exit3:directory', _bad_open_case(lambda: fixtures_dir() / 'bad', 'a directory')))
    return out


def test_truncated_moov_end_mp4():
    """An MP4 cut before its moov is a damaged video, not 'not a recognised media file'."""
    path = fixtures_dir() / 'bad' / 'trunc_moov_end.mp4'
    F = Failures('trunc_moov_end.mp4 (mp4 cut at 50%, its moov at the end is lost)')
    out = new_out_dir('bad_trunc_moov_end')
    for args in (['frames', path, '-o', out, '--count', '3'], ['probe', path]):
        r = run_vidx(args)
        _no_crash(r, F)
        F.check(r.rc == 4, '%s: exit %r, expected 4 (nothing could be decoded)\n  %s' % (args[0], r.rc, r.describe()))
        F.check(_names_path(r.stderr, path) and 'truncated' in r.stderr,
                '%s: stderr does not say %s is truncated: %r' % (args[0], path, r.stderr[-500:]))
    _no_junk(out, F)
    F.raise_if_any()


def test_truncated_partial_says_so():
    """A file cut part way is partial with the reason "truncated" and where it breaks off,
    not a generic "damaged input: 0 decode errors" (and class truncated in a batch)."""
    import test_run as tr
    F = Failures('truncated partial')
    want = re.compile(r'truncated: the video breaks off at [\d.]+ s of the [\d.]+ s its header declares')
    paths = [fixtures_dir() / 'bad' / n for n in ('trunc_faststart.mp4', 'trunc.mkv')]
    for path in paths:
        out = new_out_dir('trunc_says_' + path.name)
        r = run_vidx(['frames', path, '-o', out])
        F.check(r.rc == 6 and want.search(r.stderr), 'frames %s: expected exit 6 and /%s/\n  %s' % (
            path.name, want.pattern, r.describe()))
    out = new_out_dir('trunc_says_run')
    r = tr.vrun(['run'] + paths + ['-o', out, '--progress', 'none'])
    vids = tr.read_catalog(out)['videos'] if r.rc in (0, 1) else {}
    for path in paths:
        v = vids.get(str(path))
        F.check(v is not None and (v['status'], v['error_class']) == ('partial', 'truncated')
                and want.search(v['error'] or ''), 'run %s: %r\n  %s' % (
                    path.name, v and (v['status'], v['error_class'], v['error']), r.describe()))
    F.raise_if_any()


def test_random_bytes_are_not_media():
    """Random bytes that FFmpeg's probe guesses at a low score as MP3 or a raw format are
    'not a recognised media file', whatever their name; not 'refused by the security
    policy' nor 'no decodable video stream' (main said both, depending on the name)."""
    d = new_out_dir('random_bytes')
    d.mkdir(parents=True)
    data = random.Random(1003).randbytes(10000)
    F = Failures('10,000 random bytes')
    for name in ('noise.bin', 'noise.mov', 'noise'):
        path = d / name
        path.write_bytes(data)
        r = run_vidx(['probe', path])
        _no_crash(r, F)
        F.check(r.rc == 3 and 'not a recognised media file' in r.stderr,
                '%s: expected exit 3, "not a recognised media file"\n  %s' % (name, r.describe()))
    F.raise_if_any()


def test_vidx_binary_present():
    """Everything else skips without the binary; this one fails so a missing build is never green."""
    from common import have_vidx
    if not have_vidx():
        fail('vidx binary not found at %s (build it, or set VIDX_BIN)' % vidx_bin())


# --- damaged inputs that still give frames: exit 6 ------------------------------

def _partial_case(path, args, min_frames=1, margin=0.1):
    o = oracle(path)
    fr = vidx_frames(path, args)
    F = Failures(fr.label())
    _no_crash(fr.res, F)
    F.check(fr.rc == 6, 'exit %r, expected 6 (partial)\n  %s' % (fr.rc, fr.res.describe()))
    F.check(_names_path(fr.res.stderr, path), 'stderr does not name %s with a cause: %r' % (
        path, fr.res.stderr[-500:]))
    if fr.manifest is None:
        F.add('no manifest.jsonl for the frames that were delivered (files: %s)' % fr.files()[:10])
        F.raise_if_any()
    for i, line in enumerate(fr.manifest):
        pos = check_line_basics(fr, o, line, i, F, 'jpg', False, o.display_size_candidates())
        t = line.get('target')
        if pos is not None and isinstance(t, (int, float)) and pos not in o.shown_at(t):
            F.add('line %d: target %.6f got frame at %.6f, expected one of %s' % (
                i + 1, t, o.times[pos], sorted(o.times[p] for p in o.shown_at(t))))
    listed = {l.get('path') for l in fr.manifest}
    extra = sorted(set(fr.files()) - listed - {'manifest.jsonl', '.vidx-output'})
    F.check(not extra, 'files not in the manifest (junk): %s' % extra[:10])
    F.check(len(fr.manifest) >= min_frames, 'only %d frames delivered' % len(fr.manifest))
    return o, fr, F


def test_truncated_faststart_mp4_partial():
    path = fixtures_dir() / 'bad' / 'trunc_faststart.mp4'
    o, fr, F = _partial_case(path, ['--fps', '5'])
    # everything up to the last frame FFmpeg can decode from the cut file must be there
    want = [k / 5 for k in range(15) if k / 5 <= o.times[-1] - 0.1]
    got = [l.get('target') for l in fr.manifest]
    for t in want:
        F.check(any(isinstance(g, (int, float)) and abs(g - t) < 1e-6 for g in got),
                'target %.3f (before the cut, last decodable frame %.3f) missing' % (t, o.times[-1]))
    F.raise_if_any()


def test_truncated_mkv_partial():
    path = fixtures_dir() / 'bad' / 'trunc.mkv'
    o, fr, F = _partial_case(path, ['--fps', '5'])
    want = [k / 5 for k in range(15) if k / 5 <= o.times[-1] - 0.1]
    got = [l.get('target') for l in fr.manifest]
    for t in want:
        F.check(any(isinstance(g, (int, float)) and abs(g - t) < 1e-6 for g in got),
                'target %.3f (before the cut, last decodable frame %.3f) missing' % (t, o.times[-1]))
    F.raise_if_any()


NALU = 'androidx_sample_with_invalid_nalu.mp4'


def test_invalid_nalu_frames_match_oracle():
    """29 of 30 frames decode; every delivered frame equals FFmpeg's (exit 0 or 6 accepted here).
    Damaged-input allowances: the index may count the lost frame (packet position), and a target whose
    own frame was lost may go unanswered (then the exit status must be 6)."""
    path = corpus_clip(NALU)
    fr = vidx_frames(path, ['--fps', '30'])
    check_frames_run(fr, oracle(path), {'mode': 'fps', 'r': 30}, allowed_rc=(0, 6), damaged=True)


def test_invalid_nalu_exit_partial():
    """The decoder rejects one packet vidx has to feed: the run is partial (exit 6)."""
    path = corpus_clip(NALU)
    fr = vidx_frames(path, ['--fps', '30'])
    F = Failures(fr.label())
    _no_crash(fr.res, F)
    F.check(fr.rc == 6, 'exit %r, expected 6 (damaged input)\n  %s' % (fr.rc, fr.res.describe()))
    F.check(fr.rc != 6 or _names_path(fr.res.stderr, path), 'stderr does not name the file: %r' % fr.res.stderr[-300:])
    F.raise_if_any()


def test_invalid_bitstream_exit4():
    path = corpus_clip('androidx_invalid-bitstream.webm')
    out = new_out_dir('invalid_bitstream')
    r = run_vidx(['frames', path, '-o', out, '--count', '5'])
    F = Failures('androidx_invalid-bitstream.webm')
    _no_crash(r, F)
    F.check(r.rc == 4, 'exit %r, expected 4 (nothing decodable)\n  %s' % (r.rc, r.describe()))
    F.check(_names_path(r.stderr, path), 'stderr does not name the file with a cause: %r' % r.stderr[-500:])
    _no_junk(out, F)
    r = run_vidx(['frames', path, '-o', new_out_dir('invalid_bitstream_kf'), '--keyframes'])
    _no_crash(r, F)
    F.check(r.rc == 4, '--keyframes: exit %r, expected 4\n  %s' % (r.rc, r.describe()))
    F.raise_if_any()


# --- usage errors: exit 2 -----------------------------------------------------------

def test_usage_errors():
    require_vidx()
    f = fixture('cfr.mp4')
    F = Failures('usage')
    cases = [
        [],
        ['frames'],
        ['nosuchcommand', f],
        ['probe'],
        ['probe', f, '--bogus'],
        ['frames', f, '-o', '{D}', '--count', '3', '--fps', '2'],
        ['frames', f, '-o', '{D}', '--keyframes', '--index', '0'],
        ['frames', f, '-o', '{D}', '--count', '0'],
        ['frames', f, '-o', '{D}', '--count', '-2'],
        ['frames', f, '-o', '{D}', '--count', 'abc'],
        ['frames', f, '-o', '{D}', '--count', '3x'],
        ['frames', f, '-o', '{D}', '--fps', '0'],
        ['frames', f, '-o', '{D}', '--fps', '-1'],
        ['frames', f, '-o', '{D}', '--fps', 'fast'],
        ['frames', f, '-o', '{D}', '--at', 'x'],
        ['frames', f, '-o', '{D}', '--at', ''],
        ['frames', f, '-o', '{D}', '--index', '1.5'],
        ['frames', f, '-o', '{D}', '--index', 'a,b'],
        ['frames', f, '-o', '{D}', '--count', '3', '--format', 'bmp'],
        ['frames', f, '-o', '{D}', '--count', '3', '--quality', '0'],
        ['frames', f, '-o', '{D}', '--count', '3', '--quality', '101'],
        ['frames', f, '-o', '{D}', '--count', '3', '--size', '0'],
        ['frames', f, '-o', '{D}', '--count', '3', '--size', '10x'],
        ['frames', f, '-o', '{D}', '--count', '3', '--size', 'axb'],
        ['frames', f, '-o', '{D}', '--count', '3', '--size', '100x100', '--fit', 'diagonal'],
        ['frames', f, '-o', '{D}', '--count', '3', '--threads', '-1'],
        ['frames', f, '-o', '{D}', '--count', '3', '--bogus'],
        ['frames', f, '--count', '3'],
        ['frames', '-o', '{D}', '--count', '3'],
        ['frames', f, '-o'],
        ['frames', f, '-o', '{D}', '--count'],
        # docs/CLI.md: --at / --index outside the video are usage errors
        ['frames', f, '-o', '{D}', '--at', '3.5'],
        ['frames', f, '-o', '{D}', '--at', '-1'],
        ['frames', f, '-o', '{D}', '--index', '75'],
        ['frames', f, '-o', '{D}', '--index', '-76'],
    ]
    for c in cases:
        out = new_out_dir('usage')
        args = [str(out) if a == '{D}' else a for a in c]
        r = run_vidx(args)
        shown = ' '.join(str(a) for a in c)
        if r.timed_out or r.rc is None or not 0 <= r.rc < 128:
            F.add('vidx %s: crashed/hung (rc=%r)' % (shown, r.rc))
            continue
        F.check(r.rc == 2, 'vidx %s: exit %r, expected 2 (stderr: %r)' % (shown, r.rc, r.stderr.strip()[-200:]))
        F.check(r.stderr.strip() != '', 'vidx %s: nothing on stderr' % shown)
        if out.exists():
            left = [p.name for p in out.rglob('*') if not p.is_dir()]
            F.check(not left, 'vidx %s: left files %s' % (shown, left[:5]))
    F.raise_if_any()


def test_no_mode_is_documented_default_count8():
    """The brief says "exactly one mode"; `vidx frames --help` documents --count 8 as the default.
    Either way the result must be well defined: no mode == --count 8 (checked frame by frame)."""
    path = fixture('cfr.mp4')
    a = vidx_frames(path, [], md5=True)
    b = vidx_frames(path, ['--count', '8'], md5=True)
    if a.rc == 2:
        return   # the brief's reading: usage error
    a.require_ok()
    b.require_ok()
    ka = [(l.get('pts'), l.get('md5'), l.get('target')) for l in a.manifest]
    kb = [(l.get('pts'), l.get('md5'), l.get('target')) for l in b.manifest]
    if ka != kb:
        fail('no mode gave %s, --count 8 gave %s' % (ka, kb))


def test_help_and_version_do_not_fail_as_errors():
    """--help is not an error of the kind 3-6 (0 or 2 accepted)."""
    r = run_vidx(['--help'])
    F = Failures('--help')
    _no_crash(r, F)
    F.check(r.rc in (0, 2), 'exit %r' % r.rc)
    F.raise_if_any()


# --- output errors: exit 5 -------------------------------------------------------

def test_output_dir_under_a_file():
    require_vidx()
    tmp = Path(tempfile.mkdtemp(dir=new_out_dir('outerr').parent))
    blocker = tmp / 'regular_file'
    blocker.write_text('not a directory')
    out = blocker / 'sub'
    r = run_vidx(['frames', fixture('cfr.mp4'), '-o', out, '--count', '3'])
    F = Failures('-o under a regular file')
    _no_crash(r, F)
    F.check(r.rc == 5, 'exit %r, expected 5 (output error)\n  %s' % (r.rc, r.describe()))
    # "a line containing the file path and the cause": the input or the output path
    F.check(_names_path(r.stderr, out) or _names_path(r.stderr, blocker) or
            _names_path(r.stderr, fixture('cfr.mp4')),
            'stderr does not name the file with a cause: %r' % r.stderr[-400:])
    F.check(blocker.read_text() == 'not a directory', 'the blocking file was modified')
    r = run_vidx(['frames', fixture('cfr.mp4'), '-o', blocker, '--count', '3'])
    _no_crash(r, F)
    F.check(r.rc == 5, '-o an existing regular file: exit %r, expected 5\n  %s' % (r.rc, r.describe()))
    F.check(blocker.read_text() == 'not a directory', 'the regular file given as -o was modified')
    F.raise_if_any()


# --- interruption: exit 130 ----------------------------------------------------

def test_sigint_exit_130_and_no_junk():
    require_vidx()
    path = fixture('long.mp4')
    out = new_out_dir('interrupt')
    cmd = [str(vidx_bin()), 'frames', str(path), '-o', str(out), '--fps', '25', '--format', 'png']
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    # wait until it has written something (or 3 s), then interrupt
    t0 = time.time()
    while time.time() - t0 < 3.0 and p.poll() is None:
        if out.is_dir() and any(out.iterdir()):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    if p.poll() is not None:
        p.communicate()
        raise Skip('vidx finished the 500-frame job before it could be interrupted (rc=%r)' % p.returncode)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        fail('did not stop within 30 s of SIGINT')
    F = Failures('SIGINT during frames')
    F.check(p.returncode == 130, 'exit status %r, expected 130 (stderr: %r)' % (
        p.returncode, err.decode('utf-8', 'replace')[-300:]))
    files = sorted(x.name for x in out.iterdir()) if out.is_dir() else []
    for name in files:
        if name in ('manifest.jsonl', '.vidx-output'):  # + the ownership marker
            continue
        if not NAME_RE.match(name):
            F.add('left a temporary/unknown file: %s' % name)
            continue
        fp = out / name
        try:
            image_size(fp)
            data = fp.read_bytes()
            if name.endswith('.png') and not data.endswith(b'IEND\xaeB`\x82'):
                F.add('%s is truncated (no IEND)' % name)
        except Exception as e:
            F.add('%s is not a complete image: %s' % (name, e))
    if 'manifest.jsonl' in files:
        import json
        for i, l in enumerate((out / 'manifest.jsonl').read_text().splitlines()):
            try:
                rec = json.loads(l)
            except ValueError:
                F.add('manifest line %d is not JSON: %r' % (i + 1, l[:100]))
                continue
            if not (out / rec.get('path', '')).is_file():
                F.add('manifest lists %r which does not exist' % rec.get('path'))
    F.raise_if_any()
