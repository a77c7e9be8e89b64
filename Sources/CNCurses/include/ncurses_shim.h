#ifndef DJDEPLOY_NCURSES_SHIM_H
#define DJDEPLOY_NCURSES_SHIM_H
int djc_placeholder(void);
#endif
