"""The template's fingerprint: which spec made a workbook, as the workbook itself says it.

A template carries it in the defined name `xltools_template` (build/names.py), as the text
`xltools:临湘市:2022:v1:3f2a…` (region, year, form version, the first 16 hex digits of the
sha256 of the spec's text). It is written, parsed and described here only: the registry picks
a workbook's spec by it (registry.py), and a refusal names the template in words
("临湘市2022年度模板（第1版）"). No import beyond the standard library and the name's declaration:
the checker's cold start reads it.
"""
from __future__ import annotations

import re

from ..build.names import FINGERPRINT_NAME

PREFIX = "xltools"
DIGEST_CHARS = 16
_SHAPE = re.compile(r"xltools:(?P<region>.+):(?P<year>\d{4}):v(?P<version>\d+):(?P<digest>[0-9a-f]{16})")


class Fingerprint(str):
    """The fingerprint text itself (so it compares, prints and serialises as the text the
    workbook carries), with its parts readable."""

    __slots__ = ()

    @classmethod
    def of(cls, region: str, year: int, form_version: int, digest: str) -> Fingerprint:
        return cls(f"{PREFIX}:{region}:{year}:v{form_version}:{digest[:DIGEST_CHARS]}")

    @classmethod
    def parse(cls, text: str | None) -> Fingerprint | None:
        """The fingerprint a workbook's defined name holds (quotes and all), or None when the
        text is not one (absent, or written by something else)."""
        text = (text or "").strip().strip('"')
        return cls(text) if _SHAPE.fullmatch(text) else None

    @classmethod
    def of_book(cls, book) -> Fingerprint | None:
        """The fingerprint an opened workbook (xlsx.Book: any prefix, any encoding) carries, or None."""
        return cls.parse(book.defined_name(FINGERPRINT_NAME))

    def _part(self, name: str) -> str:
        m = _SHAPE.fullmatch(self)
        return m.group(name) if m else ""

    @property
    def region(self) -> str:
        return self._part("region")

    @property
    def year(self) -> int:
        return int(self._part("year") or 0)

    @property
    def form_version(self) -> int:
        return int(self._part("version") or 0)

    @property
    def digest(self) -> str:
        return self._part("digest")

    def describe(self, form: str = "") -> str:
        """The template in words: 临湘市2022年度模板（第1版）; with the form's name, when the spec
        that made it gives one: 通用2022年度项目支出绩效自评表模板（第1版）."""
        return f"{self.region}{self.year}年度{form}模板（第{self.form_version}版）"
