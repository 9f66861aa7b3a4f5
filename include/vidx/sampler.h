/*
 * vidx/sampler.h - which frames, in what shape: sampler settings, frames, statistics, audio.
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_SAMPLER_H
#define VIDX_SAMPLER_H

#include "source.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum VidxMode {
    VIDX_MODE_COUNT = 0, /**< N frames at the centres of N equal segments */
    VIDX_MODE_FPS,       /**< the frames shown at start + k/R */
    VIDX_MODE_KEYFRAMES, /**< every keyframe, decoding keyframes only */
    VIDX_MODE_TIMES,     /**< the frames shown at given times (seconds from stream start) */
    VIDX_MODE_INDICES,   /**< frames by presentation index; negative counts from the end */
} VidxMode;

typedef enum VidxPixel {
    /** 8-bit 4:2:0 planar YCbCr, full range, BT.601 matrix: what JPEG/JFIF stores. */
    VIDX_PIXEL_YUV420_JPEG = 0,
    /** 8-bit packed RGB, 3 bytes per pixel. */
    VIDX_PIXEL_RGB24,
    /**
     * The decoder's own frame: no scaling, rotation or conversion, planes as
     * decoded (see VidxFrame.native_format). For verification.
     */
    VIDX_PIXEL_NATIVE,
} VidxPixel;

typedef enum VidxFit {
    VIDX_FIT_STRETCH = 0, /**< exactly WxH, aspect ratio not kept */
    VIDX_FIT_CROP,        /**< fill WxH, cut the overflow at the centre */
    VIDX_FIT_PAD,         /**< fit inside WxH, black bars */
} VidxFit;

/** VidxSamplerSettings.hwaccel. */
typedef enum VidxHwaccel {
    VIDX_HWACCEL_AUTO = 0,
    VIDX_HWACCEL_CUDA = 1,
    VIDX_HWACCEL_NONE = 2,
} VidxHwaccel;

/** "auto", "cuda", "none" to a VidxHwaccel; VIDX_EUSAGE for anything else. */
VIDX_API int vidx_hwaccel_parse(const char *name);

typedef struct VidxSamplerSettings {
    /** The size of the caller's struct, set by vidx_sampler_default_settings() ("ABI", vidx.h). */
    size_t struct_size;
    VidxMode mode;
    int count;           /**< VIDX_MODE_COUNT: N (>= 1) */
    double fps;          /**< VIDX_MODE_FPS: R (> 0) */
    const double *times; /**< VIDX_MODE_TIMES: seconds from stream start */
    size_t n_times;
    const int64_t *indices; /**< VIDX_MODE_INDICES */
    size_t n_indices;
    /** Take the nearest keyframe instead of decoding forward (frames are labelled approx). */
    int approx;
    /** Decoder threads; 0 = all cores (default). */
    int threads;
    VidxPixel pixel;
    /** Longest side in pixels; 0 = display size (default). Ignored if width/height set. */
    int max_side;
    int width, height; /**< exact output box; 0 = not used */
    VidxFit fit;
    /** Stop with VIDX_ELIMIT past this many output frames (default 1,000,000). */
    int64_t max_frames;
    /**
     * Where to decode and convert (a VidxHwaccel; docs/GPU.md): VIDX_HWACCEL_AUTO
     * (default) an NVIDIA GPU when this build, the stream and the machine allow
     * it, else the CPU, the reason reported by vidx_sampler_device();
     * VIDX_HWACCEL_CUDA the GPU or fail with VIDX_ENOGPU; VIDX_HWACCEL_NONE the CPU.
     * The frames sampled are the same either way; the pixels are within the
     * tolerance docs/GPU.md states.
     */
    int hwaccel;
} VidxSamplerSettings;

/** Like vidx_source_settings_init(), for VidxSamplerSettings. */
VIDX_API int vidx_sampler_settings_init(VidxSamplerSettings *s, size_t size);

/** Sets every field of s to its default. */
static inline void vidx_sampler_default_settings(VidxSamplerSettings *s)
{
    (void)vidx_sampler_settings_init(s, sizeof(*s));
}

/**
 * Checks settings without a video (as vidx_sampler_open does first): 0, or
 * VIDX_EUSAGE / VIDX_ERANGE with the cause in vidx_error_detail(). max_side
 * may be up to 16255, and width x height up to (width+128) x (height+128) < 2^28
 * (FFmpeg's image limit).
 */
VIDX_API int vidx_sampler_check_settings(const VidxSamplerSettings *s);

typedef struct VidxFrame {
    int64_t index; /**< presentation-order index in the stream */
    double target; /**< requested time in seconds (NaN in keyframes mode) */
    double time;   /**< presentation time, seconds: pts * time_base */
    int64_t pts;   /**< in stream time base */
    int keyframe;
    int approx; /**< delivered by VidxSamplerSettings.approx (the nearest keyframe) */
    int stream;
    int width, height; /**< of the planes below */
    VidxPixel pixel;
    int nplanes;
    const uint8_t *data[4];
    int linesize[4];
    const char *native_format; /**< FFmpeg pixel format name of the decoded picture */
    /** The decoded picture this frame was made from (opaque; vidx_frame_md5() reads it). */
    const struct VidxPicture *picture;
} VidxFrame;

/**
 * md5 of the frame's decoded planes (before any conversion), as hex, computed
 * exactly like FFmpeg's framemd5 muxer does for rawvideo: each plane's rows
 * packed without padding. Returns 0, VIDX_EUSAGE or -ENOMEM.
 */
VIDX_API int vidx_frame_md5(const VidxFrame *frame, char out[33]);

typedef struct VidxSamplerStats {
    int64_t packets_read;   /**< video packets demuxed */
    int64_t frames_decoded; /**< pictures the decoder produced */
    int64_t frames_skipped; /**< packets never given to the decoder, or discarded by it */
    int64_t frames_output;
    int64_t decode_errors;  /**< packets or pictures the decoder rejected */
    int partial;            /**< the file was truncated or partly undecodable */
    int64_t targets_missed; /**< targets no frame could be delivered for */
    /**
     * The file declared a longer duration than its video has (targets were
     * planned from it): targets past the real end, of which only the first is
     * answered (with the last frame) and the rest are missed; 0 for an honest
     * file. Then declared_duration and content_duration (seconds) say how long
     * the header and the video were; partial is set.
     */
    int64_t targets_past_end;
    double declared_duration, content_duration;
} VidxSamplerStats;

typedef struct VidxSampler VidxSampler;

/** Called with each audio packet's decoded, resampled samples (see VidxAudioSettings). */
typedef int (*VidxAudioCallback)(void *opaque, const int16_t *samples, int nb_samples);

/*
 * Not a settings struct in the ABI sense (no struct_size, no defaults): a
 * parameter block of vidx_sampler_open2(). It never grows; a new field comes
 * with a new open function.
 */
typedef struct VidxAudioSettings {
    int enabled;                /**< decode the first audio stream from the same demux loop */
    int sample_rate;            /**< default 16000 */
    int channels;               /**< default 1 */
    VidxAudioCallback callback; /**< receives interleaved signed 16-bit samples */
    void *opaque;
} VidxAudioSettings;

/**
 * Where the sampler decodes, once open: "cuda" (NVDEC, converted on the GPU),
 * or "cpu (REASON)" naming why not, e.g. "cpu (--hwaccel none)",
 * "cpu (no CUDA driver: Cannot load libcuda.so.1)", "cpu (NVDEC does not
 * decode 10-bit h264)". Valid until the sampler is closed.
 */
VIDX_API const char *vidx_sampler_device(const VidxSampler *s);

/**
 * Decodes all of src's audio (the stream VidxSourceSettings.audio_stream
 * picked) in one read of the file, on the timeline of `vidx audio`
 * (docs/CLI.md): interleaved signed 16-bit samples at audio->sample_rate and
 * audio->channels go to audio->callback (audio->enabled is ignored). No
 * picture is decoded. Open src with VidxSourceSettings.audio_only to take
 * audio-only files too. src may have been used before (it is read again from
 * its start) and is not used by anything else meanwhile. Returns 0;
 * VIDX_EFORMAT when src has no audio stream; VIDX_EUSAGE without a callback;
 * the first error of the demuxer or of the callback. *decode_errors (may be
 * NULL): damaged packets skipped.
 */
VIDX_API int vidx_audio_decode(VidxSource *src, const VidxAudioSettings *audio,
                               int64_t *decode_errors);

/**
 * Plans the request against the source and prepares decoding. The source must
 * outlive the sampler and must not be used by anything else meanwhile.
 * Returns 0, VIDX_EUSAGE for bad settings, VIDX_ERANGE for targets outside the
 * video, or an AVERROR/errno code.
 */
VIDX_API int vidx_sampler_open(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *s);

/**
 * Like vidx_sampler_open, with audio taken from the same read of the file.
 * audio may be NULL.
 */
VIDX_API int vidx_sampler_open2(VidxSampler **out, VidxSource *src, const VidxSamplerSettings *s,
                                const VidxAudioSettings *audio);

/**
 * Delivers the next frame in presentation order. Returns 1 and sets *frame
 * (valid until the next call or close, owned by the sampler), 0 when all
 * frames were delivered, or a negative code. A damaged file does not return an
 * error while any frame can still be delivered: see vidx_sampler_stats().partial.
 */
VIDX_API int vidx_sampler_next(VidxSampler *s, const VidxFrame **frame);

VIDX_API void vidx_sampler_stats(const VidxSampler *s, VidxSamplerStats *stats);
VIDX_API void vidx_sampler_close(VidxSampler **s);

/**
 * 64-bit perceptual hash (difference hash) of a converted frame (not
 * VIDX_PIXEL_NATIVE); 0 for frames smaller than 9x8.
 */
VIDX_API uint64_t vidx_frame_phash(const VidxFrame *frame);

/** Number of differing bits between two perceptual hashes (0-64). */
VIDX_API int vidx_phash_distance(uint64_t a, uint64_t b);

#ifdef __cplusplus
}
#endif
#endif /* VIDX_SAMPLER_H */
