/*
 * sink.h - where one video's frames go and how its outputs become durable: a
 * const table per implementation, chosen by the job's target.
 *
 *   files (sink_files.c)  a file per frame in the video's directory; durable
 *                         by one syncfs of that directory
 *   tar (sink_tar.c)      WebDataset samples appended into a shard at an
 *                         offset (or DIR/frames.tar), then tar's end blocks;
 *                         durable by fsync of the shard and of every other
 *                         file the video wrote
 *
 * The manifest and audio file are the job's own (written into the video's
 * directory either way); a sink's sync makes them durable with its frames.
 * Later sinks (S3, in-memory for bindings) are one more table each.
 */
#ifndef VIDX_PIPELINE_SINK_H
#define VIDX_PIPELINE_SINK_H

#include <stddef.h>
#include <stdint.h>

typedef struct Job Job;

typedef struct SinkOps {
    const char *name;
    /* Writes the newest frame record's image (data, size bytes). */
    int (*frame)(Job *j, const uint8_t *data, size_t size);
    /* After the last frame (tar: the end blocks). */
    int (*end)(Job *j);
    /* Makes everything the video wrote durable. The failure is set on the result. */
    int (*sync)(Job *j);
    /* Releases what the sink holds; a failure to close what it wrote is returned. */
    int (*close)(Job *j);
} SinkOps;

extern const SinkOps vidx__sink_files;
extern const SinkOps vidx__sink_tar;

#endif
