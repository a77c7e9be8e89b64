# HSTS starts small (30 s, the tutorial's ramp): go-live raises it once HTTPS is
# known to work, since browsers keep the policy for max-age seconds.
SECURE_HSTS_SECONDS = 30
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# nginx terminates TLS and passes the scheme on (proxy_set_header X-Forwarded-Proto $scheme).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# nginx answers every plain-HTTP request with a redirect to HTTPS before it reaches Django, and
# gunicorn listens on 127.0.0.1 only; SECURE_SSL_REDIRECT would also redirect the checks made on
# the server itself (http://127.0.0.1:8000/), so its deploy check (W008) is silenced.
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "security.W008"]
# Content-Security-Policy (django-csp): only this site's scripts and styles (and the CDN
# stylesheet); inline scripts and styles are not allowed.
if "csp.middleware.CSPMiddleware" not in MIDDLEWARE:
    MIDDLEWARE = [*MIDDLEWARE, "csp.middleware.CSPMiddleware"]
# django-csp < 4 reads CSP_* settings.
CSP_DEFAULT_SRC = ("'self'",)
CSP_SCRIPT_SRC = ("'self'",)
CSP_STYLE_SRC = ("'self'", "cdn.jsdelivr.net")
CSP_IMG_SRC = ("'self'",)
CSP_FRAME_ANCESTORS = ("'none'",)
CSP_BASE_URI = ("'self'",)
CSP_FORM_ACTION = ("'self'",)
