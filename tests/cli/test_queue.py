"""The work queue: vidx enqueue and vidx worker against a real PostgreSQL (started by
scripts/test.sh on loopback, VIDX_TEST_PG), with real worker processes that the tests
kill, stop and restart.

What is checked, for every test, from the catalog (vidx export) and the disk:
  - every enqueued video is recorded exactly once, with its frames where the rows say;
  - nothing is left on disk that no row points at (no orphan file, no scratch);
  - the queue's own account (vidx status --json: "queue") agrees.
Fault tests: two of four workers kill -9'd repeatedly mid-video; PostgreSQL restarted
mid-run; a worker stopped (SIGSTOP) past its lease and then continued cannot commit; a
video that crashes every worker ends quarantined after --max-attempts claims; SIGTERM
hands back what a worker holds.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import common
from common import check, fail, Failures
from test_run import fixtures, vrun

LEASE = '3'  # seconds: short, so that the fault tests see leases run out quickly


def many():
    d = fixtures() / 'many'
    clips = sorted(d.glob('c*.mp4'))
    check(len(clips) == 20, 'fixture many/ should hold 20 clips, has %d' % len(clips))
    return clips


def export(out, url, table='videos'):
    r = vrun(['export', out, '--catalog', url, '--table', table])
    check(r.rc == 0, 'vidx export failed:\n  ' + r.describe())
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def status(out, url):
    r = vrun(['status', out, '--catalog', url, '--json'])
    check(r.rc in (0, 1), 'vidx status failed:\n  ' + r.describe())
    return json.loads(r.stdout)


def enqueue(url, inputs, *opts):
    r = vrun(['enqueue'] + [str(i) for i in inputs] + ['--catalog', url, '--json'] + list(opts))
    check(r.rc == 0, 'vidx enqueue failed:\n  ' + r.describe())
    return json.loads(r.stdout)


def start_worker(url, out, *opts, env=None):
    cmd = [str(common.vidx_bin()), 'worker', '--catalog', url, '-o', str(out), '--jobs', '1',
           '--lease', LEASE, '--poll', '0.2', '--progress', 'none'] + [str(o) for o in opts]
    e = dict(os.environ)
    e.pop('VIDX_FAULT', None)
    e.update(env or {})
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True, env=e)


def finish(p, timeout=180):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        fail('a worker did not finish within %d s; stderr:\n%s' % (timeout, err.decode()[-3000:]))
    return p.returncode, err.decode('utf-8', 'replace')


def orphans(out, url):
    """Files under OUT that no catalog row points at (vidx's own bookkeeping aside)."""
    refs = set()
    for f in export(out, url, 'frames'):
        if f.get('location'):
            refs.add(f['location'])
    for a in export(out, url, 'audio'):
        if a.get('path'):
            refs.add(a['path'])
    left = []
    for p in Path(out).rglob('*'):
        rel = str(p.relative_to(out))
        if p.is_dir():
            if rel.startswith('.scratch/') or (rel.startswith('frames/') and not any(p.iterdir())):
                left.append(rel + '/')
            continue
        if rel in ('.vidx-output', '.vidx-lock') or rel in refs:
            continue
        if rel.startswith('frames/') and p.name in ('manifest.jsonl', 'scenes.json', 'transcript.json',
                                                    'transcript.srt', 'transcript.vtt'):
            continue  # a video's own files beside its frames (like gc, by name)
        left.append(rel)
    return left


def check_exactly_once(out, url, clips, F, statuses=('ok',)):
    vids = export(out, url)
    paths = [v['path'] for v in vids]
    want = sorted(str(c.resolve()) for c in clips)
    F.check(sorted(paths) == want, 'videos recorded: %d rows for %d enqueued (missing %s, '
            'extra %s)' % (len(paths), len(want), sorted(set(want) - set(paths))[:3],
                           sorted(set(paths) - set(want))[:3]))
    F.check(len(paths) == len(set(paths)), 'a video is recorded twice')
    bad = [v for v in vids if v['status'] not in statuses]
    F.check(not bad, 'videos not %s: %s' % (statuses, [(v['path'], v['status'], v.get('error'))
                                                       for v in bad][:3]))
    frames = export(out, url, 'frames')
    for f in frames:
        if f.get('location') and f.get('offset', -1) in (-1, None):
            F.check((Path(out) / f['location']).is_file(), 'frame row points at a missing file '
                    + f['location'])
    left = orphans(out, url)
    F.check(not left, 'files no row points at: %s' % left[:10])
    return vids


def test_enqueue_idempotent_and_status():
    url = common.pg_database('q_enqueue')
    clips = many()[:5]
    a = enqueue(url, clips, '--count', '3')
    b = enqueue(url, clips + clips[:2], '--count', '3')
    F = Failures()
    F.check(a['added'] == 5 and a['videos'] == 5, 'first enqueue: %s' % a)
    F.check(b['added'] == 0 and b['videos'] == 5, 'enqueuing again added something: %s' % b)
    c = enqueue(url, clips[:1], '--count', '4')  # other options: another entry
    F.check(c['added'] == 1, 'the same video with other options is another job: %s' % c)
    out = common.new_out_dir('q_enqueue')
    r = vrun(['worker', '--catalog', url, '-o', out, '--jobs', '2', '--progress', 'none'])
    F.check(r.rc == 0, 'worker: ' + r.describe())
    st = status(out, url)
    q = st.get('queue', {})
    F.check(q.get('counts', {}).get('done') == 6, 'queue counts: %s' % q.get('counts'))
    F.check(len(q.get('workers', [])) == 1 and q['workers'][0]['done'] == 6,
            'workers: %s' % q.get('workers'))
    frames = export(out, url, 'frames')
    per = {}
    for f in frames:
        per[f['video']] = per.get(f['video'], 0) + 1
    F.check(sorted(per.values()) == [3, 3, 3, 3, 4] or sorted(per.values()) == [3, 3, 3, 3, 3],
            'frames per video: %s' % sorted(per.values()))
    F.raise_if_any()


def test_workers_match_local_run():
    """Two workers through the queue produce what one vidx run produces (the same frames,
    byte for byte: their SHA-256)."""
    url = common.pg_database('q_match')
    clips = many()[:8]
    enqueue(url, clips, '--fps', '2', '--md5')
    out = common.new_out_dir('q_match')
    ps = [start_worker(url, out) for _ in range(2)]
    for p in ps:
        rc, err = finish(p)
        check(rc == 0, 'worker exit %d:\n%s' % (rc, err[-2000:]))
    ref = common.new_out_dir('q_match_ref')
    r = vrun(['run'] + [str(c) for c in clips] + ['-o', ref, '--fps', '2', '--md5',
                                                  '--progress', 'none'])
    check(r.rc == 0, 'vidx run: ' + r.describe())
    F = Failures()
    check_exactly_once(out, url, clips, F)
    mine = sorted((f['time'], f['checksum']) for f in export(out, url, 'frames'))
    r = vrun(['export', ref, '--table', 'frames'])
    theirs = sorted((f['time'], f['checksum']) for f in map(json.loads, r.stdout.splitlines()))
    F.check(mine == theirs, 'frames differ from vidx run: %d vs %d rows' % (len(mine), len(theirs)))
    F.raise_if_any()


def test_kill9_two_of_four_workers():
    """4 workers; two of them are kill -9'd again and again mid-video and restarted."""
    url = common.pg_database('q_chaos')
    clips = many()
    enqueue(url, clips, '--fps', '25', '--format', 'png', '--audio', 'wav')
    out = common.new_out_dir('q_chaos')
    stable = [start_worker(url, out) for _ in range(2)]
    victims = [start_worker(url, out) for _ in range(2)]
    kills, rng, t0 = 0, random.Random(7), time.time()
    while any(p.poll() is None for p in stable) and time.time() - t0 < 120 and kills < 12:
        time.sleep(rng.uniform(0.3, 0.9))
        i = rng.randrange(2)
        if victims[i].poll() is None:
            os.killpg(victims[i].pid, signal.SIGKILL)
            victims[i].wait()
            kills += 1
        victims[i] = start_worker(url, out)
    for p in stable + victims:
        rc, err = finish(p)
        check(rc in (0, -9), 'worker exit %d:\n%s' % (rc, err[-2000:]))
    common.note('%d kill -9 of workers mid-run' % kills)
    F = Failures()
    check(kills >= 3, 'the test killed only %d workers: the run was too short' % kills)
    check_exactly_once(out, url, clips, F)
    q = status(out, url)['queue']
    F.check(q['counts']['done'] == len(clips) and q['counts']['queued'] == 0 and
            q['counts']['running'] == 0, 'queue counts: %s' % q['counts'])
    r = vrun(['verify', out, '--catalog', url])
    F.check(r.rc == 0, 'vidx verify: ' + r.describe())
    F.raise_if_any()


def test_lease_lost_cannot_commit():
    """A worker stopped past its lease cannot record the video another worker then did."""
    url = common.pg_database('q_stop')
    clip = many()[0]
    enqueue(url, [clip], '--fps', '25', '--format', 'png')
    out = common.new_out_dir('q_stop')
    a = start_worker(url, out, env={'VIDX_FAULT': 'slow=c00'})
    deadline = time.time() + 30
    while time.time() < deadline:
        q = status(out, url)['queue'] if (Path(out) / '.vidx-output').exists() else None
        if q and q['counts'].get('running') == 1:
            break
        time.sleep(0.1)
    else:
        fail('worker A never claimed the video')
    os.kill(a.pid, signal.SIGSTOP)  # the supervisor only: its child finishes the video
    time.sleep(float(LEASE) + 1.5)
    b = start_worker(url, out)
    rc_b, err_b = finish(b)
    os.kill(a.pid, signal.SIGCONT)
    rc_a, err_a = finish(a)
    F = Failures()
    F.check(rc_b == 0, 'worker B exit %d:\n%s' % (rc_b, err_b[-2000:]))
    F.check('declared dead' in err_a or 'lease lost' in err_a,
            'worker A did not say its claim was lost:\n%s' % err_a[-2000:])
    vids = check_exactly_once(out, url, [clip], F)
    rows = [v for v in vids]
    F.check(len(rows) == 1, 'rows: %s' % rows)
    q = status(out, url)['queue']
    F.check(q['counts']['done'] == 1, 'queue: %s' % q['counts'])
    F.raise_if_any()


def test_quarantine_after_max_attempts():
    url = common.pg_database('q_poison')
    clips = many()[:4]
    enqueue(url, clips, '--count', '2')
    out = common.new_out_dir('q_poison')
    env = {'VIDX_FAULT': 'crash=c02'}
    ps = [start_worker(url, out, '--max-attempts', '3', env=env) for _ in range(2)]
    rcs = [finish(p) for p in ps]
    F = Failures()
    F.check(all(rc in (0, 1) for rc, _ in rcs), 'worker exits: %s' % [rc for rc, _ in rcs])
    q = status(out, url)['queue']
    F.check(q['counts']['quarantined'] == 1 and q['counts']['done'] == 3,
            'queue counts: %s' % q['counts'])
    qu = q['quarantined']
    F.check(len(qu) == 1 and qu[0]['path'].endswith('c02.mp4') and qu[0]['attempts'] == 3 and
            'SIGSEGV' in (qu[0]['cause'] or ''), 'quarantined: %s' % qu)
    vids = {Path(v['path']).name: v for v in export(out, url)}
    F.check(vids.get('c02.mp4', {}).get('status') == 'crashed' and
            'quarantined after 3 attempts' in (vids['c02.mp4'].get('error') or ''),
            'catalog row of the poison video: %s' % vids.get('c02.mp4'))
    F.check(sum(v['status'] == 'ok' for v in vids.values()) == 3, 'ok videos: %s' % vids)
    F.raise_if_any()


def test_sigterm_hands_back():
    url = common.pg_database('q_term')
    clips = many()[:3]
    enqueue(url, clips, '--fps', '25', '--format', 'png')
    out = common.new_out_dir('q_term')
    p = start_worker(url, out, '--follow', env={'VIDX_FAULT': 'slow=c0'})
    deadline = time.time() + 30
    while time.time() < deadline:
        if (Path(out) / '.vidx-output').exists() and status(out, url)['queue']['counts']['running']:
            break
        time.sleep(0.1)
    p.send_signal(signal.SIGTERM)
    rc, err = finish(p, timeout=30)
    F = Failures()
    F.check(rc == 130, 'exit %d after SIGTERM (want 130):\n%s' % (rc, err[-1500:]))
    q = status(out, url)['queue']
    F.check(q['counts']['running'] == 0 and q['counts']['queued'] >= 1,
            'after SIGTERM: %s' % q['counts'])
    F.check(q['workers'][0]['state'] == 'gone', 'worker row: %s' % q['workers'])
    left = orphans(out, url)
    F.check(not left, 'left on disk: %s' % left)
    # A new worker finishes the job: every video exactly once.
    r = vrun(['worker', '--catalog', url, '-o', out, '--progress', 'none'])
    F.check(r.rc == 0, 'second worker: ' + r.describe())
    check_exactly_once(out, url, clips, F)
    F.raise_if_any()


def own_server():
    """A PostgreSQL of this test's own (scripts/services.sh): restarting it disturbs no
    other test. Returns (url of a database there, environment naming the server)."""
    if not os.environ.get('VIDX_TEST_PG') and os.environ.get('VIDX_TEST_NO_SERVICES') == '1':
        raise common.Skip('no PostgreSQL (VIDX_TEST_NO_SERVICES=1)')
    services = str(common.REPO / 'scripts' / 'services.sh')
    r = common.run(['bash', services, 'pg-start'], timeout=120)
    check(r.rc == 0, 'starting a PostgreSQL for this test failed:\n  ' + r.describe())
    env = dict(os.environ)
    for line in r.stdout.splitlines():
        if line.startswith('export '):
            k, v = line[len('export '):].split('=', 1)
            env[k] = v
    return env


def test_postgres_restart_mid_run():
    env = own_server()
    services = str(common.REPO / 'scripts' / 'services.sh')
    try:
        url = env['VIDX_TEST_PG']
        clips = many()
        enqueue(url, clips, '--fps', '25', '--format', 'png')
        out = common.new_out_dir('q_restart')
        ps = [start_worker(url, out, '--lease', '30') for _ in range(2)]
        deadline = time.time() + 60
        while time.time() < deadline:  # both joined and at work: the restart lands mid-run
            q = status(out, url).get('queue', {}) if (Path(out) / '.vidx-output').exists() else {}
            if sum(w['running'] > 0 for w in q.get('workers', [])) == 2:
                break
            time.sleep(0.05)
        else:
            fail('the two workers never both had videos running')
        for p in ps:  # held still while the server restarts, so neither can finish first
            os.killpg(p.pid, signal.SIGSTOP)
        r = common.run(['bash', services, 'pg-restart'], timeout=120, env=env)
        for p in ps:
            os.killpg(p.pid, signal.SIGCONT)
        check(r.rc == 0, 'restarting PostgreSQL failed:\n  ' + r.describe())
        errs = []
        for p in ps:
            rc, err = finish(p)
            check(rc == 0, 'worker exit %d after the restart:\n%s' % (rc, err[-2500:]))
            errs.append(err)
        F = Failures()
        F.check(all('reconnected' in e for e in errs), 'not every worker saw the restart (they '
                'finished first?):\n%s' % '\n'.join(e[-800:] for e in errs))
        check_exactly_once(out, url, clips, F)
        F.raise_if_any()
    finally:
        common.run(['bash', services, 'pg-stop'], timeout=120, env=env)


def test_shards_layout_per_worker():
    url = common.pg_database('q_shards')
    clips = many()[:10]
    enqueue(url, clips, '--fps', '5')
    out = common.new_out_dir('q_shards')
    ps = [start_worker(url, out, '--layout', 'shards', '--shard-samples', '7') for _ in range(2)]
    for p in ps:
        rc, err = finish(p)
        check(rc == 0, 'worker exit %d:\n%s' % (rc, err[-2000:]))
    F = Failures()
    check_exactly_once(out, url, clips, F)
    names = sorted(p.name for p in (Path(out) / 'shards').iterdir())
    F.check(names and all(n.startswith('w') and '-' in n and n.endswith('.tar') for n in names),
            'shard names are not per worker: %s' % names)
    r = vrun(['verify', out, '--catalog', url])
    F.check(r.rc == 0, 'vidx verify: ' + r.describe())
    F.raise_if_any()


def test_worker_safety():
    """A worker leaves unrelated files alone, refuses a folder that is not vidx's, and
    excludes (and is excluded by) a vidx run on the same OUT."""
    url = common.pg_database('q_safety')
    clips = many()[:2]
    enqueue(url, clips, '--count', '2')
    parent = common.new_out_dir('q_safety_parent')
    Path(parent).mkdir(parents=True, exist_ok=True)
    (Path(parent) / 'mine.txt').write_text('user data\n')
    theirs = Path(parent) / 'theirs'
    theirs.mkdir()
    (theirs / 'notes.txt').write_text('keep me\n')
    F = Failures()
    r = vrun(['worker', '--catalog', url, '-o', theirs, '--progress', 'none'])
    F.check(r.rc == 12, 'worker into a non-vidx folder: want exit 12, ' + r.describe())
    F.check(sorted(os.listdir(theirs)) == ['notes.txt'], 'the folder was touched: %s'
            % os.listdir(theirs))
    out = Path(parent) / 'out'
    r = vrun(['worker', '--catalog', url, '-o', out, '--progress', 'none'])
    F.check(r.rc == 0, 'worker: ' + r.describe())
    F.check((Path(parent) / 'mine.txt').read_text() == 'user data\n', 'user file changed')
    F.check((theirs / 'notes.txt').read_text() == 'keep me\n', 'user file changed')
    check_exactly_once(out, url, clips, F)
    F.raise_if_any()


def test_worker_needs_postgres():
    out = common.new_out_dir('q_nopg')
    r = vrun(['worker', '-o', out, '--progress', 'none'])
    F = Failures()
    F.check(r.rc == 2 and '--catalog' in r.stderr, 'worker without --catalog: ' + r.describe())
    r = vrun(['enqueue', str(many()[0])])
    F.check(r.rc == 2 and '--catalog' in r.stderr, 'enqueue without --catalog: ' + r.describe())
    r = vrun(['enqueue', str(many()[0]), '--catalog', 'postgresql://127.0.0.1:1/x', '--dedup-exact'])
    F.check(r.rc == 2 and 'dedup-exact' in r.stderr, 'enqueue --dedup-exact: ' + r.describe())
    for cmd in (['worker', '--help'], ['enqueue', '--help']):
        r = vrun(cmd)
        F.check(r.rc == 0 and 'usage: vidx' in r.stdout, ' '.join(cmd) + ': ' + r.describe())
    F.raise_if_any()


def test_worker_transcribes_with_its_recogniser():
    """Videos enqueued with --transcribe are transcribed by each worker's own recogniser
    (vidx worker --asr-url, --asr-chunk, ...; the loopback server of test_transcribe.py):
    the queue stores --transcribe but never the endpoint or its key (enqueue refuses the
    --asr-* options), the key comes from the worker's environment, is sent to the
    endpoint, and appears in no output, log or queue row."""
    from test_transcribe import KEY, Asr, make_audio
    url = common.pg_database('q_asr')
    clips = [make_audio('q_asr_%d' % i, '0.5*sin(2*PI*440*t)*lt(mod(t,2),1.5)', 4, ext='mp4',
                        video=True) for i in range(2)]
    F = Failures()
    with Asr() as asr:
        r = vrun(['enqueue'] + [str(c) for c in clips] + ['--catalog', url, '--count', '1',
                                                          '--transcribe', '--asr-url', asr.url])
        F.check(r.rc == 2 and 'vidx worker' in r.stderr, 'enqueue --asr-url: ' + r.describe())
        enqueue(url, clips, '--count', '1', '--transcribe')
        out = common.new_out_dir('q_asr')
        env = {k: v for k, v in os.environ.items() if k not in ('VIDX_ASR_KEY', 'OPENAI_API_KEY')}
        env['MY_ASR_TOKEN'] = KEY
        p = start_worker(url, out, '--asr-url', asr.url, '--asr-key-env', 'MY_ASR_TOKEN',
                         '--asr-chunk', '3', '--asr-retries', '1', env=env)
        try:
            so, se = p.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            so, se = p.communicate()
            fail('the worker did not finish within 180 s:\n%s' % se.decode()[-3000:])
        stdout, err, rc = so.decode('utf-8', 'replace'), se.decode('utf-8', 'replace'), p.returncode
    F.check(rc == 0, 'worker exit %d:\n%s' % (rc, err[-2000:]))
    F.check(not asr.problems, '; '.join(asr.problems))
    durs = [q[1] for q in asr.requests]
    # 4 s each, a 0.5 s pause every 2 s: chunks of <= 3 s, two per video
    F.check(len(durs) == 4 and all(d <= 3.0 for d in durs), 'requests: %r' % durs)
    F.check(all(q[3] == 'Bearer ' + KEY for q in asr.requests), 'the key was not sent')
    check_exactly_once(out, url, clips, F)
    segs = export(out, url, 'segments')
    F.check(len(segs) == 8 and sorted({s['video'] for s in segs}) == sorted(str(c) for c in clips),
            'segments: %r' % segs)
    F.check(KEY not in stdout + err, 'the key is in the worker\'s output')
    rows = common.pg_sql('SELECT settings FROM queue_options', url)
    F.check(KEY not in rows and asr.url not in rows and '"transcribe":"1"' in rows,
            'the queue\'s options: %s' % rows)
    logs = [p for p in Path(out).rglob('*') if p.is_file() and p.suffix in ('.log', '.json', '.jsonl')]
    F.check(not any(KEY in p.read_text(errors='replace') for p in logs), 'the key is in a file in OUT')
    F.raise_if_any()
