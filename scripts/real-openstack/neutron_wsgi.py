"""WSGI entry point for the Neutron API under gunicorn (scripts/real-openstack/start.sh).

Neutron 29 has no `neutron-server` command; `neutron.wsgi.api` builds the app at import
time and reads `sys.argv`, which under gunicorn holds gunicorn's arguments. Config files come
from $OS_NEUTRON_CONFIG_DIR and $OS_NEUTRON_CONFIG_FILES ("neutron.conf;ml2_conf.ini").
"""
import sys

sys.argv = ["neutron-api"]

from neutron.wsgi.api import application  # noqa: E402,F401
