"""vidx on a Dask cluster (python3-distributed): vidx.dask.run(inputs, out, client).

No new commit protocol: it is the static sharding of docs/CLUSTER.md run by
Dask. The library is cut into `tasks` shards by the stable hash of each
video's canonical path (`vidx run --shard I/N`); each Dask task is one
`vidx.run(inputs, part, shard=(I, N))` into its own part directory (its own
SQLite catalog, resumable, the supervised worker processes of `vidx run`), and
the client merges each finished part into out with vidx.merge(), which makes a
video's files durable before it commits the video's rows, and skips a video out
already has (so a video's rows appear once, even when a part is merged twice).

A worker killed mid-task costs a retry: Dask gives the task to another worker,
which resumes the part where the dead one left it (what that one had recorded
is kept; its unfinished video is redone; its leftovers are cleaned by the next
run into the part, as after any crash of `vidx run`). Nothing of a killed task
reaches out, because only finished parts are merged.

The parts live in staging (default: OUT + '.dask-parts', beside out, since a
part may not be inside out); each is removed once merged, and staging when
empty. Every worker must see the inputs, staging and out at the same paths (a
shared filesystem), as for Slurm.
"""
import os
import shutil
import threading

import vidx

# One vidx.run per worker process at a time (a run supervises its own forked
# worker processes; Dask may give a worker several threads).
_one_run = threading.Lock()


def _part_name(i, n):
    return 'part-%06d-of-%06d' % (i, n)


def run_part(inputs, part, index, count, options):
    """The body of one Dask task: shard index/count of inputs into part."""
    with _one_run:
        summary = vidx.run(inputs, part, shard=(index, count), **options)
    return {'part': part, 'index': index, 'summary': summary}


def run(inputs, out, client, *, tasks=None, staging=None, retries=3, progress=None, **options):
    """Processes inputs into out on the Dask cluster of client (a
    distributed.Client). tasks: how many shards (default: 4 per worker
    thread); options: those of vidx.run (count=, size=, format=, layout=, ...).
    progress, if given, is called with each merged part's dict (index, part,
    summary: the part's vidx.run summary, merge: the merge report). Returns the
    totals: videos merged, skipped (already in out), conflicts, and each
    part's summary. Raises the first task's error after merging what finished."""
    from distributed import as_completed

    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]
    inputs = [os.path.abspath(os.fspath(i)) if '://' not in os.fspath(i) else os.fspath(i)
              for i in inputs]
    out = os.path.abspath(os.fspath(out))
    staging = os.path.abspath(os.fspath(staging) if staging else out.rstrip('/') + '.dask-parts')
    vidx._run_options(**options)  # a usage error now, before anything is submitted
    if 'shard' in options:
        raise vidx.UsageError(-30007, 'usage', out, 'vidx.dask.run makes its own shards')
    # out is claimed and checked before any work (a user's directory is refused here)
    vidx._vidx.output_check(out, 'run')
    if tasks is None:
        threads = sum(w.get('nthreads', 1)
                      for w in client.scheduler_info().get('workers', {}).values())
        tasks = max(1, 4 * threads)
    os.makedirs(staging, exist_ok=True)
    futures = {}
    for i in range(tasks):
        part = os.path.join(staging, _part_name(i, tasks))
        f = client.submit(run_part, inputs, part, i, tasks, options, retries=retries,
                          pure=False, key='vidx-part-%d-of-%d-%s' % (i, tasks, os.urandom(4).hex()))
        futures[f] = i
    totals = {'tasks': tasks, 'merged': 0, 'skipped': 0, 'conflicts': 0, 'parts': []}
    first_error = None
    for f in as_completed(list(futures)):
        try:
            res = f.result()
        except Exception as e:  # noqa: BLE001 (kept, re-raised after the others are merged)
            first_error = first_error or e
            continue
        finally:
            # Let go of the result at once: a held future whose worker dies later is
            # recomputed by Dask, which would run the part again after it was merged
            # and removed (seen: whole parts left in staging after a worker was killed).
            futures.pop(f, None)
            f.release()
        report = vidx.merge(out, [res['part']])
        totals['merged'] += report.get('merged', 0)
        totals['skipped'] += report.get('skipped', 0)
        totals['conflicts'] += report.get('conflict_count', 0)
        res['merge'] = report
        totals['parts'].append(res)
        shutil.rmtree(res['part'])  # a part vidx made: merged, its files linked into out
        if progress is not None:
            progress(res)
    try:
        os.rmdir(staging)
    except OSError:
        pass  # not empty: a failed part stays for the next run to resume
    if first_error is not None:
        raise first_error
    return totals
