"""vidx.frames() gives exactly the frames `vidx frames` writes: for every clip
of the corpus, the md5 of each array's pixels equals the md5 of the pixels of
the PNG the CLI wrote for the same position of its manifest (PNG is lossless
RGB, decoded here by ffmpeg), and the timestamps agree with the manifest."""
import hashlib
import json
import subprocess

import numpy as np
import pytest

import vidx
from conftest import CORRUPT, clip, corpus_clips, vidx_cli

CLIPS = [c for c in corpus_clips() if c not in CORRUPT]


def png_rgb(path, width, height):
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', str(path), '-f', 'rawvideo', '-pix_fmt',
                          'rgb24', '-'], capture_output=True, check=True, timeout=120).stdout
    assert len(raw) == width * height * 3, '%s: %d bytes of RGB for %dx%d' % (
        path, len(raw), width, height)
    return raw


def cli_frames(path, out, args):
    vidx_cli('frames', path, '--format', 'png', '--md5', '-o', out, *args)
    rows = [json.loads(line) for line in (out / 'manifest.jsonl').read_text().splitlines()]
    cache = {}
    for r in rows:
        if r['path'] not in cache:
            cache[r['path']] = hashlib.md5(png_rgb(out / r['path'], r['width'],
                                                   r['height'])).hexdigest()
        r['pixels_md5'] = cache[r['path']]
    return rows


def compare(path, out, cli_args, **kw):
    rows = cli_frames(path, out, cli_args)
    got = list(vidx.frames(path, md5=True, **kw))
    assert len(got) == len(rows), '%s: %d frames from Python, %d from the CLI' % (
        path, len(got), len(rows))
    assert rows, '%s: no frames' % path
    for i, (f, r) in enumerate(zip(got, rows)):
        a = f.array
        assert a.dtype == np.uint8 and a.flags['C_CONTIGUOUS']
        assert a.shape == (r['height'], r['width'], 3), (path, i, a.shape)
        assert hashlib.md5(a.tobytes()).hexdigest() == r['pixels_md5'], (
            '%s: frame %d (index %d) differs from the CLI\'s %s' % (path, i, f.index, r['path']))
        assert (f.index, f.pts, f.keyframe, f.approx) == (r['index'], r['pts'], r['keyframe'],
                                                          r['approx']), (path, i)
        assert f.time == pytest.approx(r['time'], abs=1e-9)
        assert f.md5 == r['md5'], (path, i)
        if r['target'] is None:
            assert f.target is None
        else:
            assert f.target == pytest.approx(r['target'], abs=1e-9)
    return got


@pytest.mark.parametrize('name', CLIPS or ['(no corpus)'])
def test_count_matches_cli(name, tmp):
    compare(clip(name), tmp / 'o', ['--count', '6'], count=6)


@pytest.mark.parametrize('name', ['androidx_h265_bframes.mp4', 'moviepy_no_duration.webm',
                                  'androidx_sample.avi'])
def test_fps_index_keyframes_match_cli(name, tmp):
    path = clip(name)
    by_fps = compare(path, tmp / 'fps', ['--fps', '3'], fps=3)
    compare(path, tmp / 'idx', ['--index', '0,5,-1'], index=[0, 5, -1])
    compare(path, tmp / 'key', ['--keyframes'], keyframes=True)
    d = by_fps[-1].time  # inside the video (the header may not know its duration)
    at = [0.0, round(d / 3, 3), round(d * 0.9, 3)]
    compare(path, tmp / 'at', ['--at', ','.join(map(str, at))], at=at)


@pytest.mark.parametrize('size,fit,cli', [(96, None, ['--size', '96']),
                                          ((64, 48), 'crop', ['--size', '64x48', '--fit', 'crop']),
                                          ((64, 48), 'pad', ['--size', '64x48', '--fit', 'pad']),
                                          ('50x70', None, ['--size', '50x70'])])
def test_size_fit_match_cli(size, fit, cli, tmp):
    path = clip('decord_video_270.mov')
    got = compare(path, tmp / 'o', ['--count', '3'] + cli, count=3, size=size, fit=fit)
    if isinstance(size, int):
        assert max(got[0].array.shape[:2]) == size


@pytest.mark.parametrize('name,rotation', [('decord_video_0.mov', 0), ('decord_video_90.mov', 90),
                                           ('decord_video_270.mov', 270),
                                           ('moviepy_fire2.mp4', 180)])
def test_rotation(name, rotation, tmp):
    path = clip(name)
    info = vidx.probe(path)
    sel = [s for s in info['streams'] if s.get('selected')][0]
    assert sel['rotation'] == rotation
    with vidx.frames(path, count=2) as it:
        assert it.info['rotation'] == rotation
        f = next(it)
    # display oriented: a quarter turn swaps the coded width and height
    coded = (sel['coded_height'], sel['coded_width'])
    want = coded[::-1] if rotation in (90, 270) else coded
    assert f.array.shape[:2] == want
    assert f.array.shape[:2] == (sel['display_height'], sel['display_width'])
    compare(path, tmp / 'o', ['--count', '2'], count=2)


def test_gray_and_yuv_are_the_same_planes():
    path = clip('androidx_h265_bframes.mp4')
    gray = list(vidx.frames(path, count=4, pixel='gray'))
    yuv = list(vidx.frames(path, count=4, pixel='yuv420p'))
    rgb = list(vidx.frames(path, count=4))
    for g, y, r in zip(gray, yuv, rgb):
        h, w = r.array.shape[:2]
        assert g.array.shape == (h, w) and g.array.dtype == np.uint8
        assert np.array_equal(g.array, y.array[0])
        assert y.array[1].shape == ((h + 1) // 2, (w + 1) // 2) == y.array[2].shape
        assert (g.index, g.time) == (r.index, r.time)
        # full-range BT.601 luma of the RGB frame, within rounding of the two conversions
        luma = r.array.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        assert np.abs(luma - g.array).mean() < 3


def test_batch_equals_frames():
    path = clip('moviepy_big_buck_bunny_0_30.webm')
    b = vidx.batch(path, count=10, size=128)
    frames = list(vidx.frames(path, count=10, size=128))
    assert b.array.shape == (10,) + frames[0].array.shape
    assert b.array.flags['C_CONTIGUOUS']
    for i, f in enumerate(frames):
        assert np.array_equal(b.array[i], f.array)
        assert (b.index[i], b.pts[i], b.time[i]) == (f.index, f.pts, f.time)
    g = vidx.batch(path, count=3, pixel='gray')
    assert g.array.ndim == 3 and len(g) == 3
    with pytest.raises(vidx.UsageError):
        vidx.batch(path, count=3, pixel='yuv420p')


def test_approx_takes_keyframes():
    path = clip('androidx_h265_bframes.mp4')
    got = list(vidx.frames(path, count=5, approx=True))
    assert got and all(f.keyframe for f in got)


def test_probe_equals_cli():
    path = clip('torchcodec_nasa_13013.mp4')
    cli = json.loads(vidx_cli('probe', path, '--count-frames').stdout)
    assert vidx.probe(path, count_frames=True) == cli


def test_audio_equals_cli_wav(tmp):
    import wave
    path = clip('moviepy_big_buck_bunny_0_30.webm')
    vidx_cli('audio', path, '-o', tmp / 'a.wav', '--rate', '22050', '--channels', '2')
    with wave.open(str(tmp / 'a.wav')) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (22050, 2, 2)
        want = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').reshape(-1, 2).T
    got, rate = vidx.audio(path, rate=22050, channels=2, dtype='int16')
    assert rate == 22050 and got.shape == want.shape and got.dtype == np.int16
    assert np.array_equal(got, want)
    f, _ = vidx.audio(path, rate=22050, channels=2)
    assert f.dtype == np.float32 and np.array_equal(f, want / 32768.0)
