/*
 * shard.h - static sharding of a run's inputs (vidx run --shard I/N): which
 * of N shards a video belongs to, by a stable hash of its identity (the
 * canonical path, or the URL as given), so that N independent runs, on any
 * machines, in any input order, take disjoint parts whose union is the whole
 * library, and adding a video never moves another.
 */
#ifndef VIDX_BATCH_SHARD_H
#define VIDX_BATCH_SHARD_H

#include <stdint.h>

#include "batch/inputs.h"

/*
 * The shard (0 .. count-1) of the video known by path: the 64-bit FNV-1a of
 * its bytes, passed through the splitmix64 finaliser, modulo count. Part of
 * the documented contract (docs/CLUSTER.md): never change it.
 */
uint32_t vidx__shard_of(const char *path, uint32_t count);

/*
 * Keeps in list only the videos of shard index (of count; count 0: all),
 * freeing the others; returns how many were left to other shards.
 */
int64_t vidx__shard_filter(InputList *list, int index, int count);

#endif
