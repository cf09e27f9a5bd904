"""UI translations with Babel: English message ids, zh-CN (the default UI language) from a .po
catalogue read at start-up, so no compile step is needed."""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "web" / "translations"
SUPPORTED = ("zh-CN", "en")


def normalize_language(value: str | None, default: str = "zh-CN") -> str:
    if not value:
        return default
    value = value.strip().replace("_", "-")
    lowered = value.lower()
    if lowered.startswith("zh"):
        return "zh-CN"
    if lowered.startswith("en"):
        return "en"
    return default


@lru_cache(maxsize=None)
def translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    po_path = TRANSLATIONS_DIR / language.replace("-", "_") / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=language.replace("-", "_"))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)
