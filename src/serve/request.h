/*
 * request.h - the parts of a dashboard request (and of --listen) that are
 * parsed from untrusted text, apart from the server so that
 * tests/fuzz/fuzz_serve.c can reach them.
 */
#ifndef VIDX_SERVE_REQUEST_H
#define VIDX_SERVE_REQUEST_H

#include <stdint.h>
#include <sys/socket.h>

/*
 * A Range header (NULL: none) against an image of size bytes: 1 and the
 * inclusive [*from, *to] within it for one range "bytes=a-b", "bytes=a-" or
 * "bytes=-n"; 0 to send the whole image (no range, another unit, several
 * ranges, malformed: RFC 9110 lets a server ignore those); -1 when it lies
 * outside the image (416).
 */
int vidx__serve_parse_range(const char *h, int64_t size, int64_t *from, int64_t *to);

/*
 * "/api/videos/<id>" or "/api/videos/<id>/frames/<seq>" (decimal, no sign,
 * no leading zeros, id > 0): 1 with *id and *seq (-1 without a frame); 0 otherwise.
 */
int vidx__serve_parse_video_path(const char *url, int64_t *id, int64_t *seq);

/*
 * "ADDR:PORT" (IPv4 or "localhost") or "[IPv6]:PORT" into *ss and *len, and
 * whether it is a loopback address; VIDX_EUSAGE (logged) otherwise.
 */
int vidx__serve_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
                             int *loopback);

#endif
