/*
 * request.c - parsing what a request (and --listen) says (serve/request.h):
 * strict, bounded, and never more than the text it is given.
 */
#include "serve/request.h"
#include "core/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "bytes=a-b", "bytes=a-", "bytes=-n" of size: 1 and [*from, *to]; 0 none or ignored; -1 416. */
int vidx__serve_parse_range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
    char *end;
    if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
        return 0; /* none, another unit, or several ranges: the whole image */
    h += 6;
    errno = 0;
    if (*h == '-') {
        long long n = strtoll(h + 1, &end, 10);
        if (errno || *end || end == h + 1 || n <= 0)
            return n == 0 && !errno && !*end && end != h + 1 ? -1 : 0;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return 1;
    }
    if (*h < '0' || *h > '9')
        return 0;
    long long a = strtoll(h, &end, 10), b = size - 1;
    if (errno || *end != '-')
        return 0;
    if (end[1]) {
        char *e2;
        b = strtoll(end + 1, &e2, 10);
        if (errno || *e2 || end[1] < '0' || end[1] > '9' || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b >= size ? size - 1 : b;
    return 1;
}

/* "/api/videos/<id>[/frames/<seq>]": 1 (id, *seq = -1 or the frame), 0 no match. */
int vidx__serve_parse_video_path(const char *url, int64_t *id, int64_t *seq)
{
    static const char prefix[] = "/api/videos/";
    const char *p = url + sizeof(prefix) - 1;
    char *end;
    *seq = -1;
    if (strncmp(url, prefix, sizeof(prefix) - 1) || *p < '1' || *p > '9')
        return 0;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || v <= 0)
        return 0;
    *id = v;
    if (!*end)
        return 1;
    if (strncmp(end, "/frames/", 8) || end[8] < '0' || end[8] > '9')
        return 0;
    p = end + 8;
    v = strtoll(p, &end, 10);
    if (errno || *end || v < 0 || (p[0] == '0' && p[1]))
        return 0;
    *seq = v;
    return 1;
}

/* "ADDR:PORT" or "[ADDR6]:PORT" into *ss; VIDX_EUSAGE (logged) when it is neither. */
int vidx__serve_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
                             int *loopback)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    char *end;
    memset(ss, 0, sizeof(*ss));
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof(host))
        goto bad;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        goto bad;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    size_t n = strlen(host);
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
        host[n - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) != 1)
            goto bad;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
        return 0;
    }
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
        goto bad;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof(*v4);
    *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    return 0;
bad:
    vidx__log(VIDX_LOG_ERROR,
              "--listen %s: expected ADDR:PORT (an IPv4 address, or [IPv6]; port 0 to 65535)",
              listen);
    return VIDX_EUSAGE;
}
