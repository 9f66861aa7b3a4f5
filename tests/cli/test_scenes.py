"""`vidx scenes FILE`: shot boundaries against clips whose cuts and fades are known.

psd_testvideo.mp4 (corpus): cuts at frames 30, 180 and 394 (394 is a cut into
a fade-in), and a dissolve over frames 531-558 (by eye; found at its middle, 543). A clip generated here from FFmpeg lavfi sources: hard cuts at
frames 50 and 100 (the middle part a zoom into a Mandelbrot set: motion
everywhere, no cut), a fade out to black over frames 135-149, black until
170, and a fade-in from frame 171 (the new shot). Also: the shots tile the
video, times are the frames' pts x time_base, errors have their exit codes.
"""
import json

from common import Failures, corpus_clip, fail, fixture, new_out_dir, parse_json_stdout, run, run_vidx

FPS = 25


def frame_times(path):
    """Presentation times of the decoded pictures, in order (ffprobe)."""
    r = run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time,best_effort_timestamp_time',
             '-of', 'json', str(path)])
    if r.rc != 0:
        fail('ffprobe %s: %s' % (path, r.describe()))
    frames = json.loads(r.stdout).get('frames', [])
    return [float(f.get('pts_time', f.get('best_effort_timestamp_time'))) for f in frames]


def scenes(path, *extra):
    r = run_vidx(['scenes', path] + list(extra))
    if r.rc != 0:
        fail('scenes %s: %s' % (path, r.describe()))
    j = parse_json_stdout(r, 'scenes %s' % path)
    if not isinstance(j, dict) or not isinstance(j.get('shots'), list):
        fail('scenes %s: no "shots" list: %r' % (path, j))
    return j


def check_tiling(F, j, times):
    """The shots cover frames 0..n-1 without gaps; start/end are the frames' times."""
    shots, n = j['shots'], len(times)
    F.check(j.get('frames') == n, 'frames %r, the video has %d' % (j.get('frames'), n))
    F.check(j.get('partial') is False, 'partial %r' % j.get('partial'))
    F.check(shots and shots[0]['first_frame'] == 0, 'first shot does not start at frame 0')
    F.check(shots and shots[-1]['last_frame'] == n - 1, 'last shot does not end at frame %d' % (n - 1))
    for a, b in zip(shots, shots[1:]):
        F.check(a['last_frame'] + 1 == b['first_frame'], 'gap or overlap: %r then %r' % (a, b))
        F.check(abs(a['end'] - b['start']) < 1e-6, 'end %r != next start %r' % (a['end'], b['start']))
    for s in shots:
        if 0 <= s['first_frame'] < n:
            F.check(abs(s['start'] - times[s['first_frame']]) < 1e-5, 'shot %r: start is not frame %d at %.6f' % (
                s, s['first_frame'], times[s['first_frame']]))
        for k in ('cause', 'score', 'ratio', 'fade_in', 'fade_out'):
            F.check(k in s, 'shot without %r: %r' % (k, s))


def starts(j):
    return [s['first_frame'] for s in j['shots']][1:]


def test_scenes_psd_testvideo():
    path = corpus_clip('psd_testvideo.mp4')
    j = scenes(path)
    F = Failures('scenes psd_testvideo.mp4')
    F.check(starts(j) == [30, 180, 394, 543], 'shots start at %r, expected [30, 180, 394, 543]'
            % starts(j))
    check_tiling(F, j, frame_times(path))
    by_first = {s['first_frame']: s for s in j['shots']}
    if 394 in by_first:
        F.check(by_first[394]['fade_in'] and by_first[394]['cause'] == 'fade',
                'the shot at 394 is not a fade-in: %r' % by_first[394])
    if 543 in by_first:
        F.check(by_first[543]['cause'] == 'dissolve', 'the shot at 543 is not a dissolve\'s: %r'
                % by_first[543])
    if 180 in by_first:
        F.check(by_first[180]['fade_out'], 'the shot at 180 ends faded to black: %r' % by_first[180])
    F.raise_if_any()


def _generated():
    out = new_out_dir('scenes_gen')
    out.mkdir(parents=True)
    clip = out / 'cuts.mp4'
    parts = ['testsrc2=size=320x240:rate=25:duration=2',
             'mandelbrot=size=320x240:rate=25,trim=duration=2',
             'smptehdbars=size=320x240:rate=25:duration=2.4,fade=t=out:st=1.4:d=0.6',
             'color=black:size=320x240:rate=25:duration=0.4',
             'rgbtestsrc=size=320x240:rate=25:duration=2,fade=t=in:st=0:d=0.6']
    graph = ';'.join('%s,format=yuv420p,setsar=1[v%d]' % (p, i) for i, p in enumerate(parts))
    graph += ';' + ''.join('[v%d]' % i for i in range(len(parts))) + 'concat=n=%d:v=1:a=0[out]' % len(parts)
    r = run(['ffmpeg', '-nostdin', '-v', 'error', '-y', '-filter_complex', graph, '-map', '[out]', '-c:v', 'libx264',
             '-preset', 'veryfast', '-g', '50', str(clip)])
    if r.rc != 0:
        fail('cannot generate %s: %s' % (clip, r.describe()))
    return clip


def test_scenes_generated_cuts_zoom_fade():
    clip = _generated()
    j = scenes(clip)
    F = Failures('scenes generated cuts/zoom/fade')
    # testsrc2 0-49 | mandelbrot zoom 50-99 | bars 100-159, fading out 135-149, black
    # 150-169 | rgbtestsrc fading in from 170; FFmpeg's fade makes 170 fully black, the
    # first frame of the fade that shows anything (where the fade-in begins) is 171
    F.check(starts(j) == [50, 100, 171], 'shots start at %r, expected [50, 100, 171]' % starts(j))
    check_tiling(F, j, frame_times(clip))
    F.check(abs(j['shots'][-1]['end'] - 220 / FPS) < 1e-6, 'last end %r, expected %g' % (
        j['shots'][-1]['end'], 220 / FPS))
    F.raise_if_any()


def test_scenes_options_change_the_result():
    clip = corpus_clip('psd_testvideo.mp4')
    j = scenes(clip, '--min-shot', '200', '--threads', '1')
    F = Failures('scenes --min-shot 200')
    # 30 and 180 are within 200 frames of the start; 394 is 394 frames after it
    F.check(starts(j) == [394], 'shots start at %r, expected [394] with --min-shot 200' % starts(j))
    j = scenes(clip, '--threshold', '1000')
    # No cut passes: the black run from 180 is then the leaf's fade-out, and the fade-in
    # out of it (211) begins a shot, like 394; the dissolve (543) is not a cut either
    F.check(starts(j) == [211, 394, 543], 'with --threshold 1000: %r, expected [211, 394, 543]'
            % starts(j))
    F.raise_if_any()


def test_scenes_sequential_container():
    """An AVI (the sequential path without a watch too) gives one tiled shot list."""
    path = fixture('mpeg4.avi')
    j = scenes(path)
    F = Failures('scenes mpeg4.avi')
    check_tiling(F, j, frame_times(path))
    F.raise_if_any()


def test_scenes_errors():
    F = Failures('scenes errors')
    r = run_vidx(['scenes', '/nonexistent/x.mp4'])
    F.check(r.rc == 3 and '/nonexistent/x.mp4' in r.stderr, 'missing file: %s' % r.describe())
    r = run_vidx(['scenes', fixture('cfr.mp4'), '--threshold', 'abc'])
    F.check(r.rc == 2 and 'threshold' in r.stderr, 'bad --threshold: %s' % r.describe())
    r = run_vidx(['scenes', fixture('cfr.mp4'), '--min-shot', '0'])
    F.check(r.rc == 2, '--min-shot 0: %s' % r.describe())
    r = run_vidx(['scenes'])
    F.check(r.rc == 2, 'no FILE: %s' % r.describe())
    F.raise_if_any()
