"""Delivered frame times against the per-frame reference data shipped in corpus/truth/.

torchcodec JSON: pts_time of every frame of nasa_13013.mp4 video streams 0 and 3.
ExoPlayer .dump: sample times in microseconds (extractor dumps, decode order) or
decoder output buffer times offset by 1e12 us (playback dumps). ExoPlayer
truncates to whole microseconds, hence a 2 us tolerance.
"""
from checks import default_specs, run_spec
from common import Failures, corpus_clip, fail, truth_file, vidx_frames
from oracle import exo_playback_times_us, exo_sample_times_us, oracle, torchcodec_pts

TC_CLIP = 'torchcodec_nasa_13013.mp4'
EXO = {
    # clip: (truth file, kind)
    'androidx_h265_bframes.mp4': ('androidx_h265_bframes.mp4.0.dump', 'extractor'),
    'androidx_sample.avi': ('androidx_sample.avi.0.dump', 'extractor'),
    'androidx_sample.flv': ('androidx_sample.flv.0.dump', 'extractor'),
    'androidx_sample_android_slow_motion.mp4': ('androidx_sample_android_slow_motion.mp4.0.dump', 'extractor'),
    'androidx_bear-vp9.webm': ('androidx_bear-vp9.webm.playback.dump', 'playback'),
}


def _near(values, x, tol):
    import bisect
    i = bisect.bisect_left(values, x - tol)
    return i < len(values) and abs(values[i] - x) <= tol


def _runs(path, o):
    out = []
    for spec in default_specs(o):
        fr = run_spec(path, spec)
        fr.require_ok()
        out.append((spec, fr))
    return out


def test_torchcodec_oracle_agrees():
    """Sanity of the oracle itself: ffprobe pts_time list == torchcodec's, streams 0 and 3."""
    path = corpus_clip(TC_CLIP)
    F = Failures('oracle vs torchcodec truth')
    for s in (0, 3):
        truth = torchcodec_pts(truth_file('%s.stream%d.all_frames_info.json' % (TC_CLIP, s)))
        o = oracle(path, s)
        F.check(len(truth) == o.n, 'stream %d: truth has %d frames, oracle %d' % (s, len(truth), o.n))
        bad = [(i, a, b) for i, (a, b) in enumerate(zip(truth, o.times)) if abs(a - b) > 1e-6]
        F.check(not bad, 'stream %d: pts differ at %s' % (s, bad[:5]))
    F.raise_if_any()


def test_torchcodec_times():
    """Every time vidx delivers for nasa_13013.mp4 is a pts_time of that stream in torchcodec's list,
    and in index mode it is the list entry at that index."""
    path = corpus_clip(TC_CLIP)
    o = oracle(path)
    F = Failures(TC_CLIP)
    for spec, fr in _runs(path, o):
        for i, l in enumerate(fr.manifest):
            s = l.get('stream')
            if s not in (0, 3):
                F.add('%s line %d: stream %r has no torchcodec truth' % (spec, i + 1, s))
                continue
            truth = torchcodec_pts(truth_file('%s.stream%d.all_frames_info.json' % (TC_CLIP, s)))
            t = l.get('time')
            if not _near(sorted(truth), t, 1e-6):
                F.add('%s line %d: time %r is not a stream-%d pts_time in torchcodec truth' % (
                    spec['mode'], i + 1, t, s))
            idx = l.get('index')
            if isinstance(idx, int) and 0 <= idx < len(truth) and abs(truth[idx] - t) > 1e-6:
                F.add('%s line %d: index %d has truth pts_time %.6f, got time %r' % (
                    spec['mode'], i + 1, idx, truth[idx], t))
    F.raise_if_any()


def test_torchcodec_stream0_option():
    """--stream 0 (documented option) samples the 320x180 rendition; frames match the oracle and
    torchcodec's stream-0 pts list."""
    from checks import check_frames_run
    path = corpus_clip(TC_CLIP)
    truth = torchcodec_pts(truth_file('%s.stream0.all_frames_info.json' % TC_CLIP))
    o = oracle(path, 0)
    spec = {'mode': 'count', 'n': 7}
    fr = vidx_frames(path, ['--count', '7', '--stream', '0'])
    check_frames_run(fr, o, spec)
    F = Failures(fr.label())
    for l in fr.manifest:
        F.check(l.get('stream') == 0, 'stream %r' % l.get('stream'))
        F.check(abs(truth[l['index']] - l['time']) <= 1e-6, 'index %d: truth %.6f, time %r' % (
            l['index'], truth[l['index']], l['time']))
    F.raise_if_any()


def test_torchcodec_default_stream():
    """torchcodec documents stream 3 (480x270) as the best video stream."""
    path = corpus_clip(TC_CLIP)
    fr = run_spec(path, {'mode': 'index', 'indices': [0]})
    fr.require_ok()
    if fr.manifest[0].get('stream') != 3:
        fail('vidx used stream %r, av_find_best_stream/torchcodec pick 3' % fr.manifest[0].get('stream'))


def _exo_case(clip, tfile, kind):
    def fn():
        path = corpus_clip(clip)
        tf = truth_file(tfile)
        us = exo_sample_times_us(tf) if kind == 'extractor' else exo_playback_times_us(tf)
        if not us:
            fail('no video sample times parsed from %s' % tf)
        us_sorted = sorted(us)
        o = oracle(path)
        F = Failures(clip)
        # the oracle itself agrees with ExoPlayer on every decoded frame
        for t in o.times:
            if not _near(us_sorted, t * 1e6, 2.0):
                F.add('oracle frame time %.6f not among ExoPlayer sample times (oracle problem)' % t)
                break
        same_count = len(us_sorted) == o.n
        for spec, fr in _runs(path, o):
            for i, l in enumerate(fr.manifest):
                t = l.get('time')
                if not isinstance(t, (int, float)) or not _near(us_sorted, t * 1e6, 2.0):
                    F.add('%s line %d: time %r not among ExoPlayer times (us)' % (spec['mode'], i + 1, t))
                idx = l.get('index')
                if same_count and isinstance(idx, int) and 0 <= idx < len(us_sorted) and \
                        isinstance(t, (int, float)) and abs(us_sorted[idx] - t * 1e6) > 2.0:
                    F.add('%s line %d: index %d is ExoPlayer time %d us, got time %r' % (
                        spec['mode'], i + 1, idx, us_sorted[idx], t))
        F.raise_if_any()
    return fn


def test_exoplayer_invalid_nalu_times():
    """The damaged clip: delivered times are among ExoPlayer's 30 sample times (exit 0 or 6)."""
    clip = 'androidx_sample_with_invalid_nalu.mp4'
    path = corpus_clip(clip)
    us = sorted(exo_sample_times_us(truth_file(clip + '.0.dump')))
    fr = vidx_frames(path, ['--fps', '30'])
    fr.require_ok(allowed=(0, 6))
    F = Failures(fr.label())
    for i, l in enumerate(fr.manifest):
        t = l.get('time')
        if not isinstance(t, (int, float)) or not _near(us, t * 1e6, 2.0):
            F.add('line %d: time %r not among ExoPlayer sample times' % (i + 1, t))
    F.raise_if_any()


def tests():
    return [('exoplayer:%s' % c, _exo_case(c, tf, k)) for c, (tf, k) in sorted(EXO.items())]
