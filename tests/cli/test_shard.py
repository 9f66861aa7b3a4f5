"""End-to-end tests of the static scale-out contract (docs/CLUSTER.md): `vidx run --shard`,
`vidx merge` and `vidx run - --jsonl` (what Spark's RDD.pipe does).

Run only these with:

    /usr/bin/python3 tests/cli/run.py -k shard::

What is covered:
  shard_partition     N=3 shards of 19 clips: each video in the shard the documented hash
                      gives (shard_of below), union = all, pairwise disjoint; again in
                      another input order and with a 20th clip added: nothing moves
  shard_env           --shard auto from a Slurm array task and a Kubernetes Indexed Job pod;
                      missing/invalid variables and bad --shard values: exit 2, OUT not made
  merge_files         3 shards (files layout, audio) merged: verify passes, export has every
                      video once with its frames, the parts untouched, merging again changes
                      nothing, a new part adds only what is new
  merge_shards        3 shards (tar layout): colliding shard names renamed, rows rewritten,
                      verify passes; a run on DEST afterwards leaves the parts' shards alone
  merge_conflict      the same video crashed in one part and ok in another: ok kept, reported
  merge_refusals      not-vidx parts/DEST (exit 12), layouts that differ, DEST inside a part or
                      a part inside DEST (exit 2): nothing touched, users' files left alone
  merge_hostile_part  a part whose catalog names catalog.db, ../x, /etc/passwd, the marker,
                      a key with ..: exit 2, nothing outside DEST touched, DEST intact
  merge_dedup         --dedup-exact parts (files, shards), one clip twice under two names:
                      objects keep their names, stored once, verify passes
  merge_killed        kill -9 between placing a video and committing it: DEST verifies, a
                      second merge finishes, gc clears the leftovers
  merge_copy          parts on another filesystem (/dev/shm): files and shards copied
  jsonl_pipe          RDD.pipe emulated: two partitions fed on stdin to `vidx run - --jsonl`
                      into two OUTs, one JSON line per input and nothing else on stdout;
                      then `vidx merge` of the two OUTs

The clips are test_run's cached lavfi fixtures (many/: 20 two-second clips).
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import common
import test_run
from common import Failures, check, fail

TIMEOUT = 150
SAMPLING = ['--count', '2', '--jobs', '2']


def shard_of(path, n):
    """The documented partition (docs/CLUSTER.md): FNV-1a 64, splitmix64 finaliser, mod n."""
    h = 1469598103934665603
    for b in os.fsencode(path):
        h = ((h ^ b) * 1099511628211) & (2 ** 64 - 1)
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & (2 ** 64 - 1)
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & (2 ** 64 - 1)
    h ^= h >> 31
    return h % n


def clips():
    d = test_run.fixtures() / 'many'
    return sorted(str(p.resolve()) for p in d.glob('c*.mp4'))


def vidx(args, env=None, timeout=TIMEOUT, stdin=None):
    e = dict(os.environ)
    for k in ('SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_COUNT',
              'JOB_COMPLETION_INDEX', 'VIDX_SHARD_COUNT', 'VIDX_FAULT'):
        e.pop(k, None)
    e.update(env or {})
    p = subprocess.run([common.vidx_bin()] + [str(a) for a in args], env=e, input=stdin,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def jsonl(out, what):
    """Every stdout line must be one JSON object (the --jsonl contract)."""
    rows = []
    for line in out.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            fail('%s: stdout line is not JSON: %r' % (what, line[:200]))
        check(isinstance(o, dict), '%s: not an object: %r' % (what, line[:200]))
        rows.append(o)
    check(out == '' or out.endswith('\n'), '%s: stdout does not end with a newline' % what)
    return rows


def export(out, table='videos'):
    rc, so, se = vidx(['export', out, '--table', table])
    check(rc == 0, 'export %s %s: rc %d: %s' % (out, table, rc, se))
    return [json.loads(line) for line in so.splitlines()]


def tree(root):
    """Every file under root with its size and content hash; not the lock (it holds a pid) nor
    SQLite's own -wal/-shm files, which any reader of a WAL catalog (vidx status too) makes."""
    import hashlib
    res = {}
    for dp, dns, fns in os.walk(root):
        for fn in fns:
            p = Path(dp) / fn
            if fn == '.vidx-lock' or fn.endswith(('.db-wal', '.db-shm')):
                continue
            rel = str(p.relative_to(root))
            res[rel] = (p.lstat().st_size, hashlib.sha256(p.read_bytes()).hexdigest()
                        if p.is_file() and not p.is_symlink() else 'link')
    return res


def run_shards(base, inputs, n, extra=(), tag='p'):
    outs = []
    for s in range(n):
        out = base / ('%s%d' % (tag, s))
        rc, so, se = vidx(['run'] + inputs + ['-o', out, '--shard', '%d/%d' % (s, n), '--jsonl']
                          + SAMPLING + list(extra))
        check(rc == 0, 'shard %d/%d: rc %d\n%s' % (s, n, rc, se[-2000:]))
        outs.append((out, jsonl(so, 'shard %d/%d' % (s, n)), se))
    return outs


def test_shard_partition():
    all_clips = clips()
    check(len(all_clips) == 20, 'expected 20 fixture clips, got %d' % len(all_clips))
    first, added = all_clips[:19], all_clips[19]
    base = common.new_out_dir('shard_partition')
    f = Failures('shard partition')
    seen = {}
    for s, (out, rows, se) in enumerate(run_shards(base, first, 3)):
        for r in rows:
            f.check(r['status'] == 'ok', '%s: %s' % (r['path'], r))
            f.check(shard_of(r['path'], 3) == s, '%s in shard %d, the hash says %d'
                    % (r['path'], s, shard_of(r['path'], 3)))
            f.check(r['path'] not in seen, '%s in shards %s and %d' % (r['path'], seen.get(r['path']), s))
            seen[r['path']] = s
        here = sum(1 for p in first if shard_of(p, 3) == s)
        f.check('shard %d/3: %d videos here, %d left to the other shards' % (s, here, 19 - here) in se,
                'summary of shard %d does not say its share:\n%s' % (s, se))
    f.check(sorted(seen) == first, 'union of the shards is not the inputs: %d of %d'
            % (len(seen), len(first)))
    # Another order, one clip more: every earlier video stays where it was (skipped there).
    again = [added] + list(reversed(first))
    for s in range(3):
        out = base / ('p%d' % s)
        rc, so, se = vidx(['run'] + again + ['-o', out, '--shard', '%d/3' % s, '--jsonl'] + SAMPLING)
        f.check(rc == 0, 'again, shard %d: rc %d %s' % (s, rc, se[-500:]))
        for r in jsonl(so, 'again %d' % s):
            if r['path'] == added:
                f.check(r['status'] == 'ok' and shard_of(added, 3) == s,
                        'the added clip: %s in shard %d' % (r, s))
            else:
                f.check(r['status'] == 'skipped' and seen.get(r['path']) == s,
                        '%s moved: now %s in shard %d, was in %s' % (r['path'], r['status'], s,
                                                                   seen.get(r['path'])))
        f.check(len(export(out)) == sum(1 for p in all_clips if shard_of(p, 3) == s),
                'shard %d catalog holds the wrong number of videos' % s)
    # The end event of --progress json says which shard ran.
    rc, so, se = vidx(['run'] + first + ['-o', base / 'p1', '--shard', '1/3', '--progress', 'json']
                      + SAMPLING)
    end = [json.loads(l) for l in so.splitlines() if '"end"' in l]
    f.check(rc == 0 and end and end[-1].get('shard') == {'index': 1, 'count': 3}
            and end[-1].get('other_shards') == sum(1 for p in first if shard_of(p, 3) != 1),
            'end event without the shard: %s' % end)
    f.raise_if_any()


def test_shard_env():
    inputs = clips()[:6]
    base = common.new_out_dir('shard_env')
    f = Failures('shard env')
    want = {s: sorted(p for p in inputs if shard_of(p, 3) == s) for s in range(3)}
    cases = [('slurm', {'SLURM_ARRAY_TASK_ID': '8', 'SLURM_ARRAY_TASK_MIN': '7',
                        'SLURM_ARRAY_TASK_COUNT': '3'}, 1),
             ('slurm0', {'SLURM_ARRAY_TASK_ID': '0', 'SLURM_ARRAY_TASK_COUNT': '3'}, 0),
             ('k8s', {'JOB_COMPLETION_INDEX': '2', 'VIDX_SHARD_COUNT': '3'}, 2)]
    for name, env, s in cases:
        rc, so, se = vidx(['run'] + inputs + ['-o', base / name, '--shard', 'auto', '--jsonl']
                          + SAMPLING, env=env)
        got = sorted(r['path'] for r in jsonl(so, name))
        f.check(rc == 0 and got == want[s], '%s: rc %d, took %s, want shard %d: %s\n%s'
                % (name, rc, got, s, want[s], se[-500:]))
        f.check('shard %d/3' % s in se, '%s: summary does not name shard %d/3' % (name, s))
    bad_env = [({}, 'SLURM_ARRAY_TASK_ID'),
               ({'SLURM_ARRAY_TASK_ID': '3', 'SLURM_ARRAY_TASK_COUNT': '3'}, 'SLURM_ARRAY_TASK_ID=3'),
               ({'SLURM_ARRAY_TASK_ID': 'x', 'SLURM_ARRAY_TASK_COUNT': '3'}, 'SLURM_ARRAY_TASK_ID=x'),
               ({'SLURM_ARRAY_TASK_ID': '1'}, 'SLURM_ARRAY_TASK_COUNT'),
               ({'JOB_COMPLETION_INDEX': '1'}, 'VIDX_SHARD_COUNT'),
               ({'JOB_COMPLETION_INDEX': '3', 'VIDX_SHARD_COUNT': '3'}, 'JOB_COMPLETION_INDEX=3')]
    for env, said in bad_env:
        out = base / 'bad'
        rc, so, se = vidx(['run'] + inputs + ['-o', out, '--shard', 'auto'] + SAMPLING, env=env)
        f.check(rc == 2 and said in se and not out.exists() and so == '',
                'auto with %s: rc %d, exists %s, stderr %r' % (env, rc, out.exists(), se[-300:]))
    for spec in ('3/3', '-1/3', '1/0', '1', '', 'a/b', '1/3/4', '0x1/3', 'auto2'):
        out = base / 'bad'
        rc, so, se = vidx(['run'] + inputs + ['-o', out, '--shard', spec] + SAMPLING)
        f.check(rc == 2 and '--shard' in se and not out.exists(),
                '--shard %r: rc %d, exists %s, stderr %r' % (spec, rc, out.exists(), se[-300:]))
    f.raise_if_any()


def merge(dest, parts, json_out=True):
    rc, so, se = vidx(['merge', '-o', dest] + [str(p) for p in parts] + (['--json'] if json_out else []))
    return rc, (json.loads(so) if json_out and rc == 0 else so), se


def check_merged(f, dest, parts, what):
    rc, so, se = vidx(['verify', dest])
    f.check(rc == 0, '%s: verify DEST: rc %d %s %s' % (what, rc, so, se[-500:]))
    videos = export(dest)
    paths = [v['path'] for v in videos]
    f.check(len(paths) == len(set(paths)), '%s: a video twice in DEST' % what)
    want = {}
    for p in parts:
        want.update({v['path']: v['frames'] for v in export(p)})
    f.check(set(paths) == set(want), '%s: DEST has %d videos, the parts %d' % (what, len(paths), len(want)))
    f.check(len(export(dest, 'frames')) == sum(want.values()), '%s: frame rows differ' % what)
    rc, so, se = vidx(['gc', '--dry-run', '--json', dest])  # every file merged is referenced
    f.check(rc == 0 and json.loads(so)['removed'] == 0, '%s: gc would remove %s' % (what, so[:500]))
    return videos


def test_merge_files():
    inputs = clips()[:12]
    base = common.new_out_dir('merge_files')
    f = Failures('merge files')
    parts = [o for o, _, _ in run_shards(base, inputs, 3, ['--audio', 'wav'])]
    user = parts[0] / 'frames' / 'my-notes.txt'  # a user's file inside a part: never taken
    user.write_text('mine\n')
    (base / 'beside.txt').write_text('mine too\n')  # in DEST's parent
    before = {p: tree(p) for p in parts}
    dest = base / 'dest'
    rc, rep, se = merge(dest, parts)
    check(rc == 0, 'merge: rc %d %s' % (rc, se[-2000:]))
    f.check(rep['merged'] == 12 and rep['skipped'] == 0 and rep['conflict_count'] == 0,
            'first merge report: %s' % rep)
    f.check(rep['files_linked'] > 0 and rep['files_copied'] == 0 and rep['bytes_linked'] > 0,
            'same filesystem: files are linked, not copied: %s' % rep)
    check_merged(f, dest, parts, 'files')
    audio = export(dest, 'audio')
    f.check(len(audio) == 12 and all((dest / a['path']).is_file() for a in audio),
            'audio rows/files missing in DEST: %d' % len(audio))
    f.check(not (dest / 'frames' / 'my-notes.txt').exists(), "a user's file was merged")
    f.check((base / 'beside.txt').read_text() == 'mine too\n', "DEST's parent touched")
    for p in parts:
        f.check(tree(p) == before[p], '%s changed by the merge' % p)
    state = (export(dest), export(dest, 'frames'), tree(dest))
    rc, rep, se = merge(dest, parts)  # again: nothing new
    f.check(rc == 0 and rep['merged'] == 0 and rep['skipped'] == 12 and rep['files_linked'] == 0,
            'second merge: rc %d %s' % (rc, rep))
    f.check((export(dest), export(dest, 'frames'), tree(dest)) == state, 'merging again changed DEST')
    # A new part (more videos, one of them already in DEST) adds only what is new.
    rc, so, se = vidx(['run'] + clips()[10:15] + ['-o', base / 'extra', '--audio', 'wav'] + SAMPLING)
    check(rc == 0, 'extra run: %s' % se[-500:])
    rc, rep, se = merge(dest, parts + [base / 'extra'])
    f.check(rc == 0 and rep['merged'] == 3 and rep['skipped'] == 14, 'new part: %s %s' % (rep, se))
    check_merged(f, dest, parts + [base / 'extra'], 'files + extra')
    rc, so, se = merge(dest, parts, json_out=False)  # the text summary
    f.check(rc == 0 and '0 videos merged, 12 skipped' in so, 'text summary: %r' % so)
    f.raise_if_any()


def test_merge_shards():
    inputs = clips()[:9]
    base = common.new_out_dir('merge_shards')
    f = Failures('merge shards')
    parts = [o for o, _, _ in run_shards(base, inputs, 3, ['--layout', 'shards', '--shard-samples', '4'])]
    names = [sorted(x.name for x in (p / 'shards').glob('*.tar')) for p in parts]
    f.check(all('000000.tar' in n for n in names), 'each part should have shards/000000.tar: %s' % names)
    before = {p: tree(p) for p in parts}
    dest = base / 'dest'
    rc, rep, se = merge(dest, parts)
    check(rc == 0, 'merge: rc %d %s' % (rc, se[-2000:]))
    total = sum(len(n) for n in names)
    f.check(rep['shards_renamed'] == total - len(names[0]) and rep['merged'] == 9,
            'collisions should be renamed: %s (part shards %s)' % (rep, names))
    f.check(len(list((dest / 'shards').glob('*.tar'))) == total, 'DEST shard count')
    f.check(rep['files_copied'] == 0, 'closed shards on one filesystem are linked: %s' % rep)
    check_merged(f, dest, parts, 'shards')
    for p in parts:
        f.check(tree(p) == before[p], '%s changed by the merge' % p)
    rc, rep, se = merge(dest, parts)
    f.check(rc == 0 and rep['merged'] == 0 and rep['shards_renamed'] == 0 and rep['files_linked'] == 0,
            'second merge: %s' % rep)
    # A run on DEST (recovery rewrites shard ends at their committed size) leaves the parts alone.
    rc, so, se = vidx(['run'] + clips()[9:11] + ['-o', dest, '--layout', 'shards'] + SAMPLING)
    f.check(rc == 0, 'run into DEST: %s' % se[-500:])
    for p in parts:
        f.check(tree(p) == before[p], '%s changed by a run on DEST' % p)
    rc, so, se = vidx(['verify', dest])
    f.check(rc == 0, 'verify after a run on DEST: %s %s' % (so, se))
    f.raise_if_any()


def test_merge_conflict():
    clip = clips()[3]
    base = common.new_out_dir('merge_conflict')
    f = Failures('merge conflict')
    rc, so, se = vidx(['run', clip, '-o', base / 'bad'] + SAMPLING,
                      env={'VIDX_FAULT': 'crash=' + os.path.basename(clip)})
    f.check(rc == 1 and export(base / 'bad')[0]['status'] == 'crashed', 'crash part: rc %d %s' % (rc, se))
    rc, so, se = vidx(['run', clip, '-o', base / 'good'] + SAMPLING)
    f.check(rc == 0, 'good part: %s' % se)
    for order in (['bad', 'good'], ['good', 'bad']):
        dest = base / ('dest_' + '_'.join(order))
        rc, rep, se = merge(dest, [base / o for o in order])
        check(rc == 0, 'merge %s: %s' % (order, se))
        videos = export(dest)
        f.check(len(videos) == 1 and videos[0]['status'] == 'ok', '%s: kept %s' % (order, videos))
        c = rep['conflicts']
        f.check(len(c) == 1 and c[0]['path'] == clip and c[0]['kept'] == ('part' if order[0] == 'bad' else 'dest'),
                '%s: conflicts %s' % (order, c))
        f.check(vidx(['verify', dest])[0] == 0, '%s: verify' % order)
    f.raise_if_any()


def test_merge_refusals():
    inputs = clips()[:2]
    base = common.new_out_dir('merge_refusals')
    f = Failures('merge refusals')
    rc, so, se = vidx(['run'] + inputs + ['-o', base / 'a'] + SAMPLING)
    rc2, so, se = vidx(['run'] + inputs + ['-o', base / 'b', '--layout', 'shards'] + SAMPLING)
    check(rc == 0 and rc2 == 0, 'setup runs failed: %s' % se)
    mine = base / 'mine'
    mine.mkdir()
    (mine / 'catalog.db').write_text('not a database\n')
    nonempty = base / 'nonempty'
    nonempty.mkdir()
    (nonempty / 'thesis.tex').write_text('mine\n')
    (base / 'a' / 'sub').mkdir()
    snap = tree(base)
    cases = [
        ('part not vidx', base / 'new1', [mine], 12, 'new1'),
        ('missing part', base / 'new2', [base / 'nope'], None, 'new2'),
        ('dest not vidx', nonempty, [base / 'a'], 12, None),
        ('layouts differ', base / 'new3', [base / 'a', base / 'b'], 2, 'new3'),
        ('dest inside a part', base / 'a' / 'sub' / 'd', [base / 'a'], 2, None),
        ('part inside dest', base, [base / 'a'], 2, None),
        ('dest is a part', base / 'a', [base / 'a'], 2, None),
        ('a part twice', base / 'new4', [base / 'a', str(base / 'a') + '/.'], 2, 'new4'),
    ]
    for what, dest, parts, code, made in cases:
        rc, so, se = merge(dest, parts, json_out=False)
        f.check(rc != 0 and (code is None or rc == code) and se.strip(),
                '%s: rc %d (want %s), stderr %r' % (what, rc, code, se[-300:]))
        f.check(made is None or not (base / made).exists(), '%s: DEST was created' % what)
        f.check(tree(base) == snap, '%s: something was touched' % what)
    rc, so, se = vidx(['merge', '-o', base / 'x'])
    f.check(rc == 2, 'merge without parts: rc %d' % rc)
    rc, so, se = vidx(['merge', '--help'])
    f.check(rc == 0 and 'vidx merge -o DEST PART' in so, 'merge --help: %r' % so[:200])
    f.raise_if_any()


def pipe_partition(paths, out):
    """What Spark's RDD.pipe does: start the command, write the partition's elements one per
    line, close stdin, read stdout lines (each a result)."""
    p = subprocess.Popen([common.vidx_bin(), 'run', '-', '-o', str(out), '--jsonl'] + SAMPLING,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={k: v for k, v in os.environ.items() if k != 'VIDX_FAULT'})
    for path in paths:
        p.stdin.write((path + '\n').encode())
    p.stdin.close()
    lines = [line.decode() for line in p.stdout]
    err = p.stderr.read().decode('utf-8', 'replace')
    p.wait(timeout=TIMEOUT)
    return p.returncode, lines, err


def test_jsonl_pipe():
    all_clips = clips()
    base = common.new_out_dir('jsonl_pipe')
    f = Failures('jsonl pipe')
    missing = str(base / 'no-such-video.mp4')
    partitions = [all_clips[:5] + [missing], all_clips[5:9]]
    outs = []
    for i, paths in enumerate(partitions):
        out = base / ('part%d' % i)
        rc, lines, err = pipe_partition(paths, out)
        f.check(rc == (1 if missing in paths else 0), 'partition %d: rc %d %s' % (i, rc, err[-500:]))
        rows = jsonl(''.join(lines), 'partition %d' % i)
        f.check(sorted(r['path'] for r in rows) == sorted(paths),
                'partition %d: one line per input expected, got %s' % (i, [r['path'] for r in rows]))
        for r in rows:
            f.check(set(r) >= {'path', 'status', 'frames', 'seconds', 'class', 'error', 'key'},
                    'fields missing: %s' % r)
            if r['path'] == missing:
                f.check(r['status'] == 'failed' and r['class'] == 'notfound' and r['error'],
                        'missing input: %s' % r)
            else:
                f.check(r['status'] == 'ok' and r['frames'] == 2 and r['class'] is None
                        and (out / 'frames' / r['key']).is_dir(), 'video: %s' % r)
        f.check('vidx run:' in err, 'the summary goes to stderr')
        outs.append(out)
    rc, lines, err = pipe_partition(partitions[1], outs[1])  # a retried task: all skipped
    rows = jsonl(''.join(lines), 'retry')
    f.check(rc == 0 and len(rows) == 4 and all(r['status'] == 'skipped' and r['recorded'] == 'ok'
                                                for r in rows), 'retry: %s' % rows)
    dest = base / 'dest'
    rc, rep, se = merge(dest, outs)
    f.check(rc == 0 and rep['merged'] == 10, 'merge: %s %s' % (rep, se))
    check_merged(f, dest, outs, 'pipe')
    f.raise_if_any()


def test_merge_copy():
    """Parts on another filesystem (/dev/shm, a tmpfs): files and shards are copied, durably."""
    import tempfile
    shm = Path('/dev/shm')
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(common.work_dir()).st_dev:
        raise common.Skip('no second filesystem (/dev/shm) here')
    base = common.new_out_dir('merge_copy')
    base.mkdir(parents=True)
    f = Failures('merge copy')
    tmp = Path(tempfile.mkdtemp(prefix='vidx-merge-copy-', dir=shm))
    try:
        for layout in ('files', 'shards'):
            part = tmp / layout
            rc, so, se = vidx(['run'] + clips()[:3] + ['-o', part, '--layout', layout] + SAMPLING)
            check(rc == 0, '%s part: %s' % (layout, se[-500:]))
            before = tree(part)
            dest = base / layout
            rc, rep, se = merge(dest, [part])
            f.check(rc == 0 and rep['merged'] == 3 and rep['files_copied'] > 0
                    and rep['files_linked'] == 0 and rep['bytes_copied'] > 0,
                    '%s across filesystems: rc %d %s %s' % (layout, rc, rep, se[-300:]))
            check_merged(f, dest, [part], layout + ' copied')
            f.check(tree(part) == before, '%s part changed' % layout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    f.raise_if_any()


def test_merge_hostile_part():
    """A part's catalog is untrusted: rows naming files outside vidx's folders stop the merge."""
    import sqlite3
    base = common.new_out_dir('merge_hostile')
    f = Failures('merge hostile part')
    rc, so, se = vidx(['run'] + clips()[:2] + ['-o', base / 'part'] + SAMPLING)
    check(rc == 0, 'part: %s' % se)
    (base / 'outside.jpg').write_text('not vidx\n')
    edits = [
        ('frame at catalog.db', "UPDATE frames SET location='catalog.db' WHERE seq=0"),
        ('frame outside', "UPDATE frames SET location='../outside.jpg' WHERE seq=0"),
        ('absolute frame', "UPDATE frames SET location='/etc/passwd' WHERE seq=0"),
        ('audio at the marker', "INSERT INTO audio VALUES((SELECT min(id) FROM videos),"
                                "'.vidx-output',16000,1,1.0,10)"),
        ('key outside', "UPDATE videos SET key='../../x'"),
    ]
    for what, sql in edits:
        part = base / ('p_' + what.replace(' ', '_'))
        shutil.copytree(base / 'part', part)
        db = sqlite3.connect(str(part / 'catalog.db'))
        db.execute(sql)
        db.commit()
        db.close()
        before = tree(base)
        dest = base / ('d_' + what.replace(' ', '_'))
        rc, so, se = merge(dest, [part], json_out=False)
        f.check(rc == 2 and 'not merged' in se, '%s: rc %d %r' % (what, rc, se[-300:]))
        after = tree(base)
        changed = {k for k in set(before) | set(after)
                   if before.get(k) != after.get(k) and not k.startswith(dest.name + '/')}
        f.check(not changed, '%s: changed outside DEST: %s' % (what, sorted(changed)))
        if (dest / 'catalog.db').exists():
            f.check(os.stat(dest / 'catalog.db').st_ino != os.stat(part / 'catalog.db').st_ino,
                    "%s: the part's catalog was linked over DEST's" % what)
            f.check(not os.path.exists(dest / '.vidx-output') or
                    'vidx' in (dest / '.vidx-output').read_text(), '%s: marker replaced' % what)
            rc, so, se = vidx(['verify', dest])
            f.check(rc == 0, '%s: DEST does not verify: %s %s' % (what, so, se[-300:]))
    f.raise_if_any()


def test_merge_dedup():
    """--dedup-exact parts: objects keep their content-addressed names, stored once in DEST."""
    import sqlite3
    base = common.new_out_dir('merge_dedup')
    base.mkdir(parents=True)
    f = Failures('merge dedup')
    twin = base / 'twin.mp4'  # the same bytes as c00 under another name: the same frames
    shutil.copyfile(clips()[0], twin)
    for layout in ('files', 'shards'):
        parts = []
        for i, inputs in enumerate([clips()[0:2], [str(twin)] + clips()[2:3]]):
            part = base / ('%s%d' % (layout, i))
            rc, so, se = vidx(['run'] + inputs + ['-o', part, '--dedup-exact', '--layout', layout]
                              + SAMPLING)
            check(rc == 0, '%s part %d: %s' % (layout, i, se[-500:]))
            parts.append(part)
        dest = base / ('dest_' + layout)
        rc, rep, se = merge(dest, parts)
        f.check(rc == 0 and rep['merged'] == 4, '%s: %s %s' % (layout, rep, se[-300:]))
        check_merged(f, dest, parts, layout + ' dedup')

        def blobs(out):
            db = sqlite3.connect('file:%s?mode=ro' % (out / 'catalog.db'), uri=True)
            rows = dict(db.execute('SELECT checksum, location FROM blobs'))
            db.close()
            return rows
        want = {}
        for p in parts:
            for k, loc in blobs(p).items():
                want.setdefault(k, loc)
        got = blobs(dest)
        f.check(set(got) == set(want), '%s: blob checksums in DEST differ from the parts' % layout)
        if layout == 'files':
            f.check(got == want, 'objects renamed in DEST')
            f.check(len(list((dest / 'objects').rglob('*.jpg'))) == len(want),
                    'each object once in DEST')
        f.check(vidx(['merge', '-o', dest] + parts + ['--json'])[0] == 0, 'merge again')
        f.check(blobs(dest) == got, '%s: merging again changed the blobs' % layout)
    f.raise_if_any()


def test_merge_killed():
    """kill -9 of a merge between placing a video's files and committing its rows: DEST stays
    consistent (verify passes), merging again finishes, and gc clears what the kill left."""
    base = common.new_out_dir('merge_killed')
    f = Failures('merge killed')
    for layout in ('files', 'shards'):
        parts = [o for o, _, _ in run_shards(base, clips()[:8], 2, ['--layout', layout],
                                             tag=layout)]
        dest = base / ('dest_' + layout)
        rc, so, se = vidx(['merge', '-o', dest] + parts, env={'VIDX_FAULT': 'die=merge:4'})
        f.check(rc == -9, '%s: the fault should kill the merge: rc %d %s' % (layout, rc, se[-300:]))
        f.check(len(export(dest)) == 3, '%s: 3 videos committed before the kill, not %d'
                % (layout, len(export(dest))))
        rc, so, se = vidx(['verify', dest])
        f.check(rc == 0, '%s: verify after the kill: %s %s' % (layout, so, se[-300:]))
        rc, rep, se = merge(dest, parts)
        f.check(rc == 0 and rep['merged'] == 5 and rep['skipped'] == 3,
                '%s: merging again: %s %s' % (layout, rep, se[-300:]))
        rc, so, se = vidx(['gc', dest])  # what the killed merge placed and never committed
        f.check(rc == 0, '%s: gc: %s' % (layout, se))
        check_merged(f, dest, parts, layout + ' after a kill')
    f.raise_if_any()
