"""Photos (照片) attached to reports: checked by content (Pillow), never by file name; EXIF
GPS read (offered as the location when a report has none); every EXIF tag stripped; scaled to
the configured longest side; stored by content hash. Served only to those who may see the case.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

from gridroute.cases.model import Case
from gridroute.services.context import AppContext
from gridroute.services.errors import NotFound, ServiceError
from gridroute.store.photos import PHOTO_NAME, PhotoStore

# Pillow format → (stored extension, media type)
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
           "WEBP": ("webp", "image/webp")}
MEDIA_TYPES = {ext: media for ext, media in FORMATS.values()}
# Larger pictures are refused before decoding (a small file can expand to gigabytes).
MAX_PIXELS = 64_000_000
_GPS_IFD = 0x8825


@dataclass(frozen=True)
class Upload:
    """One uploaded file as an entrypoint received it."""

    data: bytes
    filename: str = ""


@dataclass(frozen=True)
class StoredPhoto:
    name: str  # <sha256>.<ext>, what the case's `photos` list holds
    media_type: str
    width: int
    height: int
    size: int
    gps: tuple[float, float] | None  # (lon, lat) WGS84 from EXIF, if the camera wrote it


def photo_store(ctx: AppContext) -> PhotoStore:
    return PhotoStore(ctx.config.photos.dir)


def check_count(ctx: AppContext, existing: int, new: int, field: str = "media") -> None:
    limit = ctx.config.photos.max_per_case
    if existing + new > limit:
        raise ServiceError(f"{existing + new} photos; a case carries at most {limit}",
                           field=field)


def _rational(value) -> float:
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _dms(values) -> float:
    degrees, minutes, seconds = (_rational(v) for v in values)
    return degrees + minutes / 60 + seconds / 3600


def exif_gps(image: Image.Image) -> tuple[float, float] | None:
    """(lon, lat) from the EXIF GPS block; GNSS positions are WGS84. None when absent or
    unreadable (a damaged tag must not refuse the photo)."""
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
        if not gps or 2 not in gps or 4 not in gps:
            return None
        lat, lon = _dms(gps[2]), _dms(gps[4])
        if str(gps.get(1, "N")).upper().startswith("S"):
            lat = -lat
        if str(gps.get(3, "E")).upper().startswith("W"):
            lon = -lon
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lon, lat


def process(ctx: AppContext, upload: Upload, *, field: str = "media") -> StoredPhoto:
    """Check, clean, scale and store one photo."""
    limits = ctx.config.photos
    label = f"{field} ({upload.filename})" if upload.filename else field
    if len(upload.data) > limits.max_bytes:
        raise ServiceError(f"is {len(upload.data)} bytes; a photo may have at most "
                           f"{limits.max_bytes} bytes", field=label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(upload.data))
            if image.format not in FORMATS:
                raise ServiceError(f"is {image.format or 'an unknown'} image content; "
                                   "accepted: JPEG, PNG, WebP", field=label)
            if image.width * image.height > MAX_PIXELS:
                raise ServiceError(f"is {image.width}x{image.height} pixels; at most "
                                   f"{MAX_PIXELS} pixels", field=label)
            image.load()
    except ServiceError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise ServiceError("is not a JPEG, PNG or WebP image (judged by its content)",
                           field=label) from None
    except (OSError, SyntaxError, ValueError):
        raise ServiceError("is a damaged or truncated image", field=label) from None
    fmt = image.format
    gps = exif_gps(image)
    # turn the pixels as the camera meant before the orientation tag goes with the rest
    image = ImageOps.exif_transpose(image)
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.thumbnail((limits.max_side_px, limits.max_side_px), Image.Resampling.LANCZOS)
    image.info = {}  # EXIF, XMP, comments, ICC: nothing from the upload is written back
    buffer = io.BytesIO()
    ext, media_type = FORMATS[fmt]
    options = {"quality": 85} if fmt in ("JPEG", "WEBP") else {}
    image.save(buffer, format=fmt, **options)
    data = buffer.getvalue()
    name = photo_store(ctx).put(data, ext)
    return StoredPhoto(name, media_type, image.width, image.height, len(data), gps)


def process_all(ctx: AppContext, uploads: Sequence[Upload], *, existing: int = 0,
                field: str = "media") -> list[StoredPhoto]:
    check_count(ctx, existing, len(uploads), field)
    return [process(ctx, upload, field=field) for upload in uploads]


@dataclass(frozen=True)
class PhotoFile:
    path: Path
    media_type: str


def photo_file(ctx: AppContext, case_ref: int | str, name: str,
               may_see: Callable[[Case], bool]) -> PhotoFile:
    """The file of photo `name` of case `case_ref`, if `may_see(case)`; otherwise (and for a
    photo the case does not carry) NotFound, so nobody learns that a hidden case exists."""
    from gridroute.services.workflow import find_case

    with ctx.uow(read_only=True) as uow:
        case = find_case(uow, case_ref)
        known = set(case.photos or [])
        if may_see(case) and name not in known:
            # photos of a unit's reply (处置反馈) travel in its history event
            for event in uow.cases.events(case.id):
                known.update(p for p in (event.payload or {}).get("photos") or []
                             if isinstance(p, str))
    if not may_see(case) or name not in known:
        raise NotFound(f"no photo {name!r} on case {case_ref!r}", field="photo")
    store = photo_store(ctx)
    path = store.path_of(name)
    if path is None or not path.is_file():
        raise NotFound(f"photo {name!r} is missing from the photo store", field="photo")
    return PhotoFile(path, MEDIA_TYPES[PHOTO_NAME.fullmatch(name).group(2)])


def case_photos(case: Case) -> list[dict]:
    """What a case view lists for each photo: its name, media type and URL path."""
    return [{"name": name, "media_type": MEDIA_TYPES.get(name.rsplit(".", 1)[-1], ""),
             "url": f"/photos/{case.public_id}/{name}"} for name in case.photos or []]
