"""The pages' languages: zh-CN first, English by choice (a cookie). The catalogs are the
.po files under locale/, compiled in memory when this module is imported: no build step,
and no compiled file to fall out of date."""

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}  # as the cookie and <html lang> say it: catalog
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_COOKIE = "tb_lang"


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / LANGUAGES[language] / "LC_MESSAGES" / "messages.po"


def _compiled(language: str) -> gettext.GNUTranslations:
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=LANGUAGES[language])
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


TRANSLATIONS = {language: _compiled(language) for language in LANGUAGES}


def language_of(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE
