#ifndef MIRRORDECK_CNCURSES_SHIM_H
#define MIRRORDECK_CNCURSES_SHIM_H
/* SwiftPM drops the -D flags pkg-config gives for ncursesw, so ask for the wide API here. */
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <stdio.h>
#include <curses.h>

/* Macros and globals Swift cannot import, as inline functions. No logic lives here. */
static inline int mdk_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int mdk_getmaxx(WINDOW *w) { return getmaxx(w); }
static inline attr_t mdk_a_normal(void) { return A_NORMAL; }
static inline attr_t mdk_a_bold(void) { return A_BOLD; }
static inline attr_t mdk_a_reverse(void) { return A_REVERSE; }
static inline attr_t mdk_a_dim(void) { return A_DIM; }
static inline attr_t mdk_a_underline(void) { return A_UNDERLINE; }
static inline attr_t mdk_a_italic(void) { return A_ITALIC; }
static inline attr_t mdk_color_pair(int n) { return COLOR_PAIR(n); }

static inline WINDOW *mdk_stdscr(void) { return stdscr; }
static inline SCREEN *mdk_newterm(void) { return newterm(NULL, stdout, stdin); }
static inline int mdk_colors(void) { return COLORS; }
static inline int mdk_color_pairs(void) { return COLOR_PAIRS; }
static inline const char *mdk_codeset(void) { return nl_langinfo(CODESET); }

/* Attributes and an extended color pair (the pair number goes through opts, as ncurses 6 wants). */
static inline int mdk_attr_set(attr_t attrs, int pair) { return attr_set(attrs, (short)(pair < 32767 ? pair : 0), &pair); }
static inline int mdk_init_pair(int pair, int fg, int bg) {
#if NCURSES_EXT_COLORS
    return init_extended_pair(pair, fg, bg);
#else
    return init_pair((short)pair, (short)fg, (short)bg);
#endif
}

/* Draws at most n wide characters at (y, x). */
static inline int mdk_put(int y, int x, const wchar_t *s, int n) { return mvaddnwstr(y, x, s, n); }
static inline int mdk_get_wch(wint_t *ch) { return get_wch(ch); }
static inline int mdk_key_code_yes(void) { return KEY_CODE_YES; }

/* Mouse masks. */
static inline mmask_t mdk_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t mdk_button1_released(void) { return BUTTON1_RELEASED; }
static inline mmask_t mdk_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t mdk_button1_double_clicked(void) { return BUTTON1_DOUBLE_CLICKED; }
static inline mmask_t mdk_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline mmask_t mdk_button5_pressed(void) {
#ifdef BUTTON5_PRESSED
    return BUTTON5_PRESSED;
#else
    return 0;
#endif
}
static inline int mdk_getmouse(int *y, int *x, mmask_t *state) {
    MEVENT ev;
    int rc = getmouse(&ev);
    *y = ev.y; *x = ev.x; *state = ev.bstate;
    return rc;
}
#endif
