"""Which spec reads a file: a workbook by its template's fingerprint, a data file by its year and
region, or a refusal that says in one Chinese line which template the file is of.

A season's submissions mix years (a late 2022 report beside the 2023 ones), older form versions
and report kinds. Each workbook carries its template's fingerprint (the defined name
`xltools_template`, fingerprint.py); the registry knows the fingerprint of every spec it was given
and resolves each file to the spec that made its template. `check`, `pack`, `collect`, the add-in
and the Python API all ask it: the one spec a user named (`Registry.of`), the specs that come with
xltools (`Registry.packaged`), or those plus a folder of more (`Registry.from_dirs`).

A spec's fingerprint is known without laying the spec out (its text's hash and its [template]
table: `spec_info`); the spec itself is loaded when a file needs it, once per process while its
file is unchanged (`spec_at`).
"""
from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..build.names import FINGERPRINT_NAME
from ..errors import BookError, DataError, SpecError
from ..memo import register
from .fingerprint import Fingerprint
from .load import MAX_SPEC_BYTES, load_spec
from .model import Spec

# What a refusal tells the user to do when no spec reads a file (collect says --specs).
MORE_SPECS = "请用 --spec 指定生成该模板的规格文件"
LAST_SPEC_HINT = "请用 --last-spec 指定生成上年工作簿的规格文件"     # carry, check --previous
_TEMPLATE_TABLE = re.compile(rb"^\[template\][ \t]*\r?\n(.*?)(?=^[ \t]*\[)", re.M | re.S)


@dataclass(frozen=True)
class SpecInfo:
    """A spec as the registry knows it before loading it (picklable: collect's workers get it)."""
    path: str
    fingerprint: Fingerprint
    bureau: str
    form: str = ""               # the form's name ([template] form)
    any_region: bool = False     # [template] any_region: a data file of any region is read with it

    @property
    def year(self) -> int:
        return self.fingerprint.year

    @property
    def region(self) -> str:
        return self.fingerprint.region

    def describe(self, fp: Fingerprint | None = None) -> str:
        """Its template in words (or, `fp`, one built from it for another region or year)."""
        return (fp or self.fingerprint).describe(self.form)


def spec_info(path) -> SpecInfo:
    """The fingerprint of a spec file from its text's hash and its [template] table alone (the
    whole TOML takes 8 ms to parse, laying the spec out another 13 ms: a cold `xltools check`
    pays that once, for the spec it uses, not for every spec it knows)."""
    from ..files import read_regular
    raw = read_regular(path, MAX_SPEC_BYTES, SpecError, noun="规格文件")
    m = _TEMPLATE_TABLE.search(raw)
    try:
        t = tomllib.loads(m.group(1).decode("utf-8")) if m else {}
        if not {"year", "region", "form_version", "bureau"} <= set(t):
            t = tomllib.loads(raw.decode("utf-8"))["template"]
        fingerprint = Fingerprint.of(t["region"], int(t["year"]), int(t["form_version"]),
                                     hashlib.sha256(raw).hexdigest())
        return SpecInfo(str(path), fingerprint, t["bureau"], str(t.get("form", "")), t.get("any_region") is True)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError):
        load_spec(path)        # says what is wrong with the file, where, in Chinese
        raise SpecError(f"{path}：[template] 缺少 year、region、form_version 或 bureau") from None


# -- specs loaded once per process --------------------------------------------------------------
_LOADED: dict[tuple, Spec] = {}
_MAX_LOADED = 8
register("specs", lambda: (len(_LOADED), None), _LOADED.clear)


def spec_at(path, year: int | None = None, region: str | None = None) -> Spec:
    """The spec of a file (for another `year` or `region`, as `xltools template --year --region`
    builds it), loaded once per process while the file is unchanged (its path, size and
    modification time: an edited spec is read again); a few at most."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError:
        return load_spec(path)                # says which file and why, in Chinese
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, year, region)
    spec = _LOADED.get(key)
    if spec is None:
        if len(_LOADED) >= _MAX_LOADED:
            _LOADED.pop(next(iter(_LOADED)))
        spec = _LOADED[key] = load_spec(path, year=year, region=region)
    return spec


class Registry:
    """The specs a command knows, by fingerprint. `more`: what a refusal tells the user to do
    when no spec here reads a file."""

    def __init__(self, infos: list[SpecInfo], specs: dict[str, Spec] | None = None, more: str = MORE_SPECS):
        self.infos = list(infos)
        self.by_fingerprint = {i.fingerprint: i for i in self.infos}
        self._specs = dict(specs or {})       # fingerprint -> a spec given as an object
        self.more = more

    @classmethod
    def of(cls, spec: Spec) -> Registry:
        """The one spec a user named: every file is read with it, or refused."""
        return cls([SpecInfo(spec.path, spec.fingerprint, spec.bureau)], {spec.fingerprint: spec})

    @classmethod
    def packaged(cls) -> Registry:
        """The specs that come with xltools (the repository's specs/ in a checkout)."""
        from .shipped import spec_files
        files = spec_files()
        key = tuple((str(f), *_stamp(f)) for f in files)
        if _PACKAGED.get("key") != key:
            _PACKAGED.update(key=key, registry=cls._of_files(files))
        return _PACKAGED["registry"]

    @classmethod
    def from_dirs(cls, extra_dirs=(), more: str = MORE_SPECS) -> Registry:
        """The packaged specs and those of each folder in `extra_dirs` (*.toml)."""
        from .shipped import spec_files
        files = spec_files()
        for d in extra_dirs:
            d = Path(d)
            if not d.is_dir():
                raise SpecError(f"规格文件夹 {d} 不存在或不是文件夹")
            found = sorted(d.glob("*.toml"))
            if not found:
                raise SpecError(f"规格文件夹 {d} 中没有规格文件（*.toml）")
            files.extend(found)
        return cls._of_files(files, more)

    @classmethod
    def _of_files(cls, files, more: str = MORE_SPECS) -> Registry:
        infos: dict[str, SpecInfo] = {}
        for f in files:
            info = spec_info(f)
            infos.setdefault(info.fingerprint, info)     # the same spec twice (a copy in --specs DIR)
        return cls(list(infos.values()), more=more)

    def saying(self, more: str) -> Registry:
        """The same specs, whose refusal tells the user `more` (carry: --last-spec, not --spec)."""
        return Registry(self.infos, self._specs, more)

    def with_packaged(self) -> Registry:
        """These specs and those that come with xltools (what last year's file is read with: its
        form may be one the user did not name for this year's)."""
        more = [i for i in Registry.packaged().infos if i.fingerprint not in self.by_fingerprint]
        return self if not more else Registry(self.infos + more, self._specs, self.more)

    # -- the specs ----------------------------------------------------------------------------
    def spec(self, info: SpecInfo, year: int | None = None, region: str | None = None) -> Spec:
        """The spec of `info`; for another year or region (a template built with --year,
        --region from the same spec text: the same rules)."""
        if year in (None, info.year) and region in (None, info.region):
            return self._specs.get(info.fingerprint) or spec_at(info.path)
        return spec_at(info.path, year, region)

    def specs(self) -> list[Spec]:
        return [self.spec(i) for i in self.infos]

    def known(self) -> str:
        return "、".join(i.describe() for i in self.infos)

    # -- resolving ----------------------------------------------------------------------------
    def resolve(self, source, label: str) -> Spec:
        """The spec that reads `source`: an opened workbook (xlsx.Book) by its template's
        fingerprint, a data file's document (a mapping) by its year and region. A file no spec
        here reads raises BookError/DataError: a refusal code (catalogue.REFUSALS) and the line."""
        if isinstance(source, Mapping):
            return self._for_data(source, label)
        return self._for_book(source, label)

    def _for_book(self, book, label: str) -> Spec:
        found = book.defined_name(FINGERPRINT_NAME)
        fp = Fingerprint.parse(found)
        if fp is None:
            what = f"模板标识 {FINGERPRINT_NAME} 为“{found.strip(chr(34))}”，无法识别" if found \
                else f"缺少模板标识 {FINGERPRINT_NAME}"
            raise BookError(f"文件 {label} 不是本工具的模板生成的工作簿（{what}）", "other-template")
        spec = self.spec_of(fp)
        if spec is not None:
            return spec
        same = [i.fingerprint for i in self.infos if (i.region, i.year) == (fp.region, fp.year)]
        if same:
            raise BookError(f"文件 {label} 的模板（{fp}）与规格（{'、'.join(same)}）的版本不一致，"
                            "请用生成它的规格校验，或让填报单位改用新模板", "other-template")
        raise BookError(f"文件 {label} 是{fp.describe()}（{fp}），与现有规格（{self.known()}）不符；{self.more}",
                        "other-template")

    def spec_of(self, fp: Fingerprint) -> Spec | None:
        """The spec that made a template with this fingerprint: a known one, or one whose very
        text built it for another region or year (`xltools template --region --year`)."""
        info = self.by_fingerprint.get(fp)
        if info is not None:
            return self.spec(info)
        made_from = [i for i in self.infos if (i.fingerprint.digest, i.fingerprint.form_version) == (fp.digest, fp.form_version)]
        return self.spec(made_from[0], fp.year, fp.region) if made_from else None

    def _for_data(self, doc: Mapping, label: str) -> Spec:
        if len(self.infos) == 1:            # the data file's year and region are checked as it is read
            return self.spec(self.infos[0])
        year, region = doc.get("year"), doc.get("region")
        keys = set(doc) - {"year", "region"}

        def fits(infos):                    # report kinds of one year: the one whose keys the file uses
            if len(infos) < 2:
                return infos
            return [i for i in infos if keys <= {r.data for r in self.spec(i).reports.values()}] or infos

        matches = fits([i for i in self.infos if str(i.year) == str(year).strip() and region in (None, i.region)])
        if matches:
            return self.spec(max(matches, key=lambda i: i.fingerprint.form_version))
        if year is None:                    # no year said: the first spec whose keys it uses (the default first)
            return self.spec(fits(self.infos)[0])
        # a spec for any region ([template] any_region), read for the file's region
        anywhere = [i for i in self.infos if i.any_region and str(i.year) == str(year).strip()]
        anywhere = [i for i in anywhere if keys <= {r.data for r in self.spec(i).reports.values()}]
        if anywhere and isinstance(region, str) and region.strip():
            return self.spec(max(anywhere, key=lambda i: i.fingerprint.form_version), region=region.strip())
        raise DataError(f"数据文件 {label} 的年度 {year!r}、地区 {region!r} 没有对应的规格"
                        f"（现有规格：{self.known()}）；{self.more}", "other-template")


_PACKAGED: dict = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
