"""End-to-end: `vidx serve` (the dashboard) and `vidx report` (issue 16).

A real run over corpus clips (and the corpus's corrupt file, which fails) is
served by a real `vidx serve` on a loopback port; the tests talk HTTP to it.

  api                  the JSON API agrees with `vidx status`; a frame's bytes are
                       the file's; single ranges 206, outside 416; the pages load
  labels               a run with --label-url (the loopback endpoint of test_labels.py):
                       /api/videos/ID's labels are the catalog's rows (tags parsed, the
                       refusal's error), paged with the frames; the page's script shows them
  shards_range         the shards layout: a frame straight out of its tar by offset
  hostile_requests     a burst of malformed requests (bad methods, huge headers,
                       garbage, bad ranges, traversal, bad numbers, foreign Host):
                       each refused with its 4xx, the server answers after
  hostile_catalog      a catalog whose locations point outside OUT or through a
                       link: refused, nothing outside OUT is ever served
  token                off loopback every request needs the token (header, query
                       then cookie); a wrong one is 401
  live                 a `vidx run` going on: the overview follows it (running,
                       more videos each poll, then finished) without a restart
  pages_100k           a 100,000-video catalog: counts, deep pages, filters right
  postgres             --catalog postgresql://: the same answers; a cluster's workers
  usage                bad arguments and non-outputs: exit 2 / 12, nothing served
  report               the HTML file: counts, reasons, inlined frames, the cap flag
  report_user_files    -o to a file vidx did not make (file, link, directory):
                       refused (exit 5), the file untouched; its own report replaced
"""
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import time
from pathlib import Path

import common
from common import Failures, check, fail, note, run_vidx

CLIPS = ('androidx_bear-vp9.webm', 'decord_video_90.mov', 'androidx_sample.flv')
BROKEN = 'androidx_invalid-bitstream.webm'  # fails to decode


def _inputs(tag):
    common.require_corpus()
    d = common.new_out_dir('serve-in-' + tag)
    d.mkdir(parents=True)
    for name in CLIPS + (BROKEN,):
        os.symlink(common.corpus_clip(name), d / name)
    (d / 'not_a_video.mp4').write_bytes(b'\x00\x00\x00\x18ftypmp42' + os.urandom(4000))
    return d


def _run(tag, extra=()):
    src = _inputs(tag)
    out = common.new_out_dir('serve-out-' + tag)
    r = run_vidx(['run', src, '-o', out, '--count', '6', '--scenes', '--progress', 'none',
                  '--follow-symlinks'] + list(extra), timeout=300)
    check(r.rc == 1, 'the run should end with some failed (exit 1): %s' % r.describe())
    return out


class Server:
    """`vidx serve` in the background; stopped (SIGTERM, then waited for) on exit."""

    def __init__(self, out, extra=()):
        cmd = [str(common.vidx_bin()), 'serve', str(out), '--listen', '127.0.0.1:0'] + list(extra)
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, text=True)
        line = self.p.stdout.readline()
        m = re.search(r'http://([^/]+):(\d+)/(\?token=(\w+))?', line)
        if not m:
            self.p.kill()
            fail('vidx serve printed no URL: %r %s' % (line, self.p.stderr.read()))
        self.host, self.port = m.group(1), int(m.group(2))
        tok = re.search(r'token[ =]([0-9a-f]{32})', line)
        self.token = tok.group(1) if tok else None

    def get(self, path, headers=None, method='GET'):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=20)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body

    def json(self, path):
        status, _, body = self.get(path)
        check(status == 200, 'GET %s: %d %s' % (path, status, body[:300]))
        return json.loads(body)

    def raw(self, data, read=True):
        """Sends bytes as they are; the status line's code (0: closed without one)."""
        s = socket.create_connection(('127.0.0.1', self.port), timeout=10)
        try:
            s.sendall(data)
            if not read:
                return 0
            got = b''
            while b'\r\n' not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except OSError:
            return 0
        finally:
            s.close()
        m = re.match(rb'HTTP/1\.[01] (\d{3})', got)
        return int(m.group(1)) if m else 0

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                fail('vidx serve did not stop on SIGTERM')
        return self.p.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            check(rc == 0, 'vidx serve exited %s: %s' % (rc, self.p.stderr.read()[-2000:]))


def _status(out, extra=()):
    r = run_vidx(['status', out, '--json'] + list(extra))
    check(r.rc == 0, r.describe())
    return json.loads(r.stdout)


def _ok_video(s):
    page = s.json('/api/videos?status=ok')
    check(page['videos'], 'no ok video: %s' % page)
    return page['videos'][0]


def test_api():
    out = _run('api')
    st = _status(out)
    f = Failures('api')
    with Server(out) as s:
        o = s.json('/api/overview')
        f.check(o['videos'] == st['videos'] and o['frames'] == st['frames'],
                'overview totals %s/%s, status %s/%s' % (o['videos'], o['frames'], st['videos'], st['frames']))
        f.check(o['counts'] == st['counts'], 'counts %s vs %s' % (o['counts'], st['counts']))
        f.check(o['run'] and o['run']['state'] == 'finished' and o['run']['done'] == o['videos'],
                'run: %s' % o['run'])
        f.check(sum(p['videos'] for p in o['timeline']['points']) == o['videos'],
                'timeline sums to %s' % o['timeline'])
        fails = s.json('/api/videos?status=failing')
        paths = {os.path.basename(v['path']): v for v in fails['videos']}
        f.check(set(paths) == {BROKEN, 'not_a_video.mp4'}, 'failing: %s' % sorted(paths))
        f.check(fails['matching'] == 2, 'matching %s' % fails['matching'])
        f.check(paths.get(BROKEN, {}).get('error_class') == 'decode', 'class of %s' % paths.get(BROKEN))
        classes = s.json('/api/failures')
        want = {}
        for x in st['failures']:
            want[x['class']] = want.get(x['class'], 0) + 1
        f.check({c['error_class']: c['videos'] for c in classes['classes']} == want,
                'classes %s, vidx status %s' % (classes, want))
        f.check('--retry' in classes['retry'] and str(out.resolve()) in classes['retry'], classes['retry'])
        one = s.json('/api/videos?class=decode')
        f.check([v['error_class'] for v in one['videos']] == ['decode'], 'filter by class: %s' % one)
        q = s.json('/api/videos?q=bear')
        f.check([os.path.basename(v['path']) for v in q['videos']] == ['androidx_bear-vp9.webm'], 'search: %s' % q)
        page1 = s.json('/api/videos?limit=2')
        page2 = s.json('/api/videos?limit=2&after=%d' % page1['next'])
        ids = [v['id'] for v in page1['videos'] + page2['videos']]
        f.check(len(ids) == 4 and ids == sorted(ids) and len(set(ids)) == 4, 'pages: %s' % ids)
        bad = s.json('/api/videos/%d' % paths[BROKEN]['id'])
        f.check(bad['status'] == 'failed' and 'decod' in (bad['error'] or '') and bad['retry'].startswith('vidx run '),
                'failed video: %s' % {k: bad.get(k) for k in ('status', 'error', 'retry')})
        v = s.json('/api/videos/%d' % _ok_video(s)['id'])
        f.check(v['probe'] and v['probe'].get('streams'), 'probe: %s' % v.get('probe'))
        f.check(len(v['frame_rows']) == v['frames'] > 0, 'frames %s of %s' % (len(v['frame_rows']), v['frames']))
        f.check(v['shots'] and v['shots'][0]['cause'] == 'start', 'shots: %s' % v['shots'])
        fr = v['frame_rows'][0]
        status, hdr, body = s.get('/api/videos/%d/frames/%d' % (v['id'], fr['seq']))
        on_disk = (out / fr['location']).read_bytes()
        f.check(status == 200 and hdr.get('content-type') == 'image/jpeg' and body == on_disk,
                'frame: %d %s, %d bytes (file %d)' % (status, hdr.get('content-type'), len(body), len(on_disk)))
        status, hdr, body = s.get('/api/videos/%d/frames/%d' % (v['id'], fr['seq']), {'Range': 'bytes=10-19'})
        f.check(status == 206 and body == on_disk[10:20] and
                hdr.get('content-range') == 'bytes 10-19/%d' % len(on_disk), 'range: %d %s' % (status, hdr))
        status, hdr, body = s.get('/api/videos/%d/frames/%d' % (v['id'], fr['seq']), {'Range': 'bytes=-5'})
        f.check(status == 206 and body == on_disk[-5:], 'suffix range: %d' % status)
        status, hdr, _ = s.get('/api/videos/%d/frames/%d' % (v['id'], fr['seq']), {'Range': 'bytes=%d-' % len(on_disk)})
        f.check(status == 416 and hdr.get('content-range') == 'bytes */%d' % len(on_disk), 'past the end: %d %s' % (status, hdr))
        status, _, _ = s.get('/api/videos/%d/frames/%d' % (v['id'], v['frames']))
        f.check(status == 404, 'a frame past the last: %d' % status)
        for page, marker in (('/', b'data-page="overview"'), ('/failures', b'data-page="failures"'),
                             ('/video?id=1', b'data-page="video"'), ('/static/app.js', b'use strict'),
                             ('/static/app.css', b'.sheet')):
            status, hdr, body = s.get(page)
            f.check(status == 200 and marker in body and 'content-security-policy' in hdr,
                    '%s: %d %s' % (page, status, body[:80]))
        status, hdr, body = s.get('/', method='HEAD')
        f.check(status == 200 and body == b'', 'HEAD: %d %r' % (status, body[:40]))
    f.raise_if_any()


def test_labels():
    import test_labels as tl
    src = tl.make_video('serve_labels', seconds=2)
    out = src.parent / 'out'
    f = Failures('serve labels')
    with tl.Vlm(['ok', 'refusal', 'ok']) as vlm:
        r = tl.vidx(['run', src, '-o', out, '--count', 3, '--label-url', vlm.url, '--label-jobs', 1])
    check(r.rc == 0, r.describe())
    e = tl.vidx(['export', out, '--table', 'labels'])
    want = [json.loads(l) for l in e.stdout.splitlines()]
    f.check(len(want) == 3 and sum(1 for x in want if x['error']) == 1, 'labels: %s' % e.describe())
    with Server(out) as s:
        vid = s.json('/api/videos')['videos'][0]['id']
        v = s.json('/api/videos/%d' % vid)
        got = v.get('labels')
        f.check(isinstance(got, list) and len(got) == 3, 'labels in the answer: %r' % got)
        for g, w in zip(got or [], want):
            f.check(g['seq'] == w['seq'] and g['caption'] == w['caption'] and g['model'] == w['model']
                    and g['error'] == w['error'] and g['latency'] == w['latency'] and
                    g['tags'] == (json.loads(w['tags']) if w['tags'] else None),
                    'label %r, catalog row %r' % (g, w))
        f.check(got and got[0]['tags'] == ['test', 'frame'], 'tags parsed: %r' % got)
        one = s.json('/api/videos/%d?first=1&max=1' % vid)
        f.check([x['seq'] for x in one['frame_rows']] == [1] and
                [x['seq'] for x in one['labels']] == [1] and one['labels'][0]['caption'] is None and
                one['labels'][0]['error'].startswith('refused'), 'first=1&max=1: %r' % one['labels'])
        status, _, body = s.get('/static/app.js')
        f.check(status == 200 and b'v.labels' in body, 'the page script does not show labels')
    f.raise_if_any()


def test_shards_range():
    out = _run('shards', ['--layout', 'shards'])
    f = Failures('shards')
    with Server(out) as s:
        v = s.json('/api/videos/%d' % _ok_video(s)['id'])
        fr = v['frame_rows'][-1]
        f.check(fr['location'].startswith('shards/') and fr['offset'] is not None, 'row: %s' % fr)
        with open(out / fr['location'], 'rb') as t:
            t.seek(fr['offset'])
            want = t.read(fr['bytes'])
        status, hdr, body = s.get('/api/videos/%d/frames/%d' % (v['id'], fr['seq']))
        f.check(status == 200 and body == want and body[:3] == b'\xff\xd8\xff',
                'frame from the shard: %d, %d bytes' % (status, len(body)))
        status, hdr, body = s.get('/api/videos/%d/frames/%d' % (v['id'], fr['seq']), {'Range': 'bytes=100-'})
        f.check(status == 206 and body == want[100:], 'range in the shard: %d %d' % (status, len(body)))
        with tarfile.open(out / fr['location']) as t:  # the same bytes as the tar's own member
            names = [m for m in t.getmembers() if m.offset_data == fr['offset']]
            f.check(len(names) == 1 and t.extractfile(names[0]).read() == want, 'tar member at the offset')
    f.raise_if_any()


def test_hostile_requests():
    out = _run('hostile')
    f = Failures('hostile')
    with Server(out) as s:
        vid = _ok_video(s)['id']
        frame = '/api/videos/%d/frames/0' % vid
        cases = [
            (b'POST /api/overview HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello', (405,)),
            (b'PUT / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (405,)),
            (b'DELETE /api/videos/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (405,)),
            (b'BREW / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (405, 501)),
            (b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ' + b'a' * 40000 + b'\r\n\r\n', (431, 413, 0)),
            (b'GET / HTTP/1.1\r\n' + b''.join(b'X-H%d: v\r\n' % i for i in range(3000)) + b'\r\n', (431, 413, 0)),
            (b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + os.urandom(200), (400, 0)),
            (b'GET\r\n\r\n', (400, 0)),
            (b'GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n', (505, 400, 0)),
            (b'GET /' + b'a' * 20000 + b' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (414, 431, 400, 0)),
            (b'GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n', (403,)),
            (b'GET / HTTP/1.1\r\nHost: 127.0.0.1.evil.example\r\n\r\n', (403,)),
        ]
        paths = [
            ('/api/videos/%d/frames/../../../../etc/passwd' % vid, (404,)),
            ('/api/videos/%d/frames/%%2e%%2e%%2f%%2e%%2e%%2fcatalog.db' % vid, (404,)),
            ('/static/../catalog.db', (404,)), ('/catalog.db', (404,)), ('/frames/', (404,)),
            ('/../../etc/passwd', (404,)), ('/api/videos/0', (404,)), ('/api/videos/-1', (404,)),
            ('/api/videos/1e3', (404,)), ('/api/videos/99999999999999999999', (404,)),
            ('/api/videos/%d/frames/01' % vid, (404,)), ('/api/videos/%d/frames/-1' % vid, (404,)),
            ('/api/videos?limit=0', (400,)), ('/api/videos?limit=501', (400,)), ('/api/videos?limit=x', (400,)),
            ('/api/videos?after=-1', (400,)), ('/api/videos?q=' + 'x' * 300, (400,)),
            ('/api/overview?bucket=abc', (400,)), ('/api/videos/%d?max=0' % vid, (400,)),
            ('/api/nothing', (404,)), ('/api/videos?q=%00%ff%fe', (200,)),
        ]
        for p, want in paths:
            cases.append((b'GET ' + p.encode() + b' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', want))
        for rng in (b'bytes=abc', b'bytes=5-1', b'bytes=-0', b'bytes=0-1,4-5', b'bits=0-1',
                    b'bytes=99999999999999999999-', b'bytes=--1', b'bytes=1-2-3', b'bytes=' + b'9' * 5000):
            cases.append((b'GET ' + frame.encode() + b' HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: ' + rng + b'\r\n\r\n',
                          (200, 416)))
        for _ in range(2):  # the whole burst twice
            for data, want in cases:
                code = s.raw(data)
                f.check(code in want, '%r...: got %s, want %s' % (data[:60], code, want))
                f.check(s.alive(), 'the server died after %r' % data[:60])
        for _ in range(50):  # connections opened and dropped half way, never completed
            s.raw(b'GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1\r\n', read=False)
        status, _, body = s.get('/api/overview')
        f.check(status == 200 and json.loads(body)['videos'] == 5, 'after the burst: %d' % status)
        status, _, body = s.get(frame)
        f.check(status == 200 and body[:3] == b'\xff\xd8\xff', 'a frame after the burst: %d' % status)
    f.raise_if_any()


def test_hostile_catalog():
    """Locations are the catalog's text: one leading out of OUT is never followed."""
    out = _run('hostcat')
    secret = common.new_out_dir('serve-secret')
    secret.mkdir()
    (secret / 'secret.jpg').write_bytes(b'\xff\xd8\xff' + b'SECRET' * 100)
    f = Failures('hostile catalog')
    db = sqlite3.connect(str(out / 'catalog.db'))
    vid, n = db.execute("SELECT id, frames FROM videos WHERE status='ok' ORDER BY id LIMIT 1").fetchone()
    rel = os.path.relpath(secret / 'secret.jpg', out)
    os.symlink(secret, out / 'frames' / 'evil')  # a link inside OUT, to outside it
    evil = [rel, str(secret / 'secret.jpg'), 'frames/evil/secret.jpg', 'frames/../' + rel,
            'frames/./x.jpg', 'frames//x.jpg', 'frames/a\\..\\b', 'catalog.db', 'frames/', '']
    for seq, loc in enumerate(evil[:n]):
        db.execute('UPDATE frames SET location=?, offset=NULL, bytes=603 WHERE video_id=? AND seq=?', (loc, vid, seq))
    db.execute('UPDATE frames SET bytes=999999999999 WHERE video_id=? AND seq=?', (vid, n - 1))
    db.commit()
    db.close()
    with Server(out) as s:
        for seq in range(n):
            status, _, body = s.get('/api/videos/%d/frames/%d' % (vid, seq))
            f.check(status in (403, 404, 409) and b'SECRET' not in body,
                    'location %r: %d %r' % (evil[seq] if seq < len(evil) else 'huge', status, body[:60]))
        f.check(s.alive(), 'server died')
    f.raise_if_any()


def test_token():
    out = _run('token')
    f = Failures('token')
    s = Server(out, ['--listen', '0.0.0.0:0'])  # not loopback: the token is required
    try:
        s.port = s.port  # requests still go to 127.0.0.1 only
        f.check(s.token and len(s.token) == 32, 'no token printed')
        status, _, _ = s.get('/api/overview')
        f.check(status == 401, 'no token: %d' % status)
        for bad in ('0' * 32, s.token[:-1], s.token + '0', ''):
            status, _, _ = s.get('/api/overview', {'Authorization': 'Bearer ' + bad})
            f.check(status == 401, 'wrong token %r: %d' % (bad, status))
            status, _, _ = s.get('/api/overview?token=' + bad)
            f.check(status == 401, 'wrong query token: %d' % status)
        status, _, _ = s.get('/static/app.js')
        f.check(status == 401, 'a static file without the token: %d' % status)
        status, _, _ = s.get('/api/overview', {'Authorization': 'Bearer ' + s.token})
        f.check(status == 200, 'bearer: %d' % status)
        status, hdr, _ = s.get('/?token=' + s.token)
        cookie = hdr.get('set-cookie', '')
        f.check(status == 200 and s.token in cookie and 'HttpOnly' in cookie, 'query token: %d %r' % (status, cookie))
        status, _, _ = s.get('/api/overview', {'Cookie': cookie.split(';')[0]})
        f.check(status == 200, 'cookie: %d' % status)
        status, _, _ = s.get('/api/overview', {'Cookie': 'vidx_token=' + '1' * 32})
        f.check(status == 401, 'wrong cookie: %d' % status)
    finally:
        s.stop()
    f.raise_if_any()


def _library(n, tag, seconds=3, size='320x240'):
    root = common.cache_root() / ('serve-lib-%s-%d-%s-%s' % (tag, n, seconds, size))
    if not (root / '.complete').is_file():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        for i in range(n):
            r = subprocess.run([common.FFMPEG, '-v', 'error', '-f', 'lavfi', '-i',
                                'testsrc=duration=%s:size=%s:rate=25' % (seconds, size), '-vf', 'hue=h=%d' % (i * 7),
                                '-c:v', 'mpeg4', str(root / ('clip%02d.mp4' % i))],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                fail('generating clips: %s' % r.stderr[-1000:])
        (root / '.complete').write_text('')
    return root


def test_live():
    """The overview follows a run while it writes the catalog (SQLite WAL reader)."""
    lib = _library(24, 'live', seconds=8, size='640x480')
    out = common.new_out_dir('serve-live')
    opts = ['--jobs', '1', '--count', '40', '--progress', 'none']
    first = subprocess.run([str(common.vidx_bin()), 'run', str(lib / 'clip00.mp4'), '-o', str(out)] + opts,
                           capture_output=True, timeout=120)
    check(first.returncode == 0, first.stderr.decode()[-1000:])
    f = Failures('live')
    with Server(out) as s:
        run = subprocess.Popen([str(common.vidx_bin()), 'run', str(lib), '-o', str(out)] + opts,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen, states, deadline = [], set(), time.time() + 240
        while time.time() < deadline:
            o = s.json('/api/overview')
            r = o['run'] or {}
            states.add(r.get('state'))
            if r.get('state') == 'running':
                seen.append((o['videos'], r.get('done'), r.get('eta_seconds')))
            if run.poll() is not None and r.get('state') == 'finished':
                break
            time.sleep(0.05)
        rc = run.wait(60)
        o = s.json('/api/overview')
        f.check(rc == 0, 'the run: exit %s %s' % (rc, run.stderr.read().decode()[-500:]))
        counts = sorted({v for v, _, _ in seen})
        f.check(len(counts) >= 3, 'the overview saw the run at %s videos only (states %s)' % (counts, states))
        f.check(any(eta is not None for _, done, eta in seen if done), 'no ETA while running: %s' % seen[:5])
        f.check(o['run']['state'] == 'finished' and o['run']['todo'] == 23 and o['run']['done'] == 23,
                'at the end: %s' % o['run'])
        f.check(o['videos'] == 24 and o['counts'] == {'ok': 24}, 'final counts %s' % o['counts'])
        note('live: the overview saw %d distinct counts while running' % len(counts))
    f.raise_if_any()


def _catalog_100k(out, n=100000):
    """A vidx output whose catalog holds n videos (every 10th failed), rows made directly."""
    lib = _library(1, 'one')
    r = run_vidx(['run', lib / 'clip00.mp4', '-o', out, '--progress', 'none'])
    check(r.rc == 0, r.describe())
    db = sqlite3.connect(str(out / 'catalog.db'))
    classes = ('decode', 'format', 'timeout')
    rows = []
    for i in range(1, n):
        failed = i % 10 == 0
        rows.append(('/lib/dir%03d/video%06d.mp4' % (i % 1000, i), 'video%06d-%016x' % (i, i),
                     'failed' if failed else 'ok', classes[i % 3] if failed else None,
                     ('cannot read video%06d' % i) if failed else None, 1700000000.0 + i, 0.5,
                     0 if failed else 8, 1700000000.5 + i))
    db.executemany('INSERT INTO videos(path, key, status, error_class, error, attempts, started_at, seconds,'
                   ' frames, updated_at) VALUES(?,?,?,?,?,1,?,?,?,?)', rows)
    db.commit()
    db.close()


def test_pages_100k():
    out = common.new_out_dir('serve-100k')
    _catalog_100k(out)
    f = Failures('100k')
    with Server(out) as s:
        o = s.json('/api/overview')
        f.check(o['videos'] == 100000 and o['counts'] == {'ok': 90001, 'failed': 9999}, 'counts %s' % o['counts'])
        page = s.json('/api/videos?status=failing&limit=500')
        f.check(page['matching'] == 9999 and len(page['videos']) == 500 and page['next'] == 5001,
                'first page: %s %s %s' % (page['matching'], len(page['videos']), page['next']))
        deep = s.json('/api/videos?after=99990&limit=50')
        f.check([v['id'] for v in deep['videos']] == list(range(99991, 100001)) and deep['next'] is None,
                'the last page: %s' % [v['id'] for v in deep['videos']])
        q = s.json('/api/videos?q=video099999')
        f.check([v['id'] for v in q['videos']] == [100000], 'search: %s' % q['videos'])
        cls = s.json('/api/videos?status=failed&class=format&limit=1')
        f.check(cls['matching'] == 3333, 'class filter matching %s' % cls['matching'])
        fl = s.json('/api/failures')
        f.check(sum(c['videos'] for c in fl['classes']) == 9999, 'classes %s' % fl['classes'])
        status, _, body = s.get('/api/overview?since=1700000000&bucket=60')
        pts = json.loads(body)['timeline']['points']
        f.check(status == 200 and sum(p['videos'] for p in pts) == 100000 and len(pts) <= 2000,
                'timeline: %d points, %d videos' % (len(pts), sum(p['videos'] for p in pts)))
    f.raise_if_any()


def test_postgres():
    url = common.pg_server() and common.pg_database('serve')
    src = _inputs('pg')
    out = common.new_out_dir('serve-pg')
    r = run_vidx(['run', src, '-o', out, '--count', '4', '--progress', 'none', '--follow-symlinks',
                  '--catalog', url], timeout=300)
    check(r.rc == 1, r.describe())
    st = _status(out, ['--catalog', url])
    f = Failures('postgres')
    with Server(out, ['--catalog', url]) as s:
        o = s.json('/api/overview')
        f.check(o['catalog'] == 'postgresql' and o['counts'] == st['counts'] and o['videos'] == 5,
                'overview %s vs %s' % (o['counts'], st['counts']))
        fails = s.json('/api/videos?status=failing')
        f.check(fails['matching'] == 2, 'failing %s' % fails)
        v = s.json('/api/videos/%d' % _ok_video(s)['id'])
        status, _, body = s.get('/api/videos/%d/frames/0' % v['id'])
        f.check(status == 200 and body == (out / v['frame_rows'][0]['location']).read_bytes(), 'frame %d' % status)
    # a cluster: enqueue + one worker; the overview lists the worker and the queue's counts
    url2 = common.pg_database('serveq')
    out2 = common.new_out_dir('serve-pgq')
    lib = _library(3, 'q')
    r = run_vidx(['enqueue', lib, '--catalog', url2, '--count', '2'])
    check(r.rc == 0, r.describe())
    r = run_vidx(['worker', '--catalog', url2, '-o', out2, '--jobs', '1', '--progress', 'none'], timeout=300)
    check(r.rc == 0, r.describe())
    with Server(out2, ['--catalog', url2]) as s:
        o = s.json('/api/overview')
        q = o.get('queue') or {}
        f.check(q.get('counts', {}).get('done') == 3 and q.get('left') == 0, 'queue %s' % q)
        f.check(len(q.get('workers', [])) == 1 and q['workers'][0]['done'] == 3, 'workers %s' % q.get('workers'))
    f.raise_if_any()


def test_usage():
    f = Failures('usage')
    plain = common.new_out_dir('serve-plain')
    plain.mkdir()
    (plain / 'mine.txt').write_text('mine')
    for args, rc in ((['serve'], 2), (['serve', plain, '--listen', '127.0.0.1:0'], 12),
                     (['serve', plain, '--listen', 'nonsense'], 2), (['serve', plain, '--listen', '1.2.3.4:99999'], 2),
                     (['report', plain], 2), (['report', plain, '-o', plain / 'r.html'], 12),
                     (['serve', '--bogus'], 2)):
        r = run_vidx(args, timeout=20)
        f.check(r.rc == rc and not r.timed_out, '%s: %s' % (args, r.describe()))
    f.check(sorted(os.listdir(plain)) == ['mine.txt'], 'files added to a non-output: %s' % os.listdir(plain))
    for cmd in ('serve', 'report'):
        r = run_vidx([cmd, '--help'])
        f.check(r.rc == 0 and 'usage: vidx %s' % cmd in r.stdout, '%s --help' % cmd)
    f.raise_if_any()


def test_report():
    out = _run('report')
    dest = common.new_out_dir('serve-report')
    dest.mkdir()
    html_path = dest / 'report.html'
    r = run_vidx(['report', out, '-o', html_path, '--max-frames', '2'])
    check(r.rc == 0, r.describe())
    html = html_path.read_text()
    f = Failures('report')
    f.check('<meta name="generator" content="vidx report">' in html, 'no generator mark')
    f.check(re.search(r'<th>failed</th><td>2</td>', html) and re.search(r'<th>videos</th><td>5</td>', html),
            'counts missing')
    f.check(BROKEN in html and 'decod' in html and 'not_a_video.mp4' in html, 'failures missing')
    imgs = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', html)
    f.check(len(imgs) == 2 * len(CLIPS), 'inlined frames: %d' % len(imgs))
    f.check('capped: 2 of 6 frames shown' in html, 'the cap flag is missing')
    f.check('src="http' not in html and "src='/" not in html and 'src="/' not in html, 'not self-contained')
    import base64
    f.check(all(base64.b64decode(i)[:3] == b'\xff\xd8\xff' for i in imgs), 'an inlined frame is not a JPEG')
    r = run_vidx(['report', out, '-o', html_path, '--max-videos', '1'])  # its own report: replaced
    f.check(r.rc == 0 and 'capped: contact sheets of 1 of 5 videos' in html_path.read_text(), r.describe())
    f.check(sorted(os.listdir(dest)) == ['report.html'], 'left behind: %s' % os.listdir(dest))
    f.raise_if_any()


def test_report_user_files():
    out = _run('reportuser')
    dest = common.new_out_dir('serve-report-user')
    dest.mkdir()
    f = Failures('report user files')
    mine = dest / 'notes.html'
    mine.write_text('<html>my own notes</html>')
    other = dest / 'other.txt'
    other.write_text('unrelated')
    link = dest / 'link.html'
    os.symlink(other, link)
    sub = dest / 'dir.html'
    sub.mkdir()
    before = {p.name: (p.lstat().st_mtime_ns, p.read_bytes() if p.is_file() and not p.is_symlink() else None)
              for p in dest.iterdir()}
    for target in (mine, link, sub):
        r = run_vidx(['report', out, '-o', target])
        f.check(r.rc == 5 and 'not a vidx report' in r.stderr and str(target) in r.stderr,
                '%s: %s' % (target.name, r.describe()))
    after = {p.name: (p.lstat().st_mtime_ns, p.read_bytes() if p.is_file() and not p.is_symlink() else None)
             for p in dest.iterdir()}
    f.check(before == after, 'files changed: %s -> %s' % (before, after))
    f.check(other.read_text() == 'unrelated' and os.readlink(link) == str(other), 'link or its target changed')
    r = run_vidx(['report', out, '-o', dest / 'new.html'])
    f.check(r.rc == 0 and (dest / 'new.html').is_file(), r.describe())
    f.check(sorted(os.listdir(dest)) == ['dir.html', 'link.html', 'new.html', 'notes.html', 'other.txt'],
            'files: %s' % sorted(os.listdir(dest)))
    f.raise_if_any()
