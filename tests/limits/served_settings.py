"""Production settings for the served-site test, except static files come from the finders.

The manifest storage needs `collectstatic`, which would write into the repository; everything
else (DEBUG off, secure cookies, the budgets) is playground.settings as deployed.
"""

from __future__ import annotations

from playground.settings import *  # noqa: F403
from playground.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
