#!/usr/bin/env bash
# End-to-end test of `djdeploy verify` (issue 7), as root, on the site Tests/e2e/deploy-e2e.sh
# deployed on this machine (it runs first: scripts/test runs Tests/e2e/*.sh in sorted order).
#
#   1. makes sure the deployed site runs, with `djdeploy run` on the same answers as deploy-e2e
#      plus hsts_final_seconds: 31536000 (deploy-e2e stops nginx and gunicorn when it ends; every
#      other step is a noop; go-live raises HSTS to one year);
#   2. `djdeploy verify --ca-file PEBBLE_ROOT` → exit 0, grade A+, every check passes
#      (--json and --markdown written and read back);
#   3. negative tests, one at a time on the real server, each restored from a backup:
#      - SECURE_HSTS_SECONDS removed from settings.py (gunicorn HUP'd) → headers.hsts fails;
#      - TLS 1.0/1.1 enabled in nginx.conf (nginx reloaded) → tls.protocol.tls1_1 fails, TLS ≤ B;
#      - an add_header inside `location /static` (nginx reloaded) → nginx.add-header-inheritance
#        fails and names the dropped header;
#      - DEBUG = True (gunicorn HUP'd) → django.debug fails, grade ≤ C;
#      each: exit 1, overall grade below A+;
#   4. verify again after the restores → A+;
#   5. if testssl.sh is installed: its protocol findings must agree with ours.
#
# When there is no deployed site (deploy-e2e.sh has not run, or failed): skipped with a message,
# or a failure under CI=true. Env: DJDEPLOY_BIN (default .build/debug/djdeploy),
# DJDEPLOY_SSHD_ENV, DJDEPLOY_STACK_ENV, DJ_VERIFY_KEEP_RUNNING=1 (leave nginx/gunicorn running).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$(pwd)
START=$(date +%s)
log() { printf '\n[verify-e2e %3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
die() { printf 'verify-e2e: FAIL: %s\n' "$*" >&2; exit 1; }
skip() {
    if [[ ${CI:-} == true || -n ${DJDEPLOY_TEST_CI:-} ]]; then die "$*"; fi
    echo "verify-e2e: skipped: $*"
    exit 0
}

[[ $(id -u) == 0 ]] || skip "needs root (it breaks and restores the deployed site)"
BIN=${DJDEPLOY_BIN:-$ROOT/.build/debug/djdeploy}
[[ -x $BIN ]] || die "$BIN is not built (swift build)"

SSHD_ENV=${DJDEPLOY_SSHD_ENV:-/tmp/djdeploy-fixtures/sshd.env}
STACK_ENV=${DJDEPLOY_STACK_ENV:-/tmp/djdeploy-stack/stack.env}
[[ -s $SSHD_ENV ]] || skip "no deployed site: the sshd fixture is not up ($SSHD_ENV); run Tests/e2e/deploy-e2e.sh first"
[[ -s $STACK_ENV ]] || skip "no deployed site: the test stack is not up ($STACK_ENV); run Tests/e2e/deploy-e2e.sh first"
# shellcheck disable=SC1090
. "$SSHD_ENV"; . "$STACK_ENV"
DOMAIN=$DJ_DOMAIN
APP=/home/django/django-gunicorn-nginx
SETTINGS=$APP/project/settings.py
NGINX_CONF=/etc/nginx/nginx.conf
SITE=/etc/nginx/sites-available/$DOMAIN
for f in "/etc/letsencrypt/live/$DOMAIN/fullchain.pem" "$SITE" "$SETTINGS" "$APP/config/gunicorn/prod.py" /usr/sbin/nginx; do
    [[ -e $f ]] || skip "no deployed site for $DOMAIN ($f is missing): run Tests/e2e/deploy-e2e.sh first (it deploys to go-live)"
done
kill -0 "$(cat "$DJ_PEBBLE_PID_FILE" 2>/dev/null)" 2>/dev/null || skip "pebble is not running (Tests/fixtures/stack-up.sh)"

WORK=$(mktemp -d /tmp/djdeploy-verify-e2e.XXXXXX)
NGINX_WAS_RUNNING=0
[[ -s /run/nginx.pid ]] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null && NGINX_WAS_RUNNING=1
GUNICORN_PIDFILE=/var/run/gunicorn/prod.pid
BACKUPS=()   # "original|backup" pairs still to restore

restore_all() {
    local pair orig bak
    for pair in "${BACKUPS[@]}"; do
        orig=${pair%%|*}; bak=${pair#*|}
        [[ -e $bak ]] && cp -p "$bak" "$orig" && echo "restored $orig"
    done
    BACKUPS=()
}
cleanup() {
    local rc=$?
    trap - EXIT
    if ((${#BACKUPS[@]})); then
        restore_all
        reload_nginx >/dev/null 2>&1
        hup_gunicorn >/dev/null 2>&1
    fi
    if [[ ${DJ_VERIFY_KEEP_RUNNING:-0} != 1 ]]; then
        # the last script to use the deployed site: leave nginx and gunicorn stopped, so that
        # nothing holds port 8000 for the next test run (the Swift integration tests deploy too)
        [[ -s $GUNICORN_PIDFILE ]] && kill -TERM "$(cat "$GUNICORN_PIDFILE")" 2>/dev/null
        [[ -s /run/nginx.pid ]] && kill -QUIT "$(cat /run/nginx.pid)" 2>/dev/null
    fi
    ((rc == 0)) && rm -rf "$WORK" || echo "verify-e2e: logs kept in $WORK"
    exit $rc
}
trap cleanup EXIT

backup() { # FILE: copy aside, remember to restore
    cp -p "$1" "$WORK/$(basename "$1").bak" || die "cannot back up $1"
    BACKUPS+=("$1|$WORK/$(basename "$1").bak")
}
reload_nginx() {
    nginx -t -q || return 1
    nginx -s reload || return 1
    sleep 1   # new workers take over
}
hup_gunicorn() {
    local pid
    pid=$(cat "$GUNICORN_PIDFILE" 2>/dev/null) || return 1
    kill -HUP "$pid" || return 1
    sleep 3   # HUP: new workers with the new settings
}

# --- answers: deploy-e2e's, plus a one-year HSTS (A+ needs ≥ 180 days) ---
curl -sS --cacert "$DJ_PEBBLE_LISTENER_CA" "$DJ_PEBBLE_MGMT/roots/0" -o "$WORK/pebble-root.pem" || die "cannot fetch pebble's root"
export DJDEPLOY_VERIFY_CA_FILE=$WORK/pebble-root.pem   # for the verify stage of `djdeploy run`
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
app: sample
hsts_final_seconds: 31536000
YAML
COMMON=(--answers "$WORK/answers.yaml" --state "$WORK/state.json" --plain)

log "djdeploy run --yes (the deployed site: start what is stopped, raise HSTS to one year)"
"$BIN" run "${COMMON[@]}" --yes >"$WORK/run.txt" 2>&1; rc=$?
tail -n 8 "$WORK/run.txt"
((rc == 0)) || die "djdeploy run exited $rc (see $WORK/run.txt)"

verify() { # NAME [extra args]: runs djdeploy verify, writes NAME.{txt,json,md}, sets VRC
    local name=$1; shift
    "$BIN" verify "${COMMON[@]}" --ca-file "$WORK/pebble-root.pem" --json "$WORK/$name.json" \
        --markdown "$WORK/$name.md" "$@" >"$WORK/$name.txt" 2>&1
    VRC=$?
}
jget() { jq -r "$2" "$WORK/$1.json"; }
result_of() { jq -r --arg id "$2" '.checks[] | select(.id == $id) | .result' "$WORK/$1.json"; }
seen_of() { jq -r --arg id "$2" '.checks[] | select(.id == $id) | .seen' "$WORK/$1.json"; }
rank() { case $1 in A+) echo 7;; A) echo 6;; B) echo 5;; C) echo 4;; D) echo 3;; E) echo 2;; *) echo 1;; esac; }

# --- 1. the deployed site: A+, every check passes ---
log "djdeploy verify on the deployed site"
verify good
sed -n '1,12p' "$WORK/good.txt"
[[ -s $WORK/good.json && -s $WORK/good.md ]] || die "verify did not write --json/--markdown (see $WORK/good.txt)"
grade=$(jget good .overall.grade)
notpass=$(jq -r '.checks[] | select(.result != "pass") | "\(.id)=\(.result): \(.seen)"' "$WORK/good.json")
[[ -z $notpass ]] || { cat "$WORK/good.txt"; die "checks that did not pass on the deployed site:
$notpass"; }
[[ $grade == "A+" ]] || die "grade $grade on the deployed site, want A+"
((VRC == 0)) || die "verify exited $VRC with grade A+"
grep -q '^\*\*Overall grade: A+\*\*' "$WORK/good.md" || die "the markdown report has no A+ headline"
echo "deployed site: A+ (headers $(jget good .headers.grade), TLS $(jget good .tls.grade)), $(jq '.checks | length' "$WORK/good.json") checks pass"

# --- 2. negative tests: break one thing, verify, restore ---
negative() { # NAME CHECK_ID WANT_RESULT MAX_GRADE
    local name=$1 id=$2 want=$3 max=$4 g r
    verify "$name" --no-renewal
    g=$(jget "$name" .overall.grade)
    r=$(result_of "$name" "$id")
    printf '%-12s grade %-2s (exit %s); %s = %s: %s\n' "$name" "$g" "$VRC" "$id" "$r" "$(seen_of "$name" "$id" | cut -c1-140)"
    ((VRC != 0)) || die "$name: verify exited 0"
    [[ $r == "$want" ]] || { cat "$WORK/$name.txt"; die "$name: $id is '$r', want '$want'"; }
    (($(rank "$g") <= $(rank "$max"))) || die "$name: grade $g, want $max or lower"
}

log "negative 1: SECURE_HSTS_SECONDS removed from settings.py"
backup "$SETTINGS"
grep -q '^SECURE_HSTS_SECONDS' "$SETTINGS" || die "settings.py has no SECURE_HSTS_SECONDS line"
sed -i '/^SECURE_HSTS_SECONDS/d' "$SETTINGS"
hup_gunicorn || die "cannot HUP gunicorn"
negative no-hsts headers.hsts fail B
restore_all; hup_gunicorn

log "negative 2: TLS 1.0/1.1 enabled in nginx.conf"
backup "$NGINX_CONF"
grep -qE '^\s*ssl_protocols' "$NGINX_CONF" || die "nginx.conf has no ssl_protocols line"
# OpenSSL 3 allows TLS < 1.2 only at security level 0: lower it too, or nginx still refuses 1.1
# (our probe would then rightly report "refused")
sed -i -E 's/^(\s*)ssl_protocols[^;]*;/\1ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; ssl_ciphers DEFAULT:@SECLEVEL=0;/' "$NGINX_CONF"
# the site's server block includes certbot's options, whose cipher list is TLS 1.2-only (GCM,
# CHACHA20): no TLS 1.1 handshake can succeed with it, so that list is lowered as well
LE_OPTIONS=/etc/letsencrypt/options-ssl-nginx.conf
if grep -qE '^\s*ssl_ciphers' "$LE_OPTIONS" 2>/dev/null; then
    backup "$LE_OPTIONS"
    sed -i -E -e 's/^(\s*)ssl_ciphers[^;]*;/\1ssl_ciphers DEFAULT:@SECLEVEL=0;/' \
        -e 's/^(\s*)ssl_protocols[^;]*;/\1ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;/' "$LE_OPTIONS"
fi
reload_nginx || { nginx -t; die "nginx -t failed with TLS 1.1 enabled"; }
negative tls11 tls.protocol.tls1_1 fail B
[[ $(jget tls11 .tls.grade) == B ]] || die "tls11: TLS grade $(jget tls11 .tls.grade), want B"
restore_all; reload_nginx || die "nginx does not reload after the restore"

log "negative 3: an add_header inside location /static"
backup "$SITE"
python3 - "$SITE" <<'PY' || die "could not edit the site file"
import sys
p = sys.argv[1]
s = open(p).read()
i = s.rfind("location /static {")
assert i >= 0, "no location /static"
j = s.index("{", i) + 1
s = s[:j] + '\n        add_header Cache-Control "public, max-age=86400";' + s[j:]
open(p, "w").write(s)
PY
reload_nginx || { nginx -t; die "nginx -t failed with the extra add_header"; }
negative add-header nginx.add-header-inheritance fail B
seen_of add-header nginx.add-header-inheritance | grep -qi 'location /static' || die "the lint does not name location /static"
seen_of add-header nginx.add-header-inheritance | grep -qi 'permissions-policy' || die "the lint does not name the dropped Permissions-Policy"
restore_all; reload_nginx || die "nginx does not reload after the restore"

log "negative 4: DEBUG = True"
backup "$SETTINGS"
printf '\nDEBUG = True  # verify-e2e negative test\n' >> "$SETTINGS"
hup_gunicorn || die "cannot HUP gunicorn"
negative debug django.debug fail C
restore_all; hup_gunicorn

# --- 3. restored: A+ again ---
log "djdeploy verify after the restores"
verify restored --no-renewal
[[ $(jget restored .overall.grade) == "A+" && $VRC == 0 ]] || { cat "$WORK/restored.txt"; die "grade $(jget restored .overall.grade) after the restores, want A+"; }
echo "restored: A+"

# --- 4. testssl.sh, when installed: protocol findings must agree ---
if command -v testssl.sh >/dev/null 2>&1; then
    log "testssl.sh --protocols (cross-check)"
    testssl.sh --quiet --color 0 --warnings off --ip 127.0.0.1 --protocols "https://$DOMAIN/" >"$WORK/testssl.txt" 2>&1
    agree=0 disagree=0
    for pair in "TLS 1:tls1_0" "TLS 1.1:tls1_1" "TLS 1.2:tls1_2" "TLS 1.3:tls1_3"; do
        label=${pair%%:*}; id=${pair#*:}
        line=$(grep -E "^ *$label +" "$WORK/testssl.txt" | head -n1)
        case $line in
            *"not offered"*) theirs=refused;;
            *offered*) theirs=accepted;;
            *) theirs=unknown;;
        esac
        ours=$(seen_of good "tls.protocol.$id" | cut -d' ' -f1 | tr -d ':')
        printf '  %-8s testssl.sh: %-9s djdeploy: %s\n' "$label" "$theirs" "$ours"
        if [[ $theirs == "$ours" ]]; then agree=$((agree + 1)); else disagree=$((disagree + 1)); fi
    done
    ((disagree == 0)) || die "testssl.sh and djdeploy disagree on $disagree protocol(s) (see $WORK/testssl.txt)"
    echo "testssl.sh agrees on $agree protocols"
else
    echo "testssl.sh not installed: protocol cross-check skipped (apt-get install testssl.sh)"
fi

log "verify-e2e: PASS"
