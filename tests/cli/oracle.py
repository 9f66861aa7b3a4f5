"""FFmpeg-based oracle for the vidx CLI tests.

For one video stream of one file it records every decoded frame, in
presentation order, with
  - pts / pts_time / key_frame / size / pix_fmt from
      ffprobe -show_frames -select_streams N -of json
  - the md5 of the decoded picture from
      ffmpeg -noautorotate -copyts -i F -map 0:N -fps_mode passthrough
             -enc_time_base -1 -f framemd5 -
    (md5 of the native planes packed without padding; lines are
    "stream, dts, pts, duration, size, hash", pts in the "#tb" of the header)
and derives, for every sampling mode of `vidx frames`, which frame(s) are
correct for each request:
  "the frame shown at t" = the frame with the greatest pts_time <= t
  (t absolute stream time). Before the first frame: the first frame.
Targets within 5e-7 s of a frame time accept both neighbours (ffprobe prints
pts_time rounded to 1e-6 and t goes through floating point).

Results are cached as JSON under $TMPDIR/vidx-cli-cache/oracle/.
"""
import bisect
import hashlib
import json
import os
import threading
from fractions import Fraction
from pathlib import Path

from common import FFMPEG, FFPROBE, TestFailure, cache_root, run

ORACLE_VERSION = 3
EPS = 5e-7

# Files with several video streams: the stream av_find_best_stream() picks
# (torchcodec documents stream 3 as the best video stream of nasa_13013.mp4).
KNOWN_BEST_STREAM = {'torchcodec_nasa_13013.mp4': 3}


def _cache_path(kind, path, extra=''):
    st = os.stat(path)
    key = '%d|%s|%s|%d|%d|%s' % (ORACLE_VERSION, kind, os.path.realpath(path), st.st_size, st.st_mtime_ns, extra)
    d = cache_root() / 'oracle'
    d.mkdir(parents=True, exist_ok=True)
    return d / (hashlib.sha1(key.encode()).hexdigest() + '.json')


def _cached(kind, path, extra, compute):
    cp = _cache_path(kind, path, extra)
    if cp.is_file():
        try:
            return json.loads(cp.read_text())
        except ValueError:
            pass
    data = compute()
    tmp = cp.with_suffix('.tmp%d.%d' % (os.getpid(), threading.get_ident()))
    tmp.write_text(json.dumps(data))
    os.replace(tmp, cp)
    return data


# ---------------------------------------------------------------------------
# stream-level facts

def probe_info(path):
    """ffprobe -show_streams -show_format as a dict."""
    def compute():
        r = run([FFPROBE, '-v', 'error', '-show_streams', '-show_format', '-of', 'json', path], timeout=120)
        if r.rc != 0:
            raise TestFailure('oracle: ffprobe failed on %s: %s' % (path, r.stderr[-500:]))
        return json.loads(r.stdout)
    return _cached('info', path, '', compute)


def video_streams(path):
    info = probe_info(path)
    return [s for s in info.get('streams', []) if s.get('codec_type') == 'video'
            and not s.get('disposition', {}).get('attached_pic')]


def default_stream(path):
    name = Path(path).name
    if name in KNOWN_BEST_STREAM:
        return KNOWN_BEST_STREAM[name]
    vs = video_streams(path)
    if not vs:
        return None
    return vs[0]['index']


def _num(s):
    if s is None or s == 'N/A':
        return None
    try:
        return float(s)
    except ValueError:
        return None


def _frac(s):
    if not s or s in ('0/0', '0:0', '0:1', 'N/A'):
        return None
    n, _, d = s.replace(':', '/').partition('/')
    if not d:
        return Fraction(s)
    if int(d) == 0:
        return None
    return Fraction(int(n), int(d))


def rotation_cw(stream):
    """Clockwise display rotation in degrees from the display matrix side data."""
    for sd in stream.get('side_data_list', []) or []:
        if 'rotation' in sd:
            return int(round(-float(sd['rotation']))) % 360
    tag = (stream.get('tags') or {}).get('rotate')
    if tag:
        return int(tag) % 360
    return 0


# ---------------------------------------------------------------------------
# per-frame facts

def _frames_ffprobe(path, stream):
    r = run([FFPROBE, '-v', 'error', '-select_streams', str(stream), '-show_frames', '-show_entries',
             'frame=pts,pts_time,pkt_dts,best_effort_timestamp,key_frame,pict_type,width,height,pix_fmt,'
             'sample_aspect_ratio', '-of', 'json', path], timeout=600)
    try:
        frames = json.loads(r.stdout).get('frames', [])
    except ValueError:
        raise TestFailure('oracle: ffprobe -show_frames output unreadable for %s: %s' % (path, r.stderr[-500:]))
    return frames, r.stderr


def _frames_md5(path, stream):
    r = run([FFMPEG, '-nostdin', '-v', 'error', '-noautorotate', '-copyts', '-i', path, '-map', '0:%d' % stream,
             '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'framemd5', '-'], timeout=600)
    tb = None
    rows = []
    for line in r.stdout.splitlines():
        if line.startswith('#tb '):
            tb = _frac(line.split(':', 1)[1].strip())
        elif line and not line.startswith('#'):
            parts = [p.strip() for p in line.split(',')]
            if len(parts) >= 6:
                rows.append({'dts': int(parts[1]), 'pts': int(parts[2]), 'size': int(parts[4]), 'md5': parts[5]})
    return tb, rows, r.stderr


def compute_frames(path, stream):
    info = probe_info(path)
    st = next((s for s in info['streams'] if s['index'] == stream), None)
    if st is None:
        raise TestFailure('oracle: %s has no stream %d' % (path, stream))
    tb = _frac(st['time_base'])
    frames, probe_err = _frames_ffprobe(path, stream)
    md5tb, md5rows, md5_err = _frames_md5(path, stream)

    out = []
    for i, f in enumerate(frames):
        pts = f.get('pts')
        if pts is None:
            pts = f.get('best_effort_timestamp')
        out.append({
            'decode_pos': i,
            'pts': int(pts) if pts is not None else None,
            'pts_missing': f.get('pts') is None,
            'pts_time': f.get('pts_time'),
            'key': bool(int(f.get('key_frame', 0))),
            'pict_type': f.get('pict_type'),
            'width': f.get('width'), 'height': f.get('height'), 'pix_fmt': f.get('pix_fmt'),
            'md5': None,
        })

    def resc(p):
        if md5tb is None or md5tb == tb:
            return p
        return int(round(Fraction(p) * md5tb / tb))

    # match md5 rows to frames: by order when the pts sequences agree, else by pts
    if len(md5rows) == len(out) and all(o['pts'] == resc(m['pts']) for o, m in zip(out, md5rows)):
        for o, m in zip(out, md5rows):
            o['md5'] = m['md5']
            o['raw_size'] = m['size']
    else:
        bypts = {}
        for m in md5rows:
            bypts.setdefault(resc(m['pts']), []).append(m)
        for o in out:
            ms = bypts.get(o['pts'])
            if ms and len(ms) == 1:
                o['md5'] = ms[0]['md5']
                o['raw_size'] = ms[0]['size']

    out = [o for o in out if o['pts'] is not None]
    out.sort(key=lambda o: (o['pts'], o['decode_pos']))
    return {
        'path': str(path), 'stream': stream,
        'time_base': [tb.numerator, tb.denominator],
        'frames': out,
        'md5_rows': len(md5rows),
        'probe_stderr': probe_err[-3000:], 'md5_stderr': md5_err[-3000:],
    }


class Oracle:
    def __init__(self, path, stream=None):
        self.path = Path(path)
        if stream is None:
            stream = default_stream(path)
        if stream is None:
            raise TestFailure('oracle: %s has no video stream' % path)
        self.stream = stream
        self.info = probe_info(path)
        self.st = next(s for s in self.info['streams'] if s['index'] == stream)
        data = _cached('frames', path, str(stream), lambda: compute_frames(path, stream))
        self.data = data
        self.tb = Fraction(*data['time_base'])
        self.frames = data['frames']
        for f in self.frames:
            f['time'] = float(Fraction(f['pts']) * self.tb)
        self.times = [f['time'] for f in self.frames]
        self.keys = [i for i, f in enumerate(self.frames) if f['key']]
        self._pos = {}
        for i, f in enumerate(self.frames):
            self._pos.setdefault(f['pts'], i)
        fmt = self.info.get('format', {})
        self.start = _num(self.st.get('start_time'))
        if self.start is None:
            self.start = self.times[0] if self.times else 0.0
        self.stream_duration = _num(self.st.get('duration'))
        self.format_duration = _num(fmt.get('duration'))
        self.duration = self.stream_duration if self.stream_duration is not None else self.format_duration

    # --- packets (for damaged inputs: which packets never became a frame)
    def packets(self):
        if getattr(self, '_packets', None) is None:
            path, stream = self.path, self.stream

            def compute():
                r = run([FFPROBE, '-v', 'error', '-select_streams', str(stream), '-show_entries',
                         'packet=pts,dts,flags', '-of', 'json', str(path)], timeout=300)
                return [{'pts': int(x['pts']) if x.get('pts') is not None else None, 'flags': x.get('flags', '')}
                        for x in json.loads(r.stdout).get('packets', [])]
            self._packets = _cached('packets', path, str(stream), compute)
        return self._packets

    def lost_packet_times(self):
        """Times of packets (without the discard flag) that produced no decoded frame, sorted."""
        have = set(f['pts'] for f in self.frames)
        return sorted(float(Fraction(p['pts']) * self.tb) for p in self.packets()
                      if p['pts'] is not None and p['pts'] not in have and 'D' not in p['flags'])

    def packet_shown_at_is_lost(self, t):
        """Whether the packet whose picture would be shown at t (greatest packet pts <= t) was lost."""
        pts = sorted(float(Fraction(p['pts']) * self.tb) for p in self.packets()
                     if p['pts'] is not None and 'D' not in p['flags'])
        i = bisect.bisect_right(pts, t + EPS) - 1
        if i < 0:
            return False
        lost = self.lost_packet_times()
        j = bisect.bisect_left(lost, pts[i] - 1e-9)
        return j < len(lost) and abs(lost[j] - pts[i]) < 1e-9

    def packet_position(self, pos):
        """Presentation position of frame pos counting every (non-discarded) packet, lost ones included."""
        t = self.frames[pos]['pts']
        return sum(1 for p in self.packets() if p['pts'] is not None and 'D' not in p['flags'] and p['pts'] < t)

    def sequential_container(self):
        """Containers vidx documents as decoded sequentially (no per-packet timestamps)."""
        names = set(self.info.get('format', {}).get('format_name', '').split(','))
        return bool(names & {'avi', 'h264', 'hevc', 'mpegvideo', 'm4v', 'h263', 'rawvideo'})

    # --- facts
    @property
    def n(self):
        return len(self.frames)

    def pos_of_pts(self, pts):
        return self._pos.get(pts)

    def rotation(self):
        return rotation_cw(self.st)

    def sar(self):
        s = _frac(self.st.get('sample_aspect_ratio'))
        return s if s else Fraction(1)

    def coded_size(self):
        if self.frames and self.frames[0].get('width'):
            return self.frames[0]['width'], self.frames[0]['height']
        return self.st['width'], self.st['height']

    def display_size_candidates(self):
        """Display-oriented size(s): SAR applied to the width (rounded either way), then rotation."""
        w, h = self.coded_size()
        sar = self.sar()
        cands = set()
        if sar == 1:
            cands.add((w, h))
        else:
            x = Fraction(w) * sar
            for ww in {int(x), int(x) + (0 if x.denominator == 1 else 1)}:
                cands.add((ww, h))
        if self.rotation() in (90, 270):
            cands = {(b, a) for a, b in cands}
        return cands

    def last_gap(self):
        gaps = [b - a for a, b in zip(self.times, self.times[1:])]
        return max(gaps) if gaps else 0.0

    # --- "the frame shown at t"
    def _at(self, t):
        i = bisect.bisect_right(self.times, t) - 1
        return max(i, 0)

    def shown_at(self, t):
        """Set of acceptable frame positions for target t (absolute seconds)."""
        lo, hi = self._at(t - EPS), self._at(t + EPS)
        return set(range(lo, hi + 1))

    def nearest_keys(self, t):
        if not self.keys:
            return set()
        best = min(abs(self.times[k] - t) for k in self.keys)
        return {k for k in self.keys if abs(self.times[k] - t) <= best + 1e-6}

    def preceding_key(self, t):
        ks = [k for k in self.keys if self.times[k] <= t + EPS]
        return ks[-1] if ks else (self.keys[0] if self.keys else None)

    # --- targets per mode (None when the duration is unknown)
    def targets(self, spec):
        m = spec['mode']
        if m == 'count':
            if self.duration is None:
                return None
            n = spec['n']
            return [self.start + (i + 0.5) * self.duration / n for i in range(n)]
        if m == 'fps':
            if self.duration is None:
                return None
            r = float(spec['r'])
            out, k = [], 0
            while True:
                t = self.start + k / r
                if not t < self.start + self.duration:
                    break
                out.append(t)
                k += 1
            return out
        if m == 'at':
            return [self.start + float(x) for x in spec['times']]
        return None

    def index_positions(self, indices):
        out = []
        for i in indices:
            i = int(i)
            out.append(i if i >= 0 else self.n + i)
        return out


_oracles = {}
_olock = threading.Lock()
_olocks = {}


def oracle(path, stream=None):
    """Memoised Oracle (thread-safe; each file computed once)."""
    key = (str(path), stream)
    with _olock:
        if key in _oracles:
            return _oracles[key]
        lk = _olocks.setdefault(key, threading.Lock())
    with lk:
        with _olock:
            if key in _oracles:
                return _oracles[key]
        o = Oracle(path, stream)
        with _olock:
            _oracles[key] = o
        return o


# ---------------------------------------------------------------------------
# reference pictures (for colour / scaling checks)

def reference_rgb(path, stream, pos, autorotate=False, vf_extra=None, flags=None):
    """FFmpeg's own RGB24 conversion of the decoded frame at presentation position pos.

    The frame is picked with select=eq(n,DECODE_POS) on the decoder output
    (decode_pos: the frame's position in the decoder's output order).
    autorotate=True lets FFmpeg apply the display matrix (display orientation).
    Returns an HxWx3 uint8 numpy array.
    """
    import numpy as np
    o = oracle(path, stream)
    fr = o.frames[pos]
    vf = 'select=eq(n\\,%d)' % fr['decode_pos']
    if vf_extra:
        vf += ',' + vf_extra
    scale = 'scale=flags=%s' % flags if flags else None
    if scale:
        vf += ',' + scale
    vf += ',format=rgb24'
    cmd = [FFMPEG, '-nostdin', '-v', 'error']
    if not autorotate:
        cmd.append('-noautorotate')
    cmd += ['-i', path, '-map', '0:%d' % stream, '-vf', vf, '-fps_mode', 'passthrough', '-frames:v', '1',
            '-c:v', 'pam', '-f', 'image2pipe', '-']
    r = run(cmd, timeout=300, text=False)
    if r.rc != 0:
        raise TestFailure('reference decode failed: %s' % r.describe())
    return parse_pam(r.stdout, '%s frame %d' % (path, pos))


def parse_pam(data, what=''):
    """Parses one RGB PAM image (P7 ... ENDHDR) into an HxWx3 uint8 array."""
    import numpy as np
    end = data.find(b'ENDHDR\n')
    if not data.startswith(b'P7') or end < 0:
        raise TestFailure('reference decode of %s: no PAM output (%d bytes)' % (what, len(data)))
    hdr = dict(l.split(None, 1) for l in data[3:end].decode().splitlines() if ' ' in l)
    w, h, d = int(hdr['WIDTH']), int(hdr['HEIGHT']), int(hdr['DEPTH'])
    body = data[end + 7:]
    if d != 3 or len(body) < w * h * 3:
        raise TestFailure('reference decode of %s: bad PAM (%dx%dx%d, %d bytes)' % (what, w, h, d, len(body)))
    return np.frombuffer(body[:w * h * 3], dtype=np.uint8).reshape(h, w, 3)


# ---------------------------------------------------------------------------
# truth files shipped with the corpus

def torchcodec_pts(path):
    """pts_time list (floats) from a torchcodec *.all_frames_info.json."""
    return [float(x['pts_time']) for x in json.loads(Path(path).read_text())]


def exo_sample_times_us(path, mime_prefix='video/'):
    """Sample times (us) of the video track of an ExoPlayer extractor .dump."""
    tracks = []
    cur = None
    for line in Path(path).read_text().splitlines():
        s = line.strip()
        if line.startswith('track '):
            cur = {'mime': None, 'times': []}
            tracks.append(cur)
        elif cur is not None and s.startswith('sampleMimeType = '):
            cur['mime'] = s.split('=', 1)[1].strip()
        elif cur is not None and s.startswith('time = '):
            cur['times'].append(int(s.split('=', 1)[1]))
    for t in tracks:
        if t['mime'] and t['mime'].startswith(mime_prefix):
            return t['times']
    return []


def exo_playback_times_us(path, offset=1000000000000):
    """timeUs of the decoder output buffers of the first MediaCodecAdapter in an
    ExoPlayer playback .dump, with the 1e12 us renderer offset removed."""
    out = []
    section = None
    for line in Path(path).read_text().splitlines():
        s = line.strip()
        if s.startswith('inputBuffers:'):
            section = 'in'
        elif s.startswith('outputBuffers:'):
            section = 'out'
        elif not line.startswith(' '):
            if out:
                break
            section = None
        elif section == 'out' and s.startswith('timeUs = '):
            out.append(int(s.split('=', 1)[1]) - offset)
    return out
