"""vidx.Catalog: the catalog of a `vidx run` output directory, read through
libvidx's catalog export (SQLite or PostgreSQL alike), and the bytes of its
frames read back from their files or from inside their tar shards."""
import json
import os
import tempfile

from . import _ext

_vidx = _ext.load()

TABLES = ('videos', 'frames', 'audio', 'shots', 'segments')


class Catalog:
    """The catalog of the run output out (catalog: None for out/catalog.db, or
    the PostgreSQL URL the run used). Opened read-only for each query: it takes
    no lock and may be read while a run writes."""

    def __init__(self, out, catalog=None):
        self.out = os.path.abspath(os.fspath(out))
        self.catalog = catalog
        self.status()  # fails now (NotOursError, CatalogError, ...) rather than later

    def _export(self, table):
        with tempfile.TemporaryFile() as f:
            _vidx.catalog_export(self.out, self.catalog, table, f.fileno())
            f.seek(0)
            return [json.loads(line) for line in f if line.strip()]

    def status(self):
        """Counts by status and the failures with their causes (vidx status)."""
        return json.loads(_vidx.catalog_status(self.out, self.catalog))

    def videos(self, status=None):
        """The videos (dicts: id, path, key, status, error_class, message, ...)."""
        rows = self._export('videos')
        return [r for r in rows if status is None or r.get('status') == status]

    def _video_paths(self, video):
        """The catalog paths (the "video" column of the other tables) video names."""
        if video is None:
            return None
        if isinstance(video, dict):
            return {video['path']}
        rows = self._export('videos')
        if isinstance(video, int):
            return {r['path'] for r in rows if r['id'] == video}
        name = os.fspath(video)
        paths = {r['path'] for r in rows if name in (r.get('path'), r.get('key'))}
        return paths or {r['path'] for r in rows if r['path'] == os.path.realpath(name)}

    def _rows(self, table, video):
        paths = self._video_paths(video)
        rows = self._export(table)
        return rows if paths is None else [r for r in rows if r.get('video') in paths]

    def frames(self, video=None):
        """Frame rows (video: the video's path, seq, index, time, target, pts,
        keyframe, width, height, bytes, location, offset, checksum: SHA-256 of
        the image, phash), in delivery order; video: a row of videos(), an id,
        a path or a key."""
        rows = self._rows('frames', video)
        rows.sort(key=lambda r: (r['video'], r['seq']))
        return rows

    def shots(self, video=None):
        return self._rows('shots', video)

    def segments(self, video=None):
        return self._rows('segments', video)

    def audio(self, video=None):
        return self._rows('audio', video)

    def renditions(self, video=None):
        """The transcode stage's outputs (vidx run --transcode): preset, kind
        (proxy, hls, master, sprite), path (relative to OUT), bytes, duration,
        codec, width, height, bitrate."""
        return self._rows('renditions', video)

    def location(self, frame):
        """(absolute path of the file or shard, byte offset, size) of a frame row."""
        loc = frame.get('location')
        if not loc:
            raise ValueError('frame %s of %s has no image (dropped by dedup)'
                             % (frame.get('seq'), frame.get('video')))
        if os.path.isabs(loc) or '..' in loc.split('/'):
            raise ValueError('refusing a frame location outside the output: %r' % loc)
        return os.path.join(self.out, loc), int(frame.get('offset') or 0), int(frame['bytes'])

    def read(self, frame):
        """The encoded image bytes of a frame row (from its file, or from inside
        its tar shard at its offset)."""
        path, offset, size = self.location(frame)
        with open(path, 'rb') as f:
            f.seek(offset)
            data = f.read(size)
        if len(data) != size:
            raise OSError('%s: %d bytes at offset %d, expected %d (truncated?)'
                          % (path, len(data), offset, size))
        return data

    def __repr__(self):
        return 'Catalog(%r)' % self.out
