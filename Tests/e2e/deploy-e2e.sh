#!/usr/bin/env bash
# End-to-end deployment test (issue 4, acceptance 1–3), as root, on this machine:
#
#   1. the "server" (this machine, reached over the loopback sshd fixture as the non-root sudo
#      user `djdeploy`) is made fresh: gunicorn and nginx stopped, the app user, app, site
#      files, certificate and djdeploy's server state removed, nginx and certbot purged;
#   2. `djdeploy plan` on the fresh server lists commands and diffs and changes nothing;
#   3. `djdeploy run --answers e2e.yaml --yes` reaches go-live;
#   4. Tests/e2e/check-site.sh (curl + openssl only) checks the site;
#   5. `djdeploy run --recheck` reports every step as a noop and no managed file changes
#      (sha256 before/after), and `djdeploy plan` shows no changes.
#
# Needs: the test stack (Tests/fixtures/stack-up.sh: dnsmasq, pebble, hosts line) and the sshd
# fixture (Tests/fixtures/sshd-up.sh); both are started here when their env files are missing
# (and stopped again at the end). Env: DJDEPLOY_BIN (default .build/debug/djdeploy),
# DJDEPLOY_SSHD_ENV, DJDEPLOY_STACK_ENV, DJ_E2E_PURGE (1: purge nginx/certbot first; default 1),
# DJ_E2E_KEEP=1 (leave the deployed site running at the end), DJ_E2E_TARGET=local (deploy with
# `target: local` as root instead of over SSH; acceptance 4 — see deploy-local-e2e.sh).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$(pwd)
START=$(date +%s)
log() { printf '\n[e2e %3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
die() { printf 'deploy-e2e: FAIL: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || { echo "deploy-e2e: skipped (needs root)"; exit 0; }
BIN=${DJDEPLOY_BIN:-$ROOT/.build/debug/djdeploy}
[[ -x $BIN ]] || die "$BIN is not built (swift build)"

WORK=$(mktemp -d /tmp/djdeploy-e2e.XXXXXX)
STARTED_STACK=0 STARTED_SSHD=0 MADE_PIPCONF=0 TRUSTED_ROOT=0
cleanup() {
    local rc=$?
    [[ $MADE_PIPCONF == 1 ]] && rm -f /etc/xdg/pip/pip.conf
    if [[ ${DJ_E2E_KEEP:-0} != 1 ]]; then
        # leave no running site and no certificate behind (other tests deploy the same domain)
        stop_server
        command -v certbot >/dev/null && certbot delete --cert-name "$DOMAIN" -n >/dev/null 2>&1
        rm -f "/var/lib/djdeploy/certbot-$DOMAIN.renew-dry-run"
        if [[ $TRUSTED_ROOT == 1 ]]; then rm -f "$ROOT_CRT"; update-ca-certificates --fresh >/dev/null 2>&1; fi
    fi
    [[ $STARTED_STACK == 1 ]] && bash "$ROOT/Tests/fixtures/stack-down.sh" >/dev/null 2>&1
    [[ $STARTED_SSHD == 1 ]] && bash "$ROOT/Tests/fixtures/sshd-down.sh" >/dev/null 2>&1
    ((rc == 0)) && rm -rf "$WORK" || echo "deploy-e2e: logs kept in $WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

TARGET_KIND=${DJ_E2E_TARGET:-ssh}
# --- fixtures ---
SSHD_ENV=${DJDEPLOY_SSHD_ENV:-/tmp/djdeploy-fixtures/sshd.env}
if [[ ! -s $SSHD_ENV ]] || ! (. "$SSHD_ENV"; kill -0 "$(cat "$DJ_SSHD_PID_FILE" 2>/dev/null)" 2>/dev/null); then
    log "starting the sshd fixture"
    bash "$ROOT/Tests/fixtures/sshd-up.sh" >"$WORK/sshd-up.log" 2>&1 || die "sshd-up.sh failed (see $WORK/sshd-up.log)"
    STARTED_SSHD=1; SSHD_ENV=/tmp/djdeploy-fixtures/sshd.env
fi
STACK_ENV=${DJDEPLOY_STACK_ENV:-/tmp/djdeploy-stack/stack.env}
if [[ ! -s $STACK_ENV ]] || ! (. "$STACK_ENV"; kill -0 "$(cat "$DJ_PEBBLE_PID_FILE" 2>/dev/null)" 2>/dev/null); then
    log "starting the test stack (dnsmasq, pebble)"
    bash "$ROOT/Tests/fixtures/stack-up.sh" >"$WORK/stack-up.log" 2>&1 || die "stack-up.sh failed (see $WORK/stack-up.log)"
    STARTED_STACK=1; STACK_ENV=/tmp/djdeploy-stack/stack.env
fi
# shellcheck disable=SC1090
. "$SSHD_ENV"; . "$STACK_ENV"
DOMAIN=$DJ_DOMAIN
SSH=(ssh -q -o BatchMode=yes -o UserKnownHostsFile="$DJ_SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes
     -i "$DJ_SSH_KEY" -p "$DJ_SSH_PORT" "$DJ_SSH_USER@$DJ_SSH_HOST")
if [[ $TARGET_KIND == local ]]; then SSH=(); else
    "${SSH[@]}" sudo -n true || die "cannot ssh to the fixture as $DJ_SSH_USER with sudo"
fi
# each pebble start makes a new root: fetch the current one
curl -sS --cacert "$DJ_PEBBLE_LISTENER_CA" "$DJ_PEBBLE_MGMT/roots/0" -o "$WORK/pebble-root.pem" || die "cannot fetch pebble's root"
# In this test world pebble plays Let's Encrypt: its issuing root goes into the system trust
# store, as ISRG's is on a real server (the wizard's and the verify stage's chain checks use the
# store). Removed again at the end.
ROOT_CRT=/usr/local/share/ca-certificates/djdeploy-e2e-pebble-root.crt
cp "$WORK/pebble-root.pem" "$ROOT_CRT" && update-ca-certificates >/dev/null 2>&1 || die "cannot add pebble's root to the trust store"
TRUSTED_ROOT=1

# pip downloads are cached across runs (the app user's home is removed below)
if [[ ! -e /etc/xdg/pip/pip.conf ]]; then
    mkdir -p /etc/xdg/pip /var/cache/djdeploy-e2e/pip && chmod 1777 /var/cache/djdeploy-e2e/pip
    printf '[global]\ncache-dir = /var/cache/djdeploy-e2e/pip\n' > /etc/xdg/pip/pip.conf
    MADE_PIPCONF=1
fi

# --- a fresh server ---
# shellcheck source=Tests/e2e/lib/server.sh
. "$ROOT/Tests/e2e/lib/server.sh"
log "making the server fresh (purge nginx/certbot: ${DJ_E2E_PURGE:-1})"
make_fresh

# --- answers ---
if [[ $TARGET_KIND == local ]]; then
    TARGET_YAML="target: local"
else
    TARGET_YAML="target:
  host: $DJ_SSH_HOST
  port: $DJ_SSH_PORT
  user: $DJ_SSH_USER
  identity_file: $DJ_SSH_KEY
  known_hosts_file: $DJ_SSH_KNOWN_HOSTS"
fi
cat > "$WORK/e2e.yaml" <<YAML
$TARGET_YAML
domain: $DOMAIN
email: admin@$DOMAIN
server_ip: 127.0.0.1
dns_resolver: $DJ_DNS_RESOLVER
acme_server: $DJ_ACME_SERVER
operator_cidr: 127.0.0.1/32
firewall:
  provider: manual
app: sample
YAML
STATE=$WORK/state.json
DJ=("$BIN")
COMMON=(--answers "$WORK/e2e.yaml" --state "$STATE" --plain)

# managed files on the server (hashed before/after the second run)
managed_files() {
    local h=/home/django/django-gunicorn-nginx
    printf '%s\n' /etc/nginx/nginx.conf "/etc/nginx/sites-available/$DOMAIN" "$h/project/settings.py" \
        "$h/config/gunicorn/dev.py" "$h/config/gunicorn/prod.py" /home/django/.DJANGO_SECRET_KEY \
        "/etc/letsencrypt/renewal/$DOMAIN.conf" "/etc/letsencrypt/live/$DOMAIN/fullchain.pem" \
        "/etc/letsencrypt/live/$DOMAIN/privkey.pem" "/var/lib/djdeploy/certbot-$DOMAIN.renew-dry-run"
    find "$h/myapp" "$h/static" "/var/www/$DOMAIN" -type f 2>/dev/null | sort
}
hash_managed() { managed_files | while read -r f; do printf '%s  %s\n' "$(sha256sum < "$f" 2>/dev/null | cut -c1-64 || echo absent)" "$f"; done; }
hash_everything() { find /etc/nginx /home/django /var/www -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum; }

# --- 1. plan on the fresh server: commands and diffs, nothing changed ---
log "djdeploy plan on the fresh server"
before=$(hash_everything | sha256sum)
"${DJ[@]}" plan "${COMMON[@]}" >"$WORK/plan-fresh.txt" 2>&1; rc=$?
after=$(hash_everything | sha256sum)
((rc == 0)) || die "plan on the fresh server exited $rc (see $WORK/plan-fresh.txt)"
[[ $before == "$after" ]] || die "plan changed files on the server"
id django >/dev/null 2>&1 && die "plan created the app user"
grep -q 'apt-get' "$WORK/plan-fresh.txt" || die "the fresh plan does not list the apt installs"
grep -q 'certbot certonly --nginx' "$WORK/plan-fresh.txt" || die "the fresh plan does not list certbot"
grep -q "^ *+++ b/etc/nginx/sites-available/$DOMAIN" "$WORK/plan-fresh.txt" || die "the fresh plan has no diff for the site file"
grep -q "^ *+++ b/etc/nginx/nginx.conf" "$WORK/plan-fresh.txt" && die "nginx.conf cannot have a diff before nginx is installed"
echo "plan on the fresh server: $(grep -c '^ *[#$] ' "$WORK/plan-fresh.txt") commands, $(grep -c '^ *+++ ' "$WORK/plan-fresh.txt") file diffs; nothing changed"
tail -n 1 "$WORK/plan-fresh.txt"

# --- 2. the deployment ---
KILLS=${DJ_E2E_KILLS:-0}
if ((KILLS > 0)); then
    # Fault injection (issue 5): SIGKILL the wizard KILLS times at random moments (apt, pip,
    # certbot, file writes, state saves…), resuming with `djdeploy run` each time. After every
    # kill the state file must parse; at the end the deploy must pass the same checks.
    log "djdeploy run --yes, SIGKILLed $KILLS times at random moments (target: $TARGET_KIND)"
    : >"$WORK/run1.txt"; : >"$WORK/kills.txt"
    kills=0 round=0
    # Rounds: a deploy that finishes before KILLS kills is done again from a fresh server (without
    # the apt purge), so that every round's kills land in real work (apt, pip, certbot, writes).
    while ((kills < KILLS && round < 4)); do
        round=$((round + 1))
        if ((round > 1)); then
            log "round $round: fresh server again ($kills kills so far)"
            DJ_E2E_PURGE=0 make_fresh; rm -f "$STATE" "$STATE.bak"
        fi
        base=0.3 last=""
        while :; do
            "${DJ[@]}" run "${COMMON[@]}" --yes >>"$WORK/run1.txt" 2>&1 &
            pid=$!
            if ((kills < KILLS)); then
                # a long step (certbot) killed again and again would never finish: each kill in
                # the same step as the last one waits longer, so the kill points spread out
                delay=$(awk -v s="$RANDOM$kills" -v b="$base" 'BEGIN { srand(s); printf "%.2f", b + rand() * 2.2 }')
                sleep "$delay"
                if kill -0 "$pid" 2>/dev/null; then
                    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
                    kills=$((kills + 1))
                    running=$(python3 -c '
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except FileNotFoundError:
    print("(no state file yet)"); sys.exit(0)
r = [st["id"] for g in s["stages"] for st in g["steps"] if st["status"] == "running"]
print(r[0] if r else "(between steps)")' "$STATE") || die "the state file does not parse after kill $kills"
                    printf 'kill %2d after %5ss: %s\n' "$kills" "$delay" "$running" | tee -a "$WORK/kills.txt"
                    if [[ $running == "$last" ]]; then base=$(awk -v b="$base" 'BEGIN { printf "%.2f", b + 2 }'); else base=0.3; fi
                    last=$running
                    continue
                fi
            fi
            wait "$pid"; rc=$?
            break
        done
        ((rc == 0)) || break
    done
    tail -n 15 "$WORK/run1.txt"
    ((rc == 0)) || die "the final djdeploy run exited $rc (see $WORK/run1.txt)"
    ((kills >= KILLS)) || die "only $kills of $KILLS kills landed in $round rounds"
    echo "fault injection: $kills SIGKILLs in $(awk '{print $NF}' "$WORK/kills.txt" | sort -u | wc -l) distinct steps; every state file parsed; the deploy finished"
    # no half-written managed file: djdeploy writes through temp files + rename, and removes
    # stale temp files of a killed write; none may be left
    left=$(find /etc/nginx /home/django /var/www /etc/letsencrypt -name '.*.djdeploy.??????' 2>/dev/null)
    [[ -z $left ]] || die "temp files of interrupted writes left behind: $left"
else
    log "djdeploy run --yes (fresh server → go-live, target: $TARGET_KIND)"
    "${DJ[@]}" run "${COMMON[@]}" --yes >"$WORK/run1.txt" 2>&1; rc=$?
    tail -n 25 "$WORK/run1.txt"
    ((rc == 0)) || die "djdeploy run exited $rc (see $WORK/run1.txt)"
fi
grep -q 'go-live' "$WORK/run1.txt" || die "the run did not reach go-live"

# --- 3. independent checks ---
log "check-site.sh"
bash "$ROOT/Tests/e2e/check-site.sh" "$DOMAIN" "$WORK/pebble-root.pem" "${SSH[@]}" || die "check-site.sh failed"

# --- 4. again: every step a noop, no managed file changed ---
log "djdeploy run --recheck (every step must be a noop)"
hash_managed > "$WORK/hashes-before"
"${DJ[@]}" run "${COMMON[@]}" --yes --recheck >"$WORK/run2.txt" 2>&1; rc=$?
hash_managed > "$WORK/hashes-after"
((rc == 0)) || { tail -n 30 "$WORK/run2.txt"; die "the second run exited $rc"; }
if ! diff -u "$WORK/hashes-before" "$WORK/hashes-after"; then die "the second run changed managed files"; fi
echo "managed files unchanged: $(wc -l < "$WORK/hashes-after") files"
steps=$(grep -cE '^\[.\] [a-z-]+\.[a-z0-9-]+ — ' "$WORK/run2.txt" || true)
noops=$(grep -cE '^\[.\] [a-z-]+\.[a-z0-9-]+ — ok, no change' "$WORK/run2.txt" || true)
if ((steps == 0 || steps != noops)); then
    grep -E '^\[.\] [a-z-]+\.[a-z0-9-]+ — ' "$WORK/run2.txt" | grep -v 'ok, no change'
    die "the second run: $noops of $steps steps were noops"
fi
echo "second run: all $steps steps ok, no change"

# --- 5. plan on the deployed server: no changes ---
log "djdeploy plan on the deployed server"
"${DJ[@]}" plan "${COMMON[@]}" >"$WORK/plan-deployed.txt" 2>&1; rc=$?
((rc == 0)) || die "plan on the deployed server exited $rc"
if grep -qE '^~ ' "$WORK/plan-deployed.txt"; then
    grep -E '^~ ' "$WORK/plan-deployed.txt"
    die "plan on the deployed server shows changes"
fi
tail -n 1 "$WORK/plan-deployed.txt"

# --- 6. more faults (issue 5), in the fault-injection run only ---
if ((KILLS > 0)); then
    # 6a. reboot-like loss: gunicorn and nginx stopped behind the wizard's back
    log "fault: gunicorn and nginx stopped behind the wizard's back; a plain run must see it and restore them"
    stop_server
    "${DJ[@]}" run "${COMMON[@]}" --yes >"$WORK/run-restore.txt" 2>&1; rc=$?
    ((rc == 0)) || { tail -n 20 "$WORK/run-restore.txt"; die "the restoring run exited $rc"; }
    grep -E '— changed' "$WORK/run-restore.txt" | head -5
    grep -qE 'gunicorn.*— changed|go-live.gunicorn — changed' "$WORK/run-restore.txt" || die "the run did not restart gunicorn"
    bash "$ROOT/Tests/e2e/check-site.sh" "$DOMAIN" "$WORK/pebble-root.pem" "${SSH[@]}" >"$WORK/check-restore.txt" || { cat "$WORK/check-restore.txt"; die "the site is not back"; }
    echo "services restored: $(tail -n 1 "$WORK/check-restore.txt")"

    # 6b. ACME failures stop at the preflight, before certbot, with nginx untouched
    site_hash() { sha256sum "/etc/nginx/sites-available/$DOMAIN" /etc/nginx/nginx.conf | sha256sum; }
    certbot delete --cert-name "$DOMAIN" -n >/dev/null 2>&1
    before=$(site_hash)
    log "fault: the ACME server is down"
    kill -TERM "$(cat "$DJ_PEBBLE_PID_FILE")" 2>/dev/null; sleep 0.5
    "${DJ[@]}" run "${COMMON[@]}" --yes --only https-cert >"$WORK/run-acme-down.txt" 2>&1; rc=$?
    ((rc == 1)) || { tail -n 20 "$WORK/run-acme-down.txt"; die "with the ACME server down the run exited $rc, want 1"; }
    grep -q 'preflight failed, certbot was not run' "$WORK/run-acme-down.txt" || die "no preflight failure when the ACME server is down"
    grep -q 'ACME server' "$WORK/run-acme-down.txt" || die "the preflight does not name the ACME server"
    [[ $(site_hash) == "$before" ]] || die "nginx files changed although certbot did not run"
    kill -0 "$(cat /run/nginx.pid)" 2>/dev/null || die "nginx stopped after the ACME failure"
    grep 'preflight failed' "$WORK/run-acme-down.txt" | head -1
    bash "$ROOT/Tests/fixtures/stack-up.sh" >"$WORK/stack-restart.log" 2>&1 || die "cannot restart pebble"
    # a restarted pebble has a new root: trust it instead of the old one
    curl -sS --cacert "$DJ_PEBBLE_LISTENER_CA" "$DJ_PEBBLE_MGMT/roots/0" -o "$WORK/pebble-root.pem" || die "cannot fetch pebble's new root"
    cp "$WORK/pebble-root.pem" "$ROOT_CRT" && update-ca-certificates >/dev/null 2>&1

    log "fault: DNS answers another address than the server's"
    sed 's/^server_ip: .*/server_ip: 127.0.0.2/' "$WORK/e2e.yaml" > "$WORK/e2e-wrong-ip.yaml"
    "${DJ[@]}" run --answers "$WORK/e2e-wrong-ip.yaml" --state "$WORK/state-wrong-ip.json" --plain --yes --only https-cert \
        >"$WORK/run-wrong-dns.txt" 2>&1; rc=$?
    ((rc == 1)) || { tail -n 20 "$WORK/run-wrong-dns.txt"; die "with DNS pointing elsewhere the run exited $rc, want 1"; }
    grep -q 'preflight failed, certbot was not run' "$WORK/run-wrong-dns.txt" || die "no preflight failure for the wrong DNS answer"
    grep -q "resolves to 127.0.0.1" "$WORK/run-wrong-dns.txt" || die "the preflight does not show what DNS answered"
    [[ $(site_hash) == "$before" ]] || die "nginx files changed although certbot did not run"
    [[ -e /etc/letsencrypt/live/$DOMAIN/fullchain.pem ]] && die "a certificate appeared although certbot should not have run"
    grep 'preflight failed' "$WORK/run-wrong-dns.txt" | head -1

    log "back to normal: the certificate is requested again and the site passes"
    "${DJ[@]}" run "${COMMON[@]}" --yes >"$WORK/run-back.txt" 2>&1; rc=$?
    ((rc == 0)) || { tail -n 20 "$WORK/run-back.txt"; die "the run after the ACME faults exited $rc"; }
    bash "$ROOT/Tests/e2e/check-site.sh" "$DOMAIN" "$WORK/pebble-root.pem" "${SSH[@]}" >"$WORK/check-back.txt" || { cat "$WORK/check-back.txt"; die "the site does not pass after the ACME faults"; }
    echo "site back: $(tail -n 1 "$WORK/check-back.txt")"
fi

log "deploy-e2e: PASS"
