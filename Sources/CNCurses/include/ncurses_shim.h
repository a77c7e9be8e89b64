#ifndef DJDEPLOY_NCURSES_SHIM_H
#define DJDEPLOY_NCURSES_SHIM_H
/*
 * A small C surface over ncursesw for Swift. Curses macros and globals (stdscr, LINES, COLS,
 * A_*, KEY_F(n), getmaxyx) are not usable from Swift 6, so they are wrapped here.
 * Only WizardTUI.CursesBackend calls these. All functions act on stdscr.
 */

/* Terminal set-up: newterm on stdin/stdout (does not exit on a bad TERM, unlike initscr),
 * noecho, cbreak, keypad, nodelay, no cursor, colours when `color` and the terminal has them.
 * Registers an atexit handler that calls endwin, and crash-signal handlers (SIGSEGV, SIGILL,
 * SIGTRAP, SIGABRT, ...) that restore the terminal before passing the signal on. Returns 0, or -1 when the terminal cannot be
 * initialised. */
int djc_init(int color);
/* Restores the terminal (endwin); safe to call more than once. */
void djc_end(void);
/* 1 while curses is active. */
int djc_active(void);
/* 1 when colours were enabled by djc_init. */
int djc_has_colors(void);
/* Current size of stdscr. */
void djc_size(int *rows, int *cols);
/* Non-blocking wget_wch. Returns djc_ok() (a character in *ch), djc_key_code_yes()
 * (a KEY_* code in *ch) or djc_err() (nothing pending). */
int djc_get_wch(int *ch);
int djc_ok(void);
int djc_err(void);
int djc_key_code_yes(void);

/* Key codes. */
int djc_key_up(void);
int djc_key_down(void);
int djc_key_left(void);
int djc_key_right(void);
int djc_key_ppage(void);
int djc_key_npage(void);
int djc_key_home(void);
int djc_key_end(void);
int djc_key_enter(void);
int djc_key_backspace(void);
int djc_key_dc(void);
int djc_key_btab(void);
int djc_key_resize(void);
int djc_key_f(int n);

/* Attributes (for djc_put). */
int djc_attr_normal(void);
int djc_attr_bold(void);
int djc_attr_reverse(void);
int djc_attr_underline(void);
int djc_attr_dim(void);

/* Defines colour pair `pair` (1...COLOR_PAIRS-1); -1 = the terminal's default colour. */
int djc_init_pair(int pair, int fg, int bg);
int djc_color_pairs(void);

/* Writes one cell (a UTF-8 grapheme: a base character plus combining marks) at (y, x) with
 * attributes and a colour pair. A wide character covers two columns. */
int djc_put(int y, int x, const char *utf8, int attrs, int pair);

/* Clears the whole screen on the next refresh (full redraw after resize). */
void djc_clear(void);
/* Sends the pending changes to the terminal. */
void djc_refresh(void);
/* Sets ESCDELAY (milliseconds an ESC waits for the rest of an escape sequence). */
void djc_set_escdelay(int ms);

#endif
