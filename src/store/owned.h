/*
 * owned.h - the names vidx itself makes inside an output directory, and
 * removal that touches only those: what gc, run start-up and the stores may
 * delete. A name that does not match is not vidx's and is left alone; nothing
 * here follows a symbolic link.
 */
#ifndef VIDX_STORE_OWNED_H
#define VIDX_STORE_OWNED_H

/* A video key as vidx__input_key() makes it: "<safe name>-<16 hex>". */
int vidx__is_key_name(const char *name);

/*
 * A file vidx writes into a video's directory (vidx frames -o DIR, or
 * OUT/frames/<key>/): frames "NNNNNN_<ms>ms.<jpg|png|webp>", manifest.jsonl,
 * audio.wav/.flac, frames.tar, and their scratch names ".NAME.tmp".
 */
int vidx__is_video_file_name(const char *name);

/* A shard name: "NNNNNN.tar" (six or more digits), or a queue worker's "wID-NNNNNN.tar". */
int vidx__is_shard_name(const char *name);

/* A blob of objects/: dir "<2 hex>", name "<64 hex>.<ext>" starting with those two. */
int vidx__is_blob_name(const char *dir, const char *name);

/*
 * Removes a video's directory (path = OUT/frames/<key> or a frames -o DIR
 * copy of it): its vidx-named regular files, then the directory if that left
 * it empty. Returns the number of entries left alone (not vidx's), or a
 * negative errno; a missing directory is 0.
 */
int vidx__remove_video_dir(const char *path);

/*
 * A file vidx's transcoder writes (vidx transcode's OUT/<key>/, vidx run's
 * OUT/transcode/<key>/<preset>/): master.m3u8, index.m3u8, init.mp4,
 * seg_NNNNN.m4s, NAME.mp4, sprite_NNN.jpg, sprites.vtt, transcode.json, and
 * their scratch names ".NAME.tmp".
 */
int vidx__is_rendition_file_name(const char *name);
/* The HLS segment and sprite sheet names alone (seg_NNNNN.m4s, sprite_NNN.jpg). */
int vidx__is_segment_name(const char *name);
int vidx__is_sprite_name(const char *name);

/*
 * Removes a tree of renditions (OUT/transcode/<key>, at most three levels of
 * folders): the files vidx__is_rendition_file_name accepts, then each folder
 * that left empty. Returns the number of entries left alone, or a negative
 * errno; a missing tree is 0. Links are never followed.
 */
int vidx__remove_rendition_tree(const char *path);

#endif
