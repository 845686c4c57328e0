#ifndef MIRRORDECK_CGIT2_SHIM_H
#define MIRRORDECK_CGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/stream.h>

/* The layout of libgit2 1.5's own socket stream (src/libgit2/streams/socket.h), whose SSH transport reads the
   socket `s` out of any standard stream: MirrorDeck's stream keeps that layout, its owner behind it. */
typedef struct {
    git_stream parent;
    char *host;
    char *port;
    int s;
    void *owner;
} mirrordeck_socket_stream;

/* git_libgit2_opts is variadic, which Swift cannot call: one typed wrapper per argument kind. */
static inline int mirrordeck_git_opts_size_t(int option, size_t value) { return git_libgit2_opts(option, value); }
#endif
