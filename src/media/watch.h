/*
 * watch.h - the media layer's hook for callers that must see every decoded
 * picture (the shot detector): a small full-range grey thumbnail of each, in
 * presentation order, with its index and time, from the same decode that
 * serves the sampler's targets.
 *
 * CONTRACT
 * - vidx__sampler_open_watched() is vidx_sampler_open2() with a watch: the
 *   sampler then decodes every picture of the video (the sequential path, one
 *   decoder with FFmpeg's threads) and reads the file to its end even after
 *   its last target; without a watch nothing changes. The frames it delivers
 *   are the same, exact ones (`approx` is answered exactly: everything is
 *   decoded anyway).
 * - fn is called once per decoded picture, in presentation order, before any
 *   frame decoded after it is delivered, with index = 0, 1, 2, ... (the
 *   VidxFrame.index numbering), pts in the stream's time base and time =
 *   pts x time_base in seconds, duration = one frame at the stream's rate.
 *   Pictures the decoder rejects are not seen (indices follow decoder output).
 * - The thumbnail is 8-bit grey, full range (0 = black, 255 = white), at most
 *   max_side pixels on its longer side (aspect kept, display rotation
 *   ignored), valid during the call only. Every call has the same size.
 * - A negative return from fn stops the sampler: vidx_sampler_next returns it.
 */
#ifndef VIDX_MEDIA_WATCH_H
#define VIDX_MEDIA_WATCH_H

#include <stdint.h>

#include <libavformat/avformat.h>
#include <libavutil/frame.h>

#include "core/internal.h"

typedef struct VidxWatchPicture {
    const uint8_t *gray;
    int width, height, stride;
    int64_t index, pts;
    double time, duration;
} VidxWatchPicture;

typedef int (*VidxWatchFn)(void *opaque, const VidxWatchPicture *p);

typedef struct VidxWatch {
    VidxWatchFn fn;
    void *opaque;
    int max_side; /* of the thumbnails; 0: 64 */
} VidxWatch;

int vidx__sampler_open_watched(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *s,
                               const VidxAudioSettings *audio, const VidxWatch *watch);

/* The sampler's side (drive.c): scales pictures and calls the hook. */
typedef struct VidxWatcher VidxWatcher;
int vidx__watcher_new(VidxWatcher **out, const VidxWatch *w, const AVStream *st);
/* Hands f (presentation index idx, time pts in st's ticks) to the hook. */
int vidx__watcher_picture(VidxWatcher *w, const AVFrame *f, int64_t idx, int64_t pts);
void vidx__watcher_free(VidxWatcher **w);

#endif /* VIDX_MEDIA_WATCH_H */
