"""`vidx probe FILE [--count-frames]`: fields, types and values against ffprobe and known facts."""
import re
from fractions import Fraction

from common import (CORRUPT_CLIPS, Failures, Skip, corpus_clip, corpus_clips, fail, fixture, parse_json_stdout,
                    run_vidx)
from oracle import _frac, oracle, probe_info, rotation_cw

TOP_KEYS = ('path', 'container', 'duration', 'start_time', 'bit_rate', 'streams')
STREAM_KEYS = ('index', 'type', 'codec', 'profile')
VIDEO_KEYS = ('pix_fmt', 'bit_depth', 'coded_width', 'coded_height', 'sample_aspect_ratio', 'r_frame_rate',
              'avg_frame_rate', 'vfr', 'frames', 'frames_exact', 'duration', 'selected')
# docs/CLI.md: "rotation, display_width, display_height (for the selected stream)"
SELECTED_KEYS = ('rotation', 'display_width', 'display_height')
AUDIO_KEYS = ('sample_rate', 'channels', 'channel_layout')
BIT_DEPTH = {'yuv420p': 8, 'yuvj420p': 8, 'yuv422p': 8, 'yuv444p': 8, 'yuv420p10le': 10, 'yuv420p12le': 12,
             'yuv422p10le': 10, 'nv12': 8, 'gray': 8}


def probe(path, *extra):
    r = run_vidx(['probe', path] + list(extra))
    if r.rc != 0:
        fail('probe %s: %s' % (path, r.describe()))
    j = parse_json_stdout(r, 'probe %s' % path)
    if not isinstance(j, dict):
        fail('probe output is not a JSON object: %r' % j)
    return j


def selected(j):
    v = [s for s in j.get('streams', []) if isinstance(s, dict) and s.get('selected')]
    if len(v) != 1:
        fail('expected exactly one stream with selected=true, got %d: %s' % (len(v), [s.get('index') for s in v]))
    return v[0]


def _close(a, b, rel=1e-3):
    return isinstance(a, (int, float)) and abs(a - b) <= rel * max(1.0, abs(b))


def check_probe_against_ffprobe(path):
    j = probe(path)
    info = probe_info(path)
    o = oracle(path)
    F = Failures('probe %s' % path.name)
    for k in TOP_KEYS:
        F.check(k in j, 'missing top-level key %r' % k)
    F.check(j.get('path') == str(path), 'path %r, expected %r' % (j.get('path'), str(path)))
    fmt = info['format']
    F.check(j.get('container') == fmt['format_name'], 'container %r, ffprobe format_name %r' % (
        j.get('container'), fmt['format_name']))
    fd = fmt.get('duration')
    if fd is None:
        F.check(j.get('duration') is None, 'duration %r, ffprobe has none (expected null)' % j.get('duration'))
    else:
        F.check(_close(j.get('duration'), float(fd), 1e-5), 'duration %r, ffprobe %s' % (j.get('duration'), fd))
    if fmt.get('start_time') is not None:
        F.check(_close(j.get('start_time'), float(fmt['start_time']), 1e-5),
                'start_time %r, ffprobe %s' % (j.get('start_time'), fmt['start_time']))
    br = j.get('bit_rate')
    F.check(br is None or isinstance(br, int), 'bit_rate %r is not an int or null' % br)
    streams = j.get('streams') or []
    fs = info['streams']
    F.check(len(streams) == len(fs), '%d streams, ffprobe lists %d' % (len(streams), len(fs)))
    for s, f in zip(streams, fs):
        where = 'stream %s' % f['index']
        for k in STREAM_KEYS:
            F.check(k in s, '%s: missing key %r' % (where, k))
        F.check(s.get('index') == f['index'], '%s: index %r' % (where, s.get('index')))
        F.check(s.get('type') == f.get('codec_type'), '%s: type %r, ffprobe codec_type %r' % (
            where, s.get('type'), f.get('codec_type')))
        if f.get('codec_name'):
            F.check(s.get('codec') == f['codec_name'], '%s: codec %r, ffprobe %r' % (
                where, s.get('codec'), f['codec_name']))
        # ffprobe prints the profile number when the codec has no name for it (VP8 "0")
        if f.get('profile') and not str(f['profile']).lstrip('-').isdigit() and \
                f.get('codec_type') in ('video', 'audio'):
            F.check(s.get('profile') == f['profile'], '%s: profile %r, ffprobe %r' % (
                where, s.get('profile'), f['profile']))
        if f.get('codec_type') == 'video':
            for k in VIDEO_KEYS:
                F.check(k in s, '%s: missing video key %r' % (where, k))
            if s.get('selected'):
                for k in SELECTED_KEYS:
                    F.check(k in s, '%s: missing key %r on the selected stream' % (where, k))
                F.check(s.get('rotation') == rotation_cw(f), '%s: rotation %r, expected %d (clockwise, from the '
                        'display matrix %s)' % (where, s.get('rotation'), rotation_cw(f),
                                                [d.get('rotation') for d in f.get('side_data_list', []) or []]))
                w, h = o.coded_size()
                F.check((s.get('coded_width'), s.get('coded_height')) == (w, h),
                        '%s: coded %sx%s, decoded frames are %dx%d' % (
                            where, s.get('coded_width'), s.get('coded_height'), w, h))
                F.check((s.get('display_width'), s.get('display_height')) in o.display_size_candidates(),
                        '%s: display %sx%s, expected %s' % (where, s.get('display_width'), s.get('display_height'),
                                                            o.display_size_candidates()))
            if f.get('pix_fmt'):
                F.check(s.get('pix_fmt') == f['pix_fmt'], '%s: pix_fmt %r, ffprobe %r' % (
                    where, s.get('pix_fmt'), f['pix_fmt']))
                if f['pix_fmt'] in BIT_DEPTH:
                    F.check(s.get('bit_depth') == BIT_DEPTH[f['pix_fmt']], '%s: bit_depth %r for %s' % (
                        where, s.get('bit_depth'), f['pix_fmt']))
            sar_known = _frac(f.get('sample_aspect_ratio'))
            ssar = s.get('sample_aspect_ratio')
            ok = False
            if isinstance(ssar, str) and re.match(r'^\d+:\d+$', ssar):
                n, d = map(int, ssar.split(':'))
                if sar_known is None:
                    ok = (n == d and n > 0) or n == 0
                else:
                    ok = d != 0 and Fraction(n, d) == sar_known
            F.check(ok, '%s: sample_aspect_ratio %r, ffprobe %r' % (where, ssar, f.get('sample_aspect_ratio')))
            for k in ('r_frame_rate', 'avg_frame_rate'):
                fr = _frac(f.get(k))
                if fr is not None:
                    F.check(_close(s.get(k), float(fr)), '%s: %s %r, ffprobe %s' % (where, k, s.get(k), f.get(k)))
            F.check(isinstance(s.get('vfr'), bool), '%s: vfr %r not a bool' % (where, s.get('vfr')))
            # docs/CLI.md: vfr = r_frame_rate and avg_frame_rate differ by more than 0.1%
            rr, ar = _frac(f.get('r_frame_rate')), _frac(f.get('avg_frame_rate'))
            if rr and ar:
                F.check(s.get('vfr') is (abs(float(rr) - float(ar)) > 0.001 * float(ar)),
                        '%s: vfr %r but ffprobe rates are %s and %s' % (where, s.get('vfr'), f.get('r_frame_rate'),
                                                                       f.get('avg_frame_rate')))
            nb = f.get('nb_frames')
            if nb not in (None, 'N/A'):
                F.check(s.get('frames') == int(nb), '%s: frames %r, header nb_frames %s' % (
                    where, s.get('frames'), nb))
            else:
                F.check(s.get('frames') is None or isinstance(s.get('frames'), int),
                        '%s: frames %r' % (where, s.get('frames')))
            F.check(s.get('frames_exact') is False, '%s: frames_exact %r without --count-frames' % (
                where, s.get('frames_exact')))
            sd = f.get('duration')
            if sd not in (None, 'N/A'):
                F.check(_close(s.get('duration'), float(sd), 1e-5), '%s: duration %r, ffprobe %s' % (
                    where, s.get('duration'), sd))
        if f.get('codec_type') == 'audio':
            for k in AUDIO_KEYS:
                F.check(k in s, '%s: missing audio key %r' % (where, k))
            F.check(s.get('sample_rate') == int(f['sample_rate']), '%s: sample_rate %r, ffprobe %s' % (
                where, s.get('sample_rate'), f['sample_rate']))
            F.check(s.get('channels') == f.get('channels'), '%s: channels %r, ffprobe %s' % (
                where, s.get('channels'), f.get('channels')))
            if f.get('channel_layout'):
                F.check(s.get('channel_layout') == f['channel_layout'], '%s: channel_layout %r, ffprobe %r' % (
                    where, s.get('channel_layout'), f['channel_layout']))
    sel = [s for s in streams if isinstance(s, dict) and s.get('selected')]
    F.check(len(sel) == 1 and sel[0].get('index') == o.stream,
            'selected streams %s, expected exactly stream %d' % ([s.get('index') for s in sel], o.stream))
    F.raise_if_any()


def _fields_case(getpath):
    return lambda: check_probe_against_ffprobe(getpath())


def _count_case(getpath):
    def fn():
        path = getpath()
        o = oracle(path)
        j = probe(path, '--count-frames')
        v = selected(j)
        if v.get('frames') != o.n or v.get('frames_exact') is not True:
            fail('%s --count-frames: frames %r frames_exact %r; FFmpeg decodes %d frames' % (
                path.name, v.get('frames'), v.get('frames_exact'), o.n))
    return fn


COUNT_CLIPS = ['torchcodec_nasa_13013.mp4', 'androidx_bear-vp9.webm', 'androidx_sample.avi', 'androidx_bbb_2500ms.ts',
               'decord_flipping_a_pancake.mkv', 'moviepy_big_buck_bunny_0_30.webm', 'moviepy_no_duration.webm',
               'androidx_sample.flv',
               # 80 packets but 72 shown frames (VP9 hidden alt-ref frames): the frame count is 72
               'androidx_roadtrip-vp92-10bit.webm']
FIXTURES = ['cfr.mp4', 'off.mp4', 'off.mkv', 'vfr.mkv', 'vfr.mp4', 'rot90.mp4', 'rot270.mp4', 'sar.mp4', 'hevc10.mp4',
            'mpeg4.avi']


def tests():
    out = []
    for c in corpus_clips():
        if c in CORRUPT_CLIPS:
            continue
        out.append(('fields:%s' % c, _fields_case(lambda c=c: corpus_clip(c))))
    for c in FIXTURES:
        out.append(('fields:fixture/%s' % c, _fields_case(lambda c=c: fixture(c))))
    for c in COUNT_CLIPS:
        out.append(('count_frames:%s' % c, _count_case(lambda c=c: corpus_clip(c))))
    for c in ('cfr.mp4', 'vfr.mkv', 'mpeg4.avi', 'hevc10.mp4'):
        out.append(('count_frames:fixture/%s' % c, _count_case(lambda c=c: fixture(c))))
    return out


def _sel(path, *extra):
    return selected(probe(path, *extra))


def test_rotation_values():
    F = Failures('rotation')
    for clip, rot, disp in (('decord_video_0.mov', 0, (568, 320)), ('decord_video_90.mov', 90, (320, 568)),
                            ('decord_video_270.mov', 270, (320, 568)), ('moviepy_fire2.mp4', 180, (1280, 720)),
                            ('androidx_dolbyVision-hdr.MOV', 90, (720, 1280))):
        v = _sel(corpus_clip(clip))
        F.check(v.get('rotation') == rot, '%s: rotation %r, expected %d' % (clip, v.get('rotation'), rot))
        F.check((v.get('display_width'), v.get('display_height')) == disp, '%s: display %sx%s, expected %dx%d' % (
            clip, v.get('display_width'), v.get('display_height'), disp[0], disp[1]))
    F.raise_if_any()


def test_vfr_flags():
    # (a Matroska VFR file has equal header rates: vfr is false by the documented definition,
    # so fixture/vfr.mkv is not listed here)
    F = Failures('vfr')
    for getp, name, extra, want in (
            (lambda: corpus_clip('moviepy_fire2.mp4'), 'moviepy_fire2.mp4', (), True),
            (lambda: corpus_clip('androidx_sample_android_slow_motion.mp4'), 'slow_motion', (), True),
            (lambda: corpus_clip('torchcodec_nasa_13013.mp4'), 'nasa', (), False),
            (lambda: fixture('vfr.mp4'), 'fixture vfr.mp4', (), True),
            (lambda: fixture('cfr.mp4'), 'fixture cfr.mp4', (), False),
            (lambda: fixture('cfr.mp4'), 'fixture cfr.mp4 --count-frames', ('--count-frames',), False)):
        try:
            v = _sel(getp(), *extra)
        except Skip:
            continue
        F.check(v.get('vfr') is want, '%s: vfr %r, expected %r' % (name, v.get('vfr'), want))
    F.raise_if_any()


def test_nasa_streams():
    path = corpus_clip('torchcodec_nasa_13013.mp4')
    j = probe(path)
    F = Failures('probe nasa_13013')
    types = [s.get('type') for s in j.get('streams', [])]
    F.check(types == ['video', 'audio', 'subtitle', 'video', 'audio', 'subtitle'], 'stream types %s' % types)
    v = selected(j)
    F.check(v.get('index') == 3, 'selected stream %r, expected 3 (480x270, av_find_best_stream)' % v.get('index'))
    F.check((v.get('coded_width'), v.get('coded_height')) == (480, 270), 'coded %sx%s' % (
        v.get('coded_width'), v.get('coded_height')))
    F.check(v.get('frames') == 390 and v.get('frames_exact') is False, 'frames %r exact %r, expected 390 from header' % (
        v.get('frames'), v.get('frames_exact')))
    F.check(_close(v.get('avg_frame_rate'), 30000 / 1001, 1e-6), 'avg_frame_rate %r' % v.get('avg_frame_rate'))
    F.check(_close(j.get('duration'), 16.57, 1e-6), 'container duration %r, expected 16.57' % j.get('duration'))
    F.check(_close(v.get('duration'), 13.013, 1e-6), 'stream duration %r, expected 13.013' % v.get('duration'))
    a = [s for s in j.get('streams', []) if s.get('type') == 'audio']
    F.check([s.get('sample_rate') for s in a] == [8000, 16000], 'audio rates %s' % [s.get('sample_rate') for s in a])
    F.check([s.get('channels') for s in a] == [2, 2], 'audio channels %s' % [s.get('channels') for s in a])
    F.check(all(s.get('channel_layout') == 'stereo' for s in a), 'channel layouts %s' % [
        s.get('channel_layout') for s in a])
    F.raise_if_any()


def test_known_values():
    F = Failures('probe')
    v = _sel(corpus_clip('androidx_dolbyVision-hdr.MOV'))
    F.check(v.get('pix_fmt') == 'yuv420p10le' and v.get('bit_depth') == 10 and v.get('codec') == 'hevc',
            'dolbyVision: %s/%s/%s, expected hevc yuv420p10le 10' % (v.get('codec'), v.get('pix_fmt'), v.get('bit_depth')))
    j = probe(corpus_clip('androidx_bbb_2500ms.ts'))
    v = selected(j)
    F.check(j.get('container') == 'mpegts', 'ts container %r' % j.get('container'))
    F.check(_close(j.get('start_time'), 1.514089, 1e-5), 'ts container start_time %r, expected 1.514089' % j.get('start_time'))
    F.check(_close(v.get('duration'), 2.5, 1e-6), 'ts video duration %r, expected 2.5' % v.get('duration'))
    j = probe(corpus_clip('moviepy_no_duration.webm'))
    F.check(j.get('duration') is None, 'no_duration.webm: container duration %r, expected null' % j.get('duration'))
    v = _sel(fixture('cfr.mp4'))
    F.check(v.get('frames') == 75 and v.get('frames_exact') is False, 'cfr.mp4 frames %r exact %r' % (
        v.get('frames'), v.get('frames_exact')))
    F.check(_close(v.get('r_frame_rate'), 25.0, 1e-9) and _close(v.get('avg_frame_rate'), 25.0, 1e-9),
            'cfr.mp4 rates %r %r' % (v.get('r_frame_rate'), v.get('avg_frame_rate')))
    F.raise_if_any()
