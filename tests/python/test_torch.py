"""vidx.torch's datasets with a real torch DataLoader and two worker processes."""
import hashlib

import pytest

torch = pytest.importorskip('torch', reason='python3-torch (scripts/deps.sh)')
from torch.utils.data import DataLoader  # noqa: E402

import vidx  # noqa: E402
import vidx.torch as vt  # noqa: E402
from conftest import clip  # noqa: E402

NAMES = ['decord_video_90.mov', 'androidx_bbb_2500ms.ts', 'androidx_sample.flv',
         'moviepy_big_buck_bunny_0_30.webm']


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('torch')
    inputs = [clip(n) for n in NAMES]
    for layout in ('files', 'shards'):
        s = vidx.run(inputs, root / layout, count=4, size=(96, 64), fit='crop', format='png',
                     layout=layout, shard_samples=5)
        assert s['counts']['ok'] == len(inputs)
    return root, inputs


def no_collate(batch):
    return batch


@pytest.mark.parametrize('layout', ['files', 'shards'])
def test_frame_dataset(runs, layout):
    root, inputs = runs
    ds = vt.FrameDataset(root / layout)
    assert len(ds) == 4 * len(inputs)
    seen = []
    for imgs, rows in DataLoader(ds, batch_size=3, num_workers=2, collate_fn=None):
        assert imgs.dtype == torch.uint8 and imgs.shape[1:] == (3, 64, 96)
        seen += list(zip(rows['video'], rows['seq'].tolist()))
    assert sorted(seen) == sorted((r['video'], r['seq']) for r in ds.rows)
    # the pixels are the frames vidx.frames gives for the same request (PNG is lossless)
    img, row = ds[0]
    f = list(vidx.frames(row['video'], count=4, size=(96, 64), fit='crop'))[row['seq']]
    assert torch.equal(img, torch.from_numpy(f.array).permute(2, 0, 1))


def test_clip_dataset(runs):
    root, inputs = runs
    ds = vt.ClipDataset(root / 'files', k=5, size=(64, 48))
    assert len(ds) == len(inputs)
    paths = []
    for clips, meta in DataLoader(ds, batch_size=2, num_workers=2):
        assert clips.shape[1:] == (5, 3, 48, 64) and clips.dtype == torch.uint8
        paths += meta['path']
        assert meta['time'].shape[1] == 5
    assert sorted(paths) == sorted(inputs)
    clip0, meta0 = ds[0]
    b = vidx.batch(meta0['path'], count=5, size=(64, 48), fit='crop')
    assert torch.equal(clip0, torch.from_numpy(b.array).permute(0, 3, 1, 2))


def test_shard_stream(runs):
    root, inputs = runs
    shards = vt.shard_paths(root / 'shards')
    assert len(shards) >= 2  # 16 frames, shards closed past 5 samples: one for each worker
    stream = vt.ShardStream(root / 'shards')
    got = list(DataLoader(stream, batch_size=None, num_workers=2))
    # every stored image once (a frame that answers two targets is stored once, two rows)
    stored = {(r['location'], r['offset']): r['checksum']
              for r in vidx.Catalog(root / 'shards').frames()}
    assert len(got) == len(stored) >= 3 * len(inputs)
    assert sorted(s['json']['sha256'] for s in got) == sorted(stored.values())
    cat = vidx.Catalog(root / 'shards')
    by_sha = {r['checksum']: r for r in cat.frames()}
    for s in got:
        assert s['png'].shape == (3, 64, 96)
        assert s['json']['sha256'] in by_sha
    raw = list(vt.ShardStream(shards[0], decode=False))
    for s in raw:
        assert hashlib.sha256(s['png']).hexdigest() == s['json']['sha256']
