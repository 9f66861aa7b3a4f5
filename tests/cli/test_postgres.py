"""End-to-end: the PostgreSQL catalog (`--catalog postgresql://...`, issue 10 item 1).

Every test runs against the throwaway server scripts/services.sh starts (VIDX_TEST_PG;
scripts/test.sh starts it), each in a fresh database. Without it they fail, unless
VIDX_TEST_NO_SERVICES=1 (then they skip).

  same_as_sqlite       run/status/export/verify/du/gc give what SQLite gives on the same inputs
  resume               a second run skips what is done
  repair_gc            verify --repair and gc with a PostgreSQL catalog; user files untouched
  binding              OUT and its catalog belong together: every mismatch refused, exit 2
  bad_server           wrong password / unreachable server: exit 10, no password printed
  restart_mid_run      the server restarted under `vidx run --jobs 2`: every video ok once
"""
import fcntl
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import common
from common import Failures, check, fail, note, run_vidx

SERVICES = common.REPO / 'scripts' / 'services.sh'
VOLATILE = ('id', 'started_at', 'seconds')  # differ between any two runs


def _library(n, seconds, size, tag):
    """n short clips with audio (each its own content), made once and cached."""
    root = common.cache_root()
    final = root / ('pg-lib-%s-%d-%s-%s' % (tag, n, seconds, size))
    with open(str(final) + '.lock', 'w') as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        if not (final / '.complete').is_file():
            tmp = Path(tempfile.mkdtemp(prefix='pg-lib-tmp-', dir=root))
            for i in range(n):
                r = subprocess.run(
                    [common.FFMPEG, '-v', 'error', '-f', 'lavfi', '-i',
                     'testsrc=duration=%s:size=%s:rate=25' % (seconds, size), '-f', 'lavfi', '-i',
                     'sine=frequency=%d:duration=%s' % (300 + 20 * i, seconds), '-vf',
                     'hue=h=%d' % (i * 11), '-c:v', 'mpeg4', '-g', '12', '-c:a', 'aac',
                     '-shortest', str(tmp / ('clip%02d.mp4' % i))],
                    capture_output=True, text=True, timeout=120)
                if r.returncode != 0:
                    fail('generating the library: %s' % r.stderr[-2000:])
            (tmp / '.complete').write_text('')
            if final.exists():
                subprocess.run(['rm', '-rf', str(final)])
            os.rename(tmp, final)
    return final


def _clips(lib):
    return sorted(str(p) for p in lib.glob('clip*.mp4'))


def _export(out, table, catalog=None):
    args = ['export', out, '--table', table] + (['--catalog', catalog] if catalog else [])
    res = run_vidx(args)
    check(res.rc == 0, 'export %s\n%s' % (table, res.describe()))
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    for r in rows:
        for k in VOLATILE:
            r.pop(k, None)
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def _json(args):
    res = run_vidx(args + ['--json'])
    check(res.rc in (0, 1), '%s\n%s' % (args, res.describe()))
    return res.rc, json.loads(res.stdout)


def _tree(d):
    """Every file under d with its size and mtime (what 'nothing touched' compares)."""
    d = Path(d)
    return {str(p.relative_to(d)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(d.rglob('*')) if p.is_file() or p.is_symlink()}


def _run(inputs, out, catalog=None, extra=()):
    args = ['run'] + list(inputs) + ['-o', out, '--count', '3', '--size', '96', '--audio', 'wav',
                                      '--progress', 'none'] + list(extra)
    return run_vidx(args + (['--catalog', catalog] if catalog else []), timeout=300)


def test_same_as_sqlite():
    lib = _library(6, 1, '160x120', 'small')
    url = common.pg_database('same')
    sq, pg = common.new_out_dir('pg_same_sqlite'), common.new_out_dir('pg_same_pg')
    F = Failures('PostgreSQL vs SQLite')
    for out, cat in ((sq, None), (pg, url)):
        res = _run(_clips(lib), out, cat)
        check(res.rc == 0, res.describe())
    for table in ('videos', 'frames', 'audio'):
        a, b = _export(sq, table), _export(pg, table, url)
        F.check(len(a) > 0, 'export %s: no rows' % table)
        F.check(a == b, 'export %s differs:\n  sqlite %s\n  pg     %s' % (table, a[:2], b[:2]))
    csv_a = run_vidx(['export', sq, '--table', 'frames', '--format', 'csv']).stdout
    csv_b = run_vidx(['export', pg, '--table', 'frames', '--format', 'csv', '--catalog', url]).stdout
    F.check(csv_a.splitlines()[0] == csv_b.splitlines()[0], 'csv headers differ')
    F.check(sorted(csv_a.splitlines()) == sorted(csv_b.splitlines()), 'csv frames differ')
    _, sa = _json(['status', sq])
    _, sb = _json(['status', pg, '--catalog', url])
    F.check(sa == sb, 'status differs: %s / %s' % (sa, sb))
    # "postgresql:" alone: the server, database and user from libpq's PG* variables
    host, port = url.split('@', 1)[1].split('/', 1)[0].rsplit(':', 1)
    env = dict(os.environ, PGHOST=host, PGPORT=port, PGDATABASE=url.rsplit('/', 1)[1],
               PGUSER=url.split('//', 1)[1].split('@', 1)[0])
    res = common.run([common.vidx_bin(), 'status', pg, '--json', '--catalog', 'postgresql:'],
                     env=env)
    F.check(res.rc == 0 and json.loads(res.stdout or 'null') == sb,
            'status with PG* variables: %s' % res.describe())
    va, vb = _json(['verify', sq]), _json(['verify', pg, '--catalog', url])
    F.check(va == vb and va[0] == 0, 'verify differs: %s / %s' % (va, vb))
    _, da = _json(['du', sq])
    _, db = _json(['du', pg, '--catalog', url])
    F.check(da['frames'] == db['frames'] and da['audio'] == db['audio'],
            'du differs: %s / %s' % (da, db))
    F.check(db['catalog']['files'] == 0, 'a PostgreSQL OUT holds catalog files: %s' % db)
    _, ga = _json(['gc', sq])
    _, gb = _json(['gc', pg, '--catalog', url])
    F.check(ga['removed'] == gb['removed'] == 0, 'gc removed files: %s / %s' % (ga, gb))
    F.check(not (Path(pg) / 'catalog.db').exists(), 'a PostgreSQL run made catalog.db')
    marker = json.loads((Path(pg) / '.vidx-output').read_text())
    F.check(marker.get('catalog') == 'postgresql' and len(marker.get('id', '')) == 32,
            'marker: %s' % marker)
    F.check(url.split('/')[-1] not in json.dumps(marker), 'the marker names the URL')
    F.raise_if_any()


def test_resume():
    lib = _library(6, 1, '160x120', 'small')
    url = common.pg_database('resume')
    out = common.new_out_dir('pg_resume')
    check(_run(_clips(lib), out, url).rc == 0, 'first run')
    before = _tree(Path(out) / 'frames')
    res = _run(_clips(lib), out, url)
    check(res.rc == 0, res.describe())
    check('6 skipped' in res.stderr, 'the second run redid work:\n' + res.stderr)
    check(_tree(Path(out) / 'frames') == before, 'the second run touched the frames')
    rows = _export(out, 'videos', url)
    check(all(r['attempts'] == 1 and r['status'] == 'ok' for r in rows) and len(rows) == 6,
          'videos after resume: %s' % rows)


def test_repair_gc():
    lib = _library(6, 1, '160x120', 'small')
    url = common.pg_database('repair')
    parent = common.new_out_dir('pg_repair')
    parent.mkdir(parents=True)
    out = parent / 'out'
    (parent / 'mine.txt').write_text('user data beside OUT')
    check(_run(_clips(lib), out, url).rc == 0, 'first run')
    (out / 'notes.txt').write_text('user data inside OUT')
    (out / 'frames' / 'mine.jpg').write_text('not vidx made')
    frames = _export(out, 'frames', url)
    victim = frames[0]
    (out / victim['location']).unlink()
    rc, rep = _json(['verify', out, '--catalog', url])
    check(rc == 1 and rep.get('problems', len(rep.get('list', [1]))) != 0, 'verify: %s' % rep)
    rc, rep = _json(['verify', out, '--catalog', url, '--repair'])
    check(rc == 1, 'verify --repair exit %s' % rc)
    left = [r for r in _export(out, 'videos', url) if r['path'] == victim['video']]
    check(not left, 'verify --repair kept the damaged video: %s' % left)
    orphan = out / 'frames' / ('gone.mp4-%s' % ('0123456789abcdef')) / '000000_0ms.jpg'
    orphan.parent.mkdir()
    orphan.write_bytes(b'left by an abandoned run')  # a name vidx makes, no row points at it
    rc, rep = _json(['gc', out, '--catalog', url])
    check(rc == 0 and any('gone.mp4' in f for f in rep['files']) and not orphan.exists(),
          'gc did not remove the orphan: %s' % rep)
    check(all(not f.startswith('frames/mine') for f in rep['files']), 'gc removed a user file')
    res = _run(_clips(lib), out, url)
    check(res.rc == 0 and '5 skipped' in res.stderr, 'the rerun did not redo one video:\n' +
          res.stderr)
    rc, rep = _json(['verify', out, '--catalog', url])
    check(rc == 0, 'verify after the rerun: %s' % rep)
    check((parent / 'mine.txt').read_text() == 'user data beside OUT', 'file beside OUT changed')
    check((out / 'notes.txt').read_text() == 'user data inside OUT', 'file in OUT changed')
    check((out / 'frames' / 'mine.jpg').read_text() == 'not vidx made', 'user frame file changed')


def _refused(args, out, what, F, code=2):
    before = _tree(out)
    res = run_vidx(args)
    F.check(res.rc == code, '%s: exit %s, expected %s\n  %s' % (what, res.rc, code, res.describe()))
    F.check('refused' in res.stderr and str(out) in res.stderr,
            '%s: no clear refusal naming OUT: %r' % (what, res.stderr))
    F.check(_tree(out) == before, '%s: OUT was touched' % what)


def test_binding():
    lib = _library(6, 1, '160x120', 'small')
    clips = _clips(lib)[:2]
    url, other = common.pg_database('bind'), common.pg_database('bind_other')
    sq, pg, new = (common.new_out_dir('pg_bind_sqlite'), common.new_out_dir('pg_bind_pg'),
                   common.new_out_dir('pg_bind_new'))
    check(_run(clips, sq).rc == 0 and _run(clips, pg, url).rc == 0, 'first runs')
    F = Failures('binding')
    # an OUT with its own catalog.db, opened with --catalog URL
    for cmd in (['status'], ['export'], ['verify'], ['du'], ['gc']):
        _refused(cmd + [sq, '--catalog', other], sq, 'sqlite OUT, %s --catalog' % cmd[0], F)
    _refused(['run'] + clips + ['-o', sq, '--catalog', other], sq, 'sqlite OUT, run --catalog', F)
    # a PostgreSQL-catalogued OUT without --catalog: never a new catalog.db beside it
    for cmd in (['status'], ['export'], ['verify'], ['du'], ['gc'], ['verify', '--repair']):
        _refused(cmd + [pg], pg, 'PostgreSQL OUT, %s without --catalog' % ' '.join(cmd), F)
    _refused(['run'] + clips + ['-o', pg], pg, 'PostgreSQL OUT, run without --catalog', F)
    # another database (empty), and another OUT on this database
    for cmd in (['status'], ['gc'], ['verify', '--repair']):
        _refused(cmd + [pg, '--catalog', other], pg, '%s with another database' % cmd[0], F)
    _refused(['run'] + clips + ['-o', pg, '--catalog', other], pg, 'run, another database', F)
    new.mkdir()
    _refused(['run'] + clips + ['-o', new, '--catalog', url], new, 'a new OUT on a used database',
             F)
    F.check(common.pg_sql('SELECT count(*) FROM pg_tables WHERE tablename = \'videos\'',
                          other).strip() in ('0', '1'), 'other database unreadable')
    rows = _export(pg, 'videos', url)
    F.check(len(rows) == 2, 'the catalog changed: %s' % rows)
    F.raise_if_any()


def test_bad_server():
    base = common.pg_server()
    secret = 'Wr0ngS3cretPw'
    common.pg_sql("DROP ROLE IF EXISTS vidx_password_test")
    common.pg_sql("CREATE ROLE vidx_password_test LOGIN PASSWORD 'R1ghtPw'")
    hostport = base.split('@', 1)[1].split('/', 1)[0]
    lib = _library(6, 1, '160x120', 'small')
    F = Failures('bad server')
    cases = [
        ('wrong password', 'postgresql://vidx_password_test:%s@%s/postgres' % (secret, hostport)),
        ('wrong password (query)',
         'postgresql://%s/postgres?user=vidx_password_test&password=%s' % (hostport, secret)),
        ('unreachable', 'postgresql://postgres:%s@127.0.0.1:1/postgres' % secret),
    ]
    good = common.pg_database('bad_server')
    made = common.new_out_dir('pg_bad_made')
    check(_run(_clips(lib)[:1], made, good).rc == 0, 'first run')
    for what, url in cases:
        out = common.new_out_dir('pg_bad_' + what.replace(' ', '_'))
        for args in (['run'] + _clips(lib)[:1] + ['-o', out, '--catalog', url],
                     ['status', made, '--catalog', url], ['gc', made, '--catalog', url]):
            res = run_vidx(args, timeout=120)
            text = res.stdout + res.stderr
            F.check(res.rc == 10, '%s: %s exit %s, expected 10\n  %s' % (
                what, args[0], res.rc, res.describe()))
            F.check(secret not in text, '%s: the password was printed: %r' % (what, text))
            F.check('cannot connect' in text and '***' in text,
                    '%s: %s: no clear message: %r' % (what, args[0], text))
        F.check(not out.exists(), '%s: run made OUT' % what)
    F.raise_if_any()


def _count_videos(url):
    """Videos committed so far (0 before the run made its tables)."""
    res = common.run(['psql', '-qAtX', url, '-c', 'SELECT count(*) FROM videos'])
    return int(res.stdout.strip()) if res.rc == 0 else 0


def _own_server():
    """A PostgreSQL server of this test's own (the others keep theirs across its restart)."""
    common.pg_server()  # the services are expected here: fail (or skip) as the others do
    r = subprocess.run(['bash', str(SERVICES), 'pg-start'], capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0, 'pg-start: %s' % r.stderr)
    env = dict(line.split(' ', 1)[1].split('=', 1) for line in r.stdout.splitlines()
               if line.startswith('export '))
    return env['VIDX_PG_DIR'], env['VIDX_TEST_PG']


def _services(cmd, pg_dir):
    return subprocess.run(['bash', str(SERVICES), cmd], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, VIDX_PG_DIR=pg_dir))


def test_restart_mid_run():
    lib = _library(30, 3, '320x240', 'restart')
    pg_dir, server = _own_server()
    try:
        _restart_mid_run(lib, pg_dir, server)
    finally:
        _services('pg-stop', pg_dir)


def _restart_mid_run(lib, pg_dir, server):
    url = server.rsplit('/', 1)[0] + '/restart'
    common.pg_sql('CREATE DATABASE restart', server)
    out = common.new_out_dir('pg_restart')
    env = dict(os.environ, VIDX_PG_RECONNECT_S='60')
    cmd = [str(common.vidx_bin()), 'run'] + _clips(lib) + [
        '-o', str(out), '--jobs', '2', '--fps', '25', '--format', 'png', '--size', '320',
        '--progress', 'none', '--catalog', url]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                         start_new_session=True)
    done, err = 0, ''
    try:
        while p.poll() is None and _count_videos(url) == 0:  # wait for the first commit
            time.sleep(0.02)
        # The run (supervisor and workers) is held while the server restarts, so the
        # restart falls inside it whatever the machine's speed: its connection is gone.
        os.killpg(p.pid, signal.SIGSTOP)
        try:
            done = _count_videos(url)
            r = _services('pg-restart', pg_dir)
        finally:
            os.killpg(p.pid, signal.SIGCONT)
        check(r.returncode == 0, 'pg-restart: %s' % r.stderr)
        _, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    check(p.returncode == 0, 'the run did not finish after the restart: exit %s\n%s' % (
        p.returncode, err[-2000:]))
    check(done < 30, 'the run ended before the restart (%d videos done)' % done)
    check('connection lost' in err and 'catalog postgresql://' in err,
          'the run never saw the restart:\n' + err[-2000:])
    rows = _export(out, 'videos', url)
    paths = [r['path'] for r in rows]
    check(len(rows) == 30 and len(set(paths)) == 30, '%d rows for 30 videos' % len(rows))
    # One row each, ok. attempts is 1, or 2 for a group whose COMMIT the restart cut (the
    # ambiguous case, docs/CATALOG.md: redone, its rows replaced, never doubled).
    check(all(r['status'] == 'ok' and r['attempts'] in (1, 2) for r in rows),
          'not every video ok exactly once: %s' % [(r['path'], r['status'], r['attempts'])
                                                   for r in rows if r['status'] != 'ok' or
                                                   r['attempts'] not in (1, 2)])
    rc, rep = _json(['verify', out, '--catalog', url])
    check(rc == 0, 'verify after the restart: %s' % rep)
    rc, rep = _json(['gc', out, '--catalog', url, '--dry-run'])
    check(rep.get('removed', 0) == 0, 'orphan files after the restart: %s' % rep)
