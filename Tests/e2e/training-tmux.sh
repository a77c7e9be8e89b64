#!/usr/bin/env bash
# Training mode (`djdeploy --training`) driven through tmux like a learner would:
#
#   A. the first two real stages (firewall, static-ip) over the loopback sshd, with answers like
#      tui-walk-e2e.sh's (manual firewall, server_ip given: both are operator-side and change
#      nothing on the server): Enter shows the step gate (lesson excerpt, what runs), `t` on a
#      step without a command says so, Enter runs the step, the hint follows; then static-ip;
#      both steps end succeeded in the state file;
#   B. the demo deployment (over the same sshd; its first step runs `mkdir -p …`): `t`, a wrong
#      command shows the difference, the right one (with extra spaces) runs the step on the
#      server; Enter shows and runs the second step; the walk ends; q quits (exit 0, terminal
#      restored);
#   C. the same screen in Chinese (LANG=zh_CN.UTF-8, and --lang zh over LANG=C);
#   D. --training without answers or state points at the practice sandbox (exit 2).
#
# Needs tmux, the sshd fixture ($DJDEPLOY_SSHD_ENV, default /tmp/djdeploy-fixtures/sshd.env) and
# a built djdeploy ($DJDEPLOY_BIN, else `swift build --show-bin-path`). Skips without the fixture
# (fails when DJDEPLOY_TEST_CI is set). DJ_E2E_SHOTS=DIR keeps the screen captures.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NAME=training-tmux
SOCK="djtrain-e2e-$$"
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
BIN=${DJDEPLOY_BIN:-$(cd "$ROOT" && swift build --show-bin-path 2>/dev/null)/djdeploy}
[[ -x $BIN ]] || { echo "$NAME: FAIL: $BIN not found; run swift build first" >&2; exit 1; }

T=$(mktemp -d /tmp/djtrain-e2e.XXXXXX)
SHOTS=${DJ_E2E_SHOTS:-$T}
mkdir -p "$SHOTS"
SSH=(ssh -o BatchMode=yes -o IdentitiesOnly=yes -i "$DJ_SSH_KEY" -o UserKnownHostsFile="$DJ_SSH_KNOWN_HOSTS"
     -p "$DJ_SSH_PORT" -l "$DJ_SSH_USER" -- "$DJ_SSH_HOST")
tm() { tmux -L "$SOCK" -f "$T/tmux.conf" "$@"; }
screen() { tm capture-pane -p -t e2e 2>/dev/null; }
cleanup() {
    local rc=$?
    tm kill-server >/dev/null 2>&1
    [[ -z ${DJ_E2E_SHOTS:-} ]] && rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
    echo "$NAME: FAIL: $*" >&2
    echo "---- screen ----" >&2; screen >&2 || true; echo "----------------" >&2
    exit 1
}
# wait_for TEXT [SECONDS]: until the screen shows TEXT (fixed string).
wait_for() {
    local i n=$((${2:-20} * 10))
    for ((i = 0; i < n; i++)); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
    fail "the screen does not show '$1' after ${2:-20} s"
}
shows() { screen | grep -qF -- "$1" || fail "the screen does not show '$1'"; }
shot() { screen >"$SHOTS/$1.txt"; }
keys() { tm send-keys -t e2e "$@"; }
typed() { tm send-keys -t e2e -l -- "$1"; }
# start ENV... -- ARGS...: djdeploy in a fresh 120x40 session; its exit status goes to $T/rc.
start() {
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    rm -f "$T/rc"
    tm kill-session -t e2e >/dev/null 2>&1
    tm new-session -d -s e2e -x 120 -y 40 -- env "${envs[@]}" sh -c '"$@"; echo $? >"'"$T"'/rc"' sh "$BIN" "$@" \
        || fail "tmux new-session failed"
}
# quit: q (y if asked), exit 0, alternate screen left.
quit() {
    keys q
    sleep 0.3
    screen | grep -qF "Quit" && keys y
    local i
    for ((i = 0; i < 100; i++)); do [[ -s $T/rc ]] && break; sleep 0.1; done
    [[ -s $T/rc ]] || fail "djdeploy did not exit after q"
    [[ $(cat "$T/rc") == 0 ]] || fail "djdeploy exited $(cat "$T/rc")"
    [[ $(tm display -p -t e2e '#{alternate_on}') == 0 ]] || fail "the alternate screen is still on after exit"
}
step_status() {   # step_status STATE ID
    python3 -c 'import json,sys
s=json.load(open(sys.argv[1]))
print(next((r["status"] for st in s["stages"] for r in st["steps"] if r["id"]==sys.argv[2]), "?"))' "$1" "$2"
}

cat >"$T/tmux.conf" <<EOF
set -g remain-on-exit on
set -g default-terminal screen-256color
set -g history-limit 100
EOF
TARGET="target:
  host: $DJ_SSH_HOST
  port: $DJ_SSH_PORT
  user: $DJ_SSH_USER
  identity_file: $DJ_SSH_KEY
  known_hosts_file: $DJ_SSH_KNOWN_HOSTS"
cat >"$T/answers.yaml" <<EOF
$TARGET
domain: training.test
email: admin@training.test
server_ip: 127.0.0.1
operator_cidr: 127.0.0.1/32
firewall:
  provider: manual
EOF
cat >"$T/demo.yaml" <<EOF
$TARGET
domain: demo.test
EOF
"${SSH[@]}" true || fail "cannot reach the sshd fixture at $DJ_SSH_HOST:$DJ_SSH_PORT"

# ---- A. the first two real stages ----
say "A: firewall and static-ip in training mode"
start LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --training --answers "$T/answers.yaml" --state "$T/real.json"
wait_for "Stages 0/12"
keys Enter
wait_for "Training: firewall / step 1 of 1"
wait_for "Enter runs it" 30
shows "From the lesson"
shows "Firewall: dev rules"
shows "Enter run it"            # the key bar shows training mode's keys
shows "t type it"
shot A1-firewall-gate
keys t                           # a step without a command: nothing to type
wait_for "this step runs no command to type"
[[ $(step_status "$T/real.json" firewall.dev) == pending ]] || fail "the firewall step ran before Enter"
keys Enter
wait_for "Step done" 60
shows "Look at it yourself"
shows "nc -zv 127.0.0.1 22"
shows "Training walk finished"
shot A2-firewall-after
[[ $(step_status "$T/real.json" firewall.dev) == succeeded ]] || fail "firewall.dev is $(step_status "$T/real.json" firewall.dev)"
keys Enter                       # closes the walk
wait_for "Lesson │ Plan"
keys j Enter
wait_for "Training: static-ip / step 1 of 1"
wait_for "Enter runs it" 30
keys Enter
wait_for "Step done" 60
shows "hostname -I"
shot A3-static-ip-after
[[ $(step_status "$T/real.json" static-ip.address) == succeeded ]] || fail "static-ip.address is $(step_status "$T/real.json" static-ip.address)"
keys Escape
wait_for "Stages 2/12"
quit
say "A: both steps ran through the training gate (Enter), hints shown"

# ---- B. typing the command ----
say "B: t with a wrong and then the right command (demo deployment)"
"${SSH[@]}" 'rm -rf "$HOME/djdeploy-demo"' || fail "cannot clean the demo directory"
start LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --demo --demo-sleep 0 --training --answers "$T/demo.yaml" --state "$T/demo.json"
wait_for "Stages 0/1"
keys Enter
wait_for "Training: demo / step 1 of 2"
wait_for "This step will run:" 30
cmd=$(screen | grep -o '\$ mkdir -p [^ │]*' | head -1 | sed 's/^\$ //')
[[ $cmd == "mkdir -p "*/djdeploy-demo ]] || fail "no mkdir command on the gate screen (got '$cmd')"
shot B1-gate
keys t
wait_for "Type command 1 of 1"
typed "mkdir ${cmd#mkdir -p }"
keys Enter
wait_for "Not quite. Expected:"
shows "first difference at word 2: expected \`-p\`"
shot B2-mismatch
[[ $(step_status "$T/demo.json" demo.hello-file) == pending ]] || fail "a wrong command ran the step"
typed "  mkdir   -p   ${cmd#mkdir -p }  "
keys Enter
wait_for "Step done" 30
shot B3-after
"${SSH[@]}" 'test -s "$HOME/djdeploy-demo/hello.txt"' || fail "the step did not write hello.txt on the server"
keys Enter
wait_for "Training: demo / step 2 of 2"
wait_for "This step will run:" 30
keys Enter                       # Enter runs the expected command
wait_for "Training walk finished" 30
"${SSH[@]}" 'test -e "$HOME/djdeploy-demo/done"' || fail "the second step did not run on the server"
[[ $(step_status "$T/demo.json" demo.slow-command) == succeeded ]] || fail "the second step is not recorded as succeeded"
quit
say "B: the wrong command was refused with the difference; the right one and Enter ran the steps"

# ---- C. Chinese ----
say "C: the training screen in Chinese"
"${SSH[@]}" 'rm -rf "$HOME/djdeploy-demo"'
for how in "LANG=zh_CN.UTF-8 LC_ALL= --" "LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --lang zh"; do
    rm -f "$T/zh.json"
    # shellcheck disable=SC2086
    start $how --demo --demo-sleep 0 --training --answers "$T/demo.yaml" --state "$T/zh.json"
    wait_for "阶段 0/1"
    keys Enter
    wait_for "练习：demo / 第 1 步，共 2 步"
    wait_for "这一步将执行：" 30
    shows "Enter 执行 t 自己输入"
    shot "C-zh-$(echo "$how" | tr -c 'a-z' _)"
    quit
done
say "C: LANG=zh_CN.UTF-8 and --lang zh show the Chinese UI"

# ---- D. no server ----
say "D: training mode without answers"
start LANG=C.UTF-8 LC_ALL=C.UTF-8 -- --training --state "$T/none/state.json"
for ((i = 0; i < 100; i++)); do [[ -s $T/rc ]] && break; sleep 0.1; done
[[ $(cat "$T/rc" 2>/dev/null) == 2 ]] || fail "expected exit status 2 without answers, got $(cat "$T/rc" 2>/dev/null)"
shows "sudo djdeploy sandbox up --answers-out sandbox.yaml"
shows "djdeploy --training --answers sandbox.yaml"
say "D: it points at the practice sandbox"
say "ok"
