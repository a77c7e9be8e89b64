#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include "ncurses_shim.h"
int djc_placeholder(void) { return 0; }
