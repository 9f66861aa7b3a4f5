/*
 * fuzz_serve.c - libFuzzer harness for what the dashboard parses from
 * untrusted text (src/serve/request.c, src/serve/frame.c): every line of the
 * input is tried as a Range header against a few image sizes, as a request
 * path, as a --listen address, and as a catalog location. Each line is its
 * own allocation, so a parser that reads past it trips the sanitizer. It
 * checks the properties the server relies on: a range accepted lies inside
 * the image; a path accepted names a positive id (and a frame >= 0); a
 * location accepted is relative, under frames/, shards/ or objects/, and has
 * no "." or ".." component.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "serve/frame.h"
#include "serve/request.h"

static void one_line(const char *line)
{
    static const int64_t sizes[] = {1, 2, 1000, INT64_C(1) << 40};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int64_t from = -7, to = -7;
        if (vidx__serve_parse_range(line, sizes[i], &from, &to) == 1 &&
            !(from >= 0 && from <= to && to < sizes[i]))
            abort();
    }
    int64_t id = 0, seq = 0;
    if (vidx__serve_parse_video_path(line, &id, &seq) == 1 && (id <= 0 || seq < -1))
        abort();
    struct sockaddr_storage ss;
    socklen_t len;
    int loopback;
    (void)vidx__serve_parse_listen(line, &ss, &len, &loopback);
    if (vidx__serve_location_ok(line)) {
        if (line[0] == '/' || strstr(line, "/../") || strstr(line, "/./") || strstr(line, "//") ||
            (strncmp(line, "frames/", 7) && strncmp(line, "shards/", 7) &&
             strncmp(line, "objects/", 8)))
            abort();
        size_t n = strlen(line);
        if ((n >= 3 && !strcmp(line + n - 3, "/..")) || (n >= 2 && !strcmp(line + n - 2, "/.")))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vidx_set_log_level(-1);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        char *line = malloc(i - start + 1);
        if (!line)
            return 0;
        memcpy(line, data + start, i - start);
        line[i - start] = 0;
        one_line(line);
        free(line);
        start = i + 1;
    }
    return 0;
}
