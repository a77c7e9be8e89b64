#!/usr/bin/env bash
# End-to-end test of `djdeploy export --format sh` (issue 8), as root, on this machine:
#   1. the server (this machine over the loopback sshd, user `djdeploy` with sudo) is made fresh
#      (nginx and certbot purged unless DJ_E2E_PURGE=0);
#   2. the exported script passes `bash -n` and `shellcheck` (no finding at any level);
#   3. it runs over SSH (`ssh HOST sudo bash -s < deploy.sh`) and the site it makes gets A+ from
#      `djdeploy verify`;
#   4. run again, it reports 0 changes and no managed file changes (sha256 before/after).
# Env: DJDEPLOY_BIN, DJ_E2E_PURGE, DJ_E2E_KEEP=1 (leave the site running).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$(pwd)
NAME=export-sh-e2e
START=$(date +%s)
log() { printf '\n[%s %3ss] %s\n' "$NAME" "$(($(date +%s) - START))" "$*"; }
die() { printf '%s: FAIL: %s\n' "$NAME" "$*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "$NAME: skipped (needs root)"; exit 0; }
command -v shellcheck >/dev/null || die "shellcheck is not installed (scripts/test installs it)"

# shellcheck source=Tests/e2e/lib/setup.sh
. "$ROOT/Tests/e2e/lib/setup.sh"
e2e_begin
e2e_answers "$WORK/answers.yaml"

log "making the server fresh (purge nginx/certbot: ${DJ_E2E_PURGE:-1})"
make_fresh

log "djdeploy export --format sh"
"$BIN" export --format sh --answers "$WORK/answers.yaml" --out "$WORK/deploy.sh" 2>"$WORK/export.err" \
    || { cat "$WORK/export.err"; die "export failed"; }
bash -n "$WORK/deploy.sh" || die "bash -n rejects the script"
shellcheck --severity=style "$WORK/deploy.sh" || die "shellcheck reports findings"
grep -q 'SECRET_KEY=' "$WORK/deploy.sh" && grep -qE "SECRET_KEY='[0-9a-f]{20,}" "$WORK/deploy.sh" && die "a secret key is embedded"
echo "deploy.sh: $(wc -l < "$WORK/deploy.sh") lines, $(grep -c '^# --- step ' "$WORK/deploy.sh") steps; bash -n and shellcheck clean"

log "first run over ssh (sudo bash -s < deploy.sh)"
"${SSH[@]}" sudo -n bash -s < "$WORK/deploy.sh" >"$WORK/run1.txt" 2>&1; rc=$?
tail -n 12 "$WORK/run1.txt"
((rc == 0)) || die "the script exited $rc (see $WORK/run1.txt)"

log "djdeploy verify"
"$BIN" verify --answers "$WORK/answers.yaml" --state "$WORK/state.json" --plain --ca-file "$WORK/pebble-root.pem" \
    >"$WORK/verify.txt" 2>&1; rc=$?
tail -n 3 "$WORK/verify.txt"
((rc == 0)) || die "verify exited $rc (see $WORK/verify.txt)"
grep -q 'grade A+' "$WORK/verify.txt" || die "the grade is not A+ (see $WORK/verify.txt)"

log "second run: nothing may change"
snapshot() { find /etc/nginx /home/django /var/www /etc/letsencrypt -xdev -type f ! -name '*.pyc' ! -name 'db.sqlite3' \
                 ! -path '*/__pycache__/*' ! -path '/etc/letsencrypt/keys/*' ! -path '/etc/letsencrypt/csr/*' -print0 2>/dev/null \
                 | sort -z | xargs -0 -r sha256sum; }
snapshot > "$WORK/before"
"${SSH[@]}" sudo -n bash -s < "$WORK/deploy.sh" >"$WORK/run2.txt" 2>&1; rc=$?
snapshot > "$WORK/after"
tail -n 2 "$WORK/run2.txt"
((rc == 0)) || die "the second run exited $rc (see $WORK/run2.txt)"
if grep -E '^  changed: ' "$WORK/run2.txt"; then die "the second run changed something"; fi
grep -q 'done, 0 change(s)' "$WORK/run2.txt" || die "the second run does not report 0 changes"
diff -u "$WORK/before" "$WORK/after" || die "the second run changed files"
echo "second run: 0 changes, $(wc -l < "$WORK/after") files unchanged"
log "PASS"
