"""The portal's settings with the bench's URLconf (the stock admin baseline beside the portal)."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.list_pages_urls"
