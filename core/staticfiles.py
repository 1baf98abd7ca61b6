"""The static files' storages, with each file's URL remembered: a page asks for some 30 through
`{% static %}`, each a urljoin (and in production a manifest lookup too), and a file's URL does not change
while a process runs (collecting them again takes a restart of the server)."""

from functools import lru_cache

from django.contrib.staticfiles import storage
from whitenoise.storage import CompressedManifestStaticFilesStorage as WhiteNoiseStorage


class StaticFilesStorage(storage.StaticFilesStorage):
    url = lru_cache(maxsize=1024)(storage.StaticFilesStorage.url)


class CompressedManifestStaticFilesStorage(WhiteNoiseStorage):
    url = lru_cache(maxsize=1024)(WhiteNoiseStorage.url)
