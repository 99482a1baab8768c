"""Serve single files shipped inside installed Python packages as static files (plotly.js from the
plotly package), so no asset comes from a CDN and none is copied into this repository."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# static path → (package, file inside the package)
PACKAGE_FILES = {
    "vendor/plotly.min.js": ("plotly", "package_data/plotly.min.js"),
}


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.exists() else None


class PackageFilesFinder(BaseFinder):
    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        target = PACKAGE_FILES.get(path)
        found = _package_file(*target) if target else None
        if found is None:
            return [] if find_all else None
        return [str(found)] if find_all else str(found)

    def list(self, ignore_patterns: Any) -> Any:
        for static_path, (package, relative) in PACKAGE_FILES.items():
            found = _package_file(package, relative)
            if found is None:
                continue
            storage = FileSystemStorage(location=str(found.parent))
            storage.prefix = str(Path(static_path).parent)  # type: ignore[attr-defined]
            yield found.name, storage
