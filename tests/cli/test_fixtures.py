"""Generated clips whose frame times are known by construction (tests/gen/make_fixtures.sh).

Expectations here are computed from the construction, not from FFmpeg, and are
strict: a target exactly on a frame time must give that frame.
"""
import bisect
import math
from fractions import Fraction

from checks import check_frames_run, spec_args
from common import Failures, fail, fixture, image_size, parse_json_stdout, run_vidx, vidx_frames
from oracle import oracle

CFR_TIMES = [Fraction(k, 25) for k in range(75)]             # cfr.mp4, rot*.mp4
OFF_TIMES = [10 + Fraction(k, 25) for k in range(50)]        # off.mp4, off.mkv
VFR_TIMES = [Fraction(40 * n, 1000) for n in range(25)] + [1 + Fraction(n - 25, 10) for n in range(25, 45)]
AVI_TIMES = [Fraction(k, 25) for k in range(50)]             # mpeg4.avi


def shown(times, t):
    """Exact: index of the greatest time <= t (t a Fraction)."""
    return max(bisect.bisect_right(times, t) - 1, 0)


def _check(clip, times, args, targets, spec=None, md5=True, allow_dedup=False):
    """targets: exact Fractions (absolute) the run must answer, in order."""
    path = fixture(clip)
    fr = vidx_frames(path, args, md5=md5)
    fr.require_ok()
    F = Failures(fr.label())
    want = [shown(times, t) for t in targets]
    lines = fr.manifest
    got = [l.get('index') for l in lines]
    if len(lines) == len(targets):
        for i, (l, t, w) in enumerate(zip(lines, targets, want)):
            F.check(l.get('index') == w, 'target %s (%.6f s): index %r, expected %d (time %.6f)' % (
                t, float(t), l.get('index'), w, float(times[w])))
            tg = l.get('target')
            F.check(isinstance(tg, (int, float)) and abs(tg - float(t)) <= 1e-6,
                    'line %d: target %r, expected %.6f' % (i + 1, tg, float(t)))
    elif allow_dedup:
        F.check(sorted(set(got)) == sorted(set(want)),
                '%d lines for %d targets: indices %s, expected the distinct frames %s' % (
                    len(lines), len(targets), got, sorted(set(want))))
        F.check(len(got) == len(set(got)), 'deduplicated output repeats a frame: %s' % got)
    else:
        F.add('%d lines, expected %d: indices %s vs %s' % (len(lines), len(targets), got, want))
    for i, l in enumerate(lines):
        idx = l.get('index')
        if isinstance(idx, int) and 0 <= idx < len(times):
            F.check(isinstance(l.get('time'), (int, float)) and abs(l['time'] - float(times[idx])) <= 1e-6,
                    'line %d: index %d time %r, expected %.6f' % (i + 1, idx, l.get('time'), float(times[idx])))
    F.raise_if_any()
    if spec is not None:
        check_frames_run(fr, oracle(path), spec)
    return fr


def _fr(x):
    return Fraction(x)


# --- cfr.mp4: 75 frames at k/25, D = 3 s --------------------------------------

def test_cfr_count7():
    D = Fraction(3)
    _check('cfr.mp4', CFR_TIMES, ['--count', '7'], [(i + Fraction(1, 2)) * D / 7 for i in range(7)],
           spec={'mode': 'count', 'n': 7})


def test_cfr_count75_every_frame():
    _check('cfr.mp4', CFR_TIMES, ['--count', '75'], [(i + Fraction(1, 2)) * 3 / 75 for i in range(75)])


def test_cfr_fps2():
    # k/2 < 3  =>  k = 0..5: 6 frames (floor(D*R) = 6 since D*R is an integer)
    _check('cfr.mp4', CFR_TIMES, ['--fps', '2'], [Fraction(k, 2) for k in range(6)], allow_dedup=False)


def test_cfr_fps_0_7():
    # k/0.7 < 3  =>  k = 0, 1, 2 (ceil(2.1) = 3 frames): 0, 1.428.., 2.857..
    ts = [Fraction(k) / Fraction('0.7') for k in range(3)]
    _check('cfr.mp4', CFR_TIMES, ['--fps', '0.7'], ts, allow_dedup=False)


def test_cfr_fps25_all_frames():
    _check('cfr.mp4', CFR_TIMES, ['--fps', '25'], [Fraction(k, 25) for k in range(75)], allow_dedup=False,
           spec={'mode': 'fps', 'r': 25})


def test_cfr_fps30_more_targets_than_frames():
    # 90 targets over 75 frames: several targets show the same frame, which is delivered once per
    # target (docs/CLI.md).
    _check('cfr.mp4', CFR_TIMES, ['--fps', '30'], [Fraction(k, 30) for k in range(90)],
           spec={'mode': 'fps', 'r': 30})


def test_cfr_at_exact_frame_times():
    # 0.4 s and 2.96 s are exactly frames 10 and 74; 1.02 s lies between frames 25 and 26.
    _check('cfr.mp4', CFR_TIMES, ['--at', '0,0.4,1.02,2.96'],
           [_fr(0), _fr('0.4'), _fr('1.02'), _fr('2.96')], allow_dedup=False)


def test_cfr_at_unsorted():
    # request order does not matter; output is in presentation order
    path = fixture('cfr.mp4')
    fr = vidx_frames(path, ['--at', '2,0.5,1'])
    fr.require_ok()
    got = [l.get('index') for l in fr.manifest]
    if got != [12, 25, 50]:
        fail('--at 2,0.5,1: indices %s, expected [12, 25, 50] in presentation order' % got)


def test_cfr_index():
    path = fixture('cfr.mp4')
    fr = vidx_frames(path, ['--index', '0,37,-1,-2'])
    fr.require_ok()
    got = sorted(l.get('index') for l in fr.manifest)
    if got != [0, 37, 73, 74]:
        fail('--index 0,37,-1,-2: got indices %s, expected [0, 37, 73, 74]' % got)
    check_frames_run(fr, oracle(path), {'mode': 'index', 'indices': [0, 37, -1, -2]})


def test_cfr_keyframes():
    path = fixture('cfr.mp4')
    fr = vidx_frames(path, ['--keyframes'])
    fr.require_ok()
    got = [l.get('index') for l in fr.manifest]
    if got != [0, 12, 24, 36, 48, 60, 72]:
        fail('keyframes: got indices %s, expected [0, 12, 24, 36, 48, 60, 72] (closed GOP 12)' % got)
    if not all(l.get('keyframe') is True and l.get('target') is None for l in fr.manifest):
        fail('keyframes: every line must have keyframe true and target null: %s' % fr.manifest)


def test_cfr_approx_nearest_keyframe():
    # targets 0.3 and 0.8: nearest keys 0.48 (|0.18| < 0.3) and 0.96 (|0.16| < 0.32)
    path = fixture('cfr.mp4')
    fr = vidx_frames(path, ['--at', '0.3,0.8', '--approx'])
    fr.require_ok()
    got = [(l.get('index'), l.get('approx'), l.get('keyframe')) for l in fr.manifest]
    if got != [(12, True, True), (24, True, True)]:
        fail('--at 0.3,0.8 --approx: got (index, approx, keyframe) %s, expected [(12, True, True), '
             '(24, True, True)]' % got)


# --- start time 10 s ----------------------------------------------------------

def test_offset_mp4_count4():
    ts = [10 + (i + Fraction(1, 2)) * 2 / 4 for i in range(4)]   # 10.25, 10.75, 11.25, 11.75
    _check('off.mp4', OFF_TIMES, ['--count', '4'], ts, allow_dedup=False)


def test_offset_mp4_at_and_fps():
    _check('off.mp4', OFF_TIMES, ['--at', '0,1,1.5'], [_fr(10), _fr(11), _fr('11.5')], allow_dedup=False)
    _check('off.mp4', OFF_TIMES, ['--fps', '1'], [_fr(10), _fr(11)], allow_dedup=False)


def test_offset_mkv_at_index():
    _check('off.mkv', OFF_TIMES, ['--at', '0,1'], [_fr(10), _fr(11)], allow_dedup=False)
    fr = vidx_frames(fixture('off.mkv'), ['--index', '-1'])
    fr.require_ok()
    l = fr.manifest[0] if fr.manifest else {}
    if l.get('index') != 49 or abs(l.get('time', 0) - 11.96) > 1e-6:
        fail('off.mkv --index -1: got %s, expected index 49 time 11.96' % l)


def test_offset_probe_start_time():
    for clip in ('off.mp4', 'off.mkv'):
        r = run_vidx(['probe', fixture(clip)])
        if r.rc != 0:
            fail('probe %s: %s' % (clip, r.describe()))
        j = parse_json_stdout(r, 'probe ' + clip)
        v = [s for s in j.get('streams', []) if s.get('type') == 'video']
        if not v or abs(float(j.get('start_time', -1)) - 10.0) > 1e-3:
            fail('probe %s: start_time %r, expected 10.0' % (clip, j.get('start_time')))


# --- VFR ----------------------------------------------------------------------

def _vfr_duration(clip):
    o = oracle(fixture(clip))
    return Fraction(str(o.duration))


def test_vfr_mkv_fps10():
    D = _vfr_duration('vfr.mkv')   # container duration (Matroska has no stream duration)
    ts = [Fraction(k, 10) for k in range(int(math.ceil(D * 10)))]
    ts = [t for t in ts if t < D]
    _check('vfr.mkv', VFR_TIMES, ['--fps', '10'], ts, allow_dedup=False, spec={'mode': 'fps', 'r': 10})


def test_vfr_mkv_at():
    # 1.05 -> frame 25 (1.0 s), 1.1 exactly frame 26, 2.85 -> frame 43 (2.8 s), 0.5 -> frame 12 (0.48)
    _check('vfr.mkv', VFR_TIMES, ['--at', '0.5,1.05,1.1,2.85'],
           [_fr('0.5'), _fr('1.05'), _fr('1.1'), _fr('2.85')], allow_dedup=False)


def test_vfr_mp4_count5():
    D = _vfr_duration('vfr.mp4')   # stream duration from the header
    _check('vfr.mp4', VFR_TIMES, ['--count', '5'], [(i + Fraction(1, 2)) * D / 5 for i in range(5)],
           spec={'mode': 'count', 'n': 5})


def test_vfr_mp4_index_all():
    path = fixture('vfr.mp4')
    fr = vidx_frames(path, ['--index', ','.join(str(i) for i in range(45))])
    fr.require_ok()
    times = [l.get('time') for l in fr.manifest]
    want = [float(t) for t in VFR_TIMES]
    if len(times) != 45 or any(abs(a - b) > 1e-6 for a, b in zip(times, want)):
        fail('vfr.mp4 all indices: times %s, expected %s' % (times, want))


# --- rotation, SAR, 10-bit, AVI -------------------------------------------------

def _dims_case(clip, want):
    path = fixture(clip)
    fr = vidx_frames(path, ['--index', '0,-1'])
    fr.require_ok()
    F = Failures(fr.label())
    for l in fr.manifest:
        F.check((l.get('width'), l.get('height')) == want, 'manifest %sx%s, expected %dx%d' % (
            l.get('width'), l.get('height'), want[0], want[1]))
        wh = image_size(fr.outdir / l['path'])
        F.check(wh == want, '%s is %dx%d, expected %dx%d' % (l['path'], wh[0], wh[1], want[0], want[1]))
    r = run_vidx(['probe', path])
    j = parse_json_stdout(r, 'probe')
    v = [s for s in j.get('streams', []) if s.get('selected')]
    F.check(len(v) == 1 and (v[0].get('display_width'), v[0].get('display_height')) == want,
            'probe display size %s, expected %dx%d' % (
                [(s.get('display_width'), s.get('display_height')) for s in v], want[0], want[1]))
    F.raise_if_any()
    return j


def test_rot90_display_size():
    j = _dims_case('rot90.mp4', (240, 320))
    v = [s for s in j['streams'] if s.get('selected')][0]
    if v.get('rotation') != 90:
        fail('rot90.mp4 (ffprobe rotation -90): probe rotation %r, expected 90 (clockwise)' % v.get('rotation'))


def test_rot270_display_size():
    j = _dims_case('rot270.mp4', (240, 320))
    v = [s for s in j['streams'] if s.get('selected')][0]
    if v.get('rotation') != 270:
        fail('rot270.mp4 (ffprobe rotation 90): probe rotation %r, expected 270 (clockwise)' % v.get('rotation'))


def test_sar_display_size():
    j = _dims_case('sar.mp4', (480, 240))
    v = [s for s in j['streams'] if s.get('selected')][0]
    if v.get('sample_aspect_ratio') != '3:2':
        fail('sar.mp4: sample_aspect_ratio %r, expected "3:2"' % v.get('sample_aspect_ratio'))


def test_hevc10_probe():
    r = run_vidx(['probe', fixture('hevc10.mp4')])
    j = parse_json_stdout(r, 'probe')
    v = [s for s in j.get('streams', []) if s.get('selected')]
    if not v or v[0].get('pix_fmt') != 'yuv420p10le' or v[0].get('bit_depth') != 10 or v[0].get('codec') != 'hevc':
        fail('hevc10.mp4 probe: %s; expected codec hevc, pix_fmt yuv420p10le, bit_depth 10' % v)


def test_mpeg4_avi_all_frames():
    _check('mpeg4.avi', AVI_TIMES, ['--fps', '25'], [Fraction(k, 25) for k in range(50)], allow_dedup=False,
           spec={'mode': 'fps', 'r': 25})
