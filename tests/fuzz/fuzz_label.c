/*
 * fuzz_label.c - libFuzzer harness for the reader of a labelling endpoint's
 * answers (src/label/label.c, vidx__label_parse): the bytes are a
 * chat-completions body from a server vidx does not control. Read from a
 * buffer of its own length (not NUL-terminated), so a reader that runs past
 * it trips the sanitizer. Properties: every answer gives either a caption
 * and tags (a JSON array of at most 32 non-empty strings) or an error (one
 * printable line), never both, never neither; the model is always named.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "label/label.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    LabelResult r = {0};
    if (vidx__label_parse(body, size, "m", &r) == 0) {
        if (!r.model || !!r.error == !!r.caption || !!r.caption != !!r.tags)
            abort();
        for (const char *p = r.error; p && *p; p++)
            if ((unsigned char)*p < 32)
                abort();
        if (r.tags) {
            json_t *t = json_loads(r.tags, 0, NULL);
            if (!json_is_array(t) || json_array_size(t) > 32)
                abort();
            json_decref(t);
        }
    }
    vidx__label_results_free(&r, 1);
    free(body);
    return 0;
}
