"""`vidx transcode INPUT... -o OUT --preset NAME` (issue 15): proxies and HLS ladders from
one decode, verified with ffprobe and played by a real client (ffmpeg reading the master
playlist over HTTP from a python http.server on loopback, started here).

  transcode_hls          preset hls on a 1080p clip with audio: master playlist -> three
                         media playlists whose init and segments exist; H.264 + AAC at
                         1920x1080, 1280x720, 640x360; every rendition lasts the source's
                         duration within one frame; keyframes at the same times in every
                         rendition, every 2 s; sprites.vtt cues point into sheets that exist,
                         inside them; then ffmpeg plays master.m3u8 over HTTP, every frame
  transcode_proxy_rotation_sar  preset proxy on a clip with SAR 2:1 and a 90-degree display
                         matrix: an upright MP4 of square pixels (240x640), H.264/AAC, moov
                         before mdat (faststart), duration within one frame
  transcode_presets      --list-presets is JSON with the built-ins; a preset file makes its
                         renditions; a typo'd field and a bad value: exit 2 naming file and field
  transcode_loudnorm     --loudnorm brings a quiet tone to -23 LUFS (ebur128), without it not
  transcode_safety       OUT with a user's file and no marker: refused (12), untouched; a user's
                         file put in a video's folder: that video refused, the file kept; a
                         rerun replaces only vidx's folder, leaves OUT's other files alone
"""
import functools
import json
import re
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from common import FFMPEG, FFPROBE, Failures, check, fail, new_out_dir, run, vidx_bin

FPS = 25


def make(tag, seconds=4, size='1920x1080', extra_v=(), audio='sine=frequency=440', rotate=0):
    d = new_out_dir(tag)
    d.mkdir(parents=True)
    path = d / 'in.mp4'
    cmd = [FFMPEG, '-nostdin', '-v', 'error', '-f', 'lavfi', '-i',
           'testsrc2=size=%s:rate=%d:duration=%g' % (size, FPS, seconds)]
    if audio:
        cmd += ['-f', 'lavfi', '-i', audio if 'duration' in audio else '%s:duration=%g' % (audio, seconds)]
    cmd += list(extra_v) + ['-c:v', 'mpeg4', '-q:v', '4'] + (['-c:a', 'aac'] if audio else [])
    r = subprocess.run(cmd + ['-y', str(path)], capture_output=True, text=True, timeout=300)
    if r.returncode == 0 and rotate:  # FFmpeg 5.1 writes the display matrix on a stream copy only
        path = d / 'rotated.mp4'
        r = subprocess.run([FFMPEG, '-nostdin', '-v', 'error', '-i', str(d / 'in.mp4'), '-c', 'copy',
                            '-metadata:s:v', 'rotate=%d' % rotate, '-y', str(path)],
                           capture_output=True, text=True, timeout=300)
        (d / 'in.mp4').unlink()
    if r.returncode != 0:
        fail('ffmpeg: %s' % r.stderr[-1000:])
    return path


def vidx(args, timeout=600):
    r = run([vidx_bin()] + [str(a) for a in args], timeout=timeout)
    check(not r.timed_out, 'vidx hung: %s' % r.describe())
    return r


def probe(path, *entries, select=None):
    cmd = [FFPROBE, '-v', 'error'] + (['-select_streams', select] if select else [])
    r = subprocess.run(cmd + ['-show_entries', ','.join(entries), '-of', 'json', str(path)],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, 'ffprobe %s: %s' % (path, r.stderr[-500:]))
    return json.loads(r.stdout)


def video_frames(path):
    """(pts_time, key) of every decoded video frame."""
    j = probe(path, 'frame=pts_time,key_frame', select='v:0')
    return [(float(f['pts_time']), f['key_frame']) for f in j['frames']]


def duration_of(frames):
    return frames[-1][0] + 1.0 / FPS - frames[0][0]


def playlist(path):
    lines = [l.strip() for l in path.read_text().splitlines() if l.strip()]
    check(lines and lines[0] == '#EXTM3U', '%s is not an M3U8 playlist' % path)
    return lines


def jpeg_size(data):
    i = 2
    while i + 9 < len(data):
        m, n = data[i + 1], int.from_bytes(data[i + 2:i + 4], 'big')
        if m in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 7:i + 9], 'big'), int.from_bytes(data[i + 5:i + 7], 'big')
        i += 2 + n
    raise ValueError('no SOF')


def one_dir(out):
    dirs = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith('.')]
    check(len(dirs) == 1, 'video folders in %s: %s' % (out, dirs))
    return dirs[0]


def check_hls(F, d, src_dur):
    master = playlist(d / 'master.m3u8')
    variants = [(master[i], master[i + 1]) for i in range(len(master)) if master[i].startswith('#EXT-X-STREAM-INF')]
    sizes = [re.search(r'RESOLUTION=(\d+)x(\d+)', v).groups() for v, _ in variants]
    F.check(sizes == [('1920', '1080'), ('1280', '720'), ('640', '360')], 'master variants: %r' % variants)
    keys = []
    for inf, uri in variants:
        media = d / uri
        F.check(media.is_file(), 'master names %s, missing' % uri)
        if not media.is_file():
            continue
        lines = playlist(media)
        F.check('#EXT-X-ENDLIST' in lines and '#EXT-X-PLAYLIST-TYPE:VOD' in lines, '%s: %r' % (uri, lines))
        init = [re.search(r'URI="([^"]+)"', l).group(1) for l in lines if l.startswith('#EXT-X-MAP')]
        segs = [l for l in lines if not l.startswith('#')]
        F.check(init and all((media.parent / x).is_file() for x in init + segs) and len(segs) >= 1,
                '%s: init %r, segments %r not all there' % (uri, init, segs))
        streams = probe(media, 'stream=codec_name,codec_type,width,height,sample_aspect_ratio')['streams']
        kinds = {s['codec_type']: s for s in streams}
        w, h = re.search(r'RESOLUTION=(\d+)x(\d+)', inf).groups()
        F.check(kinds.get('video', {}).get('codec_name') == 'h264' and
                kinds.get('audio', {}).get('codec_name') == 'aac' and
                (kinds['video'].get('width'), kinds['video'].get('height')) == (int(w), int(h)),
                '%s streams: %r' % (uri, streams))
        fr = video_frames(media)
        F.check(abs(duration_of(fr) - src_dur) <= 1.0 / FPS + 1e-6 and len(fr) == round(src_dur * FPS),
                '%s: %d frames, %.3f s, source %.3f s' % (uri, len(fr), duration_of(fr), src_dur))
        keys.append([round(t - fr[0][0], 3) for t, k in fr if k])
    F.check(len(keys) == 3 and keys[0] == keys[1] == keys[2], 'keyframes differ: %r' % keys)
    F.check(keys and keys[0] == [0.0, 2.0][:len(keys[0])] + [round(2.0 * i, 3) for i in range(2, len(keys[0]))],
            'keyframes not every 2 s: %r' % keys[:1])
    vtt = (d / 'sprites' / 'sprites.vtt').read_text()
    F.check(vtt.startswith('WEBVTT'), 'sprites.vtt: %r' % vtt[:40])
    cues = re.findall(r'(\S+) --> (\S+)\n(sprite_\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)', vtt)
    F.check(len(cues) == int((src_dur - 1e-9) // 5) + 1, 'cues: %r' % cues)
    for a, b, img, x, y, w, h in cues:
        p = d / 'sprites' / img
        if F.check(p.is_file(), 'cue names %s, missing' % img):
            W, H = jpeg_size(p.read_bytes())
            F.check(int(x) + int(w) <= W and int(y) + int(h) <= H, 'cue %s outside %dx%d' % (img, W, H))


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def serve(directory):
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_transcode_hls():
    src = make('tc_hls', seconds=5)
    out = src.parent / 'out'
    F = Failures('transcode hls')
    r = vidx(['transcode', src, '-o', out, '--preset', 'hls', '--json'])
    F.check(r.rc == 0, r.describe())
    if r.rc != 0:
        F.raise_if_any()
    d = one_dir(out)
    rep = json.loads(r.stdout)
    F.check(sorted(rep['videos'][0]['files']) == sorted(
        str(p.relative_to(d)) for p in d.rglob('*') if p.is_file()), 'report files: %r' % rep)
    check_hls(F, d, 5.0)
    httpd = serve(d)
    try:
        url = 'http://127.0.0.1:%d/master.m3u8' % httpd.server_address[1]
        p = subprocess.run([FFMPEG, '-nostdin', '-v', 'error', '-i', url, '-map', '0:v:0', '-map', '0:a:0',
                            '-f', 'framecrc', '-'], capture_output=True, text=True, timeout=300)
    finally:
        httpd.shutdown()
        httpd.server_close()
    vframes = [l for l in p.stdout.splitlines() if l.startswith('0,')]
    F.check(p.returncode == 0 and len(vframes) == 5 * FPS and not p.stderr.strip(),
            'ffmpeg over HTTP: rc %d, %d video frames, %s' % (p.returncode, len(vframes), p.stderr[-800:]))
    F.raise_if_any()


def test_transcode_proxy_rotation_sar():
    src = make('tc_rot', seconds=2, size='320x240', extra_v=['-vf', 'setsar=2/1'], rotate=270)  # 90 clockwise
    out = src.parent / 'out'
    F = Failures('transcode proxy')
    r = vidx(['transcode', src, '-o', out])
    F.check(r.rc == 0, r.describe())
    if r.rc != 0:
        F.raise_if_any()
    mp4 = one_dir(out) / 'proxy.mp4'
    j = probe(mp4, 'stream=codec_name,width,height,sample_aspect_ratio:stream_side_data=rotation')
    v = [s for s in j['streams'] if s['codec_name'] == 'h264']
    F.check(v and (v[0]['width'], v[0]['height']) == (240, 640) and v[0].get('sample_aspect_ratio') == '1:1'
            and not v[0].get('side_data_list'), 'video: %r' % j)
    F.check(any(s['codec_name'] == 'aac' for s in j['streams']), 'no AAC: %r' % j)
    data = mp4.read_bytes()
    F.check(0 <= data.find(b'moov') < data.find(b'mdat'), 'moov not before mdat (no faststart)')
    fr = video_frames(mp4)
    F.check(len(fr) == 2 * FPS and abs(duration_of(fr) - 2.0) <= 1.0 / FPS + 1e-6,
            '%d frames, %.3f s' % (len(fr), duration_of(fr)))
    F.raise_if_any()


def test_transcode_presets():
    F = Failures('presets')
    r = vidx(['transcode', '--list-presets'])
    names = [p['name'] for p in json.loads(r.stdout)] if r.rc == 0 else []
    F.check({'proxy', 'hls', 'hls-loudnorm'} <= set(names), 'built-ins: %s' % r.describe())
    src = make('tc_presets', seconds=1, size='320x240')
    preset = src.parent / 'mine.json'
    preset.write_text(json.dumps({'name': 'small', 'format': 'mp4', 'gop_seconds': 1, 'x264_preset': 'ultrafast',
                                  'renditions': [{'name': 'a', 'height': 240, 'crf': 30},
                                                 {'name': 'b', 'height': 120, 'bitrate': 200000}],
                                  'audio': {'bitrate': 64000, 'rate': 44100, 'channels': 1}}))
    out = src.parent / 'out'
    r = vidx(['transcode', src, '-o', out, '--preset', preset])
    F.check(r.rc == 0, r.describe())
    if r.rc == 0:
        d = one_dir(out)
        for n, size in (('a', (320, 240)), ('b', (160, 120))):
            j = probe(d / (n + '.mp4'), 'stream=codec_name,width,height,sample_rate,channels')
            v = [s for s in j['streams'] if s['codec_name'] == 'h264']
            a = [s for s in j['streams'] if s['codec_name'] == 'aac']
            F.check(v and (v[0]['width'], v[0]['height']) == size and a and a[0]['sample_rate'] == '44100'
                    and a[0]['channels'] == 1, '%s: %r' % (n, j))
    for bad, field in (({'name': 'x', 'renditons': []}, 'renditons'),
                       ({'name': 'x', 'renditions': [{'name': 'a', 'height': 99999}]}, 'height')):
        p = src.parent / 'bad.json'
        p.write_text(json.dumps(bad))
        o = src.parent / 'badout'
        r = vidx(['transcode', src, '-o', o, '--preset', p])
        F.check(r.rc == 2 and str(p) in r.stderr and field in r.stderr and not o.exists(),
                '%r: %s' % (bad, r.describe()))
    r = vidx(['transcode', src, '-o', src.parent / 'o2', '--preset', 'nosuch'])
    F.check(r.rc == 2 and 'nosuch' in r.stderr, r.describe())
    F.raise_if_any()


def loudness(path):
    p = subprocess.run([FFMPEG, '-nostdin', '-v', 'info', '-i', str(path), '-map', '0:a:0', '-af', 'ebur128',
                        '-f', 'null', '-'], capture_output=True, text=True, timeout=300)
    m = re.findall(r'I:\s+(-?[\d.]+) LUFS', p.stderr)
    check(m, 'no ebur128 summary: %s' % p.stderr[-500:])
    return float(m[-1])


def test_transcode_loudnorm():
    src = make('tc_loud', seconds=6, size='160x120', audio='sine=frequency=300:sample_rate=48000:duration=6,volume=-38dB')
    F = Failures('loudnorm')
    before = loudness(src)
    outs = {}
    for flag in ('--loudnorm', '--no-loudnorm'):
        out = src.parent / ('out' + flag)
        r = vidx(['transcode', src, '-o', out, flag])
        F.check(r.rc == 0, r.describe())
        if r.rc == 0:
            outs[flag] = loudness(one_dir(out) / 'proxy.mp4')
    F.check(before < -40, 'the source is not quiet: %.1f LUFS' % before)
    F.check(abs(outs.get('--loudnorm', 0) + 23) <= 1.5, 'with --loudnorm: %r (target -23)' % outs)
    F.check(abs(outs.get('--no-loudnorm', 0) - before) <= 1.5, 'without: %r, source %.1f' % (outs, before))
    F.raise_if_any()


def test_transcode_safety():
    src = make('tc_safety', seconds=1, size='160x120')
    F = Failures('transcode safety')
    user = src.parent / 'users'
    user.mkdir()
    (user / 'notes.txt').write_text('mine')
    r = vidx(['transcode', src, '-o', user])
    F.check(r.rc == 12 and sorted(p.name for p in user.iterdir()) == ['notes.txt'], 'users: %s' % r.describe())
    out = src.parent / 'out'
    r = vidx(['transcode', src, '-o', out])
    F.check(r.rc == 0, r.describe())
    d = one_dir(out)
    (out / 'readme.txt').write_text('keep')
    before = {p.name: p.stat().st_ino for p in d.iterdir()}
    r = vidx(['transcode', src, '-o', out])  # a rerun replaces vidx's folder only
    F.check(r.rc == 0 and (out / 'readme.txt').read_text() == 'keep' and d.is_dir(), r.describe())
    F.check(sorted(p.name for p in d.iterdir()) == sorted(before), 'folder: %r' % sorted(d.iterdir()))
    (d / 'notes.txt').write_text('mine too')
    r = vidx(['transcode', src, '-o', out])
    F.check(r.rc == 12 and (d / 'notes.txt').read_text() == 'mine too' and (d / 'proxy.mp4').is_file()
            and 'notes' not in r.stdout and str(d) in r.stderr, 'user file in the folder: %s' % r.describe())
    F.check(sorted(p.name for p in src.parent.iterdir()) == ['in.mp4', 'out', 'users'],
            'the parent: %r' % sorted(src.parent.iterdir()))
    F.raise_if_any()
