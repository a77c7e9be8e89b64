# Static files are collected into STATIC_ROOT and served by nginx itself.
STATIC_URL = "/static/"
STATIC_ROOT = "/var/www/supersecure.test/static"
STATICFILES_DIRS = [BASE_DIR / "static"]
DEBUG = False
