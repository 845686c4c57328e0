#ifndef MIRRORDECK_CGIT2_SHIM_H
#define MIRRORDECK_CGIT2_SHIM_H
#include <git2.h>
#include <git2/sys/odb_backend.h>

/* git_libgit2_opts is variadic, which Swift cannot call: one typed wrapper per argument kind. */
static inline int mirrordeck_git_opts_size_t(int option, size_t value) { return git_libgit2_opts(option, value); }
#endif
