#!/usr/bin/env bash
# The tutorial's steps by hand, as one shell script: what an operator following the tutorial
# would type on a fresh server, with no checks and no resume — the baseline for
# `djdeploy-bench deploy`. It ends with the same site as `djdeploy run` (app user, venv with the
# same pins, the sample app, gunicorn prod on 127.0.0.1:8000, nginx with TLS from the ACME
# server, HTTP→HTTPS redirect, the security headers, final HSTS, a renewal dry run).
#
# Run as root on the server, in one ssh session:
#   ssh HOST sudo DOMAIN=… EMAIL=… ACME_SERVER=… bash -s < Benchmarks/hand-deploy.sh
# Written for a server without systemd (the loopback test server); packages that are missing are
# installed (apt-get install is a no-op for the installed ones).
set -euo pipefail
DOMAIN=${DOMAIN:?DOMAIN} EMAIL=${EMAIL:-admin@$DOMAIN} ACME_SERVER=${ACME_SERVER:?ACME_SERVER}
HSTS_FINAL_SECONDS=${HSTS_FINAL_SECONDS:-31536000}
U=django H=/home/django P=/home/django/django-gunicorn-nginx
export DEBIAN_FRONTEND=noninteractive
as_app() { runuser -u "$U" -- "$@"; }
manage() { runuser -u "$U" -- sh -c 'set -a; . "$1"; set +a; cd "$2"; shift 2; exec "$@"' sh "$H/.DJANGO_SECRET_KEY" "$P" "$H/env/bin/python" manage.py "$@"; }
wait_http() { for _ in $(seq 60); do curl -s -o /dev/null -m 2 "$1" && return 0; sleep 0.5; done; echo "no answer from $1" >&2; return 1; }
apt_install() {   # the tutorial's `apt-get install`, without starting daemons (as djdeploy)
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d
    apt-get -y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        install --no-install-recommends "$@" >/dev/null
    rm -f /usr/sbin/policy-rc.d
}

# --- Django: app user, Python, venv, packages, secret key, project, sample app, settings
useradd --system --create-home --home-dir "$H" --shell /usr/sbin/nologin --user-group "$U"
chmod 0750 "$H"
apt_install python3 python3-venv curl
as_app python3 -m venv "$H/env"
as_app "$H/env/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    'django==3.2.*' 'gunicorn==20.1.*' 'django-csp==3.8.*' 'setuptools<70'
as_app sh -c 'umask 077; printf "export SECRET_KEY='\''%s'\''\n" "$(python3 -c "import secrets; print(secrets.token_hex(40))")" > "$1"' sh "$H/.DJANGO_SECRET_KEY"
as_app mkdir -p "$P"
as_app "$H/env/bin/django-admin" startproject project "$P"
as_app sed -i 's/^SECRET_KEY = .*$/# SECRET_KEY is read from the environment./' "$P/project/settings.py"
as_app mkdir -p "$P/myapp/migrations" "$P/myapp/templates/myapp" "$P/static/js"
as_app tee "$P/project/urls.py" >/dev/null <<'PY'
from django.urls import include, path

urlpatterns = [
    path("myapp/", include("myapp.urls")),
    path("", include("myapp.urls")),
]
PY
as_app touch "$P/myapp/__init__.py" "$P/myapp/migrations/__init__.py"
as_app tee "$P/myapp/apps.py" >/dev/null <<'PY'
from django.apps import AppConfig


class MyappConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "myapp"
PY
as_app tee "$P/myapp/views.py" >/dev/null <<'PY'
from django.shortcuts import render


def index(request):
    return render(request, "myapp/home.html")
PY
as_app tee "$P/myapp/urls.py" >/dev/null <<'PY'
from django.urls import path
from . import views

urlpatterns = [
    path("", views.index, name="index"),
]
PY
as_app tee "$P/myapp/templates/myapp/home.html" >/dev/null <<'HTML'
<!DOCTYPE html>
<html lang="en-US">
  <head>
    <meta charset="utf-8">
    <title>My secure app</title>
  </head>
  <body>
    <p><span id="changeme">Now this is some sweet HTML!</span></p>
    <script src="/static/js/greenlight.js"></script>
  </body>
</html>
HTML
as_app tee "$P/static/js/greenlight.js" >/dev/null <<'JS'
// Enlarge the #changeme element in green when hovered over
(function () {
    "use strict";
    function enlarge() {
        document.getElementById("changeme").style.color = "green";
        document.getElementById("changeme").style.fontSize = "xx-large";
        return false;
    }
    document.getElementById("changeme").addEventListener("mouseover", enlarge);
}());
JS
as_app tee -a "$P/project/settings.py" >/dev/null <<PY

import os
try:
    SECRET_KEY = os.environ["SECRET_KEY"]
except KeyError as e:
    raise RuntimeError("Could not find a SECRET_KEY in environment") from e
ALLOWED_HOSTS = [".$DOMAIN", "127.0.0.1", "localhost"]
INSTALLED_APPS = [*INSTALLED_APPS, "myapp"]
PY
manage migrate --noinput >/dev/null
manage check

# --- Gunicorn (dev)
as_app mkdir -p "$P/config/gunicorn"
as_app tee "$P/config/gunicorn/dev.py" >/dev/null <<'PY'
wsgi_app = "project.wsgi:application"
loglevel = "debug"
workers = 2
bind = "0.0.0.0:8000"
reload = True
accesslog = errorlog = "/var/log/gunicorn/dev.log"
capture_output = True
pidfile = "/var/run/gunicorn/dev.pid"
daemon = True
PY
mkdir -p /var/log/gunicorn /var/run/gunicorn && chown "$U:$U" /var/log/gunicorn /var/run/gunicorn
runuser -u "$U" -- sh -c 'set -a; . "$1"; set +a; cd "$2"; exec "$3" -c config/gunicorn/dev.py' sh "$H/.DJANGO_SECRET_KEY" "$P" "$H/env/bin/gunicorn"
wait_http http://127.0.0.1:8000/

# --- Nginx (HTTP), static files
apt_install nginx
mkdir -p "/var/www/$DOMAIN/static" && chown "$U:$U" "/var/www/$DOMAIN/static"
as_app tee -a "$P/project/settings.py" >/dev/null <<PY
STATIC_URL = "/static/"
STATIC_ROOT = "/var/www/$DOMAIN/static"
STATICFILES_DIRS = [BASE_DIR / "static"]
DEBUG = False
PY
manage collectstatic --noinput >/dev/null
kill -HUP "$(cat /var/run/gunicorn/dev.pid)"
cat > "/etc/nginx/sites-available/$DOMAIN" <<NGINX
server_tokens off;
server {
    server_name .$DOMAIN;
    listen 80;
    location / {
        proxy_pass http://127.0.0.1:8000;
        proxy_set_header Host \$host;
    }
    location /static {
        alias /var/www/$DOMAIN/static/;
    }
}
NGINX
ln -sfn "/etc/nginx/sites-available/$DOMAIN" "/etc/nginx/sites-enabled/$DOMAIN"
rm -f /etc/nginx/sites-enabled/default
nginx -t -q
if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then nginx -s reload; else nginx; fi

# --- HTTPS: TLS 1.2+, certbot, certificate (RSA 4096), the final site file, security headers
sed -i -E 's/^([ \t]*)ssl_protocols\b[^;#]*;/\1ssl_protocols TLSv1.2 TLSv1.3;/' /etc/nginx/nginx.conf
apt_install certbot python3-certbot-nginx
nginx -s reload
certbot certonly --nginx --key-type rsa --rsa-key-size 4096 --cert-name "$DOMAIN" -d "$DOMAIN" -d "www.$DOMAIN" \
    -m "$EMAIL" --agree-tos --no-eff-email -n --server "$ACME_SERVER" >/dev/null 2>&1
as_app tee -a "$P/project/settings.py" >/dev/null <<'PY'
SECURE_HSTS_SECONDS = 30
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SILENCED_SYSTEM_CHECKS = ["security.W008"]
MIDDLEWARE = [*MIDDLEWARE, "csp.middleware.CSPMiddleware"]
CSP_DEFAULT_SRC = ("'self'",)
CSP_SCRIPT_SRC = ("'self'",)
CSP_STYLE_SRC = ("'self'", "cdn.jsdelivr.net")
CSP_IMG_SRC = ("'self'",)
CSP_FRAME_ANCESTORS = ("'none'",)
CSP_BASE_URI = ("'self'",)
CSP_FORM_ACTION = ("'self'",)
PY
cat > "/etc/nginx/sites-available/$DOMAIN" <<NGINX
server_tokens off;
server {
    listen 80 default_server;
    server_name _;
    return 444;
}
server {
    listen 443 ssl default_server;
    server_name _;
    ssl_reject_handshake on;
}
server {
    server_name .$DOMAIN;
    listen 80;
    return 307 https://\$host\$request_uri;
}
server {
    server_name .$DOMAIN;
    listen 443 ssl;
    ssl_certificate /etc/letsencrypt/live/$DOMAIN/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/$DOMAIN/privkey.pem;
    include /etc/letsencrypt/options-ssl-nginx.conf;
    ssl_dhparam /etc/letsencrypt/ssl-dhparams.pem;
    add_header Permissions-Policy "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()" always;
    location / {
        proxy_pass http://127.0.0.1:8000;
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_redirect off;
    }
    location /static {
        alias /var/www/$DOMAIN/static/;
    }
}
NGINX
nginx -t -q
nginx -s reload

# --- Go live: final HSTS, gunicorn prod on loopback, renewal dry run
as_app tee -a "$P/project/settings.py" >/dev/null <<PY
DEBUG = False
SECURE_HSTS_SECONDS = $HSTS_FINAL_SECONDS
PY
as_app tee "$P/config/gunicorn/prod.py" >/dev/null <<'PY'
import multiprocessing
wsgi_app = "project.wsgi:application"
workers = multiprocessing.cpu_count() * 2 + 1
bind = "127.0.0.1:8000"
accesslog = "/var/log/gunicorn/access.log"
errorlog = "/var/log/gunicorn/error.log"
capture_output = True
pidfile = "/var/run/gunicorn/prod.pid"
daemon = True
PY
dev=$(cat /var/run/gunicorn/dev.pid); kill -TERM "$dev"
for _ in $(seq 100); do kill -0 "$dev" 2>/dev/null || break; sleep 0.1; done
runuser -u "$U" -- sh -c 'set -a; . "$1"; set +a; cd "$2"; exec "$3" -c config/gunicorn/prod.py' sh "$H/.DJANGO_SECRET_KEY" "$P" "$H/env/bin/gunicorn"
wait_http http://127.0.0.1:8000/
certbot renew --dry-run --cert-name "$DOMAIN" --server "$ACME_SERVER" --no-random-sleep-on-renew -n >/dev/null 2>&1
curl -fsS -o /dev/null --resolve "$DOMAIN:443:127.0.0.1" "https://$DOMAIN/"
echo "hand-deploy: https://$DOMAIN/ is up"
