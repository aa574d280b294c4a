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

# The invoice example's archive step is a Java class: bind it to a no-op connector, as a
# deployment binds it to whatever archives invoices there (docs/MODELING.md).
BPM = {  # noqa: F405
    **BPM,  # noqa: F405
    "JAVA_CLASS_BINDINGS": {
        **BPM.get("JAVA_CLASS_BINDINGS", {}),  # noqa: F405
        "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService": "set-variables",
    },
}
