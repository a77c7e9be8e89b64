# Shared by the end-to-end scripts that deploy to this machine (sourced, bash). Before sourcing:
# ROOT (the repository), NAME (the script's short name, for messages), a `die` function.
# Provides:
#   e2e_begin          — WORK dir, fixtures (sshd + stack, started when down), SSH array, DOMAIN,
#                        pebble's root in the trust store, the pip cache config, server.sh loaded;
#                        an EXIT trap that undoes it all (e2e_end) unless DJ_E2E_KEEP=1
#   e2e_answers FILE   — the answers file for the loopback stack (SSH target; HSTS one year, for A+)
#   BIN                — the djdeploy binary (DJDEPLOY_BIN or the debug build)
# shellcheck shell=bash

BIN=${DJDEPLOY_BIN:-$ROOT/.build/debug/djdeploy}

e2e_begin() {
    [[ -x $BIN ]] || die "$BIN is not built (swift build)"
    WORK=$(mktemp -d "/tmp/djdeploy-$NAME.XXXXXX")
    E2E_STARTED_STACK=0 E2E_STARTED_SSHD=0 E2E_MADE_PIPCONF=0 E2E_TRUSTED_ROOT=0
    trap e2e_end EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    SSHD_ENV=${DJDEPLOY_SSHD_ENV:-/tmp/djdeploy-fixtures/sshd.env}
    if [[ ! -s $SSHD_ENV ]] || ! (. "$SSHD_ENV"; kill -0 "$(cat "$DJ_SSHD_PID_FILE" 2>/dev/null)" 2>/dev/null); then
        bash "$ROOT/Tests/fixtures/sshd-up.sh" >"$WORK/sshd-up.log" 2>&1 || die "sshd-up.sh failed (see $WORK/sshd-up.log)"
        E2E_STARTED_SSHD=1; SSHD_ENV=/tmp/djdeploy-fixtures/sshd.env
    fi
    STACK_ENV=${DJDEPLOY_STACK_ENV:-/tmp/djdeploy-stack/stack.env}
    if [[ ! -s $STACK_ENV ]] || ! (. "$STACK_ENV"; kill -0 "$(cat "$DJ_PEBBLE_PID_FILE" 2>/dev/null)" 2>/dev/null); then
        bash "$ROOT/Tests/fixtures/stack-up.sh" >"$WORK/stack-up.log" 2>&1 || die "stack-up.sh failed (see $WORK/stack-up.log)"
        E2E_STARTED_STACK=1; STACK_ENV=/tmp/djdeploy-stack/stack.env
    fi
    # shellcheck disable=SC1090
    . "$SSHD_ENV"; . "$STACK_ENV"
    DOMAIN=$DJ_DOMAIN
    SSH=(ssh -q -o BatchMode=yes -o UserKnownHostsFile="$DJ_SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes
         -i "$DJ_SSH_KEY" -p "$DJ_SSH_PORT" "$DJ_SSH_USER@$DJ_SSH_HOST")
    "${SSH[@]}" sudo -n true || die "cannot ssh to the fixture as $DJ_SSH_USER with sudo"
    # pebble plays Let's Encrypt: its current root goes into the system trust store
    curl -sS --cacert "$DJ_PEBBLE_LISTENER_CA" "$DJ_PEBBLE_MGMT/roots/0" -o "$WORK/pebble-root.pem" || die "cannot fetch pebble's root"
    E2E_ROOT_CRT=/usr/local/share/ca-certificates/djdeploy-e2e-pebble-root.crt
    cp "$WORK/pebble-root.pem" "$E2E_ROOT_CRT" && update-ca-certificates >/dev/null 2>&1 || die "cannot add pebble's root to the trust store"
    E2E_TRUSTED_ROOT=1
    if [[ ! -e /etc/xdg/pip/pip.conf ]]; then
        mkdir -p /etc/xdg/pip /var/cache/djdeploy-e2e/pip && chmod 1777 /var/cache/djdeploy-e2e/pip
        printf '[global]\ncache-dir = /var/cache/djdeploy-e2e/pip\n' > /etc/xdg/pip/pip.conf
        E2E_MADE_PIPCONF=1
    fi
    # shellcheck source=Tests/e2e/lib/server.sh
    . "$ROOT/Tests/e2e/lib/server.sh"
}

e2e_end() {
    local rc=$?
    [[ $E2E_MADE_PIPCONF == 1 ]] && rm -f /etc/xdg/pip/pip.conf
    if [[ ${DJ_E2E_KEEP:-0} != 1 ]]; then
        # leave no running site and no certificate behind (other tests deploy the same domain)
        stop_server
        command -v certbot >/dev/null && certbot delete --cert-name "$DOMAIN" -n >/dev/null 2>&1
        rm -f "/var/lib/djdeploy/certbot-$DOMAIN.renew-dry-run" "/var/lib/djdeploy/export-renew-dry-run-$DOMAIN"
        if [[ $E2E_TRUSTED_ROOT == 1 ]]; then rm -f "$E2E_ROOT_CRT"; update-ca-certificates --fresh >/dev/null 2>&1; fi
    fi
    [[ $E2E_STARTED_STACK == 1 ]] && bash "$ROOT/Tests/fixtures/stack-down.sh" >/dev/null 2>&1
    [[ $E2E_STARTED_SSHD == 1 ]] && bash "$ROOT/Tests/fixtures/sshd-down.sh" >/dev/null 2>&1
    if ((rc == 0)); then rm -rf "$WORK"; else echo "$NAME: logs kept in $WORK"; fi
    exit $rc
}

e2e_answers() {
    cat > "$1" <<YAML
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
}
