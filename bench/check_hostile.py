#!/usr/bin/python3
"""check_hostile.py - checks a `vidx run` over a hostile library against its manifest.

    bench/check_hostile.py snapshot LIBDIR > SNAP.json
    bench/check_hostile.py inputs LIBDIR     (the arguments for `vidx run`, one a line)
    bench/check_hostile.py writers LIBDIR    (FIFO<TAB>HEADER for each stalling writer to start
                                              with `make_hostile.py --feed-fifo FIFO HEADER`)
    bench/check_hostile.py serve LIBDIR PORT (the stalling HTTP server, until killed)
    bench/check_hostile.py report LIBDIR OUT [--stdout F] [--stderr F] [--cap S] [--before SNAP.json]

inputs and report take --base-url http://127.0.0.1:PORT/ (the server's) for the URL entries.

LIBDIR is what bench/make_hostile.py wrote (manifest.json and the library); OUT is the
output folder of `vidx run` over the manifest's inputs. `report` prints a JSON report:
counts by status, the entries whose outcome differs from their KINDS row (with the
reason), the slowest video, videos past the cap, catalog rows for paths that are no
input, bytes of a secret file (/etc/passwd, the canary) found in any output file or in
the run's stdout/stderr, and inputs changed since the snapshot. Exit status 0 when all
of it is as expected, 1 otherwise. The same functions serve tests/cli/test_hostile.py.
Stdlib only.
"""
import argparse
import hashlib
import http.server
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRAMES = 8   # vidx run's default --count: what a good clip yields
STATUSES = ('ok', 'partial', 'failed', 'crashed', 'timeout')


# ---------------------------------------------------------------------------
# one entry against its expectation

def outcome(row):
    """The status an entry ended with; 'skipped' when it was not processed as a video."""
    return 'skipped' if row is None or row['status'] == 'skipped' else row['status']


def entry_problems(e, row, frames):
    """What is wrong with the outcome of manifest entry e (catalog row, frames rows)."""
    ex, st = e['expect'], outcome(row)
    if st not in ex['status']:
        return ['expected %s' % '/'.join(ex['status'])]
    if st == 'skipped':
        return []
    out = []
    if st != 'ok' and ex.get('class') and row['error_class'] not in ex['class']:
        out.append('expected class %s' % '/'.join(ex['class']))
    if st != 'ok' and ex.get('error') and not re.search(ex['error'], row['error'] or '', re.I):
        out.append('the reason does not match /%s/' % ex['error'])
    if st in ('ok', 'partial'):
        idx = [f['idx'] for f in frames]
        if ex.get('distinct') and len(set(idx)) != len(idx):
            out.append('repeated frames: indices %s' % idx)
        if e['kind'] == 'good' and (st, row['frames']) != ('ok', FRAMES):
            out.append('expected ok with %d frames' % FRAMES)
    return out


def rel(root, path):
    """A path relative to the library's folder; a URL as it is."""
    return path if '://' in path else os.path.relpath(path, root)


def describe(root, path, e, row):
    d = '%s [%s]: %s' % (rel(root, path), e['kind'], outcome(row))
    if row is not None:
        d += ' class=%s error=%r frames=%s' % (row['error_class'], row['error'], row['frames'])
    return d


def group_problems(root, entries, vids):
    """one_per_group: of the names of one file, exactly one is processed (ok)."""
    groups, out = {}, []
    for p, e in entries.items():
        if e['expect'].get('one_per_group') and e.get('group'):
            groups.setdefault(e['group'], []).append(p)
    for g, paths in sorted(groups.items()):
        got = {rel(root, p): outcome(vids.get(p)) for p in paths}
        if sorted(got.values()) != ['ok'] + ['skipped'] * (len(paths) - 1):
            out.append('one file under %d names %s: expected one ok, the others skipped' % (len(paths), got))
    return out


# ---------------------------------------------------------------------------
# the library, the catalog, the outputs

def load(root, base_url=None):
    """The manifest; entries keyed by their absolute path (URL entries: by their URL under
    base_url, the StallServer's, and left out without one)."""
    root = Path(root).resolve()
    m = json.loads((root / 'manifest.json').read_text())
    m['root'] = root
    m['base_url'] = base_url
    m['by_path'] = {}
    for e in m['entries']:
        if 'url' in e:
            if base_url:
                m['by_path'][base_url + e['url']] = e
        else:
            m['by_path'][str(root / e['path'])] = e
    m['main'] = {p: e for p, e in m['by_path'].items() if not e.get('run')}
    return m


def input_args(m):
    urls = [m['base_url'] + s['url'] for s in m.get('servers', [])] if m['base_url'] else []
    return [str(m['root'] / i) for i in m['inputs']] + urls


def read_catalog(out):
    con = sqlite3.connect(str(Path(out) / 'catalog.db'), timeout=10)
    con.row_factory = sqlite3.Row
    try:
        vids = {r['path']: dict(r) for r in con.execute('SELECT * FROM videos')}
        byid = {v['id']: p for p, v in vids.items()}
        frames = {}
        for r in con.execute('SELECT video_id, seq, idx FROM frames ORDER BY video_id, seq'):
            frames.setdefault(byid.get(r['video_id']), []).append(dict(r))
    finally:
        con.close()
    return vids, frames


def snapshot(root):
    """{relative path: what it is} for everything under root, links not followed."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = 'link -> ' + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, 'rb') as f:
                    for chunk in iter(lambda: f.read(1 << 20), b''):
                        h.update(chunk)
                out[rel] = 'file %d %s %o' % (st.st_size, h.hexdigest(), st.st_mode)
            else:
                out[rel] = 'mode %o' % st.st_mode
    return out


def snapshot_changes(before, after):
    return ['%s: before %s, after %s' % (rel, before.get(rel), after.get(rel))
            for rel in sorted(set(before) | set(after)) if before.get(rel) != after.get(rel)]


def secret_needles(m):
    """Byte strings that only a leak of a secret file could put into an output."""
    needles = {m['canary_token'].encode(): 'outside/canary.txt'}
    for s in m['secrets']:
        p = Path(s) if os.path.isabs(s) else m['root'] / s
        try:
            data = p.read_bytes()
        except OSError:
            continue
        for line in data.splitlines():
            if len(line.strip()) >= 12:
                needles[line.strip()] = str(p)
    return needles


def leaks(needles, out, texts=()):
    """[(where, needle, source)] for every output file (and text) holding a needle."""
    blobs = list(texts)
    for dirpath, _, files in os.walk(out):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                if os.path.isfile(p) and not os.path.islink(p):
                    blobs.append((p, Path(p).read_bytes()))
            except FileNotFoundError:  # a reader's catalog.db-wal/-shm, gone when it closed
                pass
    found, scanned = [], 0
    for where, data in blobs:
        scanned += len(data)
        for needle, src in needles.items():
            if needle in data:
                found.append((where, needle[:60].decode('latin-1'), src))
                break
    return found, scanned


# ---------------------------------------------------------------------------
# the stalling FIFO writers

class Writers:
    """The manifest's stalling FIFO writers, for the duration of one run."""

    def __init__(self, m):
        self.m, self.procs = m, []

    def __enter__(self):
        for w in self.m['writers']:
            self.procs.append(subprocess.Popen(
                [sys.executable, str(HERE / 'make_hostile.py'), '--feed-fifo',
                 str(self.m['root'] / w['fifo']), str(self.m['root'] / w['header'])],
                start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def manifest_files(m):
    """What the manifest's stalling server serves: {name: (data, bytes sent before it stalls)}."""
    return {s['url']: ((m['root'] / s['data']).read_bytes(), s['upto']) for s in m.get('servers', [])}


class StallServer:
    """Serves files over HTTP on 127.0.0.1 (Range aware), each as {name: (data, upto)}:
    the Content-Length of the whole file, then only its bytes before `upto`, then the
    connection stalls until the server is closed (a stuck server, a hung mount). The
    manifest's files: StallServer(manifest_files(m)); a URL is base_url + name."""

    def __init__(self, files, port=0):
        self.release = threading.Event()
        release = self.release

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def do_GET(self):
                data, upto = files.get(self.path.lstrip('/'), (None, 0))
                try:
                    if data is None:
                        self.send_error(404)
                        return
                    rng = re.match(r'bytes=(\d+)-', self.headers.get('Range') or '')
                    a = int(rng.group(1)) if rng else 0
                    self.send_response(206 if rng else 200)
                    if rng:
                        self.send_header('Content-Range', 'bytes %d-%d/%d' % (a, len(data) - 1, len(data)))
                    self.send_header('Accept-Ranges', 'bytes')
                    self.send_header('Content-Length', str(len(data) - a))
                    self.end_headers()
                    self.wfile.write(data[a:max(a, upto)])
                    self.wfile.flush()
                    release.wait()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
        self.httpd.daemon_threads = True
        self.base_url = 'http://127.0.0.1:%d/' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.1},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------
# the report of one run

SUMMARY_RE = re.compile(r'^vidx run: (\d+) videos: (\d+) ok, (\d+) partial, (\d+) failed, (\d+) crashed, '
                        r'(\d+) timeout, (\d+) skipped', re.M)


def report(m, out, stdout='', stderr='', cap=None, before=None):
    root = m['root']
    vids, frames = read_catalog(out)
    counts = {s: sum(1 for v in vids.values() if v['status'] == s) for s in STATUSES}
    r = {'catalog_rows': len(vids), 'counts': counts, 'mismatches': [], 'by_kind': {}}
    for p, e in sorted(m['main'].items()):
        probs = entry_problems(e, vids.get(p), frames.get(p, []))
        k = r['by_kind'].setdefault(e['kind'], {'entries': 0, 'as_expected': 0, 'outcomes': {}})
        k['entries'] += 1
        k['as_expected'] += not probs
        o = outcome(vids.get(p))
        if o not in ('ok', 'skipped'):
            o += '/' + (vids[p]['error_class'] or '')
        k['outcomes'][o] = k['outcomes'].get(o, 0) + 1
        r['mismatches'] += ['%s -- %s' % (describe(root, p, e, vids.get(p)), x) for x in probs]
    r['mismatches'] += group_problems(root, m['main'], vids)
    r['unexpected_rows'] = sorted(rel(root, p) for p in set(vids) - set(m['main']))
    secs = sorted(((v['seconds'] or 0), rel(root, p), v['status']) for p, v in vids.items())
    r['slowest'] = secs[-5:][::-1]
    r['past_cap'] = [s for s in secs if cap is not None and s[0] > cap]
    s = SUMMARY_RE.search(stderr)
    r['summary_line'] = s.group(0) if s else None
    if s:
        n = [int(x) for x in s.groups()]
        r['summary_adds_up'] = n[0] == sum(n[1:6]) == len(vids) and dict(zip(STATUSES, n[1:6])) == counts
    found, scanned = leaks(secret_needles(m), out, [('stdout', stdout.encode()), ('stderr', stderr.encode())])
    r['leaks'] = found
    r['scanned_bytes'] = scanned
    if before is not None:
        r['inputs_changed'] = snapshot_changes(before, snapshot(root))
    r['ok'] = not (r['mismatches'] or r['unexpected_rows'] or r['past_cap'] or r['leaks']
                   or r.get('inputs_changed') or not r.get('summary_adds_up'))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('what', choices=('snapshot', 'inputs', 'writers', 'serve', 'report'))
    ap.add_argument('lib')
    ap.add_argument('out', nargs='?', help='report: the output folder; serve: the port')
    ap.add_argument('--base-url')
    ap.add_argument('--stdout')
    ap.add_argument('--stderr')
    ap.add_argument('--cap', type=float)
    ap.add_argument('--before')
    a = ap.parse_args()
    m = load(a.lib, a.base_url)
    if a.what == 'snapshot':
        json.dump(snapshot(m['root']), sys.stdout, indent=0)
        return 0
    if a.what == 'inputs':
        print('\n'.join(input_args(m)))
        return 0
    if a.what == 'writers':
        for w in m['writers']:
            print('%s\t%s' % (m['root'] / w['fifo'], m['root'] / w['header']))
        return 0
    if a.what == 'serve':
        with StallServer(manifest_files(m), int(a.out or 0)) as srv:
            print(srv.base_url, flush=True)
            while True:
                time.sleep(3600)
    if not a.out:
        ap.error('report needs OUT')
    text = lambda f: Path(f).read_text(errors='replace') if f else ''  # noqa: E731
    before = json.loads(Path(a.before).read_text()) if a.before else None
    r = report(m, a.out, text(a.stdout), text(a.stderr), a.cap, before)
    json.dump(r, sys.stdout, indent=1)
    print()
    return 0 if r['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
