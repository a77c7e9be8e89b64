#!/usr/bin/env bash
# The terminal wizard deploying the real sample app, driven through tmux like a person would
# (issue 6, acceptance 1): on a fresh server (the loopback stack), `djdeploy --answers A` opens;
# `a` runs all stages; the certbot and HSTS confirmations are answered `y` on screen; the screen
# is captured after the firewall, nginx and final stages; `q` + `y` quits (exit 0, alternate
# screen left, no djdeploy process left); then the independent site checks pass.
#
# Needs root, tmux, the sshd fixture and the test stack (started by scripts/test), and a built
# .build/debug/djdeploy. Screens are kept in $DJ_E2E_SHOTS when set.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NAME=tui-walk
BIN="$ROOT/.build/debug/djdeploy"
SOCK="djdeploy-walk-$$"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
say() { echo "$NAME: $*"; }
skip() {
    if [[ -n ${DJDEPLOY_TEST_CI:-} || ${CI:-} == true ]]; then echo "$NAME: FAIL: $* (required in CI)" >&2; exit 1; fi
    say "SKIP: $*"; exit 0
}
[[ $(id -u) == 0 ]] || skip "needs root (it makes the server fresh)"
command -v tmux >/dev/null || skip "tmux is not installed"
SSHD_ENV=${DJDEPLOY_SSHD_ENV:-/tmp/djdeploy-fixtures/sshd.env}
STACK_ENV=${DJDEPLOY_STACK_ENV:-/tmp/djdeploy-stack/stack.env}
[[ -s $SSHD_ENV ]] || skip "no sshd fixture ($SSHD_ENV)"
[[ -s $STACK_ENV ]] || skip "no test stack ($STACK_ENV)"
[[ -x $BIN ]] || { echo "$NAME: FAIL: $BIN not built" >&2; exit 1; }
# shellcheck disable=SC1090
. "$SSHD_ENV"; . "$STACK_ENV"
DOMAIN=$DJ_DOMAIN
WORK=$(mktemp -d /tmp/djdeploy-e2e-walk.XXXXXX)
SHOTS=${DJ_E2E_SHOTS:-$WORK}
mkdir -p "$SHOTS"
STATE=$WORK/state.json
tm() { tmux -L "$SOCK" "$@"; }
screen() { tm capture-pane -p -t walk 2>/dev/null; }
die() {
    echo "$NAME: FAIL: $*" >&2
    echo "---- screen ----" >&2; screen >&2 || true; echo "----------------" >&2
    exit 1
}
ROOT_CRT=/usr/local/share/ca-certificates/djdeploy-e2e-pebble-root.crt
cleanup() {
    local rc=$?
    tm kill-server >/dev/null 2>&1
    ((rc == 0)) && [[ -z ${DJ_E2E_SHOTS:-} ]] && rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=Tests/e2e/lib/server.sh
. "$ROOT/Tests/e2e/lib/server.sh"
say "making the server fresh (packages stay installed)"
DJ_E2E_PURGE=0 make_fresh
# pebble plays Let's Encrypt: its current root goes into the trust store, as ISRG's is on a real server
curl -sS --cacert "$DJ_PEBBLE_LISTENER_CA" "$DJ_PEBBLE_MGMT/roots/0" -o "$WORK/pebble-root.pem" || die "cannot fetch pebble's root"
cp "$WORK/pebble-root.pem" "$ROOT_CRT" && update-ca-certificates >/dev/null 2>&1

cat > "$WORK/answers.yaml" <<YAML
target:
  host: $DJ_SSH_HOST
  port: $DJ_SSH_PORT
  user: $DJ_SSH_USER
  identity_file: $DJ_SSH_KEY
  known_hosts_file: $DJ_SSH_KNOWN_HOSTS
domain: $DOMAIN
email: admin@$DOMAIN
server_ip: 127.0.0.1
dns_resolver: $DJ_DNS_RESOLVER
acme_server: $DJ_ACME_SERVER
operator_cidr: 127.0.0.1/32
firewall:
  provider: manual
hsts_final_seconds: 31536000
YAML

# the pane runs djdeploy through sh so that its exit status is recorded
tm new-session -d -s walk -x 120 -y 32 "sh -c '\"$BIN\" --answers \"$WORK/answers.yaml\" --state \"$STATE\"; echo \$? > \"$WORK/rc\"; sleep 600'"
for _ in $(seq 100); do screen | grep -q "Stages 0/12" && break; sleep 0.1; done
screen | grep -q "Stages 0/12" || die "the wizard did not open"
screen > "$SHOTS/01-start.txt"
say "opened: $(screen | grep -o 'Stages [0-9]*/12' | head -1)"

tm send-keys -t walk a
start=$(date +%s) shot_fw=0 shot_nginx=0
while :; do
    s=$(screen)
    if grep -q "Proceed?" <<<"$s"; then
        say "confirmation on screen: $(grep -o 'Confirm: [^│]*' <<<"$s" | head -1 | sed 's/ *$//') → y"
        echo "$s" > "$SHOTS/confirm-$(date +%s).txt"
        tm send-keys -t walk y
        sleep 0.5
        continue
    fi
    # stage rows are "│ ✔ NAME … TIME" ("▶" instead of the space when selected); step rows are indented
    if ((shot_fw == 0)) && grep -qE '^│.✔ firewall +[0-9]' <<<"$s"; then echo "$s" > "$SHOTS/02-firewall-done.txt"; shot_fw=1; fi
    if ((shot_nginx == 0)) && grep -qE '^│.✔ nginx +[0-9]' <<<"$s"; then echo "$s" > "$SHOTS/03-nginx-done.txt"; shot_nginx=1; say "nginx stage done after $(($(date +%s) - start)) s"; fi
    grep -q "Stages 12/12" <<<"$s" && break
    if grep -qE '✘ [a-z-]+ ' <<<"$s"; then die "a stage failed on screen"; fi
    if grep -q 'missing input' <<<"$s"; then die "the wizard asks for inputs the answers file gives or that are optional"; fi
    (($(date +%s) - start > 600)) && die "the deploy did not finish in 600 s"
    sleep 0.5
done
screen > "$SHOTS/04-all-done.txt"
((shot_fw == 1 && shot_nginx == 1)) || die "the walk did not show the firewall and nginx stages done"
say "all 12 stages done in the TUI after $(($(date +%s) - start)) s"

tm send-keys -t walk q
for _ in $(seq 50); do screen | grep -q "Quit" && break; sleep 0.1; done
tm send-keys -t walk y
for _ in $(seq 100); do [[ -s $WORK/rc ]] && break; sleep 0.1; done
[[ -s $WORK/rc ]] || die "djdeploy did not exit after q, y"
[[ $(cat "$WORK/rc") == 0 ]] || die "djdeploy exited $(cat "$WORK/rc")"
[[ $(tm display-message -p -t walk '#{alternate_on}') == 0 ]] || die "the alternate screen is still on after exit"
pgrep -f "$BIN --answers $WORK/answers.yaml" >/dev/null && die "a djdeploy process is left"
say "quit: exit 0, terminal restored, nothing left running"

SSH=(ssh -q -o BatchMode=yes -o UserKnownHostsFile="$DJ_SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes
     -i "$DJ_SSH_KEY" -p "$DJ_SSH_PORT" "$DJ_SSH_USER@$DJ_SSH_HOST")
bash "$ROOT/Tests/e2e/check-site.sh" "$DOMAIN" "$WORK/pebble-root.pem" "${SSH[@]}" > "$WORK/check.txt" || { cat "$WORK/check.txt"; die "the site deployed through the TUI does not pass the checks"; }
say "$(tail -n 1 "$WORK/check.txt")"
say "PASS (screens in $SHOTS)"
