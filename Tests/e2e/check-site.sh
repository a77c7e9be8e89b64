#!/usr/bin/env bash
# Independent check of a deployed site, with curl and openssl only (no djdeploy code).
#
#   Tests/e2e/check-site.sh DOMAIN ROOT_CA_PEM [SSH_CMD…]
#
# DOMAIN must resolve to the server for curl (the test stack's /etc/hosts line does that; the
# checks also pass --resolve DOMAIN:443:127.0.0.1 / :80). ROOT_CA_PEM is the ACME server's issuing
# root (pebble: fetched from its management port). The `manage.py check --deploy` assertion runs
# on the server: as root locally when no SSH command is given, else through SSH_CMD (e.g.
# `ssh -i KEY -p 2222 djdeploy@127.0.0.1`, whose user has sudo).
# Prints one line per assertion; exits 1 when any fails.
set -uo pipefail
if (($# < 2)); then
    # scripts/test runs every Tests/e2e/*.sh: this one is a helper of deploy-e2e.sh
    echo "check-site.sh: helper of deploy-e2e.sh (usage: check-site.sh DOMAIN ROOT_CA_PEM [SSH_CMD…]); nothing to do"
    exit 0
fi
DOMAIN=${1:?domain}; ROOT=${2:?root CA file}; shift 2
SSH=("$@")
IP=${DJ_SERVER_IP:-127.0.0.1}
FAILS=0
pass() { printf 'PASS  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILS=$((FAILS + 1)); }
R80=(--resolve "$DOMAIN:80:$IP" --resolve "www.$DOMAIN:80:$IP")
R443=(--resolve "$DOMAIN:443:$IP" --resolve "www.$DOMAIN:443:$IP")
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

# 1. HTTP → 307 to HTTPS, keeping host, path and query
for name in "$DOMAIN" "www.$DOMAIN"; do
    out=$(curl -sS -m 10 "${R80[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "http://$name/myapp/?q=1" 2>&1)
    if [[ $out == "307 https://$name/myapp/?q=1" ]]; then pass "http://$name/myapp/?q=1 → $out"
    else fail "http://$name/myapp/?q=1 → '$out', want '307 https://$name/myapp/?q=1'"; fi
done

# 2. unknown Host on port 80 → connection closed without an answer (curl 52: empty reply)
curl -sS -m 10 -o /dev/null -H 'Host: unknown-host.invalid' "http://$IP/" 2>"$T/err"; rc=$?
if [[ $rc == 52 ]]; then pass "unknown Host on port 80: connection closed (curl exit 52)"
else fail "unknown Host on port 80: curl exit $rc ($(cat "$T/err")), want 52"; fi

# 3. HTTPS page: 200, Server: nginx, the security headers; chain verified against ROOT
if curl -sS -m 10 "${R443[@]}" --cacert "$ROOT" -D "$T/h" -o "$T/body" "https://$DOMAIN/myapp/" 2>"$T/err"; then
    pass "https://$DOMAIN/myapp/ verifies against $(basename "$ROOT") (curl --cacert)"
else
    fail "https://$DOMAIN/myapp/ with --cacert $ROOT: $(cat "$T/err")"
fi
tr -d '\r' < "$T/h" > "$T/headers"
hdr() { sed -n "s/^$1: //Ip" "$T/headers" | tail -n 1; }
status=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$T/headers")
[[ $status == 200 ]] && pass "HTTPS /myapp/ status 200" || fail "HTTPS /myapp/ status '$status', want 200"
[[ $(hdr Server) == nginx ]] && pass "Server: nginx (no version)" || fail "Server: '$(hdr Server)', want 'nginx'"
hsts=$(hdr Strict-Transport-Security)
if [[ $hsts =~ max-age=([0-9]+) ]] && ((BASH_REMATCH[1] > 0)) && [[ $hsts == *includeSubDomains* && $hsts == *preload* ]]; then
    pass "Strict-Transport-Security: $hsts"
else fail "Strict-Transport-Security: '$hsts'"; fi
csp=$(hdr Content-Security-Policy)
if [[ -n $csp && $csp == *"default-src 'self'"* && $csp != *unsafe-inline* ]]; then pass "Content-Security-Policy: $csp"
else fail "Content-Security-Policy: '$csp' (want default-src 'self', no unsafe-inline)"; fi
for h in Referrer-Policy Permissions-Policy X-Content-Type-Options X-Frame-Options; do
    v=$(hdr "$h")
    [[ -n $v ]] && pass "$h: $v" || fail "$h is missing"
done
[[ $(hdr X-Content-Type-Options) == nosniff ]] || fail "X-Content-Type-Options is not nosniff"
[[ $(hdr X-Frame-Options) == DENY ]] || fail "X-Frame-Options is not DENY"
grep -q 'greenlight.js' "$T/body" && pass "the page is the sample app's" || fail "the page is not the sample app's home.html"

# 4. the static JS, served by nginx itself (no Django headers)
code=$(curl -sS -m 10 "${R443[@]}" --cacert "$ROOT" -D "$T/sh" -o "$T/js" -w '%{http_code}' "https://$DOMAIN/static/js/greenlight.js" 2>&1)
tr -d '\r' < "$T/sh" > "$T/sheaders"
if [[ $code == 200 ]] && grep -q 'changeme' "$T/js" && grep -qi '^server: nginx$' "$T/sheaders" \
   && ! grep -qiE '^(x-frame-options|content-security-policy|referrer-policy|vary|cross-origin-opener-policy):' "$T/sheaders"; then
    pass "static JS served by nginx (200, no Django headers)"
else
    fail "static JS: status $code, headers: $(tr '\n' '|' < "$T/sheaders")"
fi

# 5. TLS versions: 1.2 and 1.3 accepted, 1.1 refused (SECLEVEL=0 so the client really offers it)
for v in tls1_2 tls1_3; do
    if openssl s_client -connect "$IP:443" -servername "$DOMAIN" "-$v" </dev/null >/dev/null 2>&1; then pass "$v accepted"
    else fail "$v refused"; fi
done
if openssl s_client -connect "$IP:443" -servername "$DOMAIN" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >"$T/t11" 2>&1; then
    fail "tls1_1 accepted"
else pass "tls1_1 refused"; fi

# 6. the served chain verifies against ROOT (openssl, both names, host name checked)
for name in "$DOMAIN" "www.$DOMAIN"; do
    openssl s_client -connect "$IP:443" -servername "$name" -showcerts </dev/null 2>/dev/null \
        | awk -v dir="$T" '/BEGIN CERTIFICATE/{n++; p=1} p{print > (dir "/c" n ".pem")} /END CERTIFICATE/{p=0}'
    cat "$T"/c[2-9].pem > "$T/untrusted.pem" 2>/dev/null || : > "$T/untrusted.pem"
    if out=$(openssl verify -CAfile "$ROOT" -untrusted "$T/untrusted.pem" -verify_hostname "$name" "$T/c1.pem" 2>&1); then
        pass "chain for $name verifies against the root ($out)"
    else fail "chain for $name: $out"; fi
    bits=$(openssl x509 -in "$T/c1.pem" -noout -text | sed -n 's/^ *Public-Key: (\([0-9]*\) bit)/\1/p')
    [[ $bits == 4096 ]] && pass "$name: RSA $bits-bit key" || fail "$name: key is '$bits' bits, want 4096"
    rm -f "$T"/c*.pem
done

# 7. manage.py check --deploy with the production environment loaded: no warnings
remote() { if ((${#SSH[@]})); then "${SSH[@]}" "$@"; else bash -c "$1"; fi; }
CHECK='sudo -n runuser -u django -- sh -c '"'"'set -a; . /home/django/.DJANGO_SECRET_KEY; set +a; cd /home/django/django-gunicorn-nginx && exec /home/django/env/bin/python manage.py check --deploy --fail-level WARNING'"'"' 2>&1'
if out=$(remote "$CHECK"); then
    if grep -q 'WARNING\|issues' <<<"$out" && ! grep -q 'no issues' <<<"$out"; then fail "check --deploy: $out"
    else pass "manage.py check --deploy: $(tail -n 1 <<<"$out")"; fi
else
    fail "manage.py check --deploy: $out"
fi

echo
if ((FAILS)); then echo "check-site: FAIL ($FAILS)"; exit 1; fi
echo "check-site: PASS"
