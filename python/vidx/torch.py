"""PyTorch datasets over vidx outputs (python3-torch; images decoded by PIL,
python3-pil).

    FrameDataset(out)      map-style: one item per frame a run stored (files
                           or shards), read back through the catalog
    ClipDataset(out, k)    map-style: one item per video of a run, k frames
                           sampled exactly from the video itself by libvidx
    ShardStream(shards)    iterable: WebDataset samples streamed from tar
                           shards, the shards split between DataLoader workers

Each works with torch.utils.data.DataLoader(num_workers=N): nothing opened in
the constructor is carried into the workers (the catalog's rows are plain
dicts; files are opened per item), so forked and spawned workers both work.
Images are uint8 tensors C x H x W (RGB), as torchvision uses them.
"""
import io
import json
import os
import tarfile

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

import vidx
from .catalog import Catalog


def decode_image(data):
    """Encoded image bytes (JPEG, PNG, WebP) -> uint8 tensor 3 x H x W (RGB)."""
    from PIL import Image
    with Image.open(io.BytesIO(data)) as im:
        a = np.asarray(im.convert('RGB'))
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def _to_tensor(array):
    """H x W x 3 (or N x H x W x 3) uint8 -> 3 x H x W (N x 3 x H x W) tensor."""
    t = torch.from_numpy(array)
    return t.permute(0, 3, 1, 2) if t.ndim == 4 else t.permute(2, 0, 1)


class FrameDataset(Dataset):
    """The frames a `vidx run` stored under out, one item each: (image, meta),
    image a uint8 tensor 3 x H x W, meta from the frame's catalog row: video
    (its path), seq, index, time, pts, keyframe, target (NaN for none), so that
    the default collate batches it (the whole rows are in .rows). status: only
    videos with this status ('ok' by default; None for all). transform, if
    given, is applied to the image."""

    def __init__(self, out, status='ok', transform=None, catalog=None):
        self.catalog = Catalog(out, catalog)
        keep = {v['path'] for v in self.catalog.videos(status=status)}
        self.rows = [r for r in self.catalog.frames() if r['video'] in keep and r['location']]
        self.transform = transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        row = self.rows[i]
        img = decode_image(self.catalog.read(row))
        if self.transform is not None:
            img = self.transform(img)
        target = row.get('target')
        return img, {'video': row['video'], 'seq': row['seq'], 'index': row['index'],
                     'time': row['time'], 'pts': row['pts'], 'keyframe': bool(row['keyframe']),
                     'target': float('nan') if target is None else target}


class ClipDataset(Dataset):
    """One item per video a run recorded (status 'ok' by default): (clip, meta),
    clip a uint8 tensor k x 3 x H x W of the k frames at the centres of k equal
    segments of the video (vidx.batch(path, count=k, ...): exact frames,
    decoded from the video when the item is asked for), meta {'path', 'time':
    tensor of the frames' times, 'index'}. size: as vidx.frames (an (W, H) box
    makes clips of one shape, so that the default collate can stack them)."""

    def __init__(self, out, k, size=(224, 224), fit='crop', status='ok', transform=None,
                 catalog=None, threads=1):
        if k < 1:
            raise ValueError('k must be at least 1')
        self.paths = [v['path'] for v in Catalog(out, catalog).videos(status=status)]
        self.k, self.size, self.fit, self.threads = k, size, fit, threads
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        path = self.paths[i]
        fit = self.fit if isinstance(self.size, (tuple, list, str)) else None
        b = vidx.batch(path, count=self.k, size=self.size, fit=fit, threads=self.threads)
        clip = _to_tensor(b.array)
        if self.transform is not None:
            clip = self.transform(clip)
        return clip, {'path': path, 'time': torch.from_numpy(b.time),
                      'index': torch.from_numpy(b.index)}


def shard_paths(source):
    """The tar shards of source: a run's output directory (its shards/*.tar,
    in order), one .tar file, or a list of .tar files."""
    if isinstance(source, (list, tuple)):
        return [os.fspath(s) for s in source]
    source = os.fspath(source)
    if os.path.isdir(source):
        d = os.path.join(source, 'shards')
        return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith('.tar'))
    return [source]


class ShardStream(IterableDataset):
    """WebDataset samples streamed from tar shards (a `vidx run --layout
    shards` output, or any WebDataset .tar files): each sample is a dict with
    '__key__', '__shard__' and one entry per member extension ('jpg', 'png',
    'webp' decoded to a uint8 tensor 3 x H x W unless decode=False; 'json'
    parsed; others as bytes). Shards are read sequentially, once each; with
    DataLoader workers, worker w of n reads shards w, w+n, ... (so every sample
    comes exactly once per epoch)."""

    IMAGES = ('jpg', 'jpeg', 'png', 'webp')

    def __init__(self, source, decode=True, transform=None):
        self.shards = shard_paths(source)
        self.decode = decode
        self.transform = transform

    def _mine(self):
        w = get_worker_info()
        if w is None:
            return self.shards
        return self.shards[w.id::w.num_workers]

    def _value(self, ext, data):
        if ext == 'json':
            return json.loads(data)
        if self.decode and ext in self.IMAGES:
            img = decode_image(data)
            return self.transform(img) if self.transform is not None else img
        return data

    def __iter__(self):
        for shard in self._mine():
            sample, key = {}, None
            with tarfile.open(shard, 'r|') as t:
                for m in t:
                    if not m.isfile():
                        continue
                    base, _, ext = m.name.rpartition('.')
                    ext = ext.lower()
                    # a frame delivered twice (two targets) is two samples of one name
                    if base != key or ext in sample:
                        if sample:
                            yield sample
                        key, sample = base, {'__key__': base, '__shard__': shard}
                    sample[ext] = self._value(ext, t.extractfile(m).read())
            if sample:
                yield sample
