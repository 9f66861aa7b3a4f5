/*
 * abi.c - moves public settings structs between the caller's layout and the
 * library's (see abi.h and "ABI" in vidx.h). The caller's layout is found
 * from its sizes alone: struct_size first, then each nested settings struct
 * (struct_size bytes, its own size field first), then the struct's own fields,
 * which are the library's own fields cut short (older caller) or followed by
 * fields this library does not know (newer caller).
 */
#include "core/abi.h"

#include "core/internal.h"

#include <stdalign.h>
#include <string.h>

static int bad_size(const VidxAbiLayout *l, size_t size)
{
    return vidx__detail(VIDX_EUSAGE,
                        "%s of %zu bytes: no version of the struct has that size (this "
                        "libvidx's is %zu bytes; fill it with its default settings function)",
                        l->name, size, l->size);
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/*
 * Copies between the library struct lib and the caller's struct u of size
 * bytes: to the caller (out) or from it. Both start with struct_size.
 */
static int transfer(const VidxAbiLayout *l, unsigned char *lib, unsigned char *u, size_t size,
                    int out)
{
    size_t pos = sizeof(size_t), at = sizeof(size_t), n, rest;
    if (size < sizeof(size_t) || size % l->align || size > VIDX_ABI_MAX_SIZE)
        return bad_size(l, size);
    for (size_t i = 0; i < l->n_nested; i++) {
        size_t nsize;
        int ret;
        if (size - pos < sizeof(size_t))
            return bad_size(l, size);
        memcpy(&nsize, u + pos, sizeof(nsize));
        if (nsize > size - pos)
            return bad_size(l, size);
        if ((ret = transfer(l->nested[i], lib + at, u + pos, nsize, out)) < 0)
            return ret;
        pos += nsize;
        at += l->nested[i]->size;
    }
    n = VIDX_MIN(size - pos, l->size - at);
    rest = size - pos - n;
    if (out) {
        memcpy(u + pos, lib + at, n);
        memset(u + pos + n, 0, rest);
        memcpy(u, &size, sizeof(size));
        return 0;
    }
    memcpy(lib + at, u + pos, n);
    if (!all_zero(u + pos + n, rest))
        return vidx__detail(VIDX_EUSAGE,
                            "%s: a field this libvidx (%s) does not know is set (the struct "
                            "is %zu bytes, this library's %zu)",
                            l->name, vidx_version(), size, l->size);
    return 0;
}

int vidx__abi_import(const VidxAbiLayout *l, void *lib, const void *caller)
{
    size_t size;
    memcpy(&size, caller, sizeof(size));
    l->defaults(lib);
    return transfer(l, lib, (unsigned char *)caller, size, 0);
}

int vidx__abi_init(const VidxAbiLayout *l, void *caller, size_t size)
{
    alignas(max_align_t) unsigned char lib[VIDX_ABI_MAX_SIZE];
    l->defaults(lib);
    return transfer(l, lib, caller, size, 1);
}
