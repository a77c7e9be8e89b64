#!/usr/bin/env bash
# End-to-end test of the terminal wizard, driven through tmux like a person would:
#
#   1. start `djdeploy --demo` full-screen (100x30) against the loopback sshd fixture;
#   2. run all (`a`), and while the slow step runs, kill the tmux session (SIGHUP):
#      djdeploy must stop the step (on the server too), record it as interrupted and leave no
#      process behind (no djdeploy, no ssh master, no remote command);
#   3. start again: the resume screen names the stopped step; resize to 80x24 and check the
#      redraw; Enter resumes and completes the run;
#   4. `q` quits: the alternate screen is left (#{alternate_on} is 0; the pane text is not
#      checked, tmux may keep the last rows after a resize), exit status 0, no process left.
#
# Needs: tmux, a built .build/debug/djdeploy, and the sshd fixture env file
# ($DJDEPLOY_SSHD_ENV, default /tmp/djdeploy-fixtures/sshd.env; see Tests/fixtures/sshd-up.sh).
# Without the fixture it skips (exit 0), or fails when DJDEPLOY_TEST_CI is set.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$ROOT/.build/debug/djdeploy"
NAME=tui-tmux
SOCK="djdeploy-e2e-$$"
export LANG=C.UTF-8 LC_ALL=C.UTF-8

say() { echo "$NAME: $*"; }
skip() {
    if [[ -n ${DJDEPLOY_TEST_CI:-} ]]; then echo "$NAME: FAIL: $* (required in CI)" >&2; exit 1; fi
    say "SKIP: $*"; exit 0
}

command -v tmux >/dev/null || skip "tmux is not installed"
ENVFILE="${DJDEPLOY_SSHD_ENV:-/tmp/djdeploy-fixtures/sshd.env}"
[[ -r $ENVFILE ]] || skip "no sshd fixture env file ($ENVFILE); start it with Tests/fixtures/sshd-up.sh"
# shellcheck disable=SC1090
source "$ENVFILE"
for v in DJ_SSH_HOST DJ_SSH_PORT DJ_SSH_USER DJ_SSH_KEY DJ_SSH_KNOWN_HOSTS; do
    [[ -n ${!v:-} ]] || skip "$v is not set in $ENVFILE"
done
[[ -x $BIN ]] || { echo "$NAME: FAIL: $BIN not found; run swift build first" >&2; exit 1; }

T=$(mktemp -d /tmp/djdeploy-e2e-tui.XXXXXX)
export RC="$T/rc"
ANSWERS="$T/answers.yaml"
STATE="$T/state.json"
SHOTS="${DJ_E2E_SHOTS:-$T}"   # screen captures are kept here (set DJ_E2E_SHOTS to keep them)
mkdir -p "$SHOTS"
SSH=(ssh -o BatchMode=yes -o IdentitiesOnly=yes -i "$DJ_SSH_KEY" -o UserKnownHostsFile="$DJ_SSH_KNOWN_HOSTS"
     -p "$DJ_SSH_PORT" -l "$DJ_SSH_USER" -- "$DJ_SSH_HOST")

tm() { tmux -L "$SOCK" -f "$T/tmux.conf" "$@"; }
screen() { tm capture-pane -p -t e2e 2>/dev/null; }

cleanup() {
    local rc=$?
    tm kill-server >/dev/null 2>&1
    # Anything of ours still alive is a failure already reported; do not leave it running.
    for p in ${TRACKED:-}; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
    [[ -z ${DJ_E2E_SHOTS:-} ]] && rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "$NAME: FAIL: $*" >&2
    echo "---- screen ----" >&2
    screen >&2 || true
    echo "----------------" >&2
    exit 1
}

# alive PID: a live (non-zombie) process.
alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $st && $st != Z* ]]
}

# descendants PID: every process below PID.
descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

# wait_for TEXT [SECONDS]: until the pane shows TEXT.
wait_for() {
    local text=$1 secs=${2:-20} i
    for ((i = 0; i < secs * 10; i++)); do
        screen | grep -qF -- "$text" && return 0
        sleep 0.1
    done
    fail "timed out after ${secs}s waiting for the screen to show: $text"
}

# wait_gone SECONDS PID...: until none of the processes is alive.
wait_gone() {
    local secs=$1 i p left
    shift
    for ((i = 0; i < secs * 10; i++)); do
        left=""
        for p in "$@"; do alive "$p" && left+=" $p"; done
        [[ -z $left ]] && return 0
        sleep 0.1
    done
    for p in $left; do ps -o pid=,args= -p "$p" >&2; done
    return 1
}

step_status() {   # step_status ID: the step's status in the state file
    python3 - "$STATE" "$1" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
for st in s["stages"]:
    for step in st["steps"]:
        if step["id"] == sys.argv[2]:
            print(step["status"])
EOF
}

remote_sleep_pids() {   # the demo's remote `sleep` (the fixture's sshd runs on this machine)
    pgrep -u "$DJ_SSH_USER" -x sleep -a 2>/dev/null | awk '$3 == "'"$1"'" {print $1}'
}

cat >"$T/tmux.conf" <<EOF
set -g remain-on-exit on
set -g default-terminal screen-256color
set -g history-limit 100
EOF
cat >"$ANSWERS" <<EOF
target:
  host: $DJ_SSH_HOST
  port: $DJ_SSH_PORT
  user: $DJ_SSH_USER
  identity_file: $DJ_SSH_KEY
  known_hosts_file: $DJ_SSH_KNOWN_HOSTS
domain: demo.test
EOF

# A clean demo directory on the target, so that the slow step really runs.
"${SSH[@]}" 'rm -rf "$HOME/djdeploy-demo"' || fail "cannot reach the sshd fixture at $DJ_SSH_HOST:$DJ_SSH_PORT"

start() {   # start SLEEP_SECONDS
    local i
    for ((i = 0; i < 20; i++)); do   # the previous server may still be exiting
        # sh records the exit status (tmux's #{pane_dead_status} is not reliable: some tmux
        # servers leave the pane's process unreaped). It ignores SIGHUP to outlive a killed
        # session; djdeploy handles SIGHUP itself whatever its initial disposition.
        rm -f "$T/rc"
        tm new-session -d -s e2e -x 100 -y 30 -- sh -c 'trap "" HUP; "$@"; echo $? >"$RC"' sh \
            "$BIN" --demo --demo-sleep "$1" --answers "$ANSWERS" --state "$STATE" 2>/dev/null && break
        sleep 0.25
    done
    tm has-session -t e2e 2>/dev/null || fail "tmux new-session failed"
    local sh
    sh=$(tm display -p -t e2e '#{pane_pid}')
    [[ $sh =~ ^[0-9]+$ ]] || fail "no pane pid"
    PID=""
    for ((i = 0; i < 50; i++)); do
        PID=$(pgrep -P "$sh" -x djdeploy | head -n1)
        [[ -n $PID ]] && break
        sleep 0.1
    done
    [[ -n $PID ]] || fail "djdeploy did not start"
    TRACKED="${TRACKED:-} $PID"
    say "djdeploy pid $PID"
}

# ---- 1. first run: run all, kill the session mid-step --------------------------------------
say "start (100x30), run all"
start 20
wait_for "Stages 0/1"
wait_for "$DJ_SSH_USER@$DJ_SSH_HOST:$DJ_SSH_PORT"
[[ $(tm display -p -t e2e '#{alternate_on}') == 1 ]] || fail "the wizard is not on the alternate screen"
tm send-keys -t e2e a
wait_for "running: Run a slow command" 30
wait_for "✔ Write hello.txt"
sleep 1
screen >"$SHOTS/run-in-progress.txt"
RSLEEP=$(remote_sleep_pids 20)
[[ -n $RSLEEP ]] || fail "the slow step's remote command (sleep 20) is not running"
KIDS=$(descendants "$PID")
MASTER=$(for k in $KIDS; do ps -o pid=,args= -p "$k" 2>/dev/null; done | awk '/djdeploy-ssh-master|ssh -M/ {print $1}')
[[ -n $MASTER ]] || fail "no ssh master below djdeploy ($PID)"
TRACKED+=" $KIDS"
[[ $(step_status demo.slow-command) == running ]] || fail "the state file does not record the slow step as running"

say "kill the tmux session mid-step (SIGHUP)"
tm kill-session -t e2e
wait_gone 15 "$PID" || fail "djdeploy ($PID) still runs 15 s after its terminal went away"
for ((i = 0; i < 30; i++)); do [[ -s $T/rc ]] && break; sleep 0.1; done
[[ $(cat "$T/rc" 2>/dev/null) == 130 ]] || fail "djdeploy exited with status '$(cat "$T/rc" 2>/dev/null)' after SIGHUP, expected 130"
# shellcheck disable=SC2086
wait_gone 10 $KIDS $RSLEEP || fail "processes left behind after the session was killed (above)"
[[ $(step_status demo.slow-command) == interrupted ]] \
    || fail "the slow step is '$(step_status demo.slow-command)' in the state file, expected interrupted"
[[ $(step_status demo.hello-file) == succeeded ]] || fail "the first step is not recorded as succeeded"
"${SSH[@]}" 'test ! -e "$HOME/djdeploy-demo/done"' || fail "the slow step's command was not stopped on the server"

# ---- 2. restart: resume screen, resize, resume the run ------------------------------------
say "start again: resume screen"
sleep 0.5
start 2
wait_for "Resume demo.test: stopped at demo / Run a slow command (interrupted"
wait_for "⏸ Run a slow command"
screen >"$SHOTS/resume.txt"

say "resize to 80x24"
tm resize-window -t e2e -x 80 -y 24
for ((i = 0; i < 50; i++)); do
    S=$(screen)
    ROWS=$(printf '%s\n' "$S" | wc -l)
    TOP=$(printf '%s\n' "$S" | sed -n 2p)
    LAST=$(printf '%s\n' "$S" | sed -n 24p)
    [[ $ROWS -eq 24 && ${#TOP} -eq 80 && $TOP == "┌ Stages"*"┐" && $LAST == "↑↓ move"* ]] && break
    sleep 0.1
done
[[ $ROWS -eq 24 && ${#TOP} -eq 80 ]] || fail "no redraw at 80x24 (rows $ROWS, top row ${#TOP} columns: $TOP)"
printf '%s\n' "$S" | sed -n 1p | grep -qF "Resume demo.test" || fail "the resume banner is gone after the resize"
printf '%s\n' "$S" | grep -qF "profile demo.test" || fail "the status bar is not redrawn after the resize"
screen >"$SHOTS/resume-80x24.txt"

say "Enter resumes the stopped step"
tm send-keys -t e2e Enter
wait_for "done: every step in scope succeeded" 60
wait_for "✔ Run a slow command"
"${SSH[@]}" 'test -e "$HOME/djdeploy-demo/done"' || fail "the resumed step did not create its file"
[[ $(step_status demo.slow-command) == succeeded ]] || fail "the resumed step is not recorded as succeeded"
screen >"$SHOTS/done-80x24.txt"
KIDS=$(descendants "$PID")
TRACKED+=" $KIDS"

# ---- 3. quit: terminal restored, nothing left ---------------------------------------------
say "q quits"
tm send-keys -t e2e q
for ((i = 0; i < 150; i++)); do
    [[ $(tm display -p -t e2e '#{pane_dead}') == 1 ]] && break
    sleep 0.1
done
[[ $(tm display -p -t e2e '#{pane_dead}') == 1 ]] || fail "djdeploy did not exit after q"
[[ $(tm display -p -t e2e '#{alternate_on}') == 0 ]] || fail "the terminal was left on the alternate screen"
STATUS=$(cat "$T/rc" 2>/dev/null)
[[ $STATUS == 0 ]] || fail "djdeploy exited with status '$STATUS' after q"
# shellcheck disable=SC2086
wait_gone 10 "$PID" $KIDS || fail "processes left behind after q (above)"
LEFT=$(pgrep -f -- "^$BIN .*--state $STATE" || true)
[[ -z $LEFT ]] || fail "djdeploy processes for this state remain: $LEFT"
say "PASS (screens in $SHOTS)"
