#!/usr/bin/env bash
# End-to-end test of `djdeploy export --format ansible` (issue 8), as root, on this machine:
#
#   1. the "server" (this machine over the loopback sshd fixture, user `djdeploy` with sudo) is
#      made fresh, as in deploy-e2e.sh;
#   2. `djdeploy export --format ansible --answers e2e.yaml --out DIR` writes the project; the
#      inventory keeps strict host key checking (the fixture's known_hosts file);
#   3. `ansible-playbook --syntax-check` (and ansible-lint, when it is installed);
#   4. `ansible-playbook site.yml` deploys the sample app to go-live (no failed task);
#   5. `djdeploy verify` grades the site: exit 0, A+;
#   6. the playbook again: the recap says changed=0 failed=0 (every task idempotent), and
#      `--check --diff` changes nothing either.
#
# Needs ansible-core: DJDEPLOY_ANSIBLE_VENV (default /tmp/djdeploy-ansible-venv; scripts/test
# installs it). Env: DJDEPLOY_BIN (default: `swift build --show-bin-path`/djdeploy),
# DJDEPLOY_SSHD_ENV, DJDEPLOY_STACK_ENV, DJ_E2E_PURGE (1: purge nginx/certbot first; default 1),
# DJ_E2E_KEEP=1 (leave the site running), DJ_ANSIBLE_LINT (an ansible-lint binary to use).
# It deploys to this machine: run it as `flock /tmp/djd-machine.lock bash Tests/e2e/export-ansible-e2e.sh`.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$(pwd)
NAME=export-ansible-e2e
START=$(date +%s)
log() { printf '\n[%s %3ss] %s\n' "$NAME" "$(($(date +%s) - START))" "$*"; }
die() { printf '%s: FAIL: %s\n' "$NAME" "$*" >&2; exit 1; }
skip() {
    if [[ ${CI:-} == true || -n ${DJDEPLOY_TEST_CI:-} ]]; then die "$*"; fi
    echo "$NAME: skipped: $*"
    exit 0
}

[[ $(id -u) == 0 ]] || skip "needs root (it deploys to this machine)"
VENV=${DJDEPLOY_ANSIBLE_VENV:-/tmp/djdeploy-ansible-venv}
[[ -x $VENV/bin/ansible-playbook ]] || skip "no ansible-core in $VENV (set DJDEPLOY_ANSIBLE_VENV; scripts/test installs it)"
if [[ -z ${DJDEPLOY_BIN:-} ]]; then
    DJDEPLOY_BIN="$(swift build --show-bin-path 2>/dev/null)/djdeploy"
fi
export DJDEPLOY_BIN
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"

# shellcheck source=Tests/e2e/lib/setup.sh
. "$ROOT/Tests/e2e/lib/setup.sh"
e2e_begin   # WORK, fixtures, DOMAIN, pebble's root trusted, pip cache, server.sh; undone on exit

log "making the server fresh (purge nginx/certbot: ${DJ_E2E_PURGE:-1})"
make_fresh
e2e_answers "$WORK/e2e.yaml"

# --- 1. export ---
OUT=$WORK/ansible
log "djdeploy export --format ansible --out $OUT"
"$BIN" export --format ansible --answers "$WORK/e2e.yaml" --out "$OUT" >"$WORK/export.txt" 2>&1 \
    || { cat "$WORK/export.txt"; die "djdeploy export exited non-zero"; }
for f in ansible.cfg inventory.ini site.yml group_vars/all.yml; do [[ -s $OUT/$f ]] || die "the export has no $f"; done
echo "exported: $(find "$OUT" -type f | wc -l) files, $(ls "$OUT/tasks" | wc -l) stage task files, $(ls "$OUT/templates" | wc -l) templates"
grep -q "UserKnownHostsFile=$DJ_SSH_KNOWN_HOSTS" "$OUT/inventory.ini" || die "the inventory does not use the fixture's known_hosts file"
grep -q 'StrictHostKeyChecking=yes' "$OUT/inventory.ini" || die "the inventory does not keep strict host key checking"
if grep -rqiE 'host_key_checking *= *false|StrictHostKeyChecking=no' "$OUT"; then die "the export turns host key checking off"; fi
id django >/dev/null 2>&1 && die "export changed the server (the app user exists)"

cd "$OUT" || die "cannot cd $OUT"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_LOCAL_TEMP=$WORK/ansible-local-tmp
PLAYBOOK=("$VENV/bin/ansible-playbook")

# --- 2. lint ---
log "ansible-playbook --syntax-check"
"${PLAYBOOK[@]}" --syntax-check site.yml >"$WORK/syntax.txt" 2>&1 || { cat "$WORK/syntax.txt"; die "syntax check failed"; }
cat "$WORK/syntax.txt"
LINT=${DJ_ANSIBLE_LINT:-$(command -v ansible-lint || true)}
if [[ -n $LINT && -x $LINT ]]; then
    log "ansible-lint ($LINT)"
    # two rules skipped on purpose: name[casing] (every task name starts with its wizard step
    # id, e.g. "django.venv: …", so a run's output maps back to the wizard and its docs) and
    # yaml[line-length] (the wizard's own one-line shell tests are exported as they are)
    "$LINT" --offline --nocolor --skip-list 'name[casing],yaml[line-length]' site.yml >"$WORK/lint.txt" 2>&1; lrc=$?
    tail -n 15 "$WORK/lint.txt"
    ((lrc == 0)) || die "ansible-lint reported problems (see $WORK/lint.txt)"
else
    echo "ansible-lint is not installed: skipped (DJ_ANSIBLE_LINT=path to use one)"
fi

recap() { # FILE: the host's recap line
    sed -n '/^PLAY RECAP/,$p' "$1" | grep -E 'ok=[0-9]+ +changed=' | head -n 1
}
changed_tasks() { # FILE: the names of the tasks that reported a change
    awk '/^TASK \[/ { t = $0 } /^(changed|failed|fatal):/ { print t " → " $1 }' "$1" | sort -u
}

# --- 3. the deploy ---
log "ansible-playbook site.yml (fresh server → go-live)"
"${PLAYBOOK[@]}" site.yml >"$WORK/run1.txt" 2>&1; rc=$?
R1=$(recap "$WORK/run1.txt")
echo "first run recap: $R1"
((rc == 0)) || { tail -n 40 "$WORK/run1.txt"; die "the first ansible-playbook run exited $rc"; }
[[ $R1 =~ failed=0 && $R1 =~ unreachable=0 ]] || die "the first run has failures: $R1"

# --- 4. the grade ---
log "djdeploy verify"
"$BIN" verify --answers "$WORK/e2e.yaml" --state "$WORK/state.json" --plain --ca-file "$WORK/pebble-root.pem" \
    --json "$WORK/verify.json" >"$WORK/verify.txt" 2>&1; vrc=$?
sed -n '1,12p' "$WORK/verify.txt"
[[ -s $WORK/verify.json ]] || die "verify wrote no report (exit $vrc, see $WORK/verify.txt)"
grade=$(jq -r .overall.grade "$WORK/verify.json")
notpass=$(jq -r '.checks[] | select(.result != "pass") | "\(.id)=\(.result): \(.seen)"' "$WORK/verify.json")
[[ -z $notpass ]] || { cat "$WORK/verify.txt"; die "checks that did not pass on the site the playbook deployed:
$notpass"; }
[[ $grade == "A+" ]] || die "grade $grade, want A+"
((vrc == 0)) || die "verify exited $vrc with grade $grade"
echo "verify: exit 0, grade $grade, $(jq '.checks | length' "$WORK/verify.json") checks pass"

# --- 5. again: nothing to change ---
log "ansible-playbook site.yml again (every task must be ok or skipped)"
"${PLAYBOOK[@]}" site.yml >"$WORK/run2.txt" 2>&1; rc=$?
R2=$(recap "$WORK/run2.txt")
echo "second run recap: $R2"
((rc == 0)) || { tail -n 40 "$WORK/run2.txt"; die "the second run exited $rc"; }
if ! [[ $R2 =~ changed=0\  && $R2 =~ failed=0 && $R2 =~ unreachable=0 ]]; then
    changed_tasks "$WORK/run2.txt"
    die "the second run is not a no-op: $R2"
fi

log "ansible-playbook site.yml --check --diff (must change nothing)"
"${PLAYBOOK[@]}" site.yml --check --diff >"$WORK/check.txt" 2>&1; rc=$?
R3=$(recap "$WORK/check.txt")
echo "check-mode recap: $R3"
((rc == 0)) || { tail -n 40 "$WORK/check.txt"; die "the --check run exited $rc"; }
[[ $R3 =~ changed=0\  && $R3 =~ failed=0 ]] || { changed_tasks "$WORK/check.txt"; die "--check --diff reports changes: $R3"; }

cd "$ROOT" || true
log "$NAME: PASS"
