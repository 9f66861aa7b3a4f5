/*
 * abi.h - settings structs at the caller's size (the "ABI" rules in vidx.h).
 *
 * Every public settings struct begins with `size_t struct_size`, the size of
 * the struct the caller was compiled with. A layout describes the library's
 * own struct: its size, alignment, defaults, and the settings structs nested
 * in it (each with its own struct_size, placed right after struct_size, in
 * order), followed by the struct's own fields. A caller's struct is read and
 * written through that description, so a caller compiled against an older,
 * smaller header gets the defaults for the fields it does not know, and one
 * compiled against a newer header is accepted as long as it left the fields
 * this library does not know at zero.
 */
#ifndef VIDX_CORE_ABI_H
#define VIDX_CORE_ABI_H

#include <stddef.h>

/*
 * Largest settings struct, of this library (checked where each layout is
 * defined) or of a newer one (a larger struct_size is refused as garbage).
 */
#define VIDX_ABI_MAX_SIZE 2048

typedef struct VidxAbiLayout VidxAbiLayout;
struct VidxAbiLayout {
    const char *name;          /* the struct's type name, for messages */
    size_t size;               /* sizeof in this library */
    size_t align;              /* _Alignof in this library: every caller size is a multiple */
    void (*defaults)(void *s); /* fills a struct of this library's size */
    size_t n_nested;
    const VidxAbiLayout *nested[2];
};

/*
 * The caller's settings (struct_size bytes, however many this library has) as
 * this library's struct: defaults first, then every field the caller has.
 * 0, or VIDX_EUSAGE (with a detail) for a size no version of the struct has or
 * a field this library does not know set to non-zero.
 */
int vidx__abi_import(const VidxAbiLayout *l, void *lib, const void *caller);

/*
 * Fills the caller's struct of size bytes with the defaults (the nested
 * structs' struct_size already set by the caller): what the public
 * vidx_X_default_settings() inline functions call. Writes nothing past size
 * bytes. 0, or VIDX_EUSAGE for an impossible size.
 */
int vidx__abi_init(const VidxAbiLayout *l, void *caller, size_t size);

#endif /* VIDX_CORE_ABI_H */
