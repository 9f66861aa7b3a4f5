/*
 * array.c - growing an array by doubling (see array.h), with the size
 * arithmetic checked so that no caller multiplies a capacity by hand.
 */
#include "core/array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int vidx__grow(void *parr, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t ncap = *cap ? *cap : (first ? first : 1);
    void *p;
    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -ENOMEM;
        ncap *= 2;
    }
    if (elem && ncap > SIZE_MAX / elem)
        return -ENOMEM;
    memcpy(&p, parr, sizeof(p)); /* parr points at a T *: read and written as bytes */
    if (!(p = realloc(p, ncap * elem)))
        return -ENOMEM;
    memcpy(parr, &p, sizeof(p));
    *cap = ncap;
    return 0;
}

int vidx__append_bounded(char **buf, size_t *len, size_t *cap, const void *p, size_t n, size_t max)
{
    if (*len + n + 1 > max || vidx__grow(buf, cap, *len + n + 1, 1, 4096) < 0)
        return -1;
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}
