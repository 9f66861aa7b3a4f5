/*
 * label.h - frame labels from an OpenAI-compatible chat-completions endpoint
 * with image input. The caller hands in each frame as JPEG bytes; a pool of
 * threads (at most `concurrency` requests in flight, submit blocks beyond
 * that) sends each as a base64 data URI with the prompt, through net/http.h
 * (timeouts, retries with backoff, 429's Retry-After, the key never shown),
 * and reads the answer's caption and tags. Uses core/ and net/ only.
 *
 * Per frame, an answer the model gave but that holds no usable label (a
 * refusal, content that is not the JSON asked for, a body that is not a
 * chat completion) is that frame's error, recorded with it; a request that
 * fails for good (no connection, timeouts, HTTP errors after the retries)
 * fails the whole labelling: finish returns it, later submits refuse.
 */
#ifndef VIDX_LABEL_LABEL_H
#define VIDX_LABEL_LABEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct LabelConfig {
    const char *url;     /* base URL; "/v1/chat/completions" appended when missing */
    const char *prompt;  /* NULL: the default */
    const char *model;   /* NULL: "default" */
    const char *key_env; /* NULL: VIDX_LABEL_KEY, else OPENAI_API_KEY */
    double timeout;
    int retries;
    int concurrency; /* >= 1 */
} LabelConfig;

typedef struct LabelResult {
    int64_t frame;  /* the caller's frame number */
    char *caption;  /* NULL when error */
    char *tags;     /* a JSON array of strings (text), NULL when error */
    char *model;    /* the model the endpoint named, else the one asked for */
    double latency; /* seconds from the first attempt to the answer */
    char *error;    /* why there is no label, or NULL */
} LabelResult;

typedef struct Labeller Labeller;

extern const char vidx__label_default_prompt[];

int vidx__label_open(Labeller **out, const LabelConfig *cfg);
/* Queues frame's JPEG (copied); blocks while the pool is full. < 0: labelling has failed. */
int vidx__label_submit(Labeller *l, int64_t frame, const uint8_t *jpeg, size_t size);
/*
 * Waits for every queued frame; *out (n results, in frame order) is the
 * caller's (vidx__label_results_free). 0, or the failure that stopped the
 * labelling (VIDX_ENETWORK, VIDX_ETIMEOUT, -ENOMEM) with its detail set.
 */
int vidx__label_finish(Labeller *l, LabelResult **out, size_t *n);
void vidx__label_close(Labeller **l);
void vidx__label_results_free(LabelResult *r, size_t n);

/* The request body for one image (malloc'd JSON text; NULL: no memory). */
char *vidx__label_request(const char *model, const char *prompt, const uint8_t *jpeg, size_t size);
/*
 * Reads a chat-completions answer (len bytes, need not be NUL-terminated)
 * into r's caption, tags and model, or its error (a refusal, malformed).
 * 0, or -ENOMEM. model: the one asked for, when the answer names none.
 */
int vidx__label_parse(const char *body, size_t len, const char *model, LabelResult *r);

#endif /* VIDX_LABEL_LABEL_H */
