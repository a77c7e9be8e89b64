#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include <stdlib.h>
#include <stdio.h>
#include <wchar.h>
#include <signal.h>
#include <string.h>
#include "ncurses_shim.h"

static SCREEN *djc_screen = NULL;
static int djc_is_active = 0;
static int djc_colors = 0;
static int djc_atexit_registered = 0;

static void djc_atexit(void) { djc_end(); }

/* Crash signals: restore the terminal, then hand the signal to the previous handler (the Swift
 * runtime's backtracer) by reinstalling it and returning (faults re-trigger) or re-raising. */
static const int djc_crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT };
#define DJC_NCRASH (int)(sizeof(djc_crash_signals) / sizeof(djc_crash_signals[0]))
static struct sigaction djc_old_actions[DJC_NCRASH];
static int djc_crash_installed = 0;

static void djc_crash_handler(int sig) {
    if (djc_is_active) { djc_is_active = 0; endwin(); }
    for (int i = 0; i < DJC_NCRASH; i++) {
        if (djc_crash_signals[i] == sig) sigaction(sig, &djc_old_actions[i], NULL);
    }
    if (sig == SIGABRT || sig == SIGTRAP) raise(sig);
}

static void djc_install_crash_handlers(void) {
    if (djc_crash_installed) return;
    djc_crash_installed = 1;
    for (int i = 0; i < DJC_NCRASH; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = djc_crash_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_NODEFER;
        sigaction(djc_crash_signals[i], &sa, &djc_old_actions[i]);
    }
}

int djc_init(int color) {
    if (djc_is_active) return 0;
    djc_screen = newterm(NULL, stdout, stdin);
    if (djc_screen == NULL) return -1;
    set_term(djc_screen);
    djc_is_active = 1;
    if (!djc_atexit_registered) { atexit(djc_atexit); djc_atexit_registered = 1; }
    djc_install_crash_handlers();
    noecho();
    cbreak();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    timeout(0);
    leaveok(stdscr, TRUE);
    scrollok(stdscr, FALSE);
    curs_set(0);
    djc_colors = 0;
    if (color && has_colors()) {
        start_color();
        use_default_colors();
        djc_colors = 1;
    }
    return 0;
}

void djc_end(void) {
    if (!djc_is_active) return;
    djc_is_active = 0;
    curs_set(1);
    endwin();
    fflush(stdout);
}

int djc_active(void) { return djc_is_active; }
int djc_has_colors(void) { return djc_colors; }

void djc_size(int *rows, int *cols) {
    int r = 0, c = 0;
    getmaxyx(stdscr, r, c);
    *rows = r; *cols = c;
}

int djc_get_wch(int *ch) {
    wint_t w = 0;
    int rc = wget_wch(stdscr, &w);
    *ch = (int)w;
    return rc;
}
int djc_ok(void) { return OK; }
int djc_err(void) { return ERR; }
int djc_key_code_yes(void) { return KEY_CODE_YES; }

int djc_key_up(void) { return KEY_UP; }
int djc_key_down(void) { return KEY_DOWN; }
int djc_key_left(void) { return KEY_LEFT; }
int djc_key_right(void) { return KEY_RIGHT; }
int djc_key_ppage(void) { return KEY_PPAGE; }
int djc_key_npage(void) { return KEY_NPAGE; }
int djc_key_home(void) { return KEY_HOME; }
int djc_key_end(void) { return KEY_END; }
int djc_key_enter(void) { return KEY_ENTER; }
int djc_key_backspace(void) { return KEY_BACKSPACE; }
int djc_key_dc(void) { return KEY_DC; }
int djc_key_btab(void) { return KEY_BTAB; }
int djc_key_resize(void) { return KEY_RESIZE; }
int djc_key_f(int n) { return KEY_F(n); }

int djc_attr_normal(void) { return (int)A_NORMAL; }
int djc_attr_bold(void) { return (int)A_BOLD; }
int djc_attr_reverse(void) { return (int)A_REVERSE; }
int djc_attr_underline(void) { return (int)A_UNDERLINE; }
int djc_attr_dim(void) { return (int)A_DIM; }

int djc_init_pair(int pair, int fg, int bg) { return init_pair((short)pair, (short)fg, (short)bg); }
int djc_color_pairs(void) { return COLOR_PAIRS; }

/* Minimal UTF-8 decoder (invalid bytes become U+FFFD). Returns scalars written. */
static int djc_decode(const char *s, wchar_t *out, int max) {
    const unsigned char *p = (const unsigned char *)s;
    int n = 0;
    while (*p && n < max) {
        unsigned int c = *p, need = 0, cp = 0;
        if (c < 0x80) { cp = c; need = 0; }
        else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; need = 1; }
        else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; need = 2; }
        else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; need = 3; }
        else { out[n++] = 0xFFFD; p++; continue; }
        p++;
        unsigned int i;
        for (i = 0; i < need; i++) {
            if ((*p & 0xC0) != 0x80) break;
            cp = (cp << 6) | (*p & 0x3F);
            p++;
        }
        out[n++] = (i == need) ? (wchar_t)cp : 0xFFFD;
    }
    out[n] = 0;
    return n;
}

int djc_put(int y, int x, const char *utf8, int attrs, int pair) {
    wchar_t w[CCHARW_MAX + 1];
    int n = djc_decode(utf8, w, CCHARW_MAX);
    if (n == 0) { w[0] = L' '; w[1] = 0; }
    cchar_t cc;
    if (setcchar(&cc, w, (attr_t)attrs, (short)pair, NULL) != OK) {
        /* e.g. an emoji ZWJ sequence: fall back to its first scalar, then to '?'. */
        w[1] = 0;
        if (setcchar(&cc, w, (attr_t)attrs, (short)pair, NULL) != OK) {
            wchar_t q[2] = { L'?', 0 };
            setcchar(&cc, q, (attr_t)attrs, (short)pair, NULL);
        }
    }
    return mvadd_wch(y, x, &cc);
}

void djc_clear(void) { clearok(stdscr, TRUE); }
void djc_refresh(void) { refresh(); }
void djc_set_escdelay(int ms) { set_escdelay(ms); }
