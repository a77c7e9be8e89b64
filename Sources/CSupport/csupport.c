#define _GNU_SOURCE
#include "csupport.h"
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80
#endif

static void close_pair(int p[2]) {
    if (p[0] >= 0) close(p[0]);
    if (p[1] >= 0) close(p[1]);
}

int dj_spawn(const char *file, char *const argv[], char *const envp[],
             const char *cwd, int new_session, int stdin_mode,
             pid_t *pid_out, int *in_fd, int *out_fd, int *err_fd) {
    int inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
    int rc = 0;
    if (stdin_mode == 1 && pipe2(inp, O_CLOEXEC) != 0) return errno;
    if (pipe2(outp, O_CLOEXEC) != 0) { rc = errno; close_pair(inp); return rc; }
    if (pipe2(errp, O_CLOEXEC) != 0) { rc = errno; close_pair(inp); close_pair(outp); return rc; }

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);

    if (stdin_mode == 1) {
        posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
    } else {
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    if (cwd != NULL) posix_spawn_file_actions_addchdir_np(&fa, cwd);

    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_session) flags |= POSIX_SPAWN_SETSID;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, flags);

    pid_t pid = 0;
    extern char **environ;
    rc = posix_spawnp(&pid, file, &fa, &attr, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);

    if (stdin_mode == 1) close(inp[0]);
    close(outp[1]);
    close(errp[1]);
    if (rc != 0) {
        if (stdin_mode == 1) close(inp[1]);
        close(outp[0]);
        close(errp[0]);
        return rc;
    }
    *pid_out = pid;
    *in_fd = stdin_mode == 1 ? inp[1] : -1;
    *out_fd = outp[0];
    *err_fd = errp[0];
    return 0;
}

pid_t dj_wait(pid_t pid, int nohang, int *exited, int *code) {
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid, &status, nohang ? WNOHANG : 0);
    } while (r < 0 && errno == EINTR);
    if (r > 0) {
        if (WIFEXITED(status)) { *exited = 1; *code = WEXITSTATUS(status); }
        else if (WIFSIGNALED(status)) { *exited = 0; *code = WTERMSIG(status); }
        else { *exited = 0; *code = 0; }
    }
    return r;
}

int dj_set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}
