import os

# The key lives only on the server, in /home/django/.DJANGO_SECRET_KEY (mode 0600).
try:
    SECRET_KEY = os.environ["SECRET_KEY"]
except KeyError as e:
    raise RuntimeError("Could not find a SECRET_KEY in environment") from e

# A leading dot matches the domain and its subdomains (www.).
# 127.0.0.1 and localhost are for checks run on the server itself.
ALLOWED_HOSTS = [".supersecure.test", "127.0.0.1", "localhost"]
if "myapp" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "myapp"]
