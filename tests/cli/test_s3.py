"""End-to-end: s3:// inputs against a real S3 server on loopback (issue 14).

The server is Ceph's radosgw (scripts/services.sh s3-start; scripts/test.sh starts
it): it checks every request's SigV4 signature against the test user's secret and
implements ranged GETs, listings and multipart uploads for real. Without it these
tests fail, unless VIDX_TEST_NO_SERVICES=1 (then they skip). Faults come from
s3util.FaultProxy, a proxy on loopback in front of the real server.

  odd_keys            keys with spaces, unicode, '+' and '=': probe and frames read
                      them, and the frames are the bytes `vidx frames` makes from the
                      local file
  wrong_secret        a wrong secret is refused by the server (exit 3), and the
                      secret appears nowhere in vidx's output
  one_read            a read fetches each byte of the object once (but for the tail
                      the mov demuxer looks at before coming back: one chunk at most),
                      in ceil(size / chunk) GETs, +1 for that seek, and one HEAD
  retry_503           503 SlowDown answers then success: frames as without faults;
                      with retries off the same faults fail the video (exit 3)
  cut_mid_object      GET bodies cut part way: the chunk is fetched again, frames as
                      without faults
  run_prefix          vidx run s3://bucket/prefix/: listed over several pages, nested
                      keys taken, hidden keys and non-videos skipped and counted; a
                      second run skips everything (size + ETag fingerprint); an
                      object replaced by other content is processed again
  profile             credentials from a ~/.aws/credentials profile (AWS_PROFILE)
  out_bucket_refused  -o s3://... without --catalog DIR, with a PostgreSQL URL or files
                      with --dedup-exact (run), and vidx frames: refused with a clear error,
                      no local folder made, nothing written to the bucket
  out_bucket          -o s3://bucket/prefix --catalog DIR --layout shards: shards go up
                      with multipart uploads while they fill (a part is sent before the
                      last video's files), each video's files as objects; the bucket's
                      shards hold exactly the samples of the same run on local disk; the
                      catalog (kept in DIR, copied to prefix/catalog.db) records each
                      shard with the object's size and ETag; no upload left open, no
                      shard left in DIR; a second run skips everything; vidx sync
                      uploads the catalog again (and refuses another prefix), a local run
                      on DIR is refused; a user's object under the prefix stays
  out_bucket_killed   the run killed (SIGKILL) while a part is in flight: the catalog names
                      no object that is not complete; the next run aborts the upload the
                      killed one left and finishes: no upload left, the same samples as a
                      clean run, every recorded object whole; vidx status shows the
                      pending shard after the kill and none at the end
  out_bucket_files    --layout files into a bucket: every frame, manifest and audio file an
                      object with the bytes of the same run on local disk, none left in
                      DIR; verify finds nothing wrong; a second run skips everything
  out_bucket_maintain verify, du and gc on s3:// outputs: verify finds nothing wrong, then
                      a deleted shard; du counts the objects by kind; gc (and --dry-run)
                      deletes only a vidx-named object no row keeps, and leaves a user's
                      objects under the same prefix (and outside it) alone; another
                      catalog is refused the prefix (exit 12)
"""
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

import common
import s3util
from common import Failures, check, fail

CLIP = 'torchcodec_nasa_13013.mp4'  # moov at the start: a plain sequential read
CLIP2 = 'decord_video_90.mov'


def _frames_local(clip, tag):
    out = common.new_out_dir(tag)
    r = common.run_vidx(['frames', clip, '-o', out, '--count', '5', '--md5'])
    check(r.rc == 0, 'vidx frames on the local file: %s' % r.describe())
    return out


def _same_frames(a, b, what):
    fa = sorted(p.name for p in Path(a).iterdir() if p.suffix == '.jpg')
    fb = sorted(p.name for p in Path(b).iterdir() if p.suffix == '.jpg')
    check(fa and fa == fb, '%s: frame names differ: %s vs %s' % (what, fa, fb))
    for n in fa:
        check((Path(a) / n).read_bytes() == (Path(b) / n).read_bytes(),
              '%s: %s differs from the local file\'s' % (what, n))


def test_odd_keys():
    s3util.server()
    clip = common.corpus_clip(CLIP)
    local = _frames_local(clip, 's3-local')
    b = s3util.bucket('odd')
    f = Failures('odd keys')
    for key in ['with space/a b.mp4', 'unicode/café ü 日本.mp4', 'plus+and=eq/a+b=c.mp4',
                'mixed/ x+y = z &%?#.mp4']:
        s3util.put(b, key, clip)
        url = 's3://%s/%s' % (b, key)
        r = s3util.vidx(['probe', url])
        if not f.check(r.rc == 0, '%r: probe: %s' % (key, r.describe())):
            continue
        f.check(json.loads(r.stdout)['path'] == url, '%r: probe names %s' %
                (key, json.loads(r.stdout)['path']))
        out = common.new_out_dir('s3-odd')
        r = s3util.vidx(['frames', url, '-o', out, '--count', '5', '--md5'])
        if f.check(r.rc == 0, '%r: frames: %s' % (key, r.describe())):
            try:
                _same_frames(out, local, repr(key))
            except AssertionError as e:
                f.add(str(e))
    f.raise_if_any()


def test_wrong_secret():
    s3util.server()
    b = s3util.bucket('secret')
    s3util.put(b, 'v.mp4', common.corpus_clip(CLIP))
    wrong = 'WrongSecret/With+Signs=0123456789'
    r = s3util.vidx(['probe', 's3://%s/v.mp4' % b], AWS_SECRET_ACCESS_KEY=wrong)
    check(r.rc == 3, 'a wrong secret: expected exit 3, got %s' % r.describe())
    check('403' in r.stderr, 'the refusal is not reported as HTTP 403: %s' % r.stderr)
    out = common.new_out_dir('s3-secret')
    r = s3util.vidx(['run', 's3://%s/' % b, '-o', out], AWS_SECRET_ACCESS_KEY=wrong)
    check(r.rc != 0, 'vidx run with a wrong secret succeeded: %s' % r.describe())
    for text in [r.stdout, r.stderr] + [p.read_text(errors='replace')
                                        for p in Path(out).rglob('*') if p.is_file()
                                        and p.suffix in ('.json', '.jsonl', '.log')]:
        check(wrong not in text and os.environ['AWS_SECRET_ACCESS_KEY'] not in text,
              'a secret appears in vidx\'s output')
    # and the right secret works on the same object: the refusal was the signature's
    r = s3util.vidx(['probe', 's3://%s/v.mp4' % b])
    check(r.rc == 0, 'the right secret: %s' % r.describe())


def test_one_read():
    s3util.server()
    clip = common.corpus_clip(CLIP)
    size = os.path.getsize(clip)
    b = s3util.bucket('oneread')
    s3util.put(b, 'v.mp4', clip)
    chunk = 128 * 1024
    with s3util.FaultProxy() as px:
        out = common.new_out_dir('s3-oneread')
        r = s3util.vidx(['frames', 's3://%s/v.mp4' % b, '-o', out, '--count', '5'],
                        endpoint=px.endpoint, VIDX_S3_CHUNK=chunk)
        check(r.rc == 0, 'frames through the proxy: %s' % r.describe())
        got = px.get_bytes.get('/%s/v.mp4' % b, 0)
        gets = px.count('GET')
        expect = -(-size // chunk)
        # mov walks its top-level atoms: it looks at the end of the file (after mdat) and
        # comes back. That seek may cost one range request of the tail (at most one chunk);
        # everything else is fetched once.
        check(size <= got < size + chunk,
              'the object (%d bytes) was fetched as %d bytes (chunk %d)' % (size, got, chunk))
        check(expect <= gets <= expect + 1 and px.count('HEAD') == 1,
              '%d GETs and %d HEADs for %d chunks' % (gets, px.count('HEAD'), expect))
        common.note('one_read: %d of %d bytes fetched, in %d GETs of <= %d KiB + 1 HEAD' %
                    (got, size, gets, chunk // 1024))


def test_retry_503():
    s3util.server()
    clip = common.corpus_clip(CLIP2)
    local = _frames_local(clip, 's3-503-local')
    b = s3util.bucket('slowdown')
    s3util.put(b, 'v.mov', clip)
    with s3util.FaultProxy(fail_503=3) as px:
        out = common.new_out_dir('s3-503')
        r = s3util.vidx(['frames', 's3://%s/v.mov' % b, '-o', out, '--count', '5', '--md5'],
                        endpoint=px.endpoint)
        check(r.rc == 0, 'frames after 3 x 503: %s' % r.describe())
        check(px.count(status=503) == 3, 'the proxy answered 503 %d times' % px.count(status=503))
        _same_frames(out, local, 'after 503s')
    with s3util.FaultProxy(fail_503=3) as px:
        out = common.new_out_dir('s3-503-noretry')
        r = s3util.vidx(['frames', 's3://%s/v.mov' % b, '-o', out, '--count', '5'],
                        endpoint=px.endpoint, VIDX_S3_ATTEMPTS=1)
        check(r.rc == 3 and '503' in r.stderr,
              'without retries a 503 must fail the open (exit 3): %s' % r.describe())


def test_cut_mid_object():
    s3util.server()
    clip = common.corpus_clip(CLIP)
    local = _frames_local(clip, 's3-cut-local')
    b = s3util.bucket('cut')
    s3util.put(b, 'v.mp4', clip)
    with s3util.FaultProxy(cut_gets=2, cut_after=50000) as px:
        out = common.new_out_dir('s3-cut')
        r = s3util.vidx(['frames', 's3://%s/v.mp4' % b, '-o', out, '--count', '5', '--md5'],
                        endpoint=px.endpoint, VIDX_S3_CHUNK=256 * 1024)
        check(r.rc == 0, 'frames with cut connections: %s' % r.describe())
        cuts = sum(1 for m, _, s in px.requests if s < 0)
        check(cuts == 2, 'the proxy cut %d answers, not 2' % cuts)
        _same_frames(out, local, 'after cut connections')


def _status(out):
    r = common.run_vidx(['status', out, '--json'])
    check(r.rc == 0, 'status: %s' % r.describe())
    return json.loads(r.stdout)


def _videos(out):
    r = common.run_vidx(['export', out, '--table', 'videos'])
    check(r.rc == 0, 'export: %s' % r.describe())
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_run_prefix():
    s3util.server()
    b = s3util.bucket('prefix')
    clip, clip2 = common.corpus_clip(CLIP), common.corpus_clip(CLIP2)
    wanted = ['lib/a.mp4', 'lib/sub/deeper/b c.mov', 'lib/x+y=z.mp4']
    for k in wanted:
        s3util.put(b, k, clip2 if k.endswith('.mov') else clip)
    s3util.put(b, 'lib/.hidden/h.mp4', clip)
    s3util.put(b, 'lib/sub/.h.mp4', clip)
    s3util.put(b, 'lib/notes.txt', b'not a video')
    s3util.put(b, 'lib/photo.jpg', b'\xff\xd8\xff')
    s3util.put(b, 'other/c.mp4', clip)
    s3util.put(b, 'lib/sub/', b'')  # a "folder" marker
    with s3util.FaultProxy() as px:
        out = common.new_out_dir('s3-run')
        r = s3util.vidx(['run', 's3://%s/lib/' % b, '-o', out, '--count', '3', '--json'],
                        endpoint=px.endpoint, VIDX_S3_MAX_KEYS=2)
        check(r.rc == 0, 'run over the prefix: %s' % r.describe())
        lists = sum(1 for m, p, s in px.requests if m == 'GET' and 'list-type=2' in p)
        check(lists >= 4, 'a listing of 9 keys by pages of 2 took %d requests' % lists)
    vids = _videos(out)
    got = sorted(v['path'] for v in vids)
    check(got == sorted('s3://%s/%s' % (b, k) for k in wanted),
          'videos recorded: %s' % got)
    check(all(v['status'] == 'ok' for v in vids), 'not all ok: %s' % vids)
    summary = json.loads(r.stdout.splitlines()[-1]) if r.stdout.strip() else {}
    common.note('run_prefix summary: %s' % {k: summary.get(k) for k in ('ok', 'skipped')})
    # resume: nothing to do
    r = s3util.vidx(['run', 's3://%s/lib/' % b, '-o', out, '--count', '3'])
    check(r.rc == 0 and '0 ok' in r.stderr and '3 skipped' in r.stderr,
          'the second run did not skip the 3 videos: %s' % r.stderr[-600:])
    # one object replaced by other content: processed again (its ETag changed)
    s3util.put(b, 'lib/a.mp4', clip2)
    r = s3util.vidx(['run', 's3://%s/lib/' % b, '-o', out, '--count', '3'])
    check(r.rc == 0 and '1 ok' in r.stderr and '2 skipped' in r.stderr,
          'a replaced object was not processed again: %s' % r.stderr[-600:])
    # the inputs were only read
    check(sorted(s3util.keys(b)) == sorted(wanted + ['lib/.hidden/h.mp4', 'lib/sub/.h.mp4',
                                                      'lib/notes.txt', 'lib/photo.jpg',
                                                      'other/c.mp4', 'lib/sub/']),
          'the bucket changed: %s' % s3util.keys(b))


def test_profile():
    s3util.server()
    b = s3util.bucket('profile')
    s3util.put(b, 'v.mp4', common.corpus_clip(CLIP))
    with tempfile.TemporaryDirectory() as home:
        creds = Path(home) / 'creds'
        creds.write_text('[default]\naws_access_key_id = NOPE\naws_secret_access_key = nope\n\n'
                         '# the test user\n[vidx-test]\naws_access_key_id = %s\n'
                         'aws_secret_access_key = %s\n' %
                         (os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_SECRET_ACCESS_KEY']))
        base = dict(AWS_SHARED_CREDENTIALS_FILE=creds, AWS_ACCESS_KEY_ID='',
                    AWS_SECRET_ACCESS_KEY='')
        r = s3util.vidx(['probe', 's3://%s/v.mp4' % b], AWS_PROFILE='vidx-test', **base)
        check(r.rc == 0, 'probe with the profile: %s' % r.describe())
        r = s3util.vidx(['probe', 's3://%s/v.mp4' % b], **base)
        check(r.rc == 3 and '403' in r.stderr,
              'the default profile has wrong keys; expected a refusal: %s' % r.describe())
        r = s3util.vidx(['probe', 's3://%s/v.mp4' % b], HOME=home, AWS_PROFILE='',
                        AWS_ACCESS_KEY_ID='', AWS_SECRET_ACCESS_KEY='')
        check(r.rc != 0 and 'no S3 credentials' in r.stderr,
              'without any credentials: %s' % r.describe())


def test_out_bucket_refused():
    s3util.server()
    b = s3util.bucket('out')
    s3util.put(b, 'in/v.mp4', common.corpus_clip(CLIP))
    s3util.put(b, 'out/users-file.txt', b'mine')
    cases = ((['run', 's3://%s/in/' % b, '--layout', 'shards'], 2, 'needs --catalog DIR'),
             (['run', 's3://%s/in/' % b, '--layout', 'shards', '--catalog', 'postgresql://x/y'],
              2, 'is a local directory, not a URL'),
             (['run', 's3://%s/in/' % b, '--catalog', 'cat', '--dedup-exact'], 2,
              'takes --dedup-exact with --layout shards only'),
             (['run', 's3://%s/in/' % b, '--catalog', 'cat', '--transcode', 'proxy'], 2,
              '--transcode does not write to a bucket output yet'),
             (['frames', 's3://%s/in/v.mp4' % b], 5, 'not supported yet'))
    with tempfile.TemporaryDirectory() as cwd:
        for args, code, why in cases:
            common.require_vidx()
            r = common.run([common.vidx_bin()] + args + ['-o', 's3://%s/out' % b], cwd=cwd,
                           env=s3util.env())
            check(r.rc == code and why in r.stderr,
                  '%s -o s3://: expected exit %d and /%s/: %s' % (args, code, why, r.describe()))
            check(os.listdir(cwd) == [], '%s -o s3:// made %s locally' % (args, os.listdir(cwd)))
    check(sorted(s3util.keys(b)) == ['in/v.mp4', 'out/users-file.txt'],
          'the bucket changed: %s' % s3util.keys(b))


# Bucket outputs: PNG frames of a small clip (about 2.7 MB a video), shards of 12 MB and
# parts of 5 MiB (the least S3 takes), so each shard is several parts.
PART = 5 << 20
OUT_ARGS = ['--count', '20', '--format', 'png', '--layout', 'shards', '--shard-size', '12M',
            '--jobs', '2']


def _library(tag, n):
    """n copies of CLIP (distinct files: distinct videos)."""
    lib = common.new_out_dir(tag + '-lib')
    lib.mkdir(parents=True)
    for i in range(n):
        shutil.copyfile(common.corpus_clip(CLIP), lib / ('v%02d.mp4' % i))
    return lib


def _members(blobs):
    """{member name: bytes} of every tar in blobs (bytes each)."""
    out = {}
    for data in blobs:
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            for m in t.getmembers():
                check(m.name not in out, 'sample %s is in two shards' % m.name)
                out[m.name] = t.extractfile(m).read()
    return out


def _local_samples(lib, tag):
    """The samples of the same run into a local OUT."""
    out = common.new_out_dir(tag)
    r = common.run_vidx(['run', lib, '-o', out] + OUT_ARGS)
    check(r.rc == 0, 'the local run: %s' % r.describe())
    return _members(p.read_bytes() for p in sorted((Path(out) / 'shards').glob('*.tar')))


def _check_bucket(b, prefix, cat, want):
    """The catalog names only complete objects, with their sizes and ETags; the shards in
    the bucket hold exactly the samples want; no upload is open. Returns the uploads rows."""
    db = sqlite3.connect('file:%s?mode=ro' % (Path(cat) / 'catalog.db'), uri=True)
    ups = dict((n, (size, etag)) for n, size, etag in db.execute('SELECT * FROM uploads'))
    named = set(r[0] for r in db.execute(
        'SELECT DISTINCT location FROM frames WHERE location IS NOT NULL'))
    db.close()
    check(named and named == set(ups), 'frames point at %s, uploaded: %s' % (named, ups))
    heads = {}
    for name, (size, etag) in ups.items():
        data = s3util.get(b, '%s/%s' % (prefix, name))
        check(data is not None and len(data) == size,
              '%s: recorded %d bytes, the bucket has %s' % (name, size, None if data is None
                                                            else len(data)))
        heads[name] = data
    shards = sorted(k for k in s3util.keys(b, prefix + '/shards/') if 'users' not in k)
    check(shards == sorted('%s/%s' % (prefix, n) for n in ups),
          'shards in the bucket %s, in the catalog %s' % (shards, sorted(ups)))
    got = _members(heads.values())
    check(set(got) == set(want), 'samples differ from the local run: %d vs %d, %s' % (
        len(got), len(want), sorted(set(got) ^ set(want))[:5]))
    check(all(got[k] == want[k] for k in want), 'sample bytes differ from the local run')
    check(s3util.uploads(b) == [], 'uploads left open: %s' % s3util.uploads(b))
    return ups


def test_out_bucket():
    s3util.server()
    b = s3util.bucket('outb')
    lib = _library('s3-outb', 10)
    want = _local_samples(lib, 's3-outb-local')
    s3util.put(b, 'out/users-file.txt', b'mine')
    s3util.put(b, 'out/shards/users.tar', b'not vidx\'s')
    cat = common.new_out_dir('s3-outb-cat')
    with s3util.FaultProxy() as px:
        r = s3util.vidx(['run', lib, '-o', 's3://%s/out' % b, '--catalog', cat] + OUT_ARGS,
                        endpoint=px.endpoint, VIDX_S3_PART=PART, timeout=600)
        check(r.rc == 0, 'the run into the bucket: %s' % r.describe())
        reqs = list(px.requests)
    ups = _check_bucket(b, 'out', cat, want)
    check(any(e.endswith('-%d' % n) for _, e in ups.values() for n in range(2, 9)),
          'no shard was uploaded in several parts: %s' % ups)
    parts = [i for i, (m, p, s) in enumerate(reqs) if m == 'PUT' and 'partNumber=1&' in p]
    manifests = [i for i, (m, p, s) in enumerate(reqs) if m == 'PUT' and 'manifest.jsonl' in p]
    check(parts and manifests and parts[0] < manifests[-1],
          'no part went up while the shards were being written (first part at request %s, '
          'last manifest at %s)' % (parts[:1], manifests[-1:]))
    keys = s3util.keys(b, 'out/')
    for i in range(10):
        check(any(k.startswith('out/frames/v%02d.mp4-' % i) and k.endswith('/manifest.jsonl')
                  for k in keys), 'no manifest of v%02d in the bucket: %s' % (i, keys))
    check('out/catalog.db' in keys and 'out/.vidx-output' in keys, 'bucket: %s' % keys)
    check(list((Path(cat) / 'shards').glob('*.tar')) == [], 'shards left in the catalog dir')
    with tempfile.NamedTemporaryFile(suffix='.db') as f:
        f.write(s3util.get(b, 'out/catalog.db'))
        f.flush()
        db = sqlite3.connect(f.name)
        n = db.execute("SELECT count(*) FROM videos WHERE status='ok'").fetchone()[0]
        db.close()
        check(n == 10, 'the catalog in the bucket has %d videos ok' % n)
    r = s3util.vidx(['run', lib, '-o', 's3://%s/out' % b, '--catalog', cat] + OUT_ARGS)
    check(r.rc == 0 and '10 skipped' in r.stderr, 'the second run: %s' % r.describe())
    s3util.curl('DELETE', '%s/out/catalog.db' % b)
    r = s3util.vidx(['sync', 's3://%s/out' % b, '--catalog', cat])
    check(r.rc == 0 and s3util.get(b, 'out/catalog.db'), 'vidx sync: %s' % r.describe())
    r = s3util.vidx(['run', lib, '-o', cat] + OUT_ARGS)
    check(r.rc == 2 and 'catalog of the bucket output' in r.stderr,
          'a local run on the bucket\'s DIR: %s' % r.describe())
    r = s3util.vidx(['sync', 's3://%s/other' % b, '--catalog', cat])
    check(r.rc == 12 and 'not s3://' in r.stderr, 'sync to another prefix: %s' % r.describe())
    for key, data in (('out/users-file.txt', b'mine'), ('out/shards/users.tar', b'not vidx\'s')):
        check(s3util.get(b, key) == data, '%s changed or went' % key)
    check(os.environ['AWS_SECRET_ACCESS_KEY'] not in r.stderr + r.stdout, 'the secret was shown')


def test_out_bucket_killed():
    s3util.server()
    b = s3util.bucket('outk')
    lib = _library('s3-outk', 10)
    want = _local_samples(lib, 's3-outk-local')
    cat = common.new_out_dir('s3-outk-cat')
    common.require_vidx()
    with s3util.FaultProxy(hold_parts=True) as px:
        p = subprocess.Popen([common.vidx_bin(), 'run', lib, '-o', 's3://%s/out' % b,
                              '--catalog', cat] + OUT_ARGS, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True,
                             env=s3util.env(px.endpoint, VIDX_S3_PART=PART))
        held = px.part_held.wait(300)
        os.killpg(p.pid, signal.SIGKILL)
        err = p.communicate()[1].decode('utf-8', 'replace')
        check(held, 'no part upload was seen in 300 s: %s' % err[-800:])
        px.release.set()
    # what the killed run left: an open upload; the catalog names nothing incomplete
    check(s3util.uploads(b) != [], 'the killed run left no open upload: the test proves nothing')
    db = sqlite3.connect('file:%s?mode=ro' % (Path(cat) / 'catalog.db'), uri=True)
    for name, size, etag in db.execute('SELECT * FROM uploads'):
        data = s3util.get(b, 'out/' + name)
        check(data is not None and len(data) == size, '%s recorded but not whole' % name)
    db.close()
    st = _status(cat).get('bucket', {})
    check(st.get('url') == 's3://%s/out' % b and st.get('pending', 0) >= 1,
          'status after the kill shows no pending upload: %s' % st)
    r = s3util.vidx(['run', lib, '-o', 's3://%s/out' % b, '--catalog', cat] + OUT_ARGS,
                    VIDX_S3_PART=PART, timeout=600)
    check(r.rc == 0, 'the run after the kill: %s' % r.describe())
    _check_bucket(b, 'out', cat, want)  # the killed run's upload aborted: none left open
    st = _status(cat).get('bucket', {})
    check(st.get('pending') == 0 and st.get('uploaded', 0) >= 2, 'status at the end: %s' % st)


def test_out_bucket_maintain():
    s3util.server()
    b = s3util.bucket('outm')
    lib = _library('s3-outm', 3)
    cat = common.new_out_dir('s3-outm-cat')
    url = 's3://%s/out' % b
    args = ['--count', '3', '--layout', 'shards', '--jobs', '2']
    mine = {'out/users-file.txt': b'mine', 'out/shards/users.tar': b'not a tar',
            'out/frames/notes.txt': b'my notes', 'other/x.bin': b'elsewhere'}
    for k, v in mine.items():
        s3util.put(b, k, v)
    r = s3util.vidx(['run', lib, '-o', url, '--catalog', cat] + args)
    check(r.rc == 0, 'run: %s' % r.describe())
    orphan = 'out/frames/gone.mp4-0123456789abcdef/manifest.jsonl'  # a video no row keeps
    s3util.put(b, orphan, b'{}\n')
    r = s3util.vidx(['verify', url, '--catalog', cat])
    check(r.rc == 0 and '0 problems' in r.stdout, 'verify: %s' % r.describe())
    r = s3util.vidx(['du', url, '--catalog', cat, '--json'])
    check(r.rc == 0, 'du: %s' % r.describe())
    du = json.loads(r.stdout)
    shard_keys = [k for k in s3util.keys(b, 'out/shards/') if 'users' not in k]
    want = sum(len(s3util.get(b, k)) for k in shard_keys)
    check(du['shards']['bytes'] == want + len(mine['out/shards/users.tar']) and
          du['manifests']['files'] == 4 and du['catalog']['files'] == 1,
          'du: %s (shards %d bytes)' % (du, want))
    before = sorted(s3util.keys(b))
    r = s3util.vidx(['gc', url, '--catalog', cat, '--dry-run', '--json'])
    check(r.rc == 0 and json.loads(r.stdout)['files'] == [orphan[4:]],
          'gc --dry-run: %s' % r.describe())
    check(sorted(s3util.keys(b)) == before, 'gc --dry-run deleted something')
    r = s3util.vidx(['gc', url, '--catalog', cat, '--json'])
    rep = json.loads(r.stdout) if r.rc == 0 else {}
    check(rep.get('files') == [orphan[4:]], 'gc: %s' % r.describe())
    left = sorted(e['path'] for e in rep.get('left_alone', []))
    check(left == sorted(['frames/notes.txt', 'shards/users.tar', 'users-file.txt'] +
                         [k[4:] for k in shard_keys]), 'gc left alone: %s' % left)
    check(sorted(s3util.keys(b)) == sorted(k for k in before if k != orphan),
          'gc deleted more than the orphan: %s' % sorted(set(before) - set(s3util.keys(b))))
    for k, v in mine.items():
        check(s3util.get(b, k) == v, '%s changed or went' % k)
    r = s3util.vidx(['verify', url, '--catalog', cat])
    check(r.rc == 0, 'verify after gc: %s' % r.describe())
    s3util.curl('DELETE', '%s/%s' % (b, shard_keys[0]))
    r = s3util.vidx(['verify', url, '--catalog', cat, '--json'])
    rep = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.rc == 1 and any(p['location'] == shard_keys[0][4:] and p['problem'] == 'missing'
                            for p in rep.get('list', [])), 'verify, a shard deleted: %s' % r.describe())
    other = common.new_out_dir('s3-outm-cat2')
    r = s3util.vidx(['run', lib, '-o', url, '--catalog', other] + args)
    check(r.rc == 12 and 'belongs to another vidx output' in r.stderr,
          'a second catalog on the same prefix: %s' % r.describe())


def test_out_bucket_files():
    s3util.server()
    b = s3util.bucket('outf')
    lib = _library('s3-outf', 2)
    args = ['--count', '4', '--audio', 'wav', '--jobs', '2']
    local = common.new_out_dir('s3-outf-local')
    r = common.run_vidx(['run', lib, '-o', local] + args)
    check(r.rc == 0, 'the local run: %s' % r.describe())
    want = {str(p.relative_to(local)): p.read_bytes()
            for p in Path(local, 'frames').rglob('*') if p.is_file()}
    check(len(want) == 2 * (4 + 2), 'the local run made %s' % sorted(want))
    cat = common.new_out_dir('s3-outf-cat')
    url = 's3://%s/out' % b
    r = s3util.vidx(['run', lib, '-o', url, '--catalog', cat] + args)
    check(r.rc == 0, 'the run into the bucket: %s' % r.describe())
    got = sorted(k[4:] for k in s3util.keys(b, 'out/frames/'))
    check(got == sorted(want), 'objects %s, local files %s' % (got, sorted(want)))
    for rel, data in want.items():
        check(s3util.get(b, 'out/' + rel) == data, '%s differs from the local run' % rel)
    left = [p for p in Path(cat, 'frames').rglob('*') if p.is_file()]
    check(left == [], 'files left in DIR: %s' % left)
    r = s3util.vidx(['verify', url, '--catalog', cat])
    check(r.rc == 0 and '0 problems' in r.stdout, 'verify: %s' % r.describe())
    r = s3util.vidx(['run', lib, '-o', url, '--catalog', cat] + args)
    check(r.rc == 0 and '2 skipped' in r.stderr, 'the second run: %s' % r.describe())
    check(s3util.uploads(b) == [], 'uploads left open')
