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
 * Writes the outputs of url into dir (which must exist and be empty) and
 * appends the names written (relative to dir) to files. threads: 0 auto.
 * 0, or the input's error (its detail set).
 */
int vidx__transcode_one(const char *url, const char *dir, const TcPreset *p, int threads,
                        json_t *files);

#endif /* VIDX_TRANSCODE_TRANSCODE_H */
