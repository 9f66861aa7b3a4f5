"""Every failure is a vidx.Error subclass naming the file and the cause; every
VIDX_E* code of the C library has its own class."""
import errno
import os

import pytest

import vidx
from conftest import clip


def test_every_code_has_a_class():
    import vidx._errors as errors
    codes = vidx._errors._vidx.error_codes()
    assert len(codes) >= 20
    seen = set()
    for code, short, _ in codes:
        cls = errors.by_code[code]
        assert issubclass(cls, vidx.Error) and cls is not vidx.Error
        assert getattr(vidx, cls.__name__) is cls
        seen.add(cls)
    assert len(seen) == len(codes)
    assert issubclass(vidx.UsageError, ValueError)


def test_missing_file():
    with pytest.raises(vidx.OSError) as e:
        vidx.frames('/nonexistent/clip.mp4')
    assert isinstance(e.value, OSError) and e.value.errno == errno.ENOENT
    assert e.value.file == '/nonexistent/clip.mp4'
    assert '/nonexistent/clip.mp4' in str(e.value)


def test_not_media(tmp):
    p = tmp / 'notes.mp4'
    p.write_text('these are not the frames you are looking for\n' * 100)
    with pytest.raises(vidx.FormatError) as e:
        vidx.probe(p)
    assert e.value.file == str(p) and e.value.error_class == 'format'
    assert 'not a recognised media file' in e.value.cause


def test_empty_file(tmp):
    p = tmp / 'empty.mp4'
    p.write_bytes(b'')
    with pytest.raises(vidx.EmptyFileError):
        list(vidx.frames(p))


def test_fifo_is_refused_without_blocking(tmp):
    p = tmp / 'fifo.mp4'
    os.mkfifo(p)
    with pytest.raises(vidx.NotAFileError) as e:
        vidx.frames(p)
    assert 'FIFO' in str(e.value)


def test_directory(tmp):
    with pytest.raises(vidx.Error):
        vidx.probe(tmp)


def test_out_of_range():
    path = clip('decord_video_90.mov')
    with pytest.raises(vidx.RangeError) as e:
        vidx.frames(path, at=[3600])
    assert path in str(e.value) and isinstance(e.value, ValueError)
    with pytest.raises(vidx.RangeError):  # found once the file is read: when iterated
        list(vidx.frames(path, index=[10**6]))


def test_usage():
    path = clip('decord_video_90.mov')
    with pytest.raises(vidx.UsageError):
        vidx.frames(path, count=3, fps=2)
    with pytest.raises(vidx.UsageError):
        vidx.frames(path, count=0)
    with pytest.raises(vidx.UsageError):
        vidx.frames(path, size=(10, 10), fit='zoom')
    with pytest.raises(vidx.UsageError):
        vidx.frames(path, pixel='bgr')
    with pytest.raises(vidx.UsageError):
        vidx.frames(path, size=100000)


def test_audio_errors(tmp):
    with pytest.raises(vidx.FormatError) as e:
        vidx.audio(clip('decord_video_90.mov'))
    assert 'no audio stream' in str(e.value)


def test_undecodable():
    path = clip('androidx_invalid-bitstream.webm')
    with pytest.raises(vidx.Error) as e:
        list(vidx.frames(path, count=3))
    assert e.value.file == path and e.value.cause


def test_damaged_but_decodable_is_partial():
    path = clip('androidx_sample_with_invalid_nalu.mp4')
    with vidx.frames(path, count=5) as it:
        got = list(it)
        stats = it.stats()
    assert got and stats['decode_errors'] >= 0


def test_run_refuses_a_users_directory(tmp):
    out = tmp / 'mine'
    out.mkdir()
    (out / 'thesis.txt').write_text('precious')
    with pytest.raises(vidx.NotOursError) as e:
        vidx.run([clip('decord_video_90.mov')], out, count=2)
    assert str(out) in str(e.value)
    assert sorted(os.listdir(out)) == ['thesis.txt']
    assert (out / 'thesis.txt').read_text() == 'precious'
    with pytest.raises(vidx.NotOursError):
        vidx.Catalog(out)
    assert sorted(os.listdir(out)) == ['thesis.txt']
