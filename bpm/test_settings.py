"""The project's settings for the test suite: the same, but for the test servers.

Django's test client and pytest-django's live server speak plain HTTP on 127.0.0.1, so the
redirect to HTTPS, HSTS and Secure-only cookies (on by default with DEBUG off) are turned
off here, and only here. tests/security/test_hardening.py checks the real defaults.
"""

from .settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
