"""In a real browser: Debian's chromium, headless, driven by playwright-core (npm,
pinned in package-lock.json; scripts/deps.sh installs both) through
tests/browser/pages.mjs, over a real `vidx serve` of a real run (issue 16).
Without chromium or playwright-core the tests fail (skip with VIDX_TEST_NO_SERVICES=1).

  pages          the overview's counts are vidx status's; the failures table lists the
                 failed videos with their reasons, filters by class on a click, and
                 opens a failed video whose page shows the reason and the retry command;
                 an ok video's frames load and are pictures (measured on a canvas: not
                 blank); no page logs an error (a CSP violation included)
  live           the overview page, left open while `vidx run` goes, shows the count
                 rising and the run's state, ETA, then "finished"
"""
import json
import os
import subprocess
from pathlib import Path

import common
from common import Failures, check, fail, note, run_vidx
import test_serve

PAGES = common.REPO / 'tests' / 'browser' / 'pages.mjs'


def _require_browser():
    chromium = os.environ.get('VIDX_CHROMIUM', '/usr/bin/chromium')
    missing = [what for what, ok in (('chromium', os.path.exists(chromium)),
                                     ('node', bool(subprocess.run(['sh', '-c', 'command -v node'],
                                                                  capture_output=True).stdout)),
                                     ('playwright-core', (common.REPO / 'node_modules' / 'playwright-core').is_dir()))
               if not ok]
    if missing:
        if os.environ.get('VIDX_TEST_NO_SERVICES') == '1':
            raise common.Skip('no %s (VIDX_TEST_NO_SERVICES=1)' % ', '.join(missing))
        fail('no %s: run scripts/deps.sh' % ', '.join(missing))


def browse(server, scenario, *args, timeout=180):
    url = 'http://127.0.0.1:%d/' % server.port
    r = common.run(['node', PAGES, scenario, url] + [str(a) for a in args], timeout=timeout)
    check(r.rc == 0 and r.stdout.strip(), 'pages.mjs %s: %s' % (scenario, r.describe()))
    out = json.loads(r.stdout.strip().splitlines()[-1])
    check('error_thrown' not in out, 'pages.mjs %s: %s' % (scenario, out.get('error_thrown')))
    return out


def test_pages():
    _require_browser()
    out = test_serve._run('browser')
    st = test_serve._status(out)
    f = Failures('browser pages')
    with test_serve.Server(out) as s:
        o = browse(s, 'overview')
        want = dict(st['counts'], videos=st['videos'], frames=st['frames'])
        f.check(o['cards'] == want, 'overview cards %s, vidx status %s' % (o['cards'], want))
        f.check(o['run_state'] == 'finished' and o['bars'] >= 1, 'run %s, %d bars' % (o['run_state'], o['bars']))
        f.check(not o['problems'], 'overview: %s' % o['problems'])
        broken = [x for x in st['failures'] if x['path'].endswith(test_serve.BROKEN)][0]
        fl = browse(s, 'failures', broken['class'])
        rows = {os.path.basename(r[0]): r for r in fl['rows']}
        f.check(set(rows) == {os.path.basename(x['path']) for x in st['failures']}, 'rows %s' % sorted(rows))
        f.check(all(r[3] == x['error'] for x in st['failures'] for r in [rows.get(os.path.basename(x['path']), [0] * 5)]),
                'reasons %s vs %s' % (fl['rows'], st['failures']))
        f.check(fl['filtered'] and all(r[2] == broken['class'] for r in fl['filtered']), 'filtered %s' % fl['filtered'])
        f.check(fl['opened']['status'] == 'failed' and fl['opened']['error'] == broken['error'] and
                fl['opened']['retry'].startswith('vidx run ') and '--retry' in fl['opened']['retry'],
                'the failed video page: %s' % fl['opened'])
        f.check(not fl['problems'], 'failures: %s' % fl['problems'])
        vid = test_serve._ok_video(s)
        v = browse(s, 'video', vid['id'])
        imgs = v['images']
        f.check(len(imgs) == vid['frames'] - sum(1 for _ in ()) and imgs, 'images %d of %d' % (len(imgs), vid['frames']))
        for im in imgs:
            f.check(im['width'] > 0 and im['height'] > 0, 'not loaded: %s' % im)
            f.check(im.get('stddev', 0) > 8 and im.get('colours', 0) > 16, 'blank pixels: %s' % im)
        f.check(v['status'] == 'ok' and not v['failure_shown'] and v['probe_rows'] > 5 and v['shots'] >= 1,
                'video page: %s' % {k: v[k] for k in ('status', 'failure_shown', 'probe_rows', 'shots')})
        f.check(not v['problems'], 'video: %s' % v['problems'])
        note('browser: %d frames loaded, pixel stddev %.1f..%.1f' %
             (len(imgs), min(i.get('stddev', 0) for i in imgs), max(i.get('stddev', 0) for i in imgs)))
    f.raise_if_any()


def test_live():
    _require_browser()
    lib = test_serve._library(24, 'live', seconds=8, size='640x480')
    out = common.new_out_dir('browser-live')
    # PNG frames: a run long enough (seconds) for the page's 2-s polls to see it move
    opts = ['--jobs', '1', '--count', '60', '--format', 'png', '--progress', 'none']
    r = run_vidx(['run', lib / 'clip00.mp4', '-o', out] + opts)
    check(r.rc == 0, r.describe())
    f = Failures('browser live')
    with test_serve.Server(out) as s:
        url = 'http://127.0.0.1:%d/' % s.port
        page = subprocess.Popen(['node', str(PAGES), 'live', url, '250'], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            ready = page.stdout.readline()  # the page is up: now the run starts
            if 'ready' not in ready:
                fail('pages.mjs live: %r %s' % (ready, page.stderr.read()[-2000:]))
            run = subprocess.run([str(common.vidx_bin()), 'run', str(lib), '-o', str(out)] + opts,
                                 capture_output=True, timeout=300)
            last, err = page.communicate(timeout=280)
        finally:
            if page.poll() is None:
                page.kill()
                page.wait()
        result = json.loads(last.strip().splitlines()[-1])
        check('error_thrown' not in result, 'pages.mjs live: %s' % result.get('error_thrown'))
        f.check(run.returncode == 0, 'the run: %s' % run.stderr.decode()[-500:])
        seen = result.get('seen', [])
        running = [x for x in seen if x[1] == 'running']
        totals = sorted({x[0] for x in running})
        f.check(len(totals) >= 3, 'the page showed only %s while running: %s' % (totals, seen[:10]))
        f.check(any(x[3] not in ('-', None, '') for x in running), 'no ETA shown: %s' % running[:5])
        f.check(seen and seen[-1][0] == 24 and seen[-1][1] == 'finished' and seen[-1][2] == '23 of 23',
                'the page at the end: %s' % (seen[-1:] or None))
        f.check(not result.get('problems'), 'live: %s' % result.get('problems'))
        note('browser live: the page showed %d distinct counts while running' % len(totals))
    f.raise_if_any()
