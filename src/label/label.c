/*
 * label.c - see label.h. The request is one user message with two parts, the
 * prompt (text) and the frame (image_url, a data:image/jpeg;base64 URI),
 * temperature 0 and a token limit. The answer's choices[0].message is read:
 * its refusal (OpenAI's field) or a content_filter finish is a refusal;
 * otherwise its content (a string, or text parts) must hold a JSON object
 * with a non-empty "caption" string and, optionally, "tags" (strings; other
 * entries are dropped, at most 32 kept). Models often wrap JSON in a
 * Markdown fence or a sentence: the text from the first '{' to the last '}'
 * is what is parsed.
 */
#include "label/label.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/base64.h>

#include "core/internal.h"
#include "net/http.h"

#define ENDPOINT   "/v1/chat/completions"
#define MAX_TAGS   32
#define MAX_TOKENS 200

const char vidx__label_default_prompt[] =
    "Describe this video frame. Answer with only a JSON object, no other text: "
    "{\"caption\": \"one short sentence\", \"tags\": [\"up to 8 short lowercase tags\"]}";

typedef struct Item {
    int64_t frame;
    uint8_t *jpeg;
    size_t size;
} Item;

struct Labeller {
    HttpClient *http;
    char *prompt, *model;
    int concurrency;
    pthread_t *threads;
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t work, space, done;
    Item *queue;                  /* a ring of concurrency items */
    size_t head, queued, pending; /* pending: queued and in flight */
    int stop;
    int fail; /* the first failure for good, or 0 */
    char fail_text[256];
    LabelResult *res;
    size_t n_res, cap_res;
};

/* ---- the request ---- */

char *vidx__label_request(const char *model, const char *prompt, const uint8_t *jpeg, size_t size)
{
    static const char prefix[] = "data:image/jpeg;base64,";
    if (size > (size_t)(INT_MAX / 4 * 3) - 16)
        return NULL;
    size_t b64 = AV_BASE64_SIZE(size), plen = sizeof(prefix) - 1;
    char *uri = malloc(plen + b64);
    if (!uri)
        return NULL;
    memcpy(uri, prefix, plen);
    if (!av_base64_encode(uri + plen, (int)b64, jpeg, (int)size)) {
        free(uri);
        return NULL;
    }
    json_t *req =
        json_pack("{s:s, s:[{s:s, s:[{s:s, s:s}, {s:s, s:{s:s}}]}], s:i, s:f}", "model",
                  model ? model : "default", "messages", "role", "user", "content", "type", "text",
                  "text", prompt ? prompt : vidx__label_default_prompt, "type", "image_url",
                  "image_url", "url", uri, "max_tokens", MAX_TOKENS, "temperature", 0.0);
    free(uri);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    return text;
}

/* ---- the answer ---- */

static int set_error(LabelResult *r, const char *fmt, const char *what)
{
    char buf[256];
    size_t k = 0;
    snprintf(buf, sizeof(buf), fmt, what ? what : "");
    for (char *p = buf; *p; p++) /* one printable line */
        buf[k++] = (unsigned char)*p < 32 || *p == 127 ? ' ' : *p;
    buf[k] = 0;
    free(r->error);
    return (r->error = strdup(buf)) ? 0 : -ENOMEM;
}

/* The message's text: a string, or the text parts of an array, joined (malloc'd). */
static char *content_text(json_t *content)
{
    if (json_is_string(content))
        return strdup(json_string_value(content));
    if (!json_is_array(content))
        return NULL;
    size_t i, len = 0;
    json_t *part;
    char *out = calloc(1, 1);
    json_array_foreach(content, i, part)
    {
        const char *t = json_string_value(json_object_get(part, "text"));
        char *grown = t && out ? realloc(out, len + strlen(t) + 1) : out;
        if (!grown) {
            free(out);
            return NULL;
        }
        out = grown;
        if (t) {
            memcpy(out + len, t, strlen(t) + 1);
            len += strlen(t);
        }
    }
    return out;
}

/* The JSON object in the model's text (from its first '{' to its last '}'). */
static json_t *object_in(const char *text)
{
    const char *a = strchr(text, '{'), *b = strrchr(text, '}');
    json_t *o = a && b && b > a ? json_loadb(a, (size_t)(b - a + 1), 0, NULL) : NULL;
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static char *tags_text(json_t *tags)
{
    json_t *out = json_array(), *t;
    size_t i;
    json_array_foreach(tags, i, t) if (json_is_string(t) && *json_string_value(t) &&
                                       json_array_size(out) < MAX_TAGS) json_array_append(out, t);
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    return text;
}

/* The label in the message's content, or the frame's error. */
static int read_content(const char *text, LabelResult *r)
{
    json_t *o = object_in(text), *caption = json_object_get(o, "caption");
    int ret = 0;
    if (!o)
        ret = set_error(r, "malformed answer: the content is not the JSON asked for: %.120s", text);
    else if (!json_is_string(caption) || !*json_string_value(caption))
        ret = set_error(r, "malformed answer: no \"caption\" string in %.120s", text);
    else if (!(r->caption = strdup(json_string_value(caption))) ||
             !(r->tags = tags_text(json_object_get(o, "tags"))))
        ret = -ENOMEM;
    json_decref(o);
    return ret;
}

int vidx__label_parse(const char *body, size_t len, const char *model, LabelResult *r)
{
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    json_t *msg = json_object_get(choice, "message"), *refusal = json_object_get(msg, "refusal");
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    const char *named = json_string_value(json_object_get(root, "model"));
    char *text = NULL;
    int ret = 0;
    if (!(r->model = strdup(named && *named ? named : model ? model : "default")))
        ret = -ENOMEM;
    else if (!json_is_object(root))
        ret = set_error(r, "malformed answer: %s", root ? "not a JSON object" : "not JSON");
    else if (!json_is_object(msg))
        ret = set_error(r, "malformed answer: %s", "no choices[0].message");
    else if (json_is_string(refusal) && *json_string_value(refusal))
        ret = set_error(r, "refused: %.160s", json_string_value(refusal));
    else if (finish && !strcmp(finish, "content_filter"))
        ret = set_error(r, "refused: %s", "the endpoint's content filter");
    else if (!(text = content_text(json_object_get(msg, "content"))))
        ret = set_error(r, "malformed answer: %s", "no message content");
    else
        ret = read_content(text, r);
    free(text);
    json_decref(root);
    return ret;
}

/* ---- the pool ---- */

static void label_one(Labeller *l, const Item *it)
{
    LabelResult r = {.frame = it->frame};
    HttpReply reply = {0};
    double t0 = vidx__now();
    char *body = vidx__label_request(l->model, l->prompt, it->jpeg, it->size);
    int ret = body ? vidx__http_post_json(l->http, body, strlen(body), &reply) : -ENOMEM;
    r.latency = vidx__now() - t0;
    if (ret == 0)
        ret = vidx__label_parse(reply.body, reply.len, l->model, &r);
    free(body);
    vidx__http_reply_free(&reply);
    pthread_mutex_lock(&l->mu);
    if (ret == 0 && vidx__grow(&l->res, &l->cap_res, l->n_res + 1, sizeof(*l->res), 64) < 0)
        ret = -ENOMEM;
    if (ret == 0)
        l->res[l->n_res++] = r;
    else {
        vidx__label_results_free(&r, 1);
        if (!l->fail) {
            l->fail = ret;
            snprintf(l->fail_text, sizeof(l->fail_text), "%s", vidx_error_detail(ret));
        }
    }
    l->pending--;
    pthread_cond_broadcast(&l->space);
    pthread_cond_broadcast(&l->done);
    pthread_mutex_unlock(&l->mu);
}

static void *worker(void *opaque)
{
    Labeller *l = opaque;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && !l->queued)
            pthread_cond_wait(&l->work, &l->mu);
        if (!l->queued)
            break; /* stopping, nothing left */
        Item it = l->queue[l->head];
        l->head = (l->head + 1) % (size_t)l->concurrency;
        l->queued--;
        if (l->fail) { /* failed for good: the rest is dropped */
            l->pending--;
            pthread_cond_broadcast(&l->space);
            pthread_cond_broadcast(&l->done);
            free(it.jpeg);
            continue;
        }
        pthread_mutex_unlock(&l->mu);
        label_one(l, &it);
        free(it.jpeg);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static int failed(Labeller *l)
{
    return vidx__detail(l->fail, "%s", l->fail_text);
}

int vidx__label_submit(Labeller *l, int64_t frame, const uint8_t *jpeg, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, jpeg, size);
    pthread_mutex_lock(&l->mu);
    while (!l->fail && l->pending >= (size_t)l->concurrency)
        pthread_cond_wait(&l->space, &l->mu);
    int ret = l->fail;
    if (!ret) {
        size_t at = (l->head + l->queued) % (size_t)l->concurrency;
        l->queue[at] = (Item){frame, copy, size};
        l->queued++;
        l->pending++;
        pthread_cond_signal(&l->work);
    }
    pthread_mutex_unlock(&l->mu);
    if (ret) {
        free(copy);
        return failed(l);
    }
    return 0;
}

static int by_frame(const void *a, const void *b)
{
    int64_t x = ((const LabelResult *)a)->frame, y = ((const LabelResult *)b)->frame;
    return (x > y) - (x < y);
}

int vidx__label_finish(Labeller *l, LabelResult **out, size_t *n)
{
    pthread_mutex_lock(&l->mu);
    while (l->pending)
        pthread_cond_wait(&l->done, &l->mu);
    int ret = l->fail;
    pthread_mutex_unlock(&l->mu);
    *out = NULL;
    *n = 0;
    if (ret)
        return failed(l);
    qsort(l->res, l->n_res, sizeof(*l->res), by_frame);
    *out = l->res;
    *n = l->n_res;
    l->res = NULL;
    l->n_res = l->cap_res = 0;
    return 0;
}

void vidx__label_results_free(LabelResult *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].caption);
        free(r[i].tags);
        free(r[i].model);
        free(r[i].error);
    }
}

void vidx__label_close(Labeller **lp)
{
    Labeller *l = *lp;
    if (!l)
        return;
    *lp = NULL;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->n_threads; i++)
        pthread_join(l->threads[i], NULL);
    for (size_t i = 0; i < l->queued; i++) /* none after the join; for safety */
        free(l->queue[(l->head + i) % (size_t)l->concurrency].jpeg);
    vidx__label_results_free(l->res, l->n_res);
    free(l->res);
    free(l->queue);
    free(l->threads);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->space);
    pthread_cond_destroy(&l->done);
    vidx__http_close(l->http);
    free(l->prompt);
    free(l->model);
    free(l);
}

int vidx__label_open(Labeller **out, const LabelConfig *cfg)
{
    static const char *const keys[] = {"VIDX_LABEL_KEY", "OPENAI_API_KEY", NULL};
    *out = NULL;
    if (!cfg->url || !*cfg->url)
        return vidx__detail(VIDX_EUSAGE, "labelling needs the endpoint's URL");
    Labeller *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->space, NULL);
    pthread_cond_init(&l->done, NULL);
    l->concurrency = VIDX_MAX(cfg->concurrency, 1);
    char *url = vidx__http_endpoint(cfg->url, ENDPOINT);
    HttpConfig hc = {url, vidx__http_key(cfg->key_env, keys), cfg->timeout, cfg->retries};
    int ret = url ? vidx__http_open(&l->http, &hc) : -ENOMEM;
    free(url);
    l->prompt = cfg->prompt ? strdup(cfg->prompt) : NULL;
    l->model = cfg->model ? strdup(cfg->model) : NULL;
    l->queue = calloc((size_t)l->concurrency, sizeof(*l->queue));
    l->threads = calloc((size_t)l->concurrency, sizeof(*l->threads));
    if (ret == 0 &&
        (!l->queue || !l->threads || (cfg->prompt && !l->prompt) || (cfg->model && !l->model)))
        ret = -ENOMEM;
    for (int i = 0; ret == 0 && i < l->concurrency; i++)
        if (pthread_create(&l->threads[i], NULL, worker, l) == 0)
            l->n_threads++;
        else
            ret = -EAGAIN;
    if (ret < 0) {
        vidx__label_close(&l);
        return ret;
    }
    *out = l;
    return 0;
}
