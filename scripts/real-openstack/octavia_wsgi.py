"""WSGI entry point for the Octavia API under gunicorn (scripts/real-openstack/start.sh).

`octavia.wsgi.api` parses `sys.argv`, which under gunicorn holds gunicorn's own arguments,
so build the app ourselves and hand it the config file from $OCTAVIA_CONF.
"""
import os

from octavia.api import app as _app

application = _app.setup_app(
    argv=["octavia-api", "--config-file", os.environ["OCTAVIA_CONF"]])
