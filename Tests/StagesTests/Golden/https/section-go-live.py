# Production: no debug pages, and the final HSTS max-age (confirmed at go-live; browsers keep it
# for this long, it cannot be taken back).
DEBUG = False
SECURE_HSTS_SECONDS = 2592000
