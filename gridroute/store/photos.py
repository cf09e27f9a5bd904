"""Photo files, one per content hash (SHA-256) under the configured directory:
`<dir>/<first two hex digits>/<hash>.<ext>`. The same photo uploaded twice is stored once."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

PHOTO_NAME = re.compile(r"([0-9a-f]{64})\.(jpg|png|webp)")


class PhotoStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_of(self, name: str) -> Path | None:
        """Where photo `name` lives, or None when the name is not one this store gives out
        (so a crafted name can never point outside the directory)."""
        if not PHOTO_NAME.fullmatch(name or ""):
            return None
        return self.root / name[:2] / name

    def put(self, data: bytes, ext: str) -> str:
        """Store `data`, durable on disk before the name is returned (the case row that
        refers to it is committed afterwards)."""
        name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
        path = self.path_of(name)
        if path.exists():
            return name
        path.parent.mkdir(parents=True, exist_ok=True)
        # written beside its final place and renamed: a reader never sees half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name

    def exists(self, name: str) -> bool:
        path = self.path_of(name)
        return path is not None and path.is_file()
