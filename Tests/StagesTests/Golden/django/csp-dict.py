# django-csp >= 4 reads only the CONTENT_SECURITY_POLICY dict (CSP_* settings are ignored).
from csp.constants import NONE, SELF

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "https://fonts.googleapis.com"],
        "img-src": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
