/*
 * assets.h - the dashboard's pages, compiled in (scripts/embed_assets.py
 * makes serve_assets.c from src/serve/assets/ at build time).
 */
#ifndef VIDX_SERVE_ASSETS_H
#define VIDX_SERVE_ASSETS_H

#include <stddef.h>

typedef struct ServeAsset {
    const char *name; /* base name: "overview.html", "app.js", ... */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t size;
} ServeAsset;

/* Ends with an entry whose name is NULL. */
extern const ServeAsset vidx__serve_assets[];

#endif
