"""gunicorn's settings for the portal: `gunicorn --config python:portal.gunicorn_conf portal.wsgi:application`.

Only logging lives here: the error log and the access log (on, to stderr, in gunicorn's combined
format) through the portal's own configuration (portal/logging.py), so request lines come out as
JSON in production and a signed download link's signature never reaches them.
"""

from __future__ import annotations

from portal.logging import logging_config_from_env

logconfig_dict = logging_config_from_env()
