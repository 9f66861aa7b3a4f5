/*
 * transcode.h - one input into one new directory, as a preset says
 * (transcode.c): one read and one decode of the video, the decoded pictures
 * (display-oriented, square pixels) split to one scaler and libx264 encoder
 * per rendition and to the sprite sheets; the audio decoded once,
 * (loudness-normalised,) encoded once to AAC and written to every output.
 */
#ifndef VIDX_TRANSCODE_TRANSCODE_H
#define VIDX_TRANSCODE_TRANSCODE_H

#include <jansson.h>

#include "core/internal.h"
#include "transcode/preset.h"

/*
 * Writes the outputs of url into dir (which must exist and be empty). source:
 * how to open it (NULL: the defaults; its progress callback is called while
 * the file is read). threads: 0 auto. With renditions (a JSON array), one
 * object per output is appended: {"kind": "proxy" (an MP4), "hls" (a rung:
 * path its media playlist), "master" (the master playlist) or "sprite"
 * (path sprites/sprites.vtt), "path" (relative to dir), "bytes" (the file, or
 * for hls and sprite every file of path's folder), "duration" (s), "codec"
 * (RFC 6381, as in the master playlist), "width", "height", "bitrate" (bits/s
 * over the duration)}. 0, or the input's error (its detail set).
 */
int vidx__transcode_one(const char *url, const char *dir, const TcPreset *p, int threads,
                        const VidxSourceSettings *source, json_t *renditions);

#endif /* VIDX_TRANSCODE_TRANSCODE_H */
