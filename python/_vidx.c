/*
 * _vidx.c - the CPython extension under the `vidx` package: a thin layer over
 * the public C API (include/vidx/) and nothing else.
 *
 * What it adds is only what Python needs: settings from keyword arguments,
 * frames copied once into NumPy arrays, errors raised as the exception classes
 * the package defines (vidx/_errors.py registers them here), and the GIL
 * released around every call that demuxes, decodes, encodes or waits on a
 * batch run, so that threads run in parallel. One Sampler is one opened file
 * and one sampler; using one from two threads at once is refused (RuntimeError)
 * rather than serialised, while any number of Samplers run concurrently.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vidx/vidx.h>

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* Set by vidx._errors: code -> class, the base class, the class for errno codes. */
static PyObject *error_classes; /* dict */
static PyObject *error_base;
static PyObject *error_os;

/*
 * Raises the class registered for err with (file, cause): cause is the
 * library's message plus its detail for this thread's last error. Returns NULL.
 */
static PyObject *raise_vidx(int err, const char *file, const char *what)
{
    const char *detail = vidx_error_detail(err);
    char cause[1024];
    snprintf(cause, sizeof(cause), "%s%s%s%s%s", what ? what : "", what ? ": " : "",
             vidx_strerror(err), *detail ? ": " : "", detail);
    PyObject *cls = NULL;
    if (error_classes) {
        PyObject *key = PyLong_FromLong(err);
        if (!key)
            return NULL;
        cls = PyDict_GetItemWithError(error_classes, key);
        Py_DECREF(key);
        if (!cls && PyErr_Occurred())
            return NULL;
    }
    if (!cls)
        cls = (err < 0 && err > -4096 && error_os) ? error_os : error_base;
    if (!cls)
        cls = PyExc_RuntimeError;
    PyObject *args = Py_BuildValue("(isss)", err, vidx_error_class(err), file ? file : "", cause);
    if (!args)
        return NULL;
    PyObject *exc = PyObject_Call(cls, args, NULL);
    Py_DECREF(args);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *py_set_error_classes(PyObject *self, PyObject *args)
{
    PyObject *classes, *base, *oserr;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!OO", &PyDict_Type, &classes, &base, &oserr))
        return NULL;
    Py_XSETREF(error_classes, Py_NewRef(classes));
    Py_XSETREF(error_base, Py_NewRef(base));
    Py_XSETREF(error_os, Py_NewRef(oserr));
    Py_RETURN_NONE;
}

/* [(code, class name, message)] for every VIDX_E* code, from the public header's map. */
static PyObject *py_error_codes(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    PyObject *list = PyList_New(0);
    if (!list)
        return NULL;
#define VIDX_PY_ERR(name, value, shortname, msg)                                                   \
    do {                                                                                           \
        PyObject *t = Py_BuildValue("(iss)", (int)(value), shortname, msg);                        \
        if (!t || PyList_Append(list, t) < 0) {                                                    \
            Py_XDECREF(t);                                                                         \
            Py_DECREF(list);                                                                       \
            return NULL;                                                                           \
        }                                                                                          \
        Py_DECREF(t);                                                                              \
    } while (0);
    VIDX_ERRNO_MAP(VIDX_PY_ERR)
#undef VIDX_PY_ERR
    return list;
}

static PyObject *py_strerror(PyObject *self, PyObject *args)
{
    int err;
    (void)self;
    if (!PyArg_ParseTuple(args, "i", &err))
        return NULL;
    return Py_BuildValue("(ss)", vidx_strerror(err), vidx_error_class(err));
}

/* ------------------------------------------------------------------------ */
/* Settings                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A sequence of numbers as a PyMem_Malloc'ed C array of *n elements of size
 * elem, each converted by put (which returns -1 with an exception set).
 */
static int read_numbers(PyObject *seq, size_t elem, int (*put)(PyObject *, void *), void **out,
                        size_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of numbers");
    if (!fast)
        return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    char *v = PyMem_Malloc((size_t)(len ? len : 1) * elem);
    if (!v) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++)
        if (put(PySequence_Fast_GET_ITEM(fast, i), v + (size_t)i * elem) < 0) {
            PyMem_Free(v);
            Py_DECREF(fast);
            return -1;
        }
    Py_DECREF(fast);
    *out = v;
    *n = (size_t)len;
    return 0;
}

static int put_double(PyObject *o, void *dst)
{
    double d = PyFloat_AsDouble(o);
    *(double *)dst = d;
    return (d == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static int put_int64(PyObject *o, void *dst)
{
    long long l = PyLong_AsLongLong(o);
    *(int64_t *)dst = l;
    return (l == -1 && PyErr_Occurred()) ? -1 : 0;
}

/*
 * The sampling settings, as vidx/__init__.py normalises them. Arrays the
 * settings point at (times, indices) are owned by *times / *indices.
 */
typedef struct SampleArgs {
    int mode, count, approx, pixel, max_side, width, height, fit, threads, stream;
    double fps;
    long long max_frames, max_pixels;
    PyObject *times, *indices;
} SampleArgs;

static int fill_sampler(const SampleArgs *a, VidxSamplerSettings *ss, double **times,
                        int64_t **indices)
{
    *times = NULL;
    *indices = NULL;
    ss->mode = (VidxMode)a->mode;
    ss->count = a->count;
    ss->fps = a->fps;
    ss->approx = a->approx;
    ss->threads = a->threads;
    ss->pixel = (VidxPixel)a->pixel;
    ss->max_side = a->max_side;
    ss->width = a->width;
    ss->height = a->height;
    ss->fit = (VidxFit)a->fit;
    if (a->max_frames > 0)
        ss->max_frames = a->max_frames;
    if (a->times && a->times != Py_None) {
        if (read_numbers(a->times, sizeof(double), put_double, (void **)times, &ss->n_times) < 0)
            return -1;
        ss->times = *times;
    }
    if (a->indices && a->indices != Py_None) {
        if (read_numbers(a->indices, sizeof(int64_t), put_int64, (void **)indices, &ss->n_indices) <
            0)
            return -1;
        ss->indices = *indices;
    }
    return 0;
}

static char *sample_kwlist[] = {"path",       "mode",   "count",   "fps",      "times",
                                "indices",    "approx", "pixel",   "max_side", "width",
                                "height",     "fit",    "threads", "stream",   "max_frames",
                                "max_pixels", NULL};
#define SAMPLE_FORMAT "s|iidOOpiiiiiiiLL"
#define SAMPLE_ARGS(p, a)                                                                          \
    &(p), &(a).mode, &(a).count, &(a).fps, &(a).times, &(a).indices, &(a).approx, &(a).pixel,      \
        &(a).max_side, &(a).width, &(a).height, &(a).fit, &(a).threads, &(a).stream,               \
        &(a).max_frames, &(a).max_pixels

static void sample_args_init(SampleArgs *a)
{
    memset(a, 0, sizeof(*a));
    a->count = 8;
    a->pixel = VIDX_PIXEL_RGB24;
    a->stream = -1;
}

/* ------------------------------------------------------------------------ */
/* Sampler: one file, its frames one by one                                  */
/* ------------------------------------------------------------------------ */

/* What a Python frame holds: RGB (3), gray (the Y plane, 1) or YUV 4:2:0 planes. */
enum { OUT_RGB = 0, OUT_GRAY = 1, OUT_YUV = 2 };

typedef struct {
    PyObject_HEAD VidxSource *src;
    VidxSampler *sampler;
    char *path;
    int out; /* OUT_* */
    int md5; /* also compute the md5 of each frame's decoded planes */
    int busy;
    int done;
    double *times;
    int64_t *indices;
} SamplerObject;

static void sampler_release(SamplerObject *self)
{
    vidx_sampler_close(&self->sampler);
    vidx_source_close(&self->src);
    PyMem_Free(self->times);
    PyMem_Free(self->indices);
    self->times = NULL;
    self->indices = NULL;
}

static void sampler_dealloc(SamplerObject *self)
{
    sampler_release(self);
    PyMem_Free(self->path);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Opens path and plans the request, the GIL released. */
static int sampler_init(SamplerObject *self, PyObject *args, PyObject *kw)
{
    const char *path;
    SampleArgs a;
    int out = OUT_RGB, md5 = 0;
    sample_args_init(&a);
    PyObject *pos = PyTuple_GetSlice(args, 0, 1);
    if (!pos)
        return -1;
    /* "out" and "md5" are this object's own; the rest are the sampler's. */
    PyObject *kw2 = kw ? PyDict_Copy(kw) : PyDict_New();
    if (!kw2) {
        Py_DECREF(pos);
        return -1;
    }
    PyObject *o;
    if ((o = PyDict_GetItemString(kw2, "out"))) {
        out = (int)PyLong_AsLong(o);
        PyDict_DelItemString(kw2, "out");
    }
    if ((o = PyDict_GetItemString(kw2, "md5"))) {
        md5 = PyObject_IsTrue(o);
        PyDict_DelItemString(kw2, "md5");
    }
    int ok =
        PyArg_ParseTupleAndKeywords(pos, kw2, SAMPLE_FORMAT, sample_kwlist, SAMPLE_ARGS(path, a));
    Py_DECREF(pos);
    Py_DECREF(kw2);
    if (!ok || PyErr_Occurred())
        return -1;
    sampler_release(self);
    PyMem_Free(self->path);
    if (!(self->path = PyMem_Malloc(strlen(path) + 1))) {
        PyErr_NoMemory();
        return -1;
    }
    strcpy(self->path, path);
    self->out = out;
    self->md5 = md5;
    self->done = 0;
    if (out == OUT_GRAY || out == OUT_YUV)
        a.pixel = VIDX_PIXEL_YUV420_JPEG;

    VidxSourceSettings src_set;
    VidxSamplerSettings ss;
    vidx_source_default_settings(&src_set);
    vidx_sampler_default_settings(&ss);
    src_set.stream = a.stream;
    if (a.max_pixels > 0)
        src_set.max_pixels = a.max_pixels;
    if (fill_sampler(&a, &ss, &self->times, &self->indices) < 0)
        return -1;
    int ret;
    const char *what = "opening";
    Py_BEGIN_ALLOW_THREADS ret = vidx_sampler_check_settings(&ss);
    if (ret < 0)
        what = "settings";
    else if ((ret = vidx_source_open(&self->src, self->path, &src_set)) >= 0) {
        what = "planning";
        ret = vidx_sampler_open(&self->sampler, self->src, &ss);
    }
    Py_END_ALLOW_THREADS if (ret < 0)
    {
        raise_vidx(ret, self->path, what);
        sampler_release(self);
        return -1;
    }
    return 0;
}

/* A 2-D (h x w) or 3-D (h x w x c) uint8 array with the rows of a plane. */
static PyObject *plane_array(const uint8_t *data, int linesize, int w, int h, int c)
{
    npy_intp dims[3] = {h, w, c};
    PyObject *arr = PyArray_SimpleNew(c > 1 ? 3 : 2, dims, NPY_UINT8);
    if (!arr)
        return NULL;
    uint8_t *dst = PyArray_DATA((PyArrayObject *)arr);
    size_t row = (size_t)w * (size_t)c;
    for (int y = 0; y < h; y++)
        memcpy(dst + (size_t)y * row, data + (size_t)y * (size_t)linesize, row);
    return arr;
}

/* The pixels of f as this sampler's output kind. */
static PyObject *frame_pixels(const SamplerObject *self, const VidxFrame *f)
{
    if (self->out == OUT_RGB)
        return plane_array(f->data[0], f->linesize[0], f->width, f->height, 3);
    if (self->out == OUT_GRAY)
        return plane_array(f->data[0], f->linesize[0], f->width, f->height, 1);
    int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
    PyObject *y = plane_array(f->data[0], f->linesize[0], f->width, f->height, 1);
    PyObject *u = y ? plane_array(f->data[1], f->linesize[1], cw, ch, 1) : NULL;
    PyObject *v = u ? plane_array(f->data[2], f->linesize[2], cw, ch, 1) : NULL;
    PyObject *t = v ? PyTuple_Pack(3, y, u, v) : NULL;
    Py_XDECREF(y);
    Py_XDECREF(u);
    Py_XDECREF(v);
    return t;
}

static PyObject *frame_md5(const VidxFrame *f)
{
    char md5[33];
    if (vidx_frame_md5(f, md5) < 0)
        Py_RETURN_NONE;
    return PyUnicode_FromString(md5);
}

/* (index, target, time, pts, keyframe, approx, stream) of f. */
static PyObject *frame_meta(const VidxFrame *f)
{
    return Py_BuildValue("(LddLNNi)", (long long)f->index, f->target, f->time, (long long)f->pts,
                         PyBool_FromLong(f->keyframe), PyBool_FromLong(f->approx), f->stream);
}

/* Takes the next frame, the GIL released: 1 and *f, 0 at the end, -1 with an exception set. */
static int sampler_step(SamplerObject *self, const VidxFrame **f)
{
    if (!self->sampler || self->done)
        return 0;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "vidx: this frame iterator is in use by another thread (use one "
                        "iterator per thread)");
        return -1;
    }
    int ret;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS ret = vidx_sampler_next(self->sampler, f);
    Py_END_ALLOW_THREADS self->busy = 0;
    if (ret < 0) {
        self->done = 1;
        raise_vidx(ret, self->path, "decoding");
        return -1;
    }
    if (ret == 0)
        self->done = 1;
    return ret;
}

/* next(): (pixels, meta, md5 or None), or StopIteration. */
static PyObject *sampler_next(SamplerObject *self)
{
    const VidxFrame *f = NULL;
    int ret = sampler_step(self, &f);
    if (ret <= 0)
        return NULL;
    PyObject *pix = frame_pixels(self, f);
    PyObject *meta = pix ? frame_meta(f) : NULL;
    PyObject *md5 = NULL;
    if (meta)
        md5 = self->md5 ? frame_md5(f) : Py_NewRef(Py_None);
    PyObject *t = md5 ? PyTuple_Pack(3, pix, meta, md5) : NULL;
    Py_XDECREF(pix);
    Py_XDECREF(meta);
    Py_XDECREF(md5);
    return t;
}

/*
 * The frames of all(): anonymous memory that grows by remapping (no copy) and
 * is populated one frame at a time just before the frame is written: one call
 * instead of a page fault per 4 KiB page (in this project's 2-core VM, 30
 * frames of 1080p took 0.8 s of page faults, 0.05 s populated). Kernels
 * before 5.14 refuse MADV_POPULATE_WRITE: the pages then fault in as usual.
 */
typedef struct FrameBuf {
    uint8_t *p;
    size_t len; /* mapped bytes, whole pages */
} FrameBuf;

static size_t page_round(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) / pg * pg;
}

static void framebuf_free(FrameBuf *b)
{
    if (b->p)
        munmap(b->p, b->len);
    b->p = NULL;
    b->len = 0;
}

/* Resizes b to at least len bytes (also shrinks); 0 or -1. */
static int framebuf_resize(FrameBuf *b, size_t len)
{
    len = page_round(len ? len : 1);
    void *p = b->p ? mremap(b->p, b->len, len, MREMAP_MAYMOVE)
                   : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    b->p = p;
    b->len = len;
    return 0;
}

/* Where frame n (of fsize bytes) goes, populated; NULL when out of memory. */
static uint8_t *framebuf_slot(FrameBuf *b, size_t n, size_t fsize)
{
    if (fsize == 0 || n + 1 > SIZE_MAX / 2 / fsize)
        return NULL;
    size_t grow = 2 * b->len > 16 * fsize ? 2 * b->len : 16 * fsize;
    if ((n + 1) * fsize > b->len && framebuf_resize(b, grow) < 0)
        return NULL;
    uint8_t *slot = b->p + n * fsize;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), skip = (size_t)(slot - b->p) % pg;
    (void)madvise(slot - skip, fsize + skip, MADV_POPULATE_WRITE); /* best effort */
    return slot;
}

static void free_frames(PyObject *capsule)
{
    FrameBuf *b = PyCapsule_GetPointer(capsule, "vidx.frames");
    framebuf_free(b);
    PyMem_Free(b);
}

/* n frames of h x w x c in *b as an array that owns the memory (b is emptied): no copy. */
static PyObject *adopt_frames(FrameBuf *b, size_t n, int h, int w, int c)
{
    npy_intp dims[4] = {(npy_intp)n, h, w, c};
    FrameBuf *own = PyMem_Malloc(sizeof(*own));
    if (!own || framebuf_resize(b, n * (size_t)h * (size_t)w * (size_t)c) < 0) {
        PyMem_Free(own);
        return PyErr_NoMemory();
    }
    *own = *b;
    *b = (FrameBuf){NULL, 0};
    PyObject *arr = PyArray_SimpleNewFromData(c > 1 ? 4 : 3, dims, NPY_UINT8, own->p);
    PyObject *cap = arr ? PyCapsule_New(own, "vidx.frames", free_frames) : NULL;
    if (!cap) {
        Py_XDECREF(arr);
        framebuf_free(own);
        PyMem_Free(own);
        return NULL;
    }
    if (PyArray_SetBaseObject((PyArrayObject *)arr, cap) < 0) { /* cap stolen: it frees own */
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

/*
 * all(): every remaining frame into one N x H x W x C array, filled as the
 * frames come (one copy each: the array adopts the buffer the frames were
 * copied into), plus a list of their metadata tuples.
 */
static PyObject *sampler_all(SamplerObject *self, PyObject *noargs)
{
    (void)noargs;
    if (self->out == OUT_YUV) {
        PyErr_SetString(PyExc_ValueError, "vidx: the batched form takes pixel='rgb' or 'gray'");
        return NULL;
    }
    int c = self->out == OUT_RGB ? 3 : 1;
    FrameBuf buf = {NULL, 0};
    size_t n = 0, fsize = 0;
    int w = 0, h = 0;
    PyObject *metas = PyList_New(0);
    if (!metas)
        return NULL;
    for (;;) {
        const VidxFrame *f = NULL;
        int ret = sampler_step(self, &f);
        if (ret < 0)
            goto fail;
        if (ret == 0)
            break;
        if (n == 0) {
            w = f->width;
            h = f->height;
            fsize = (size_t)w * (size_t)h * (size_t)c;
        } else if (f->width != w || f->height != h) {
            PyErr_Format(PyExc_ValueError,
                         "vidx: %s: frames of different sizes (%dx%d, then %dx%d): use "
                         "vidx.frames() or a fixed size=",
                         self->path, w, h, f->width, f->height);
            goto fail;
        }
        uint8_t *dst = framebuf_slot(&buf, n, fsize);
        if (!dst) {
            PyErr_NoMemory();
            goto fail;
        }
        for (int y = 0; y < h; y++)
            memcpy(dst + (size_t)y * (size_t)w * c, f->data[0] + (size_t)y * f->linesize[0],
                   (size_t)w * c);
        PyObject *meta = frame_meta(f);
        if (!meta || PyList_Append(metas, meta) < 0) {
            Py_XDECREF(meta);
            goto fail;
        }
        Py_DECREF(meta);
        n++;
    }
    PyObject *arr = adopt_frames(&buf, n, h, w, c);
    if (!arr)
        goto fail;
    return Py_BuildValue("(NN)", arr, metas);
fail:
    framebuf_free(&buf);
    Py_DECREF(metas);
    return NULL;
}

/* info(): the video stream's information (vidx_source_video_info). */
static PyObject *sampler_info(SamplerObject *self, PyObject *noargs)
{
    (void)noargs;
    if (!self->src)
        Py_RETURN_NONE;
    const VidxVideoInfo *i = vidx_source_video_info(self->src);
    return Py_BuildValue("{s:i,s:i,s:i,s:i,s:i,s:i,s:d,s:d,s:d,s:L,s:N}", "stream", i->stream,
                         "coded_width", i->coded_width, "coded_height", i->coded_height, "width",
                         i->display_width, "height", i->display_height, "rotation", i->rotation,
                         "start", i->start, "duration", i->duration, "avg_fps", i->avg_fps,
                         "frames", (long long)i->frames, "has_audio",
                         PyBool_FromLong(i->has_audio));
}

/* stats(): the sampler's statistics so far. */
static PyObject *sampler_stats(SamplerObject *self, PyObject *noargs)
{
    (void)noargs;
    if (!self->sampler)
        Py_RETURN_NONE;
    VidxSamplerStats s;
    vidx_sampler_stats(self->sampler, &s);
    return Py_BuildValue(
        "{s:L,s:L,s:L,s:L,s:L,s:N,s:L,s:L}", "packets_read", (long long)s.packets_read,
        "frames_decoded", (long long)s.frames_decoded, "frames_skipped",
        (long long)s.frames_skipped, "frames_output", (long long)s.frames_output, "decode_errors",
        (long long)s.decode_errors, "partial", PyBool_FromLong(s.partial), "targets_missed",
        (long long)s.targets_missed, "targets_past_end", (long long)s.targets_past_end);
}

static PyObject *sampler_close(SamplerObject *self, PyObject *noargs)
{
    (void)noargs;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "vidx: close() while another thread decodes");
        return NULL;
    }
    sampler_release(self);
    self->done = 1;
    Py_RETURN_NONE;
}

static PyMethodDef sampler_methods[] = {
    {"all", (PyCFunction)sampler_all, METH_NOARGS, "all remaining frames: (NxHxWxC array, metas)"},
    {"info", (PyCFunction)sampler_info, METH_NOARGS, "the video stream's information"},
    {"stats", (PyCFunction)sampler_stats, METH_NOARGS, "decoding statistics"},
    {"close", (PyCFunction)sampler_close, METH_NOARGS, "frees the decoder and closes the file"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SamplerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vidx._vidx.Sampler",
    .tp_basicsize = sizeof(SamplerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An opened video and a frame request (use vidx.frames()).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)sampler_init,
    .tp_dealloc = (destructor)sampler_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)sampler_next,
    .tp_methods = sampler_methods,
};

/* ------------------------------------------------------------------------ */
/* probe, audio                                                              */
/* ------------------------------------------------------------------------ */

static PyObject *py_probe(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "count_frames", "stream", "max_pixels", "max_streams", NULL};
    const char *path;
    int count_frames = 0, stream = -1, max_streams = 0;
    long long max_pixels = 0;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|piLi", kwlist, &path, &count_frames, &stream,
                                     &max_pixels, &max_streams))
        return NULL;
    VidxSourceSettings ss;
    vidx_source_default_settings(&ss);
    ss.stream = stream;
    if (max_pixels > 0)
        ss.max_pixels = max_pixels;
    if (max_streams > 0)
        ss.max_streams = max_streams;
    VidxSource *src = NULL;
    char *json = NULL;
    int ret;
    const char *what = "opening";
    Py_BEGIN_ALLOW_THREADS ret = vidx_source_open(&src, path, &ss);
    if (ret >= 0) {
        what = "probing";
        ret = vidx_source_probe_json(src, count_frames, &json);
    }
    vidx_source_close(&src);
    Py_END_ALLOW_THREADS if (ret < 0) return raise_vidx(ret, path, what);
    PyObject *s = PyUnicode_FromString(json);
    vidx_free(json);
    return s;
}

typedef struct AudioBuf {
    int16_t *data;
    size_t n, cap; /* in int16 values */
    int channels;
} AudioBuf;

/* The audio callback: appends interleaved samples (called without the GIL). */
static int audio_append(void *opaque, const int16_t *samples, int nb_samples)
{
    AudioBuf *b = opaque;
    size_t add = (size_t)nb_samples * (size_t)b->channels;
    if (b->n + add > b->cap) {
        size_t ncap = b->cap ? b->cap : 65536;
        while (ncap < b->n + add)
            ncap *= 2;
        int16_t *nd = realloc(b->data, ncap * sizeof(*nd));
        if (!nd)
            return -ENOMEM;
        b->data = nd;
        b->cap = ncap;
    }
    memcpy(b->data + b->n, samples, add * sizeof(*samples));
    b->n += add;
    return 0;
}

static PyObject *py_audio(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "rate", "channels", "stream", NULL};
    const char *path;
    int rate = 16000, channels = 1, stream = -1;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|iii", kwlist, &path, &rate, &channels, &stream))
        return NULL;
    VidxSourceSettings ss;
    vidx_source_default_settings(&ss);
    ss.audio_only = 1;
    ss.audio_stream = stream;
    VidxSource *src = NULL;
    AudioBuf b = {NULL, 0, 0, channels > 0 ? channels : 1};
    VidxAudioSettings as = {1, rate, channels, audio_append, &b};
    int64_t errors = 0;
    int ret;
    const char *what = "opening";
    Py_BEGIN_ALLOW_THREADS ret = vidx_source_open(&src, path, &ss);
    if (ret >= 0) {
        what = "decoding audio";
        ret = vidx_audio_decode(src, &as, &errors);
    }
    vidx_source_close(&src);
    Py_END_ALLOW_THREADS if (ret < 0)
    {
        free(b.data);
        return raise_vidx(ret, path, what);
    }
    npy_intp dims[2] = {(npy_intp)(b.n / (size_t)b.channels), b.channels};
    PyObject *arr = PyArray_SimpleNew(2, dims, NPY_INT16);
    if (arr && b.n)
        memcpy(PyArray_DATA((PyArrayObject *)arr), b.data, b.n * sizeof(int16_t));
    free(b.data);
    if (!arr)
        return NULL;
    return Py_BuildValue("(NL)", arr, (long long)errors);
}

/* ------------------------------------------------------------------------ */
/* Batch runs and catalogs                                                   */
/* ------------------------------------------------------------------------ */

typedef struct RunCtx {
    PyObject *progress; /* callable or None */
    PyObject *error;    /* the exception the callback raised (the run is then cancelled) */
    volatile int cancel;
} RunCtx;

static PyObject *summary_dict(const VidxRunSummary *s)
{
    return Py_BuildValue(
        "{s:L,s:L,s:L,s:L,s:{s:L,s:L,s:L,s:L,s:L},s:L,s:L,s:d,s:N,s:i,s:L,s:L,s:L}", "total",
        (long long)s->total, "done", (long long)s->done, "skipped", (long long)s->skipped,
        "skipped_failed", (long long)s->skipped_failed, "counts", "ok",
        (long long)s->counts[VIDX_VIDEO_OK], "partial", (long long)s->counts[VIDX_VIDEO_PARTIAL],
        "failed", (long long)s->counts[VIDX_VIDEO_FAILED], "crashed",
        (long long)s->counts[VIDX_VIDEO_CRASHED], "timeout",
        (long long)s->counts[VIDX_VIDEO_TIMEOUT], "frames", (long long)s->frames, "bytes",
        (long long)s->bytes, "seconds", s->seconds, "interrupted", PyBool_FromLong(s->interrupted),
        "disk_stop", s->disk_stop, "not_video",
        (long long)(s->not_video_image + s->not_video_audio + s->not_video_other), "duplicates",
        (long long)s->duplicates, "symlinks", (long long)s->symlinks);
}

static const char *event_name(VidxRunEventType t)
{
    switch (t) {
    case VIDX_EVENT_START:
        return "start";
    case VIDX_EVENT_VIDEO:
        return "video";
    case VIDX_EVENT_TICK:
        return "tick";
    case VIDX_EVENT_END:
        return "end";
    case VIDX_EVENT_SKIPPED:
        return "skipped";
    }
    return "?";
}

/* Keeps the pending exception in ctx (the run is then cancelled); called with the GIL. */
static void run_keep_error(RunCtx *ctx)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    ctx->error = value;
    Py_XDECREF(type);
    Py_XDECREF(tb);
    ctx->cancel = 1;
}

/*
 * The run's event callback: runs in the calling thread, which gives the GIL
 * back for it. A signal Python has a handler for (Ctrl-C: KeyboardInterrupt)
 * stops the run cleanly, like an exception of the progress callable.
 */
static void run_event(void *opaque, const VidxRunEvent *ev)
{
    RunCtx *ctx = opaque;
    if (ctx->error)
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    if (PyErr_CheckSignals() < 0) {
        run_keep_error(ctx);
        PyGILState_Release(g);
        return;
    }
    if (ctx->progress == Py_None) {
        PyGILState_Release(g);
        return;
    }
    PyObject *d = Py_BuildValue("{s:s,s:N}", "type", event_name(ev->type), "summary",
                                ev->summary ? summary_dict(ev->summary) : Py_NewRef(Py_None));
    if (d && (ev->type == VIDX_EVENT_VIDEO || ev->type == VIDX_EVENT_SKIPPED)) {
        PyObject *v =
            Py_BuildValue("{s:z,s:s,s:z,s:z,s:L,s:d,s:z,s:z}", "path", ev->path, "status",
                          vidx_video_status_name(ev->status), "error_class", ev->error_class,
                          "message", ev->message, "frames", (long long)ev->frames, "seconds",
                          ev->seconds, "key", ev->key, "audio", ev->audio);
        if (!v || PyDict_Update(d, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    PyObject *r = d ? PyObject_CallOneArg(ctx->progress, d) : NULL;
    Py_XDECREF(d);
    if (!r)
        run_keep_error(ctx);
    Py_XDECREF(r);
    PyGILState_Release(g);
}

/* d[key] as an int/float/str setting when present; -1 with an exception on a bad type. */
static int opt_long(PyObject *d, const char *key, long long *v)
{
    PyObject *o = PyDict_GetItemString(d, key);
    if (!o || o == Py_None)
        return 0;
    *v = PyLong_AsLongLong(o);
    return (*v == -1 && PyErr_Occurred()) ? -1 : 1;
}

static int opt_int(PyObject *d, const char *key, int *v)
{
    long long l;
    int r = opt_long(d, key, &l);
    if (r > 0) {
        if (l < INT32_MIN || l > INT32_MAX) {
            PyErr_Format(PyExc_OverflowError, "vidx: %s out of range", key);
            return -1;
        }
        *v = (int)l;
    }
    return r;
}

static int opt_double(PyObject *d, const char *key, double *v)
{
    PyObject *o = PyDict_GetItemString(d, key);
    if (!o || o == Py_None)
        return 0;
    *v = PyFloat_AsDouble(o);
    return (*v == -1.0 && PyErr_Occurred()) ? -1 : 1;
}

static int opt_str(PyObject *d, const char *key, const char **v)
{
    PyObject *o = PyDict_GetItemString(d, key);
    if (!o || o == Py_None)
        return 0;
    *v = PyUnicode_AsUTF8(o);
    return *v ? 1 : -1;
}

/*
 * The run settings from the normalised options dict of vidx/__init__.py.
 * String fields point into the dict's objects (which outlive the run).
 */
static int fill_run(PyObject *o, VidxRunSettings *rs, double **times, int64_t **indices)
{
    SampleArgs a;
    sample_args_init(&a);
    a.pixel = -1;
    long long l;
    const char *str;
    int r = 0;
    r |= opt_int(o, "mode", &a.mode) < 0;
    r |= opt_int(o, "count", &a.count) < 0;
    r |= opt_double(o, "fps", &a.fps) < 0;
    r |= opt_int(o, "approx", &a.approx) < 0;
    r |= opt_int(o, "max_side", &a.max_side) < 0;
    r |= opt_int(o, "width", &a.width) < 0;
    r |= opt_int(o, "height", &a.height) < 0;
    r |= opt_int(o, "fit", &a.fit) < 0;
    r |= opt_int(o, "threads", &a.threads) < 0;
    r |= opt_int(o, "stream", &a.stream) < 0;
    r |= opt_long(o, "max_frames", &a.max_frames) < 0;
    if (r)
        return -1;
    a.times = PyDict_GetItemString(o, "times");
    a.indices = PyDict_GetItemString(o, "indices");
    VidxJobSettings *j = &rs->job;
    int fmt = 0;
    if (opt_int(o, "format", &fmt) < 0)
        return -1;
    j->format = (VidxImageFormat)fmt;
    a.pixel = vidx_image_pixel(j->format);
    if (fill_sampler(&a, &j->sampler, times, indices) < 0)
        return -1;
    j->source.stream = a.stream;
    r |= opt_int(o, "quality", &j->quality) < 0;
    r |= opt_int(o, "md5", &j->md5) < 0;
    r |= opt_int(o, "audio", &j->audio) < 0;
    r |= opt_int(o, "audio_rate", &j->audio_rate) < 0;
    r |= opt_int(o, "audio_channels", &j->audio_channels) < 0;
    r |= opt_int(o, "audio_stream", &j->source.audio_stream) < 0;
    r |= opt_int(o, "dedup", &j->dedup) < 0;
    r |= opt_int(o, "scenes", &j->scenes) < 0;
    r |= opt_int(o, "layout", (int *)&rs->layout) < 0;
    r |= opt_long(o, "shard_bytes", (long long *)&rs->shard_bytes) < 0;
    r |= opt_long(o, "shard_samples", (long long *)&rs->shard_samples) < 0;
    r |= opt_long(o, "max_disk", (long long *)&rs->max_disk) < 0;
    r |= opt_long(o, "min_free", (long long *)&rs->min_free) < 0;
    r |= opt_long(o, "max_memory", (long long *)&rs->max_memory) < 0;
    r |= opt_int(o, "dedup_exact", &rs->dedup_exact) < 0;
    r |= opt_int(o, "jobs", &rs->jobs) < 0;
    r |= opt_double(o, "timeout", &rs->timeout) < 0;
    r |= opt_double(o, "stall", &rs->stall) < 0;
    r |= opt_int(o, "retry", &rs->retry) < 0;
    r |= opt_int(o, "follow_symlinks", &rs->follow_symlinks) < 0;
    r |= opt_int(o, "audio_files", &rs->audio_files) < 0;
    r |= opt_int(o, "wait_lock", &rs->wait_lock) < 0;
    r |= opt_int(o, "shard_index", &rs->shard_index) < 0;
    r |= opt_int(o, "shard_count", &rs->shard_count) < 0;
    if (opt_long(o, "max_pixels", &l) > 0)
        j->source.max_pixels = l;
    if (opt_str(o, "catalog", &str) > 0)
        rs->catalog = str;
    if (opt_str(o, "scratch", &str) > 0)
        rs->scratch = str;
    if (opt_str(o, "transcode", &str) > 0)
        rs->transcode = str;
    r |= opt_int(o, "no_frames", &rs->no_frames) < 0;
    return (r || PyErr_Occurred()) ? -1 : 0;
}

static PyObject *py_run(PyObject *self, PyObject *args)
{
    PyObject *inputs, *opts, *progress;
    const char *out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OsO!O", &inputs, &out, &PyDict_Type, &opts, &progress))
        return NULL;
    PyObject *fast = PySequence_Fast(inputs, "vidx.run: inputs must be a list of paths");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    const char **in = PyMem_Calloc((size_t)(n ? n : 1), sizeof(*in));
    if (!in) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (!(in[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(fast, i)))) {
            PyMem_Free(in);
            Py_DECREF(fast);
            return NULL;
        }
    VidxRunSettings rs;
    vidx_run_default_settings(&rs);
    double *times = NULL;
    int64_t *indices = NULL;
    RunCtx ctx = {progress, NULL, 0};
    VidxRunSummary sum;
    memset(&sum, 0, sizeof(sum));
    PyObject *result = NULL;
    if (fill_run(opts, &rs, &times, &indices) == 0) {
        rs.on_event = run_event;
        rs.opaque = &ctx;
        rs.cancel = &ctx.cancel;
        int ret;
        Py_BEGIN_ALLOW_THREADS ret = vidx_job_check_settings(&rs.job);
        if (ret >= 0)
            ret = vidx_run(in, (size_t)n, out, &rs, &sum);
        Py_END_ALLOW_THREADS if (ctx.error)
        {
            PyErr_SetObject((PyObject *)Py_TYPE(ctx.error), ctx.error);
            Py_CLEAR(ctx.error);
        }
        else if (ret < 0) raise_vidx(ret, out, "run");
        else result = summary_dict(&sum);
    }
    PyMem_Free(times);
    PyMem_Free(indices);
    PyMem_Free(in);
    Py_DECREF(fast);
    return result;
}

/* export(out, catalog, table, fd): writes a catalog table as JSON lines to fd. */
static PyObject *py_catalog_export(PyObject *self, PyObject *args)
{
    const char *out, *catalog, *table;
    int fd;
    (void)self;
    if (!PyArg_ParseTuple(args, "szsi", &out, &catalog, &table, &fd))
        return NULL;
    VidxCatalog *c = NULL;
    int ret;
    const char *what = "opening the catalog";
    Py_BEGIN_ALLOW_THREADS ret = vidx_catalog_open_at(&c, out, catalog, 1);
    if (ret >= 0) {
        what = "exporting";
        ret = vidx_catalog_export(c, table, "jsonl", fd);
    }
    vidx_catalog_close(&c);
    Py_END_ALLOW_THREADS if (ret < 0) return raise_vidx(ret, out, what);
    Py_RETURN_NONE;
}

static PyObject *py_catalog_status(PyObject *self, PyObject *args)
{
    const char *out, *catalog;
    (void)self;
    if (!PyArg_ParseTuple(args, "sz", &out, &catalog))
        return NULL;
    VidxCatalog *c = NULL;
    char *json = NULL;
    int ret;
    const char *what = "opening the catalog";
    Py_BEGIN_ALLOW_THREADS ret = vidx_catalog_open_at(&c, out, catalog, 1);
    if (ret >= 0) {
        what = "status";
        ret = vidx_catalog_status_json(c, &json);
    }
    vidx_catalog_close(&c);
    Py_END_ALLOW_THREADS if (ret < 0) return raise_vidx(ret, out, what);
    PyObject *s = PyUnicode_FromString(json);
    vidx_free(json);
    return s;
}

/* verify(out, catalog, repair) -> (problems, report JSON) */
static PyObject *py_verify(PyObject *self, PyObject *args)
{
    const char *out, *catalog;
    int repair;
    (void)self;
    if (!PyArg_ParseTuple(args, "szp", &out, &catalog, &repair))
        return NULL;
    char *json = NULL;
    int ret;
    Py_BEGIN_ALLOW_THREADS ret = vidx_verify_at(out, catalog, repair, &json);
    Py_END_ALLOW_THREADS if (ret < 0) return raise_vidx(ret, out, "verify");
    PyObject *r = Py_BuildValue("(is)", ret, json ? json : "{}");
    vidx_free(json);
    return r;
}

static PyObject *py_merge(PyObject *self, PyObject *args)
{
    const char *dest;
    PyObject *parts;
    (void)self;
    if (!PyArg_ParseTuple(args, "sO", &dest, &parts))
        return NULL;
    PyObject *fast = PySequence_Fast(parts, "vidx.merge: parts must be a list of paths");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    const char **p = PyMem_Calloc((size_t)(n ? n : 1), sizeof(*p));
    if (!p) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (!(p[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(fast, i)))) {
            PyMem_Free(p);
            Py_DECREF(fast);
            return NULL;
        }
    char *json = NULL;
    int ret;
    Py_BEGIN_ALLOW_THREADS ret = vidx_merge(dest, p, (size_t)n, &json);
    Py_END_ALLOW_THREADS PyMem_Free(p);
    Py_DECREF(fast);
    if (ret < 0) {
        vidx_free(json);
        return raise_vidx(ret, dest, "merge");
    }
    PyObject *r = PyUnicode_FromString(json ? json : "{}");
    vidx_free(json);
    return r;
}

static PyObject *py_output_check(PyObject *self, PyObject *args)
{
    const char *dir, *kind;
    (void)self;
    if (!PyArg_ParseTuple(args, "ss", &dir, &kind))
        return NULL;
    int ret;
    Py_BEGIN_ALLOW_THREADS ret = vidx_output_check(dir, kind);
    Py_END_ALLOW_THREADS if (ret < 0) return raise_vidx(ret, dir, "checking the output");
    Py_RETURN_NONE;
}

static PyObject *py_version(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyUnicode_FromString(vidx_version());
}

static PyObject *py_set_log_level(PyObject *self, PyObject *args)
{
    int level;
    (void)self;
    if (!PyArg_ParseTuple(args, "i", &level))
        return NULL;
    vidx_set_log_level(level);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"probe", (PyCFunction)(void (*)(void))py_probe, METH_VARARGS | METH_KEYWORDS,
     "probe(path, count_frames=False, stream=-1) -> JSON text"},
    {"audio", (PyCFunction)(void (*)(void))py_audio, METH_VARARGS | METH_KEYWORDS,
     "audio(path, rate, channels, stream) -> (int16 array (n, channels), decode errors)"},
    {"run", py_run, METH_VARARGS, "run(inputs, out, options, progress) -> summary dict"},
    {"catalog_export", py_catalog_export, METH_VARARGS, "catalog_export(out, catalog, table, fd)"},
    {"catalog_status", py_catalog_status, METH_VARARGS, "catalog_status(out, catalog) -> JSON"},
    {"verify", py_verify, METH_VARARGS, "verify(out, catalog, repair) -> (problems, JSON)"},
    {"merge", py_merge, METH_VARARGS, "merge(dest, parts) -> JSON report"},
    {"output_check", py_output_check, METH_VARARGS, "output_check(dir, kind)"},
    {"error_codes", py_error_codes, METH_NOARGS, "[(code, class, message)] of every VIDX_E*"},
    {"strerror", py_strerror, METH_VARARGS, "strerror(code) -> (message, class)"},
    {"set_error_classes", py_set_error_classes, METH_VARARGS, "internal: vidx._errors"},
    {"version", py_version, METH_NOARGS, "libvidx's version"},
    {"set_log_level", py_set_log_level, METH_VARARGS, "0 quiet .. 3 info"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef vidx_module = {
    PyModuleDef_HEAD_INIT, "_vidx", "libvidx's public API for the vidx package", -1, module_methods,
};

PyMODINIT_FUNC PyInit__vidx(void)
{
    import_array();
    if (PyType_Ready(&SamplerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&vidx_module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Sampler", (PyObject *)&SamplerType) < 0 ||
        PyModule_AddIntConstant(m, "MODE_COUNT", VIDX_MODE_COUNT) < 0 ||
        PyModule_AddIntConstant(m, "MODE_FPS", VIDX_MODE_FPS) < 0 ||
        PyModule_AddIntConstant(m, "MODE_KEYFRAMES", VIDX_MODE_KEYFRAMES) < 0 ||
        PyModule_AddIntConstant(m, "MODE_TIMES", VIDX_MODE_TIMES) < 0 ||
        PyModule_AddIntConstant(m, "MODE_INDICES", VIDX_MODE_INDICES) < 0 ||
        PyModule_AddIntConstant(m, "FIT_STRETCH", VIDX_FIT_STRETCH) < 0 ||
        PyModule_AddIntConstant(m, "FIT_CROP", VIDX_FIT_CROP) < 0 ||
        PyModule_AddIntConstant(m, "FIT_PAD", VIDX_FIT_PAD) < 0 ||
        PyModule_AddIntConstant(m, "PIXEL_RGB24", VIDX_PIXEL_RGB24) < 0 ||
        PyModule_AddIntConstant(m, "OUT_RGB", OUT_RGB) < 0 ||
        PyModule_AddIntConstant(m, "OUT_GRAY", OUT_GRAY) < 0 ||
        PyModule_AddIntConstant(m, "OUT_YUV", OUT_YUV) < 0 ||
        PyModule_AddIntConstant(m, "IMAGE_JPEG", VIDX_IMAGE_JPEG) < 0 ||
        PyModule_AddIntConstant(m, "IMAGE_WEBP", VIDX_IMAGE_WEBP) < 0 ||
        PyModule_AddIntConstant(m, "IMAGE_PNG", VIDX_IMAGE_PNG) < 0 ||
        PyModule_AddIntConstant(m, "LAYOUT_FILES", VIDX_LAYOUT_FILES) < 0 ||
        PyModule_AddIntConstant(m, "LAYOUT_SHARDS", VIDX_LAYOUT_SHARDS) < 0 ||
        PyModule_AddIntConstant(m, "AUDIO_NONE", VIDX_AUDIO_NONE) < 0 ||
        PyModule_AddIntConstant(m, "AUDIO_WAV", VIDX_AUDIO_WAV) < 0 ||
        PyModule_AddIntConstant(m, "AUDIO_FLAC", VIDX_AUDIO_FLAC) < 0 ||
        PyModule_AddIntConstant(m, "AUDIO_OPUS", VIDX_AUDIO_OPUS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
