/*
 * asropts.c - the speech recogniser's options (--asr-url, --asr-key-env,
 * --asr-model, --asr-language, --asr-timeout, --asr-retries, --asr-chunk),
 * one table and one parser for every command that transcribes: vidx
 * transcribe, vidx frames/run (with --transcribe) and vidx worker (the
 * recogniser is each worker's own: it is not part of the options a queue
 * stores). The API key itself is never an option: --asr-key-env names the
 * environment variable that holds it.
 */
#include "cli.h"

#include <string.h>

enum {
    OPT_ASR_URL = 900,
    OPT_ASR_KEY_ENV,
    OPT_ASR_MODEL,
    OPT_ASR_LANGUAGE,
    OPT_ASR_TIMEOUT,
    OPT_ASR_RETRIES,
    OPT_ASR_CHUNK,
};

const CliOption cli_asr_options[] = {
    {"asr-url", OPT_ASR_URL, "URL",
     "OpenAI-compatible transcription endpoint (default: the built-in recogniser)"},
    {"asr-key-env", OPT_ASR_KEY_ENV, "NAME",
     "environment variable holding the endpoint's API key (default VIDX_ASR_KEY, else "
     "OPENAI_API_KEY)"},
    {"asr-model", OPT_ASR_MODEL, "M", "model name sent to the endpoint"},
    {"asr-language", OPT_ASR_LANGUAGE, "L", "spoken language, e.g. en (default: the backend's)"},
    {"asr-timeout", OPT_ASR_TIMEOUT, "S", "seconds per request to the endpoint (default 300)"},
    {"asr-retries", OPT_ASR_RETRIES, "N",
     "tries again on 429, 5xx, timeouts, connection errors (default 3)"},
    {"asr-chunk", OPT_ASR_CHUNK, "S", "longest audio per request, cut at silences (default 30)"},
    {NULL, 0, NULL, NULL},
};

/* The older spellings vidx transcribe keeps (the same keys, so the same parser). */
const CliOption cli_asr_aliases[] = {
    {"language", OPT_ASR_LANGUAGE, "L", "the same as --asr-language"},
    {"timeout", OPT_ASR_TIMEOUT, "S", "the same as --asr-timeout"},
    {"retries", OPT_ASR_RETRIES, "N", "the same as --asr-retries"},
    {"chunk", OPT_ASR_CHUNK, "S", "the same as --asr-chunk"},
    {NULL, 0, NULL, NULL},
};

int cli_asr_option(VidxTranscribeSettings *s, int key, const char *arg)
{
    int64_t v;
    switch (key) {
    case OPT_ASR_URL:
        s->asr_url = arg;
        return 1;
    case OPT_ASR_KEY_ENV:
        s->key_env = arg;
        return 1;
    case OPT_ASR_MODEL:
        s->model = arg;
        return 1;
    case OPT_ASR_LANGUAGE:
        s->language = arg;
        return 1;
    case OPT_ASR_TIMEOUT:
        return cli_parse_double("asr-timeout", arg, 0.001, &s->timeout) < 0 ? -1 : 1;
    case OPT_ASR_RETRIES:
        return cli_parse_int("asr-retries", arg, 0, 100, &v) < 0 ? -1 : (s->retries = (int)v, 1);
    case OPT_ASR_CHUNK:
        return cli_parse_double("asr-chunk", arg, 1, &s->chunk_seconds) < 0 ? -1 : 1;
    }
    return 0;
}

int cli_asr_given(const VidxTranscribeSettings *s)
{
    VidxTranscribeSettings d;
    vidx_transcribe_default_settings(&d);
    return s->asr_url || s->key_env || s->model || s->language || s->timeout != d.timeout ||
           s->retries != d.retries || s->chunk_seconds != d.chunk_seconds;
}
