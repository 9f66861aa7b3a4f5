/*
 * vidx/speech.h - a video's speech as timed text: vidx_transcribe() decodes
 * the file's audio at 16 kHz mono and runs a recognition backend over it (an
 * OpenAI-compatible HTTP endpoint when asr_url is set, else the built-in
 * offline one when this build has it); the transcript is then read segment by
 * segment or written as JSON, SubRip or WebVTT.
 */
#ifndef VIDX_SPEECH_H
#define VIDX_SPEECH_H

#include <stddef.h>

#include "source.h"

typedef struct VidxTranscribeSettings {
    size_t struct_size;
    /** OpenAI-compatible endpoint (".../v1/audio/transcriptions" is appended
     *  when missing); NULL: the built-in backend. Default NULL. */
    const char *asr_url;
    const char *model;    /**< model name sent to the endpoint, or NULL (default) */
    const char *language; /**< e.g. "en", or NULL (default: the backend's) */
    /** Name of the environment variable holding the endpoint's API key (never
     *  the key itself). Default NULL: VIDX_ASR_KEY, else OPENAI_API_KEY. */
    const char *key_env;
    double timeout;       /**< seconds per request (default 300) */
    int retries;          /**< on 429, 5xx, timeouts and connection errors (default 3) */
    double chunk_seconds; /**< longest audio per request, cut at silences (default 30) */
} VidxTranscribeSettings;

/**
 * Fills the first size bytes of s with the defaults. 0, or VIDX_EUSAGE for a
 * size no version of the struct has. Call vidx_transcribe_default_settings().
 */
VIDX_API int vidx_transcribe_settings_init(VidxTranscribeSettings *s, size_t size);

static inline void vidx_transcribe_default_settings(VidxTranscribeSettings *s)
{
    (void)vidx_transcribe_settings_init(s, sizeof(*s));
}

typedef struct VidxTranscript VidxTranscript;

/**
 * Transcribes the audio of src (read from its start; open it with
 * VidxSourceSettings.audio_only to take audio-only files too). A source
 * without audio gives an empty transcript. 0, or a negative code: VIDX_EUSAGE (bad settings, or no
 * built-in backend in this build), the source's errors, VIDX_ENETWORK (the
 * endpoint failed or refused), VIDX_ETIMEOUT (no answer in time), VIDX_EFORMAT
 * (a malformed answer); vidx_error_detail() names the URL and the cause.
 */
VIDX_API int vidx_transcribe(VidxTranscript **out, VidxSource *src,
                             const VidxTranscribeSettings *s);

VIDX_API size_t vidx_transcript_count(const VidxTranscript *t);
/** Segment i: times in seconds on the file's clock, text (owned by t). 0, or VIDX_ERANGE. */
VIDX_API int vidx_transcript_segment(const VidxTranscript *t, size_t i, double *start, double *end,
                                     const char **text);

typedef enum VidxTranscriptFormat {
    VIDX_TRANSCRIPT_JSON = 0, /**< {"segments": [{"start", "end", "text"}, ...]} */
    VIDX_TRANSCRIPT_SRT = 1,
    VIDX_TRANSCRIPT_VTT = 2,
} VidxTranscriptFormat;

/** The transcript as text in format: *text (NUL-terminated) for vidx_free. */
VIDX_API int vidx_transcript_format(const VidxTranscript *t, VidxTranscriptFormat format,
                                    char **text);

VIDX_API void vidx_transcript_close(VidxTranscript **t);

#endif /* VIDX_SPEECH_H */
