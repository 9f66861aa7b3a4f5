/*
 * vidx/transcode.h - proxies and HLS renditions of a library: H.264/AAC MP4
 * proxies (faststart) and rendition ladders packaged as HLS (fMP4 segments,
 * master and media playlists, keyframes aligned across renditions) from one
 * decode feeding every encoder, thumbnail sprite sheets with a WebVTT index,
 * optional EBU R128 loudness normalisation. What to make is a preset: a
 * built-in one by name or a JSON file (docs/CLOUD.md, "Transcoding").
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_TRANSCODE_H
#define VIDX_TRANSCODE_H

#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct VidxTranscodeSettings {
    size_t struct_size;
    /** A built-in preset's name ("proxy", "hls", ...) or the path of a preset
     *  file (JSON). Default "proxy". */
    const char *preset;
    /** EBU R128 loudness normalisation: -1 as the preset says (default), 0 off, 1 on. */
    int loudnorm;
    /** Encoder and decoder threads; 0: FFmpeg's choice (default). */
    int threads;
} VidxTranscodeSettings;

VIDX_API int vidx_transcode_settings_init(VidxTranscodeSettings *s, size_t size);

static inline void vidx_transcode_default_settings(VidxTranscodeSettings *s)
{
    (void)vidx_transcode_settings_init(s, sizeof(*s));
}

/**
 * Transcodes each input into OUT/<key>/ (key: the file name and a hash of its
 * canonical path, as vidx run's). OUT must be new, empty or an output of
 * vidx transcode (its .vidx-output marker); a video's folder is written under
 * OUT/.scratch/ and renamed into place, replacing an earlier one only when
 * every file in it is a name vidx transcode makes. *report (vidx_free) is JSON:
 * per input its folder and files, or its error. Returns 0, VIDX_EUSAGE (bad
 * preset: the detail names the file and field), VIDX_ENOTOURS, or the first
 * input's error when every input failed (others: in the report).
 */
VIDX_API int vidx_transcode(const char *const *inputs, size_t n, const char *out,
                            const VidxTranscodeSettings *s, char **report);

/** The built-in presets as JSON (an array of preset objects, the file format). */
VIDX_API int vidx_transcode_presets_json(char **json);

#ifdef __cplusplus
}
#endif

#endif /* VIDX_TRANSCODE_H */
