"""vidx.run() is `vidx run` (same catalog, same files), with progress events
from Python; vidx.Catalog reads the catalog and a frame's bytes back from files
and from inside tar shards."""
import hashlib
import os
import tarfile

import pytest

import vidx
from conftest import clip, vidx_cli

NAMES = ['decord_video_90.mov', 'androidx_bbb_2500ms.ts', 'androidx_sample.flv']


@pytest.mark.parametrize('layout', ['files', 'shards'])
def test_run_and_catalog(layout, tmp):
    inputs = [clip(n) for n in NAMES]
    events = []
    s = vidx.run(inputs, tmp / 'out', count=3, size=128, layout=layout, progress=events.append)
    assert s['total'] == 3 and s['counts']['ok'] == 3 and s['frames'] == 9
    assert [e['type'] for e in events].count('video') == 3
    assert events[0]['type'] == 'start' and events[-1]['type'] == 'end'
    done = {e['path']: e for e in events if e['type'] == 'video'}
    assert set(done) == set(inputs) and all(e['status'] == 'ok' for e in done.values())

    cat = vidx.Catalog(tmp / 'out')
    assert cat.status()['counts'] == {'ok': 3}
    videos = cat.videos()
    assert sorted(v['path'] for v in videos) == sorted(inputs)
    frames = cat.frames()
    assert len(frames) == 9
    for v in videos:
        mine = cat.frames(v)
        assert [f['seq'] for f in mine] == [0, 1, 2]
        assert cat.frames(v['path']) == mine == cat.frames(v['key']) == cat.frames(v['id'])
    for f in frames:
        data = cat.read(f)
        assert hashlib.sha256(data).hexdigest() == f['checksum']
        assert data[:3] == b'\xff\xd8\xff'  # JPEG
        if layout == 'shards':
            path, offset, size = cat.location(f)
            with tarfile.open(path) as t:
                member = [m for m in t.getmembers() if m.offset_data == offset]
                assert len(member) == 1 and member[0].size == size
    # the CLI reads the same output
    assert vidx_cli('status', tmp / 'out', '--json').returncode == 0
    n, report = vidx.verify(tmp / 'out')
    assert n == 0, report

    # resumable: a second run does nothing new
    again = vidx.run(inputs, tmp / 'out', count=3, size=128, layout=layout)
    assert again['skipped'] == 3 and again['done'] == 0


def test_progress_exception_stops_the_run(tmp):
    inputs = [clip(n) for n in NAMES]

    class Stop(Exception):
        pass

    def progress(ev):
        if ev['type'] == 'video':
            raise Stop('enough')

    with pytest.raises(Stop):
        vidx.run(inputs, tmp / 'out', count=2, jobs=1, progress=progress)
    # what was recorded is whole; a rerun finishes the rest
    s = vidx.run(inputs, tmp / 'out', count=2, jobs=1)
    assert s['skipped'] + s['counts']['ok'] == 3
    assert len(vidx.Catalog(tmp / 'out').videos(status='ok')) == 3


def test_run_records_failures(tmp):
    bad = tmp / 'in' / 'bad.mp4'
    bad.parent.mkdir()
    bad.write_bytes(b'\0' * 1000)
    s = vidx.run([str(bad), clip('decord_video_90.mov')], tmp / 'out', count=2)
    assert s['counts']['ok'] == 1 and s['counts']['failed'] == 1
    failed = vidx.Catalog(tmp / 'out').videos(status='failed')
    assert len(failed) == 1 and failed[0]['path'] == os.path.realpath(bad)
    assert failed[0]['error_class'] == 'format'


def test_run_usage_errors(tmp):
    with pytest.raises(vidx.UsageError):
        vidx.run([clip('decord_video_90.mov')], tmp / 'out', format='gif')
    with pytest.raises(vidx.UsageError):
        vidx.run([clip('decord_video_90.mov')], tmp / 'out', count=2, fps=1)
    assert not (tmp / 'out').exists()


def test_ctrl_c_stops_the_run_cleanly(tmp):
    """SIGINT while vidx.run works (no progress callable): KeyboardInterrupt
    once the run has stopped; what was recorded is whole and a rerun finishes."""
    import signal
    import threading
    inputs = [clip(n) for n in NAMES + ['moviepy_big_buck_bunny_0_30.webm',
                                        'torchcodec_nasa_13013.mp4']]
    started = threading.Event()
    import time

    def interrupt():
        started.wait(60)
        time.sleep(1.0)  # into the run (it takes longer: 5 videos at 10 fps as PNG, 1 job)
        os.kill(os.getpid(), signal.SIGINT)
    timer = threading.Thread(target=interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        started.set()
        vidx.run(inputs, tmp / 'out', fps=10, format='png', jobs=1, threads=1)
    timer.join()
    s = vidx.run(inputs, tmp / 'out', fps=10, format='png', jobs=1, threads=1)
    assert s['skipped'] + s['counts']['ok'] == len(inputs)
    assert s['counts']['ok'] >= 1  # the interrupt came before the end
    n, report = vidx.verify(tmp / 'out')
    assert n == 0, report


def test_run_transcode(tmp):
    """transcode= is vidx run --transcode: the renditions are in the catalog and on disk."""
    inputs = [clip('decord_video_90.mov'), clip('androidx_bbb_2500ms.ts')]
    s = vidx.run(inputs, tmp / 'out', transcode=['proxy'], no_frames=True, jobs=2)
    assert s['counts']['ok'] == 2 and s['frames'] == 0
    rows = vidx.Catalog(tmp / 'out').renditions()
    assert sorted(r['video'] for r in rows) == sorted(inputs)
    for r in rows:
        assert r['kind'] == 'proxy' and r['preset'] == 'proxy'
        assert os.path.getsize(tmp / 'out' / r['path']) == r['bytes'] > 0
    assert vidx.run(inputs, tmp / 'out', transcode='proxy', no_frames=True)['skipped'] == 2
    with pytest.raises(vidx.UsageError):
        vidx.run(inputs, tmp / 'out2', transcode='no-such-preset')
