#ifndef DJDEPLOY_CSUPPORT_H
#define DJDEPLOY_CSUPPORT_H

#include <sys/types.h>

/// Starts `file` (looked up in PATH when it has no '/') with `argv` and `envp`.
/// The child gets a new session (setsid) when `new_session` is non-zero, so that
/// the whole process tree can be signalled as one process group.
/// `stdin_mode`: 0 = /dev/null, 1 = a pipe returned in *in_fd.
/// stdout and stderr are always pipes; the parent's ends are close-on-exec.
/// Returns 0 or an errno value.
int dj_spawn(const char *file, char *const argv[], char *const envp[],
             const char *cwd, int new_session, int stdin_mode,
             pid_t *pid_out, int *in_fd, int *out_fd, int *err_fd);

/// waitpid wrapper: returns the pid, 0 when still running (nohang), or -1.
/// *exited = 1 and *code = exit status, or *exited = 0 and *code = signal number.
pid_t dj_wait(pid_t pid, int nohang, int *exited, int *code);

/// Sets O_NONBLOCK on fd.
int dj_set_nonblocking(int fd);

#endif
