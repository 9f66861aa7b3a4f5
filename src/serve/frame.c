/*
 * frame.c - opening a stored frame by its catalog row (serve/frame.h): the
 * location is checked against the names vidx makes, then walked one
 * component at a time from OUT's descriptor with O_NOFOLLOW, so neither a
 * ".." nor a symbolic link anywhere on the way can lead outside OUT.
 */
#include "serve/frame.h"
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vidx__serve_location_ok(const char *loc)
{
    static const char *const roots[] = {"frames/", "shards/", "objects/"};
    size_t n = loc ? strnlen(loc, 513) : 0;
    int root = 0;
    if (n == 0 || n > 512)
        return 0;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(roots); i++)
        root |= !strncmp(loc, roots[i], strlen(roots[i]));
    if (!root)
        return 0;
    for (const char *p = loc; *p;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        for (size_t i = 0; i < len; i++) {
            char c = p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-'))
                return 0;
        }
        p += len + (end ? 1 : 0);
        if (end && !*p)
            return 0; /* a trailing slash: a directory */
    }
    return 1;
}

static const char *image_type(const unsigned char *h, size_t n)
{
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF)
        return "image/jpeg";
    if (n >= 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (n >= 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WEBP", 4))
        return "image/webp";
    return NULL;
}

/* Walks location beneath dir, no link followed: the final file opened read-only. */
static int open_beneath(int dir, const char *location)
{
    char part[513];
    const char *p = location;
    int fd = dup(dir);
    if (fd < 0)
        return -errno;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        memcpy(part, p, len);
        part[len] = 0;
        int flags = end ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK;
        int next = openat(fd, part, flags | O_NOFOLLOW | O_CLOEXEC);
        int err = errno;
        close(fd);
        if (next < 0)
            return -err;
        fd = next;
        if (!end)
            return fd;
        p = end + 1;
    }
}

int vidx__serve_frame_open(int out_fd, const char *location, int64_t offset, int64_t bytes,
                           ServeFrame *f)
{
    struct stat st;
    unsigned char head[16];
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    if (!vidx__serve_location_ok(location))
        return -EACCES;
    if (bytes <= 0 || bytes > SERVE_FRAME_MAX_BYTES)
        return -EINVAL;
    if (offset < 0)
        offset = 0;
    int fd = open_beneath(out_fd, location);
    if (fd < 0)
        return fd;
    int ret = -EINVAL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || offset > st.st_size ||
        bytes > st.st_size - offset)
        goto fail;
    ssize_t got = pread(fd, head, sizeof(head), offset);
    const char *mime = got > 0 ? image_type(head, (size_t)VIDX_MIN(got, bytes)) : NULL;
    if (!mime) {
        ret = VIDX_EFORMAT;
        goto fail;
    }
    *f = (ServeFrame){fd, offset, bytes, mime};
    return 0;
fail:
    close(fd);
    return ret;
}

int vidx__serve_frame_read(const ServeFrame *f, uint8_t **data)
{
    uint8_t *buf = malloc((size_t)f->bytes);
    size_t done = 0;
    *data = NULL;
    if (!buf)
        return -ENOMEM;
    while (done < (size_t)f->bytes) {
        ssize_t n = pread(f->fd, buf + done, (size_t)f->bytes - done, f->offset + (off_t)done);
        if (n <= 0) {
            free(buf);
            return n < 0 ? -errno : -EIO;
        }
        done += (size_t)n;
    }
    *data = buf;
    return 0;
}
