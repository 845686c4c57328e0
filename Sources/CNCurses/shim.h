#ifndef MIRRORDECK_CNCURSES_SHIM_H
#define MIRRORDECK_CNCURSES_SHIM_H
/* SwiftPM drops the -D flags pkg-config gives for ncursesw, so ask for the wide API here. */
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <curses.h>

/* Macros Swift cannot import, as inline functions. */
static inline int mdk_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int mdk_getmaxx(WINDOW *w) { return getmaxx(w); }
static inline attr_t mdk_a_bold(void) { return A_BOLD; }
static inline attr_t mdk_a_reverse(void) { return A_REVERSE; }
static inline attr_t mdk_a_dim(void) { return A_DIM; }
static inline attr_t mdk_a_underline(void) { return A_UNDERLINE; }
static inline attr_t mdk_color_pair(int n) { return COLOR_PAIR(n); }
#endif
