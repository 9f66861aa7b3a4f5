"""vidx for Python: libvidx's exact, isolated frame sampling as NumPy arrays,
its batch runs, and their catalogs.

    import vidx
    info = vidx.probe('clip.mp4')
    for f in vidx.frames('clip.mp4', count=30, size=256):
        f.array            # H x W x 3 uint8 RGB, C-contiguous
        f.time, f.index    # the frame shown at f.target
    b = vidx.batch('clip.mp4', count=30)   # b.array: N x H x W x 3
    samples, rate = vidx.audio('clip.mp4', rate=16000, channels=1)
    summary = vidx.run(['videos/'], 'out', count=8, progress=print)
    cat = vidx.Catalog('out')

A thin layer over the public C API (include/vidx/); the GIL is released while
files are read, decoded and encoded. See docs/PYTHON.md.
"""
import json
import math
import os

from . import _ext
from ._errors import Error, OSError, classes as _classes

_vidx = _ext.load()
globals().update(_classes)

__version__ = _vidx.version()

__all__ = ['probe', 'frames', 'batch', 'audio', 'run', 'merge', 'verify', 'Catalog', 'Frame',
           'Batch', 'Error', 'OSError'] + sorted(_classes)

_PIXELS = {'rgb': _vidx.OUT_RGB, 'gray': _vidx.OUT_GRAY, 'yuv420p': _vidx.OUT_YUV}
_FITS = {'stretch': _vidx.FIT_STRETCH, 'crop': _vidx.FIT_CROP, 'pad': _vidx.FIT_PAD}
_FORMATS = {'jpg': _vidx.IMAGE_JPEG, 'jpeg': _vidx.IMAGE_JPEG, 'webp': _vidx.IMAGE_WEBP,
            'png': _vidx.IMAGE_PNG}
_LAYOUTS = {'files': _vidx.LAYOUT_FILES, 'shards': _vidx.LAYOUT_SHARDS}
_AUDIO = {None: _vidx.AUDIO_NONE, 'wav': _vidx.AUDIO_WAV, 'flac': _vidx.AUDIO_FLAC,
          'opus': _vidx.AUDIO_OPUS}


def _usage(message):
    cls = _classes['UsageError']
    return cls(-30007, 'usage', '', message)


def _sampling(count=None, fps=None, at=None, index=None, keyframes=False, size=None, fit=None,
              approx=False, threads=0, stream=-1, max_frames=None):
    """The sampler's keyword arguments for the extension, checked like the CLI's."""
    chosen = [n for n, v in (('count', count), ('fps', fps), ('at', at), ('index', index),
                             ('keyframes', keyframes or None)) if v is not None]
    if len(chosen) > 1:
        raise _usage('choose one of count=, fps=, at=, index=, keyframes= (got %s)'
                     % ', '.join(chosen))
    kw = {'approx': bool(approx), 'threads': int(threads), 'stream': int(stream)}
    if fps is not None:
        kw.update(mode=_vidx.MODE_FPS, fps=float(fps))
    elif at is not None:
        at = [at] if isinstance(at, (int, float)) else list(at)
        kw.update(mode=_vidx.MODE_TIMES, times=[float(t) for t in at])
    elif index is not None:
        index = [index] if isinstance(index, int) else list(index)
        kw.update(mode=_vidx.MODE_INDICES, indices=[int(i) for i in index])
    elif keyframes:
        kw.update(mode=_vidx.MODE_KEYFRAMES)
    else:
        kw.update(mode=_vidx.MODE_COUNT, count=8 if count is None else int(count))
    if size is not None:
        if isinstance(size, str) and 'x' in size:
            size = tuple(int(v) for v in size.split('x', 1))
        if isinstance(size, (tuple, list)):
            if len(size) != 2:
                raise _usage('size= takes S (the longest side) or (W, H)')
            kw.update(width=int(size[0]), height=int(size[1]))
        else:
            kw.update(max_side=int(size))
    if fit is not None:
        if fit not in _FITS:
            raise _usage('fit= takes stretch, crop or pad, not %r' % (fit,))
        if 'width' not in kw:
            raise _usage('fit= needs size=(W, H)')
        kw['fit'] = _FITS[fit]
    if max_frames is not None:
        kw['max_frames'] = int(max_frames)
    return kw


class Frame:
    """One delivered frame. .array: H x W x 3 uint8 RGB (pixel='rgb'), H x W
    (pixel='gray', full-range BT.601 luma), or the (Y, U, V) planes
    (pixel='yuv420p', full range, chroma halved and rounded up). .time and .pts
    are the frame's presentation time (seconds; stream time base), .index its
    presentation-order index, .target the requested time (None for keyframes=
    and index=), .keyframe, .approx (delivered by approx=True), .md5 the md5 of
    the decoded planes (with md5=True, as ffmpeg -f framemd5 computes it)."""

    __slots__ = ('array', 'index', 'target', 'time', 'pts', 'keyframe', 'approx', 'stream', 'md5')

    def __init__(self, array, meta, md5=None):
        self.array = array
        self.index, target, self.time, self.pts, self.keyframe, self.approx, self.stream = meta
        self.target = None if math.isnan(target) else target
        self.md5 = md5

    def __repr__(self):
        shape = getattr(self.array, 'shape', None)
        return 'Frame(index=%d, time=%.6f, keyframe=%s, shape=%s)' % (
            self.index, self.time, self.keyframe, shape)


class _Frames:
    """The iterator vidx.frames() returns; also a context manager (close())."""

    def __init__(self, path, pixel, md5, kw):
        if pixel not in _PIXELS:
            raise _usage('pixel= takes rgb, gray or yuv420p, not %r' % (pixel,))
        self.path = os.fspath(path)
        self._s = _vidx.Sampler(self.path, out=_PIXELS[pixel], md5=bool(md5), **kw)

    def __iter__(self):
        return self

    def __next__(self):
        pix, meta, md5 = next(self._s)
        return Frame(pix, meta, md5)

    @property
    def info(self):
        """The video stream: display width/height, rotation, duration, avg_fps, ..."""
        return self._s.info()

    def stats(self):
        """Decoding statistics: packets read, frames decoded and skipped, partial."""
        return self._s.stats()

    def close(self):
        self._s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def frames(path, count=None, *, fps=None, at=None, index=None, keyframes=False, size=None,
           fit=None, approx=False, pixel='rgb', threads=0, stream=-1, md5=False,
           max_frames=None):
    """The frames of path, one at a time, in presentation order.

    Exactly one request: count=N (the centres of N equal segments; the default,
    8), fps=R (the frames shown at start + k/R), at=[seconds...] (from the
    stream's start), index=[i...] (presentation index, negative from the end),
    keyframes=True. size=S (longest side) or size=(W, H) with fit='stretch' |
    'crop' | 'pad'; approx=True takes the nearest keyframe. The frames are
    those `vidx frames` writes: the frame shown at each target, display
    oriented (rotation, aspect ratio). Raises a vidx.Error subclass naming the
    file and the cause."""
    kw = _sampling(count, fps, at, index, keyframes, size, fit, approx, threads, stream,
                   max_frames)
    return _Frames(path, pixel, md5, kw)


class Batch:
    """Frames as one array: .array N x H x W x 3 (or N x H x W for gray), and
    per frame .index, .time, .pts, .keyframe, .approx, .target (NaN for none)
    as NumPy arrays."""

    def __init__(self, array, metas):
        import numpy as np
        self.array = array
        cols = list(zip(*metas)) if metas else [()] * 7
        self.index = np.array(cols[0], dtype=np.int64)
        self.target = np.array(cols[1], dtype=np.float64)
        self.time = np.array(cols[2], dtype=np.float64)
        self.pts = np.array(cols[3], dtype=np.int64)
        self.keyframe = np.array(cols[4], dtype=bool)
        self.approx = np.array(cols[5], dtype=bool)

    def __len__(self):
        return len(self.array)


def batch(path, count=None, *, fps=None, at=None, index=None, keyframes=False, size=None,
          fit=None, approx=False, pixel='rgb', threads=0, stream=-1, max_frames=None):
    """Like frames(), all frames at once in one N x H x W x 3 array (a Batch).
    pixel='rgb' or 'gray'."""
    if pixel == 'yuv420p':
        raise _usage("batch() takes pixel='rgb' or 'gray'")
    kw = _sampling(count, fps, at, index, keyframes, size, fit, approx, threads, stream,
                   max_frames)
    it = _Frames(path, pixel, False, kw)
    try:
        array, metas = it._s.all()
    finally:
        it.close()
    return Batch(array, metas)


def probe(path, count_frames=False, stream=-1):
    """What the file is: the JSON of `vidx probe` as a dict."""
    return json.loads(_vidx.probe(os.fspath(path), count_frames=bool(count_frames),
                                  stream=int(stream)))


def audio(path, rate=16000, channels=1, *, stream=-1, dtype='float32'):
    """The audio of path (a video or an audio file), resampled: (array, rate),
    array of shape (channels, samples), float32 in [-1, 1) or dtype='int16'.
    Sample 0 is time 0 of the file's timeline, as `vidx audio` writes it."""
    if dtype not in ('float32', 'int16'):
        raise _usage("dtype= takes 'float32' or 'int16'")
    if not (isinstance(rate, int) and rate > 0 and isinstance(channels, int) and channels > 0):
        raise _usage('rate= and channels= must be positive integers')
    samples, _errors = _vidx.audio(os.fspath(path), rate=rate, channels=channels,
                                   stream=int(stream))
    out = samples.T
    if dtype == 'float32':
        import numpy as np
        out = out.astype(np.float32) / 32768.0
    else:
        out = out.copy()
    return out, rate


def _run_options(count=None, fps=None, at=None, index=None, keyframes=False, size=None, fit=None,
                 approx=False, threads=0, stream=-1, max_frames=None, format='jpg', quality=None,
                 layout='files', md5=False, audio=None, audio_rate=None, audio_channels=None,
                 audio_stream=None, dedup=None, scenes=False, shard_bytes=None, shard_samples=None,
                 max_disk=None, min_free=None, max_memory=None, dedup_exact=False, jobs=0,
                 timeout=None, stall=None, retry=False, follow_symlinks=False, audio_files=False,
                 wait_lock=False, shard=None, catalog=None, scratch=None, transcode=None,
                 no_frames=False):
    o = _sampling(count, fps, at, index, keyframes, size, fit, approx, threads, stream, max_frames)
    if format not in _FORMATS:
        raise _usage('format= takes jpg, webp or png, not %r' % (format,))
    if layout not in _LAYOUTS:
        raise _usage('layout= takes files or shards, not %r' % (layout,))
    if audio not in _AUDIO:
        raise _usage('audio= takes wav, flac or opus, not %r' % (audio,))
    o.update(format=_FORMATS[format], layout=_LAYOUTS[layout], md5=int(bool(md5)),
             audio=_AUDIO[audio], scenes=int(bool(scenes)), dedup_exact=int(bool(dedup_exact)),
             jobs=int(jobs), retry=int(bool(retry)), follow_symlinks=int(bool(follow_symlinks)),
             audio_files=int(bool(audio_files)), wait_lock=int(bool(wait_lock)),
             approx=int(o['approx']))
    for name, value in (('quality', quality), ('audio_rate', audio_rate),
                        ('audio_channels', audio_channels), ('audio_stream', audio_stream),
                        ('dedup', dedup), ('shard_bytes', shard_bytes),
                        ('shard_samples', shard_samples), ('max_disk', max_disk),
                        ('min_free', min_free), ('max_memory', max_memory)):
        if value is not None:
            o[name] = int(value)
    for name, value in (('timeout', timeout), ('stall', stall)):
        if value is not None:
            o[name] = float(value)
    if shard is not None:
        i, n = (shard.split('/') if isinstance(shard, str) else shard)
        o.update(shard_index=int(i), shard_count=int(n))
    if catalog is not None:
        o['catalog'] = str(catalog)
    if scratch is not None:
        o['scratch'] = os.fspath(scratch)
    if transcode is not None:  # a preset, or several: names or JSON files
        names = [transcode] if isinstance(transcode, (str, os.PathLike)) else list(transcode)
        o['transcode'] = ','.join(os.fspath(n) for n in names)
    o['no_frames'] = int(bool(no_frames))
    return o


def run(inputs, out, *, progress=None, **options):
    """Processes every video named by inputs (files, directories, "@list"
    files, URLs) into the output directory out, like `vidx run`: supervised
    worker processes, a catalog, resumable. Options are `vidx run`'s, as
    keywords: count=, fps=, at=, index=, keyframes=, size=, fit=, approx=,
    format='jpg'|'webp'|'png', quality=, layout='files'|'shards', md5=,
    audio='wav'|'flac'|'opus', scenes=, dedup=, jobs=, timeout=, retry=,
    shard='I/N', catalog= (a PostgreSQL URL; with out='s3://bucket/prefix' the
    local directory of the bucket output's catalog), transcode= (a preset or a list
    of them: OUT/transcode/<key>/<preset>/), no_frames=, ... progress (optional) is
    called with a dict for each event (type 'start', 'video', 'skipped',
    'tick', 'end'); an exception it raises stops the run cleanly and is
    re-raised. Returns the summary dict (counts by status, frames, bytes)."""
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]
    inputs = [os.fspath(i) for i in inputs]
    opts = _run_options(**options)
    return _vidx.run(inputs, os.fspath(out), opts, progress)


def merge(dest, parts):
    """Combines the outputs of several runs (vidx merge): the report dict."""
    return json.loads(_vidx.merge(os.fspath(dest), [os.fspath(p) for p in parts]))


def verify(out, catalog=None, repair=False):
    """Checks out's files against its catalog (vidx verify): (problems, report)."""
    n, report = _vidx.verify(os.fspath(out), catalog, bool(repair))
    return n, json.loads(report)


from .catalog import Catalog  # noqa: E402  (needs the names above)
