"""On-disk cache of validated grids and their built locator index (网格索引缓存).

Validating, hashing and indexing a city's grid takes seconds; every process (``serve``, the
scheduler, each ``gridroute locate``) would otherwise pay it again. An entry holds the
validated cells (codes, names, tags, polygons) and the locator's arrays in one ``.npz`` file
named by its key, the index format version and the build parameters. The key is the grid's
content hash where that is known (a stored grid version: ``serve``, the scheduler), or the
fingerprint of the grid file's bytes and validation settings (``gridroute locate``).

An entry is used only when everything in it matches what is asked for: the format version,
the content hash, the working CRS and snap distance recorded inside it, the sizes of its
arrays, and the zip's CRC-32 of every member (checked while reading). Anything else (another
version's file, a truncated or edited file, a file renamed by hand) counts as a miss: the
caller rebuilds and the entry is overwritten. Nothing is unpickled.

``gridroute locate`` knows the grid file, not its content hash: :meth:`GridCache.source_key`
fingerprints the file's bytes together with the settings validation depends on, in one pass,
and names the entry (hashing the validated cells would cost as much as indexing them).
"""
from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from gridroute.grids.locator import INDEX_FORMAT, Locator

__all__ = ["CachedGrid", "GridCache"]

log = logging.getLogger(__name__)

_ATTRIBUTE_COLUMNS = ("community_name", "street_name", "district_name", "tags")


@dataclass
class CachedGrid:
    """A cache entry: the locator and, per cell in code order, names and tags."""

    locator: Locator
    attributes: dict[str, list[str | None]]


def _params_key(working_crs: str, snap_m: float) -> str:
    text = json.dumps({"working_crs": working_crs, "snap_m": float(snap_m)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class GridCache:
    """A directory of cache entries; every method degrades to "no cache" on I/O errors."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    # ------------------------------------------------------------------------- entries

    def entry_path(self, content_hash: str, working_crs: str, snap_m: float) -> Path:
        return self.directory / (f"grid-{content_hash[:32]}-f{INDEX_FORMAT}-"
                                 f"{_params_key(working_crs, snap_m)}.npz")

    def load(self, content_hash: str, *, working_crs: str, snap_m: float) -> CachedGrid | None:
        """The entry for this content and build, or None (missing or not matching)."""
        path = self.entry_path(content_hash, working_crs, snap_m)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            meta = json.loads(bytes(arrays.pop("meta")).decode("utf-8"))
            if (meta.get("content_hash") != content_hash or meta.get("format") != INDEX_FORMAT
                    or meta.get("working_crs") != working_crs
                    or float(meta.get("snap_m", -1)) != float(snap_m)):
                raise ValueError("entry was built for another grid or other settings")
            attributes = {}
            for name in _ATTRIBUTE_COLUMNS:
                values = arrays.pop("attr_" + name).tolist()
                if len(values) != int(meta["n"]):
                    raise ValueError(f"{name}: {len(values)} values for {meta['n']} cells")
                attributes[name] = [v or None for v in values] if name != "tags" else values
            locator = Locator.from_state(meta, arrays)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile,
                UnicodeDecodeError) as exc:
            log.warning("grid cache entry %s not used (%s); rebuilding", path, exc)
            return None
        return CachedGrid(locator, attributes)

    def store(self, content_hash: str, locator: Locator,
              attributes: dict[str, Iterable[Any]] | None = None) -> Path | None:
        """Write the entry atomically (temporary file, then rename); None when not writable."""
        meta, arrays = locator.state()
        meta["content_hash"] = content_hash
        n = len(locator)
        for name in _ATTRIBUTE_COLUMNS:
            values = list((attributes or {}).get(name) or [""] * n)
            if name == "tags":
                values = [",".join(v) if isinstance(v, (list, tuple)) else (v or "")
                          for v in values]
            arrays["attr_" + name] = np.array(["" if v is None else str(v) for v in values],
                                              dtype=str)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        path = self.entry_path(content_hash, locator.working_crs, locator.snap_m)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".grid-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(fh, **arrays)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("grid cache %s not writable (%s); continuing without it",
                        self.directory, exc)
            return None
        return path

    # ------------------------------------------------------------------------- sources

    @staticmethod
    def source_key(path: str | os.PathLike, settings: dict[str, Any],
                   extra_files: Iterable[str | os.PathLike] = ()) -> str:
        """sha256 over the grid file's bytes (every file of a directory; a Shapefile's
        companion files; a GeoPackage's journal), the files it is combined with (street
        names) and the settings its validation depends on."""
        h = hashlib.sha256()
        h.update(json.dumps(settings, sort_keys=True, default=str).encode("utf-8"))
        p = Path(path)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file())
        else:
            files = [p] + [f for f in _companions(p) if f.is_file()]
        for f in files + [Path(e) for e in extra_files]:
            h.update(f.name.encode("utf-8") + b"\0")
            if f.is_file():
                with f.open("rb") as fh:
                    h.update(hashlib.file_digest(fh, "sha256").digest())
        return h.hexdigest()


_SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".shp.xml")


def _companions(path: Path) -> list[Path]:
    """The files GDAL reads along with ``path``: a Shapefile's attribute table, projection
    and encoding; a GeoPackage's (SQLite) write-ahead log and journal."""
    if path.suffix.lower() == ".shp":
        stem = path.name[:-4]
        return sorted(f for f in path.parent.glob(glob.escape(stem) + ".*")
                      if f != path and f.name[len(stem):].lower() in _SHAPEFILE_PARTS)
    return [path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
