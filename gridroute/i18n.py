"""UI translations with Babel: English message ids, zh-CN (the default UI language) from a .po
catalogue read at start-up, so no compile step is needed.

Templates look the catalogue up per call, from the language of the request being rendered
(`install`), instead of a catalogue installed into the shared Jinja environment per request:
with several server threads, that global swap let one request render in another's language.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Callable

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
    # every .po in the folder is read (messages.po first), so each part of the UI keeps its
    # own catalogue file; a message id defined twice keeps its first translation
    folder = TRANSLATIONS_DIR / language.replace("-", "_") / "LC_MESSAGES"
    paths = sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))
    catalog = None
    for po_path in paths:
        with po_path.open("rb") as fh:
            part = read_po(fh, locale=language.replace("-", "_"))
        if catalog is None:
            catalog = part
            continue
        for message in part:
            if message.id and message.id not in catalog:
                catalog[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def install(jinja_env, current_language: Callable[[], str]) -> None:
    """Bind `_`, `gettext`, `ngettext`, `pgettext` and `npgettext` in templates to the catalogue of
    `current_language()` at the moment each message is rendered (Jinja's newstyle gettext, so
    `_("%(n)s cells", n=3)` formats and escapes as usual)."""
    def catalogue() -> NullTranslations:
        return translations(current_language())

    jinja_env.add_extension("jinja2.ext.i18n")
    jinja_env.install_gettext_callables(
        gettext=lambda message: catalogue().gettext(message),
        ngettext=lambda singular, plural, n: catalogue().ngettext(singular, plural, n),
        pgettext=lambda context, message: catalogue().pgettext(context, message),
        npgettext=lambda context, singular, plural, n: catalogue().npgettext(
            context, singular, plural, n),
        newstyle=True)
