#ifndef MIRRORDECK_CZLIB_SHIM_H
#define MIRRORDECK_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit is a macro, which Swift cannot call. */
static inline int mirrordeck_inflate_init(z_stream *stream) { return inflateInit(stream); }
#endif
