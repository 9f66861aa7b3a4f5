"""Frame labels (`--label-url URL`, issue 15): each kept frame, resized and JPEG-encoded,
goes to an OpenAI-compatible chat-completions endpoint as a base64 data URI. The endpoint
here is a real HTTP server on loopback, started by the test (http.server in a thread):
POST /v1/chat/completions checks the request (JSON body, model, the prompt, one image_url
part holding a data:image/jpeg;base64 URI whose JPEG is at most --label-size a side, the
Bearer key) and answers a caption derived from the image it received (its size and a
digest of its bytes), or a scripted failure: malformed JSON, a refusal, content that is
not the JSON asked for, 429 with Retry-After, 500, a stall past --label-timeout.
Every test checks that the key never appears in vidx's stdout or stderr, nor in OUT.

  labels_frames        vidx frames --label-jobs 1 with a script (ok, 429 then ok, 500
                       then ok, refusal, malformed body, prose instead of JSON):
                       labels.json has the three labels for the images really sent and
                       the three frames' errors; the retry after 429 waited Retry-After
  labels_run           vidx run: labels in the catalog (vidx export --table labels,
                       joined with the frames), vidx status counts them; a second run
                       skips the video; the key is nowhere in OUT
  labels_merge         two runs with --label-url merged by vidx merge: the merged catalog's
                       labels table holds exactly the parts' rows (and labels.json came along)
  labels_concurrency   --label-jobs 3 with slow answers: never more than 3 requests in
                       flight, and more than one at once
  labels_stall         an answer that never comes, --label-timeout 1 --label-retries 0:
                       vidx frames exits 3 naming the URL and the timeout; vidx run
                       records the video as failed (class timeout)
  labels_resume        a run again with another --label-prompt, --label-model or
                       --label-size redoes the video (new requests with the new prompt);
                       another --label-url, --label-jobs, --label-timeout does not
  labels_queue         vidx enqueue --label --label-prompt P, then vidx worker
                       --label-url: the labels in the PostgreSQL catalog, asked with P; a
                       worker without --label-url refuses the set (exit 2, nothing done)
  labels_report        vidx report shows each frame's caption and tags, and a failed
                       label's reason, HTML-escaped
  labels_usage         --label-* without --label-url, a non-HTTP URL, a bad --label-jobs:
                       exit 2, nothing written; vidx enqueue --label-url (the endpoint is
                       each worker's) and --label-prompt without --label: exit 2
  labels_schema_upgrade a schema-4 or -5 catalog: status reads it; a labelling run upgrades it
"""
import base64
import hashlib
import json
import os
import subprocess
import threading
import time

from common import FFMPEG, Failures, catalog_schema, check, fail, new_out_dir, run, vidx_bin
from endpoint import Endpoint

KEY = 'sk-label-3b9f1c7e2a5d4e8f9c01'
PATH = '/v1/chat/completions'
PREFIX = 'data:image/jpeg;base64,'


def jpeg_size(data):
    """(width, height) from a baseline/progressive JPEG's SOF marker."""
    if data[:2] != b'\xff\xd8':
        raise ValueError('not a JPEG')
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise ValueError('bad JPEG marker at %d' % i)
        m, n = data[i + 1], int.from_bytes(data[i + 2:i + 4], 'big')
        if m in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 7:i + 9], 'big'), int.from_bytes(data[i + 5:i + 7], 'big')
        i += 2 + n
    raise ValueError('no SOF marker')


def caption_for(jpeg):
    w, h = jpeg_size(jpeg)
    return 'a %dx%d frame %s' % (w, h, hashlib.sha1(jpeg).hexdigest()[:8])


class Vlm(Endpoint):
    """The server; `script` is a list of modes used one per request (then 'ok')."""

    def __init__(self, script=(), key=KEY, prompt=None, max_side=512, delay=0.0):
        self.script = list(script)
        self.key, self.prompt, self.max_side, self.delay = key, prompt, max_side, delay
        self.requests = []  # (arrival time, mode, caption or None)
        self.problems = []
        self.lock = threading.Lock()
        self.inflight = self.max_inflight = 0
        Endpoint.__init__(self)

    def check_request(self, h, body):
        if h.path != PATH:
            raise ValueError('path %s' % h.path)
        if not (h.headers.get('Content-Type') or '').startswith('application/json'):
            raise ValueError('Content-Type %r' % h.headers.get('Content-Type'))
        req = json.loads(body)
        msgs = req['messages']
        if len(msgs) != 1 or msgs[0]['role'] != 'user':
            raise ValueError('messages %r' % msgs)
        parts = {p['type']: p for p in msgs[0]['content']}
        text = parts['text']['text']
        if self.prompt is not None and text != self.prompt:
            raise ValueError('prompt %r' % text)
        if 'caption' not in text or 'tags' not in text:
            raise ValueError('the default prompt does not ask for caption and tags: %r' % text)
        uri = parts['image_url']['image_url']['url']
        if not uri.startswith(PREFIX):
            raise ValueError('image is not a JPEG data URI: %r' % uri[:40])
        jpeg = base64.b64decode(uri[len(PREFIX):], validate=True)
        w, h_ = jpeg_size(jpeg)
        if max(w, h_) > self.max_side:
            raise ValueError('image %dx%d larger than %d' % (w, h_, self.max_side))
        return req, jpeg

    def handle(self, h):
        body = h.rfile.read(int(h.headers.get('Content-Length', 0)))
        with self.lock:
            mode = self.script.pop(0) if self.script else 'ok'
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            h.vlm_counted = True
        try:
            self._handle(h, body, mode)
        finally:
            self._not_in_flight(h)

    def _not_in_flight(self, h):
        # before the answer's bytes go out: once the client has them it may send its next
        # request, which must not find this one still counted
        with self.lock:
            if getattr(h, 'vlm_counted', False):
                h.vlm_counted = False
                self.inflight -= 1

    def reply(self, h, status, body, headers=()):
        self._not_in_flight(h)
        return Endpoint.reply(h, status, body, headers)

    def _handle(self, h, body, mode):
        try:
            req, jpeg = self.check_request(h, body)
        except Exception as e:  # noqa: BLE001 - reported to the test
            self.problems.append('bad request: %r' % e)
            return self.reply(h, 400, {'error': str(e)})
        cap = caption_for(jpeg)
        self.requests.append((time.monotonic(), mode, cap))
        if self.key and h.headers.get('Authorization') != 'Bearer ' + self.key:
            return self.reply(h, 401, {'error': 'bad key'})
        if self.delay:
            time.sleep(self.delay)
        model = req.get('model')
        if mode == 'ok':
            content = '```json\n' + json.dumps({'caption': cap, 'tags': ['test', 'frame', 7]}) + '\n```'
            return self.reply(h, 200, {'id': 'x', 'object': 'chat.completion', 'model': 'served-' + model,
                                       'choices': [{'index': 0, 'finish_reason': 'stop',
                                                    'message': {'role': 'assistant', 'content': content}}]})
        if mode == 'refusal':
            return self.reply(h, 200, {'model': model, 'choices': [{'index': 0, 'finish_reason': 'stop',
                              'message': {'role': 'assistant', 'content': None,
                                          'refusal': "I can't help with that."}}]})
        if mode == 'prose':
            return self.reply(h, 200, {'model': model, 'choices': [{'index': 0, 'finish_reason': 'stop',
                              'message': {'role': 'assistant', 'content': 'Sure! It shows a test card.'}}]})
        if mode == 'malformed':
            return self.reply(h, 200, b'{"choices": [{"message": {"content": "{\\"caption')
        if mode == '429':
            return self.reply(h, 429, {'error': 'slow down'}, [('Retry-After', '1')])
        if mode == '500':
            return self.reply(h, 500, {'error': 'overloaded %s' % KEY})
        if mode == 'stall':
            self.release.wait(30)
            return None
        raise AssertionError(mode)


def make_video(tag, seconds=3, size='320x240'):
    out = new_out_dir(tag)
    out.mkdir(parents=True)
    path = out / 'in.mp4'
    r = subprocess.run([FFMPEG, '-nostdin', '-v', 'error', '-f', 'lavfi', '-i',
                        'testsrc=size=%s:rate=10:duration=%g' % (size, seconds), '-c:v', 'mpeg4',
                        '-y', str(path)], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail('ffmpeg: %s' % r.stderr[-1000:])
    return path


def _env(key=KEY):
    env = {k: v for k, v in os.environ.items() if k not in ('VIDX_LABEL_KEY', 'OPENAI_API_KEY')}
    if key:
        env['VIDX_LABEL_KEY'] = key
    return env


def vidx(args, timeout=120):
    r = run([vidx_bin()] + [str(a) for a in args], env=_env(), timeout=timeout)
    check(not r.timed_out, 'vidx hung: %s' % r.describe())
    check(KEY not in r.stdout and KEY not in r.stderr, 'the API key leaked: %s' % r.describe())
    return r


def key_nowhere(F, out):
    for p in out.rglob('*'):
        if p.is_file():
            F.check(KEY.encode() not in p.read_bytes(), 'the API key is in %s' % p)


def test_labels_frames():
    src = make_video('labels_frames')
    out = src.parent / 'out'
    F = Failures('frames --label-url')
    script = ['ok', '429', 'ok', '500', 'ok', 'refusal', 'malformed', 'prose']
    with Vlm(script, max_side=128) as vlm:
        r = vidx(['frames', src, '-o', out, '--count', 6, '--label-url', vlm.url, '--label-jobs', 1,
                  '--label-size', 128, '--label-model', 'm1'])
    F.check(r.rc == 0, r.describe())
    F.check(not vlm.problems, '; '.join(vlm.problems))
    F.check([q[1] for q in vlm.requests] == script, 'requests: %r' % [q[1] for q in vlm.requests])
    if len(vlm.requests) == len(script):
        waited = vlm.requests[2][0] - vlm.requests[1][0]
        F.check(waited >= 0.9, 'the retry after 429 (Retry-After: 1) came %.2f s later' % waited)
    try:
        labels = json.loads((out / 'labels.json').read_text())['labels']
    except (OSError, ValueError, KeyError) as e:
        F.add('labels.json: %r' % e)
        F.raise_if_any()
    manifest = [json.loads(l) for l in (out / 'manifest.jsonl').read_text().splitlines()]
    F.check([x['frame'] for x in labels] == list(range(6)), 'labelled frames: %r' % labels)
    sent = [q[2] for q in vlm.requests if q[1] == 'ok']
    for i, x in enumerate(labels[:3]):
        F.check(x.get('caption') == sent[i] and x.get('tags') == ['test', 'frame'] and
                x.get('model') == 'served-m1' and 'error' not in x and x.get('latency', -1) > 0,
                'frame %d: %r (sent %s)' % (i, x, sent[i]))
        F.check(sent[i].startswith('a 128x96 '), 'image sent for a 320x240 frame: %s' % sent[i])
    for i, x in enumerate(labels):
        F.check(x.get('file') == manifest[i].get('path') and x.get('index') == manifest[i]['index'],
                'frame %d: %r against the manifest %r' % (i, x, manifest[i]))
    errors = [x.get('error', '') for x in labels[3:]]
    F.check(len(errors) == 3 and errors[0].startswith('refused') and "can't help" in errors[0] and
            errors[1].startswith('malformed') and errors[2].startswith('malformed') and
            'test card' in errors[2] and all('caption' not in x for x in labels[3:]),
            'errors: %r' % labels[3:])
    key_nowhere(F, out)
    F.raise_if_any()


def test_labels_run():
    src = make_video('labels_run', seconds=2)
    out = src.parent / 'out'
    F = Failures('run --label-url')
    with Vlm() as vlm:
        r = vidx(['run', src, '-o', out, '--count', 3, '--label-url', vlm.url])
        again = vidx(['run', src, '-o', out, '--count', 3, '--label-url', vlm.url])
    F.check(r.rc == 0 and again.rc == 0, 'run: %s\nagain: %s' % (r.describe(), again.describe()))
    F.check(not vlm.problems, '; '.join(vlm.problems))
    F.check(len(vlm.requests) == 3, 'requests: %d (the second run must skip the video)' % len(vlm.requests))
    e = vidx(['export', out, '--table', 'labels'])
    rows = [json.loads(l) for l in e.stdout.splitlines()]
    fr = vidx(['export', out, '--table', 'frames'])
    frames = [json.loads(l) for l in fr.stdout.splitlines()]
    F.check(e.rc == 0 and len(rows) == 3, 'labels: %s' % e.describe())
    caps = sorted(q[2] for q in vlm.requests)
    F.check(sorted(x['caption'] for x in rows) == caps, 'captions %r, sent %r' % (rows, caps))
    for x, f in zip(rows, frames):
        F.check(x['seq'] == f['seq'] and x['index'] == f['index'] and x['location'] == f['location']
                and json.loads(x['tags']) == ['test', 'frame'] and x['model'] == 'served-default'
                and x['error'] is None and x['latency'] > 0, 'row %r, frame %r' % (x, f))
    s = vidx(['status', out, '--json'])
    st = json.loads(s.stdout) if s.rc == 0 else {}
    F.check(st.get('labels') == {'frames': 3, 'failed': 0}, 'status: %s' % s.describe())
    t = vidx(['status', out])
    F.check('labels: 3 frames, 0 failed' in t.stdout, 'status text: %s' % t.stdout)
    key_nowhere(F, out)
    F.raise_if_any()


def test_labels_merge():
    a_src = make_video('labels_merge_a', seconds=2)
    b_src = make_video('labels_merge_b', seconds=3, size='160x120')
    d = a_src.parent
    parts = [d / 'part_a', d / 'part_b']
    merged = d / 'merged'
    F = Failures('merge with labels')
    with Vlm(['ok', 'refusal', 'ok', 'ok', 'ok']) as vlm:
        ra = vidx(['run', a_src, '-o', parts[0], '--count', 2, '--label-url', vlm.url,
                   '--label-jobs', 1])
        rb = vidx(['run', b_src, '-o', parts[1], '--count', 3, '--label-url', vlm.url,
                   '--label-jobs', 1])
    F.check(ra.rc == 0 and rb.rc == 0, 'part a: %s\npart b: %s' % (ra.describe(), rb.describe()))
    F.raise_if_any()
    keep = ('video', 'seq', 'index', 'time', 'caption', 'tags', 'model', 'latency', 'error')

    def rows(out):
        e = vidx(['export', out, '--table', 'labels'])
        F.check(e.rc == 0, 'export %s: %s' % (out, e.describe()))
        return sorted((tuple(json.loads(l).get(k) for k in keep)
                       for l in e.stdout.splitlines()), key=repr)

    want = rows(parts[0]) + rows(parts[1])
    F.check(len(want) == 5 and sum(1 for x in want if x[-1]) == 1,
            'the parts\' labels: %r' % want)
    m = vidx(['merge', '-o', merged, *parts])
    F.check(m.rc == 0, m.describe())
    got = rows(merged)
    F.check(got == sorted(want, key=repr), 'merged labels %r, parts %r' % (got, want))
    s = vidx(['status', merged, '--json'])
    st = json.loads(s.stdout) if s.rc == 0 else {}
    F.check(st.get('labels') == {'frames': 5, 'failed': 1}, 'status: %s' % s.describe())
    F.check(len(list(merged.glob('frames/*/labels.json'))) == 2,
            'labels.json files: %r' % list(merged.rglob('labels.json')))
    key_nowhere(F, merged)
    F.raise_if_any()


def test_labels_concurrency():
    src = make_video('labels_conc', seconds=2)
    out = src.parent / 'out'
    with Vlm(delay=0.4) as vlm:
        r = vidx(['frames', src, '-o', out, '--count', 9, '--label-url', vlm.url, '--label-jobs', 3])
    check(r.rc == 0 and not vlm.problems, '%s %s' % (r.describe(), vlm.problems))
    check(len(vlm.requests) == 9, 'requests: %d' % len(vlm.requests))
    check(2 <= vlm.max_inflight <= 3, 'at most 3 requests at once, more than one: %d' % vlm.max_inflight)


def test_labels_stall():
    src = make_video('labels_stall', seconds=1)
    F = Failures('label stall')
    with Vlm(['stall'] * 8) as vlm:
        r = vidx(['frames', src, '-o', src.parent / 'out', '--count', 2, '--label-url', vlm.url,
                  '--label-timeout', 1, '--label-retries', 0])
        out = src.parent / 'runout'
        rr = vidx(['run', src, '-o', out, '--count', 2, '--label-url', vlm.url,
                   '--label-timeout', 1, '--label-retries', 0])
    F.check(r.rc == 3 and vlm.url in r.stderr and 'no answer within 1 s' in r.stderr,
            'frames: %s' % r.describe())
    F.check(rr.rc == 1, 'run: %s' % rr.describe())
    v = vidx(['export', out])
    rows = [json.loads(l) for l in v.stdout.splitlines()]
    F.check(len(rows) == 1 and rows[0]['status'] == 'failed' and rows[0]['error_class'] == 'timeout',
            'videos: %r' % rows)
    F.raise_if_any()


def test_labels_usage():
    src = make_video('labels_usage', seconds=1)
    F = Failures('label usage')
    for i, extra in enumerate((['--label-prompt', 'x'], ['--label-url', 'ftp://127.0.0.1/'],
                               ['--label-url', 'http://127.0.0.1:9', '--label-jobs', 0],
                               ['--label-url', 'http://127.0.0.1:9', '--label-size', 8])):
        for cmd in ('frames', 'run'):
            out = src.parent / ('out%d%s' % (i, cmd))
            r = vidx([cmd, src, '-o', out, '--count', 1] + extra)
            F.check(r.rc == 2 and not out.exists(), '%s %s: %s' % (cmd, extra, r.describe()))
    for extra in (['--label-url', 'http://127.0.0.1:9'], ['--label', '--label-jobs', 2],
                  ['--label-prompt', 'x']):
        r = vidx(['enqueue', src, '--catalog', 'postgresql://127.0.0.1:1/x'] + extra)
        F.check(r.rc == 2 and '--label' in r.stderr, 'enqueue %s: %s' % (extra, r.describe()))
    F.raise_if_any()


def test_labels_schema_upgrade():
    """A catalog of schema 4 (before videos.device and labels) or 5 (before labels): vidx
    status reads it as it is (no labels table, no labels shown); the next run with
    --label-url upgrades it to 6 and records."""
    import sqlite3
    F = Failures('schema 4/5 -> now')
    want = str(catalog_schema())
    for old in (4, 5):
        src = make_video('labels_schema%d' % old, seconds=1)
        out = src.parent / 'out'
        r = vidx(['run', src, '-o', out, '--count', 2])
        F.check(r.rc == 0, r.describe())
        con = sqlite3.connect(str(out / 'catalog.db'))
        with con:
            con.execute('DROP TABLE labels')
            if old < 5:
                con.execute('ALTER TABLE videos DROP COLUMN device')
            con.execute("UPDATE meta SET value=? WHERE key='schema'", (str(old),))
        con.close()
        s = vidx(['status', out, '--json'])
        F.check(s.rc == 0 and 'labels' not in json.loads(s.stdout or '{}'),
                'schema %d: status: %s' % (old, s.describe()))
        with Vlm() as vlm:
            r = vidx(['run', src, '-o', out, '--count', 2, '--label-url', vlm.url])
        F.check(r.rc == 0 and len(vlm.requests) == 2,
                'schema %d: run: %s, %d requests' % (old, r.describe(), len(vlm.requests)))
        con = sqlite3.connect(str(out / 'catalog.db'))
        schema = con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        n = con.execute('SELECT count(*) FROM labels WHERE caption IS NOT NULL').fetchone()
        con.close()
        F.check(schema == (want,) and n == (2,), 'from %d: schema %r, labels %r' % (old, schema, n))
    F.raise_if_any()


def test_labels_resume():
    src = make_video('labels_resume', seconds=2)
    out = src.parent / 'out'
    F = Failures('label options and resume')
    prompt = ('Describe this frame for a search index in one sentence; give a caption and '
              'tags as JSON: {"caption": "...", "tags": ["..."]}')
    # (extra options, is the video redone)
    steps = [([], True), ([], False), (['--label-prompt', prompt], True),
             (['--label-prompt', prompt, '--label-jobs', 1, '--label-timeout', 30,
               '--label-retries', 1], False),
             (['--label-prompt', prompt, '--label-model', 'other'], True),
             (['--label-prompt', prompt, '--label-model', 'other', '--label-size', 128], True)]
    for extra, redone in steps:
        given = dict(zip(extra[::2], extra[1::2]))
        with Vlm(prompt=given.get('--label-prompt'), max_side=int(given.get('--label-size', 512))) as vlm:
            r = vidx(['run', src, '-o', out, '--count', 2, '--label-url', vlm.url] + extra)
        F.check(r.rc == 0 and not vlm.problems, '%s: %s %s' % (extra, r.describe(), vlm.problems))
        F.check(len(vlm.requests) == (2 if redone else 0),
                '%s: %d requests, the video should %sbe redone' %
                (extra, len(vlm.requests), '' if redone else 'not '))
    e = vidx(['export', out, '--table', 'labels'])
    rows = [json.loads(l) for l in e.stdout.splitlines()]
    F.check(len(rows) == 2 and all(x['model'] == 'served-other' and x['caption'].startswith('a 128x')
                                   for x in rows), 'labels after the last run: %r' % rows)
    key_nowhere(F, out)
    F.raise_if_any()


def test_labels_queue():
    import common
    url = common.pg_database('q_labels')
    src = make_video('labels_queue', seconds=2)
    out = src.parent / 'out'
    F = Failures('labels through the work queue')
    prompt = 'Caption this frame and list tags, as JSON with keys caption and tags.'
    r = vidx(['enqueue', src, '--catalog', url, '--count', 3, '--label', '--label-prompt', prompt,
              '--label-size', 200])
    F.check(r.rc == 0, 'enqueue: %s' % r.describe())
    w = vidx(['worker', '--catalog', url, '-o', out, '--progress', 'none'])
    F.check(w.rc == 2 and 'label-url' in w.stderr, 'a worker without --label-url: %s' % w.describe())
    with Vlm(prompt=prompt, max_side=200) as vlm:
        w = vidx(['worker', '--catalog', url, '-o', out, '--progress', 'none', '--label-url', vlm.url,
                  '--label-jobs', 2])
    F.check(w.rc == 0 and not vlm.problems, 'worker: %s %s' % (w.describe(), vlm.problems))
    F.check(len(vlm.requests) == 3, 'requests: %d' % len(vlm.requests))
    e = vidx(['export', out, '--catalog', url, '--table', 'labels'])
    rows = [json.loads(l) for l in e.stdout.splitlines()]
    F.check(e.rc == 0 and sorted(x['caption'] for x in rows) == sorted(q[2] for q in vlm.requests)
            and all(x['caption'].startswith('a 200x') for x in rows), 'labels: %s %r' % (e.describe(), rows))
    key_nowhere(F, out)
    F.raise_if_any()


def test_labels_report():
    src = make_video('labels_report', seconds=2)
    out = src.parent / 'out'
    page = src.parent / 'report.html'
    F = Failures('report with labels')
    with Vlm(['ok', 'refusal', 'ok']) as vlm:
        r = vidx(['run', src, '-o', out, '--count', 3, '--label-url', vlm.url, '--label-jobs', 1])
    F.check(r.rc == 0, r.describe())
    rep = vidx(['report', out, '-o', page])
    F.check(rep.rc == 0, rep.describe())
    html = page.read_text() if page.exists() else ''
    caps = [q[2] for q in vlm.requests if q[1] == 'ok']
    F.check(len(caps) == 2 and all(c in html for c in caps), 'captions %r not in the report' % caps)
    F.check(html.count('<div class=tags>test, frame</div>') == 2, 'tags not shown as expected')
    F.check('no label: refused: I can&#39;t help with that.' in html or
            'no label: refused' in html and '&#39;' in html, 'the refusal is not shown escaped')
    F.check("can't help" not in html, 'the refusal is not HTML-escaped')
    F.raise_if_any()
