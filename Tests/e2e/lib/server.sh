# Shared by the end-to-end scripts: stop the deployed services and make the "server" (this
# machine) fresh for a deploy of $DOMAIN. Needs: DOMAIN, WORK (for logs), a `die` function.
# DJ_E2E_PURGE=1 also purges nginx and certbot (so that the deploy installs them itself).
stop_server() {
    local f p
    for f in /var/run/gunicorn/*.pid; do
        [[ -s $f ]] && p=$(cat "$f") && kill -TERM "$p" 2>/dev/null
    done
    # the app user's processes (gunicorn workers) must be gone before userdel
    if id django >/dev/null 2>&1; then
        for _ in $(seq 50); do pgrep -u django >/dev/null || break; sleep 0.1; done
        pkill -KILL -u django 2>/dev/null
        for _ in $(seq 20); do pgrep -u django >/dev/null || break; sleep 0.1; done
    fi
    if [[ -s /run/nginx.pid ]]; then kill -QUIT "$(cat /run/nginx.pid)" 2>/dev/null; fi
    for _ in $(seq 50); do
        [[ -s /run/nginx.pid ]] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null || break
        sleep 0.1
    done
    return 0
}
make_fresh() {
    stop_server
    if command -v certbot >/dev/null; then certbot delete --cert-name "$DOMAIN" -n >/dev/null 2>&1; fi
    if id django >/dev/null 2>&1; then userdel -r django >/dev/null 2>&1 || userdel -f django; fi
    id django >/dev/null 2>&1 && die "cannot remove the app user django (still in use?)"
    rm -rf /home/django "/var/www/$DOMAIN" /var/log/gunicorn /var/run/gunicorn /var/lib/djdeploy \
           "/etc/nginx/sites-available/$DOMAIN" "/etc/nginx/sites-enabled/$DOMAIN"
    if [[ ${DJ_E2E_PURGE:-1} == 1 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q nginx nginx-common nginx-core certbot python3-certbot-nginx \
            >"$WORK/purge.log" 2>&1 || die "apt-get purge failed (see $WORK/purge.log)"
        rm -rf /etc/nginx /etc/letsencrypt /var/log/letsencrypt /var/lib/letsencrypt
    fi
}
