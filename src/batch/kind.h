/*
 * kind.h - what a file met in a directory walk is: a video to process, or a
 * photo, an audio-only file or anything else, which the walk skips and counts.
 */
#ifndef VIDX_BATCH_KIND_H
#define VIDX_BATCH_KIND_H

typedef enum InputKind {
    INPUT_VIDEO = 0,
    INPUT_IMAGE,
    INPUT_AUDIO,
    INPUT_OTHER,
} InputKind;

/* 1 when name's extension is a video container's or stream's. */
int vidx__video_extension(const char *name);

/*
 * The kind of the regular file at path (name: its last component). The
 * extension decides when it is a known one; otherwise the first 4 KiB are
 * sniffed with FFmpeg's format probe (no demuxer is opened).
 */
InputKind vidx__input_kind(const char *path, const char *name);
/* The kind by name's extension alone (INPUT_OTHER when unknown): objects in a bucket. */
InputKind vidx__input_kind_by_name(const char *name);

#endif
