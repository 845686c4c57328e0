#ifndef MIRRORDECK_CGIT2_SHIM_H
#define MIRRORDECK_CGIT2_SHIM_H
#include <git2.h>
#endif
