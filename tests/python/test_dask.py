"""vidx.dask.run on a real Dask cluster on loopback: a dask-scheduler and two
dask-worker processes (python3-distributed), one of them killed (SIGKILL)
while it runs a task. The result is the catalog a plain vidx.run makes: every
video once, status ok, the same frames, files that verify."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

distributed = pytest.importorskip('distributed', reason='python3-distributed (scripts/deps.sh)')

import vidx  # noqa: E402
import vidx.dask  # noqa: E402
from conftest import BUILD, REPO, clip  # noqa: E402

NAMES = ['torchcodec_nasa_13013.mp4', 'moviepy_big_buck_bunny_0_30.webm', 'androidx_sample.flv',
         'decord_flipping_a_pancake.mkv', 'androidx_bbb_2500ms.ts', 'decord_video_90.mov']
OPTIONS = dict(fps=3, size=320, format='png', jobs=1, threads=1)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO / 'python'), str(BUILD / 'python'), os.environ.get('PYTHONPATH', '')]),
        DASK_DISTRIBUTED__WORKER__DAEMON='False')
    port = free_port()
    addr = 'tcp://127.0.0.1:%d' % port
    logs = []
    procs = {}

    def start(name, cmd):
        log = open(tmp / (name + '.log'), 'w')
        logs.append(log)
        procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                       cwd=str(tmp))

    start('scheduler', [sys.executable, '-m', 'distributed.cli.dask_scheduler', '--host',
                        '127.0.0.1', '--port', str(port), '--dashboard-address', ':0'])
    for name in ('wA', 'wB'):
        start(name, [sys.executable, '-m', 'distributed.cli.dask_worker', addr, '--name', name,
                     '--nthreads', '1', '--no-nanny', '--host', '127.0.0.1',
                     '--dashboard-address', ':0'])
    client = None
    try:
        client = distributed.Client(addr, timeout=120)
        client.wait_for_workers(2, timeout=120)
        yield client, procs
    finally:
        if client is not None:
            client.close()
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()


def catalog_of(out):
    cat = vidx.Catalog(out)
    return {v['path']: (v['status'], sorted(f['checksum'] for f in cat.frames(v)))
            for v in cat.videos()}


def test_dask_run_survives_a_killed_worker(cluster, tmp):
    client, procs = cluster
    inputs = [clip(n) for n in NAMES]
    ref = vidx.run(inputs, tmp / 'ref', **OPTIONS)
    assert ref['counts']['ok'] == len(inputs)

    killed = {}

    def kill_when_busy():
        """SIGKILL worker wA as soon as it is running a task."""
        deadline = time.time() + 300
        while time.time() < deadline:
            info = client.scheduler_info()['workers']
            addr = [a for a, w in info.items() if w.get('name') == 'wA']
            busy = client.processing(addr) if addr else {}
            if addr and busy.get(addr[0]):
                time.sleep(0.5)  # into the video
                killed['tasks'] = list(client.processing(addr).get(addr[0], []))
                procs['wA'].send_signal(signal.SIGKILL)
                return
            time.sleep(0.05)

    import threading
    t = threading.Thread(target=kill_when_busy)
    t.start()
    merged = []
    totals = vidx.dask.run(inputs, tmp / 'out', client, tasks=6, progress=merged.append,
                           **OPTIONS)
    t.join()
    assert killed.get('tasks'), 'worker wA never ran a task'
    assert procs['wA'].wait(timeout=30) == -signal.SIGKILL
    assert totals['tasks'] == 6 and len(totals['parts']) == 6
    assert totals['merged'] == len(inputs) and totals['conflicts'] == 0
    # the killed tasks were done again, by the surviving worker
    assert {p['index'] for p in totals['parts']} == set(range(6))
    # every video once, ok, with the frames a plain run makes
    assert catalog_of(tmp / 'out') == catalog_of(tmp / 'ref')
    rows = vidx.Catalog(tmp / 'out').videos()
    assert len(rows) == len({r['path'] for r in rows}) == len(inputs)
    n, report = vidx.verify(tmp / 'out')
    assert n == 0, report
    left = sorted(str(p) for p in (tmp / 'out.dask-parts').rglob('*'))
    assert not (tmp / 'out.dask-parts').exists(), 'staging left behind: %r' % left[:20]

    # again: the parts are done again, and merging them records nothing twice
    again = vidx.dask.run(inputs, tmp / 'out', client, tasks=3, **OPTIONS)
    assert again['merged'] == 0 and again['skipped'] == len(inputs)
    assert catalog_of(tmp / 'out') == catalog_of(tmp / 'ref')


def test_dask_run_refuses_a_users_directory(cluster, tmp):
    client, _ = cluster
    out = tmp / 'mine'
    out.mkdir()
    (out / 'notes.txt').write_text('mine')
    with pytest.raises(vidx.NotOursError):
        vidx.dask.run([clip('decord_video_90.mov')], out, client, tasks=2, count=2)
    assert os.listdir(out) == ['notes.txt']
    assert not (tmp / 'mine.dask-parts').exists()
