#ifndef MIRRORDECK_CZLIB_SHIM_H
#define MIRRORDECK_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit and inflateInit2 are macros, which Swift cannot call. */
static inline int mirrordeck_inflate_init(z_stream *stream) { return inflateInit(stream); }
static inline int mirrordeck_inflate_init2(z_stream *stream, int window_bits) { return inflateInit2(stream, window_bits); }
#endif
