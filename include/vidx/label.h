/*
 * vidx/label.h - frame labels from a vision-language model behind any
 * OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp's server, a
 * hosted API): each kept frame, resized and JPEG-encoded, is sent as a
 * base64 data URI with a prompt asking for a caption and tags as JSON
 * (VidxJobSettings.label; vidx run/frames --label-url).
 *
 * Part of the public API; include <vidx/vidx.h>, which includes every vidx header.
 */
#ifndef VIDX_LABEL_H
#define VIDX_LABEL_H

#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct VidxLabelSettings {
    size_t struct_size;
    /** The endpoint's base URL ("/v1/chat/completions" is appended when missing). Required. */
    const char *url;
    /** The instruction sent with each frame; NULL: the default (caption and tags as JSON). */
    const char *prompt;
    const char *model; /**< model name sent to the endpoint, or NULL (default: "default") */
    /** Name of the environment variable holding the API key (never the key
     *  itself). Default NULL: VIDX_LABEL_KEY, else OPENAI_API_KEY. */
    const char *key_env;
    double timeout;  /**< seconds per request (default 60) */
    int retries;     /**< on 429, 5xx, timeouts and connection errors (default 3) */
    int concurrency; /**< requests in flight at once, 1-64 (default 4) */
    int max_side;    /**< the image sent is scaled to fit this many pixels a side (default 512) */
    int quality;     /**< its JPEG quality, 1-100 (default 85) */
} VidxLabelSettings;

/**
 * Fills the first size bytes of s with the defaults. 0, or VIDX_EUSAGE for a
 * size no version of the struct has. Call vidx_label_default_settings().
 */
VIDX_API int vidx_label_settings_init(VidxLabelSettings *s, size_t size);

static inline void vidx_label_default_settings(VidxLabelSettings *s)
{
    (void)vidx_label_settings_init(s, sizeof(*s));
}

/** The prompt used when VidxLabelSettings.prompt is NULL. */
VIDX_API const char *vidx_label_default_prompt(void);

#ifdef __cplusplus
}
#endif

#endif /* VIDX_LABEL_H */
