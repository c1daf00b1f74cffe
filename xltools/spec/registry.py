"""Which spec reads which workbook: template fingerprint -> spec, over the packaged specs and more.

A season's submissions mix years (a late 2022 report beside the 2023 ones) and sometimes an
older form version. Each workbook carries its template's fingerprint (the defined name
`xltools_template`, see read/workbook.py `fingerprint_of`); the registry knows the fingerprint of every
spec it was given, so each file is checked against the spec that made its template. A data
file carries no fingerprint: it is matched by its year and region.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecError
from .load import load_spec
from .model import Spec


def packaged_spec_files() -> list[Path]:
    """The specs that ship with xltools (package data; the repository's specs/ in a checkout)."""
    from .shipped import spec_files
    return spec_files()


@dataclass(frozen=True)
class SpecInfo:
    path: str
    fingerprint: str
    year: int
    region: str
    bureau: str


class Registry:
    """Fingerprint -> spec path, built once in the parent; workers load the spec they need."""

    def __init__(self, infos: list[SpecInfo]):
        self.infos = infos
        self.by_fingerprint = {i.fingerprint: i for i in infos}

    @classmethod
    def from_dirs(cls, extra_dirs=()) -> "Registry":
        files = packaged_spec_files()
        for d in extra_dirs:
            d = Path(d)
            if not d.is_dir():
                raise SpecError(f"规格文件夹 {d} 不存在或不是文件夹")
            found = sorted(d.glob("*.toml"))
            if not found:
                raise SpecError(f"规格文件夹 {d} 中没有规格文件（*.toml）")
            files.extend(found)
        infos, seen = [], set()
        for f in files:
            spec = load_spec(f)
            if spec.fingerprint in seen:   # the same spec given twice (a copy in --specs DIR)
                continue
            seen.add(spec.fingerprint)
            infos.append(SpecInfo(str(f), spec.fingerprint, spec.year, spec.region, spec.bureau))
        return cls(infos)

    def for_fingerprint(self, fingerprint: str | None) -> SpecInfo | None:
        return self.by_fingerprint.get(fingerprint) if fingerprint else None

    def for_data(self, year, region) -> SpecInfo | None:
        """A data file's spec by its year and region; the newest form version when several match."""
        matches = [i for i in self.infos if str(i.year) == str(year).strip() and (region is None or i.region == region)]
        return max(matches, key=lambda i: i.fingerprint) if matches else None

    def known(self) -> str:
        return "、".join(f"{i.region}{i.year}年度" for i in self.infos)


_LOADED: dict[str, Spec] = {}


def spec_at(path: str) -> Spec:
    """A spec loaded once per process (a worker checks hundreds of files against a few specs)."""
    spec = _LOADED.get(path)
    if spec is None:
        spec = _LOADED[path] = load_spec(path)
    return spec
