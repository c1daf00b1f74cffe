"""`xltools pack BOOK... -o DIR`: the folder (or zip) a unit hands in to the 财政局.

For each workbook, one folder named as its spec declares (`[pack] name`, 2022:
`{年度}_{单位}_绩效自评/`) holding: a PDF of each report sheet and
one of the whole report in print order (the paper form: no colours, whole text), the
values-only workbook, the data as JSON in the format `xltools fill` reads, manifest.json and
SHA256SUMS. The steps are a flat list of `_write_*` functions, each writing one output into a
private folder beside the target, which is renamed into place when all are done: a folder or
zip appears complete or not at all. The source workbook is only read.

A workbook with error findings is refused unless `force`: then every PDF page carries the
watermark 未通过校验 and the manifest says `forced: true` with the findings.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable

from .. import __version__, legacy
from ..errors import XltoolsError, unexpected
from ..files import atomic_writer, clear_stale_temps, temp_path, write_atomic
from ..findings import ERROR, Finding
from ..ooxml.container import FIXED_TIME
from ..spec.model import Spec
from ..spec.registry import Registry

WATERMARK = "未通过校验"
DATA_NAME = "数据.json"
MANIFEST = "manifest.json"
GENERATOR = "xltools pack"               # the manifest's "generator": what made a pack
SUMS = "SHA256SUMS"
# What a file name may not hold: what Windows and zip readers refuse, control characters, lone
# surrogates (a name that cannot be written in UTF-8).
_UNSAFE = re.compile('[\\\\/:*?"<>|\x00-\x1f\x7f\ud800-\udfff]+')
# The longest a unit's or a project's part of a name may be (UTF-8 bytes): with the rest of the
# longest name pack makes it stays well within the 255 bytes a file name may have.
NAME_MAX_BYTES = 150
# What pack says about the names of its outputs (catalogue entries).
CODES = ("pack-name-taken", "pack-name-shortened")

# pdf_maker(src, {pdf path: [sheet, …] or None for every sheet}, watermark=str|None, pdfa=bool)
PdfMaker = Callable[..., object]


@dataclass
class PackResult:
    source: Path
    ok: bool                               # packed (possibly forced)
    output: Path | None = None             # the folder or the zip
    refused: bool = False                  # error findings and no force: nothing written
    forced: bool = False
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None               # the workbook could not be packed at all
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]


def safe_name(text: str, max_bytes: int = NAME_MAX_BYTES) -> str:
    """A file-name part: characters Windows or zip readers refuse become _, no leading or
    trailing dot or space (`.` and `..` are no names), at most `max_bytes` (cut with …)."""
    name = _UNSAFE.sub("_", str(text)).strip(" .") or "_"
    if len(name.encode()) <= max_bytes:
        return name
    return name.encode()[:max_bytes - 3].decode("utf-8", "ignore").rstrip(" .") + "…"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the data file (what `xltools fill` reads) ----------------------------------------------------
def _plain(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return value


def data_document(filled, spec: Spec) -> dict:
    """Every report as the values copy shows it, in the shape `xltools fill` reads (read/data.py):
    the stated inputs and the figures the template computes from them (totals, composite score,
    grade), so that `check` and `collect` of the data file see every figure of the PDF."""
    from ..formulas import evaluate, input_defaults
    from ..read.coerce import is_blank
    from ..read.data import nested

    def section(inst):
        rep = inst.report
        inputs = {n: v for n, v in inst.values.items() if rep.fields[n].kind == "input"}
        computed, _ = evaluate(rep, spec, {**input_defaults(rep), **inputs})
        filled_rows = {(rep.fields[n].table, rep.fields[n].row) for n, v in inputs.items() if not is_blank(v)}
        shown = dict(inputs)
        for f in rep.computed:       # a table's blank row stays blank (its sums are 0)
            if f.table in rep.tables and (f.table, f.row) not in filled_rows \
                    and f.row != rep.tables[f.table].total_row:
                continue
            shown[f.name] = computed.get(f.name)
        return nested(rep, {n: _plain(v) for n, v in shown.items()})
    doc: dict = {"year": spec.year, "region": spec.region}
    for rep in spec.reports.values():
        sections = [section(i) for i in filled.instances if i.report.id == rep.id]
        doc[rep.data] = sections if rep.copied else (sections[0] if sections else {})
    return doc


# -- one workbook --------------------------------------------------------------------------------
@dataclass
class _Job:
    source: Path
    data: bytes
    spec: Spec
    filled: object
    report: object
    forced: bool
    pdfa: bool
    pdf_maker: PdfMaker
    tmp: Path                    # the private folder being filled
    name: str                    # the spec's pack name: {年度}_{单位}_绩效自评
    stamp: datetime
    files: dict[str, bytes] = field(default_factory=dict)   # name -> bytes of every output
    values_book: bytes = b""
    moved: dict[str, dict] = field(default_factory=dict)    # sheet -> inputs the old layout moved


def _pdf_names(job: _Job) -> dict[str, list[str] | None]:
    """PDF file name -> sheets it prints, in print order: the whole report, then each report's
    (its spec's `pdf`; a copy by its name)."""
    out: dict[str, list[str] | None] = {f"{job.name}.pdf": None}
    for inst in job.filled.instances:
        rep = inst.report
        copy_name = inst.values.get(job.spec.identity.copy_name) if rep.copied else None
        base = rep.pdf.format(sheet=safe_name(rep.sheet), name=safe_name(copy_name or inst.sheet))
        name, k = f"{base}.pdf", 2
        while name in out:
            name, k = f"{base} ({k}).pdf", k + 1
        out[name] = [inst.sheet]
    return out


def _write_values_workbook(job: _Job) -> None:
    from .frozen import values_only
    job.values_book = values_only(job.data, job.filled, job.spec, job.moved).to_bytes()
    _put(job, f"{job.name}.xlsx", job.values_book)


def _write_pdfs(job: _Job) -> None:
    from .frozen import print_copy
    work = job.tmp / ".print"
    work.mkdir()
    src = work / f"{job.name}.xlsx"
    src.write_bytes(print_copy(job.values_book, job.filled, job.spec))
    names = _pdf_names(job)
    outputs = {work / n: sheets for n, sheets in names.items()}
    job.pdf_maker(src, outputs, watermark=WATERMARK if job.forced else None, pdfa=job.pdfa)
    for n in names:
        made = work / n
        if not made.is_file() or made.stat().st_size == 0:
            raise XltoolsError(f"未生成 PDF：{n}")
        _put(job, n, pinned_pdf(made.read_bytes(), job.stamp))
    shutil.rmtree(work)


def _write_data(job: _Job) -> None:
    text = json.dumps(data_document(job.filled, job.spec), ensure_ascii=False, indent=1) + "\n"
    _put(job, DATA_NAME, text.encode("utf-8"))


def _write_manifest(job: _Job) -> None:
    from ..office import bridge as office
    report = job.report
    errors = [f for f in report.findings if f.severity == ERROR]
    manifest = {
        "generator": GENERATOR,
        "source": {"file": job.source.name, "bytes": len(job.data), "sha256": sha256(job.data)},
        "template_fingerprint": job.spec.fingerprint,
        "spec_sha256": job.spec.digest,
        "xltools_version": __version__,
        "libreoffice_version": office.version() if job.pdf_maker is office.export_pdfs else None,
        "time": job.stamp.isoformat().replace("+00:00", "Z"),
        "pdfa": job.pdfa,
        "forced": job.forced,
        "check": {"errors": len(errors), "warnings": len(report.findings) - len(errors),
                  "reports": {sheet: {"score": _plain(s.get("computed_score")), "grade": s.get("computed_grade"),
                                      "stated_score": _plain(s.get("stated_score")),
                                      "stated_grade": s.get("stated_grade")}
                              for sheet, s in report.score.items()}},
        "findings": [f.to_json() for f in report.findings] if job.forced else [],
        "files": [{"name": n, "bytes": len(b), "sha256": sha256(b)} for n, b in sorted(job.files.items())],
    }
    _put(job, MANIFEST, (json.dumps(manifest, ensure_ascii=False, indent=1, default=str) + "\n").encode("utf-8"))


def _write_sums(job: _Job) -> None:
    # sha256sum's own format: verifiable with `sha256sum -c SHA256SUMS`, no xltools needed.
    lines = "".join(f"{sha256(b)}  {n}\n" for n, b in sorted(job.files.items()))
    _put(job, SUMS, lines.encode("utf-8"))


STEPS = [_write_values_workbook, _write_pdfs, _write_data, _write_manifest, _write_sums]


def _put(job: _Job, name: str, data: bytes) -> None:
    write_atomic(job.tmp / name, data)      # on disk (fsync) before the folder is renamed into place
    os.chmod(job.tmp / name, 0o644)
    job.files[name] = data


def pinned_pdf(data: bytes, stamp: datetime) -> bytes:
    """LibreOffice stamps each PDF with the clock and a random ID: put the pack's time in their
    place (the document info, the XMP metadata and the PDF/A colour profile's header) and let
    qpdf derive the ID from the content, so the same workbook gives the same bytes.

    What stays: LibreOffice 7.4 numbers the fonts it embeds (/UniqueID, also inside the
    encrypted part) with a counter that runs on through the life of its process, so the bytes
    are the same for the same workbook packed by a fresh process (each `xltools pack` run).
    """
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        info = pdf.trailer.get("/Info")
        if info is not None:
            for key in ("/CreationDate", "/ModDate"):
                if key in info:
                    info[key] = stamp.strftime("D:%Y%m%d%H%M%S+00'00'")
        for key in ("/ID", "/DocChecksum"):   # random; LibreOffice's hash of the random bytes
            if key in pdf.trailer:
                del pdf.trailer[key]
        if "/Metadata" in pdf.Root:
            xmp = pdf.Root.Metadata.read_bytes()
            xmp = re.sub(rb"(<xmp:(?:CreateDate|ModifyDate|MetadataDate)>)[^<]*",
                         lambda m: m.group(1) + stamp.strftime("%Y-%m-%dT%H:%M:%S+00:00").encode(), xmp)
            xmp = re.sub(rb"uuid:[0-9a-fA-F-]{36}", b"uuid:" + _uuid_like(pdf), xmp)
            pdf.Root.Metadata.write(xmp)   # unfiltered, as PDF/A wants its metadata
        for intent in pdf.Root.get("/OutputIntents", []):
            profile = intent.get("/DestOutputProfile")
            if profile is not None:
                profile.write(zlib.compress(steady_icc(profile.read_bytes(), stamp), 9),
                              filter=pikepdf.Name.FlateDecode)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
    return out.getvalue()


def steady_icc(profile: bytes, stamp: datetime) -> bytes:
    """An ICC profile with the pack's time as its creation time and no profile ID (an MD5 that
    covers the time): LibreOffice makes the sRGB profile of PDF/A afresh, stamped with the clock."""
    if profile[36:40] != b"acsp":
        return profile
    when = struct.pack(">6H", stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    return profile[:24] + when + profile[36:84] + bytes(16) + profile[100:]


def _uuid_like(pdf) -> bytes:
    """A UUID-shaped hash of what the pages draw: the same report gives the same document ID."""
    import pikepdf
    h = hashlib.sha256()
    for page in pdf.pages:
        contents = page.obj.get("/Contents")
        for stream in (contents if isinstance(contents, pikepdf.Array) else [contents] if contents else []):
            h.update(stream.read_raw_bytes())
    h = h.hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}".encode()


def _stamp(source: Path, data: bytes) -> datetime:
    """The pack's time: SOURCE_DATE_EPOCH if set, else the source workbook's modification time,
    so that packing the same workbook twice gives the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    seconds = int(epoch) if epoch and epoch.isdigit() else int(source.stat().st_mtime)
    return datetime.fromtimestamp(seconds, timezone.utc)


def write_zip(folder: Path, names: list[str], target: Path, prefix: str) -> None:
    """A reproducible zip: sorted members under `prefix/`, fixed times and permissions, UTF-8
    names flagged."""
    with atomic_writer(target) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as z:
        for n in sorted(names):
            info = zipfile.ZipInfo(f"{prefix}/{n}", FIXED_TIME)   # the same workbook zips to the same bytes
            # PDFs and workbooks are compressed already: deflating them again costs time, saves little
            info.compress_type = zipfile.ZIP_STORED if n.endswith((".pdf", ".xlsx")) else zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 << 16)
            info.create_system = 3
            info.flag_bits |= 0x800          # the names are UTF-8
            z.writestr(info, (folder / n).read_bytes())


def _ours(path: Path) -> bool:
    """A previous pack's output, which a new pack may replace (nothing else is ever replaced)."""
    try:
        if path.is_dir():
            return json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("generator") == GENERATOR
        if path.is_file() and path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                return any(n.endswith("/" + MANIFEST) for n in z.namelist())
    except (OSError, ValueError, zipfile.BadZipFile):
        return False
    return False


def _publish(built: Path, target: Path) -> None:
    """Rename `built` to `target`; a previous pack there is swapped out, then removed."""
    if target.exists() or target.is_symlink():
        if not _ours(target):
            raise XltoolsError(f"{target} 已存在且不是 xltools pack 的输出，未覆盖；请换一个输出目录")
        old = temp_path(target.parent)
        os.replace(target, old)
        try:
            os.replace(built, target)
        except OSError:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    else:
        os.replace(built, target)


def _registry(spec: Spec | Registry | None) -> Registry:
    """None: each workbook by the spec its template's fingerprint names (the packaged specs)."""
    return spec if isinstance(spec, Registry) else Registry.packaged() if spec is None else Registry.of(spec)


def _pack_name(spec: Spec, filled, source: Path, taken: set[str] | None) -> tuple[str, list[Finding]]:
    """The output's name (the spec's `[pack] name`) and what was done to it: a long unit cut, a
    name another workbook of this batch has (after cleaning: 临湘市/财政局 and 临湘市:财政局)
    numbered."""
    from .. import catalogue
    unit = spec.unit_of(filled) or source.stem
    part = safe_name(unit)
    notes = []
    name = spec.pack_name.format(year=spec.year, unit=part)
    if part != safe_name(unit, max_bytes=1 << 30):
        notes.append(catalogue.finding("pack-name-shortened", "", "", kept=len(part) - 1, renamed=name))
    if taken is not None:
        base, k = name, 2
        while name.casefold() in taken:        # Windows and macOS: names differing in case are one
            name, k = f"{base} ({k})", k + 1
        if name != base:
            notes.append(catalogue.finding("pack-name-taken", "", "", name=base, renamed=name))
    return name, notes


def pack_one(source, out_dir, *, force: bool = False, zip: bool = False, pdfa: bool = False,
             spec: Spec | Registry | None = None, pdf_maker: PdfMaker | None = None,
             taken: set[str] | None = None) -> PackResult:
    """`taken`: the names (casefolded) packed so far in this batch; this one's is added."""
    from ..checker import read_book
    from ..rules import run_rules
    from ..xlsx.book import read_file
    from ..office import bridge as office
    source = Path(source)
    try:
        data = read_file(source)
        spec, filled = read_book(source, _registry(spec), data)
        report = run_rules(filled, spec)
    except XltoolsError as e:
        return PackResult(source, False, error=str(e))
    errors = [f for f in report.findings if f.severity == ERROR]
    if errors and not force:
        return PackResult(source, False, refused=True, findings=report.findings)
    name, notes = _pack_name(spec, filled, source, taken)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / (f"{name}.zip" if zip else name)
    if target.resolve() == source.resolve():
        return PackResult(source, False, error=f"输出会覆盖源文件：{source}")
    tmp = temp_path(out_dir)
    tmp.mkdir()
    job = _Job(source, data, spec, filled, report, bool(errors), pdfa, pdf_maker or office.export_pdfs, tmp, name,
               _stamp(source, data))
    # An old-layout indicator table is packed in the new columns (legacy.py): its PDF, values
    # copy and data file show the scores in 得分 and the composite the checker computed.
    job.moved = {inst.sheet: legacy.to_new_columns(inst) for inst in filled.instances}
    try:
        for step in STEPS:
            step(job)
        if zip:
            built = temp_path(out_dir)
            try:
                write_zip(tmp, list(job.files), built, name)
                _publish(built, target)
            finally:
                built.unlink(missing_ok=True)
        else:
            _publish(tmp, target)
    except XltoolsError as e:
        return PackResult(source, False, error=str(e), findings=report.findings)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if taken is not None:
        taken.add(name.casefold())
    return PackResult(source, True, output=target, forced=bool(errors), findings=report.findings + notes,
                      files=sorted(job.files))


def pack(books, out_dir, *, force: bool = False, zip: bool = False, pdfa: bool = False,
         spec: Spec | Registry | None = None, pdf_maker: PdfMaker | None = None) -> list[PackResult]:
    """Pack every workbook of `books` into out_dir; one failure never stops the others, and no
    two share an output (pack_one's `taken`). Temporary folders a killed run left in out_dir go
    first. `spec`: None, each by the spec that made it; one Spec, that one (a workbook of
    another is refused).

    pdf_maker: makes the PDFs instead of LibreOffice (the Windows add-in passes Excel's
    ExportAsFixedFormat): called as pdf_maker(src, {pdf path: [sheet names] or None}, watermark=…,
    pdfa=…) on the print copy; None for a PDF means every sheet of src in order.
    """
    specs = _registry(spec)
    clear_stale_temps(out_dir)
    taken: set[str] = set()
    results = []
    for book in books:
        try:
            results.append(pack_one(book, out_dir, force=force, zip=zip, pdfa=pdfa, spec=specs, pdf_maker=pdf_maker,
                                    taken=taken))
        except Exception as err:     # a failure no check foresaw costs this workbook only
            if os.environ.get("XLTOOLS_DEBUG"):
                raise
            results.append(PackResult(Path(book), False, error=unexpected(err)))
    return results


def render(result: PackResult) -> str:
    """What the command prints for one workbook."""
    if result.error:
        return f"{result.source}：未打包（{result.error}）"
    if result.refused:
        from ..checker import render_text
        from ..findings import Report
        head = f"{result.source}：有 {len(result.errors)} 处错误，未打包（改正后重试，或用 --force 打包并加“{WATERMARK}”水印）"
        return head + "\n" + render_text(Report(str(result.source), result.findings)).split("\n", 1)[-1]
    note = f"（有 {len(result.errors)} 处错误，每页已加“{WATERMARK}”水印）" if result.forced else ""
    named = "".join(f"（{f.message}）" for f in result.findings if f.code in CODES)
    return f"已打包 {result.source} → {result.output}{note}{named}"


def exit_code(results: list[PackResult]) -> int:
    """2 if any workbook could not be packed at all, 1 if any has errors, else 0."""
    if any(r.error for r in results):
        return 2
    if any(r.refused or r.forced for r in results):
        return 1
    return 0
