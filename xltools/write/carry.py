"""`xltools carry 去年.xlsx -o 今年.xlsx [--spec 新规格]`: this year's workbook started from last year's.

Last year's file is read with the spec that made it (its template's fingerprint); this year's is
filled from this year's spec (default: last year's spec text for the next year). What is carried,
as this year's spec's [previous] declares it (spec/previous.py):
- the unit ([identity] unit) and each copy's name ([identity] copy_name), by role: a field renamed
  between the specs is still found;
- the copies themselves (one project sheet per project of last year's);
- each indicator table's definitions, row by row: name, 指标性质, 指标值, 度量单位, 分值;
- the fields of `carry` as they were (a table's column, every row);
- each `equals` prefilled from last year's figure, row by row of the 机构名称 (上年结转 from last
  year's 累计结余), its input prompt saying so.
This year's amounts, scores and texts stay blank. Whatever last year's file holds that this
year's spec has no place for (a field dropped, or renamed without [previous] renamed saying so;
indicator rows beyond this year's table) is listed, never dropped in silence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..read.coerce import is_blank
from ..rules.previous import year_end
from ..spec.model import Report, Spec
from ..spec.registry import Registry, spec_at
from .fill import fill

INDICATOR_DEFINITION = ("name", "nature", "target", "unit", "weight")


@dataclass
class CarryResult:
    path: Path
    spec: Spec
    carried: list[str] = field(default_factory=list)     # what was carried, one line each
    missed: list[str] = field(default_factory=list)      # what could not be, and why


def _plain(v):
    return format(v, "f") if isinstance(v, Decimal) else v.isoformat() if hasattr(v, "isoformat") else v


class _Carry:
    def __init__(self, last: Spec, new: Spec, result: CarryResult):
        self.last, self.new, self.result = last, new, result
        self.renamed = dict(new.previous.renamed)                # this year's name -> last year's
        self.back = {old: now for now, old in self.renamed.items()}

    def old_name(self, name: str) -> str:
        return self.renamed.get(name, name)

    def new_field(self, rep: Report, old: str) -> str | None:
        """This year's field for last year's `old`, in this year's report of the same kind."""
        now = self.back.get(old, old)
        return now if now in rep.fields else None

    def missing(self, what: str, old: str, value) -> None:
        """Last year's `old` (labelled `what`) has no place this year: say so, with a guess."""
        same = [f.name for f in self.new.fields() if f.label == what and f.name != old]
        guess = f"；新规格中同名的字段是 {same[0]}，如是改名，请在新规格 [previous] renamed 中写明 {same[0]} = \"{old}\"" \
            if same else ""
        self.result.missed.append(f"上年的“{what}”（{old}，为“{value}”）：新规格中没有这个字段，未带入{guess}")

    def section(self, inst, rep: Report) -> dict:
        """This year's inputs for one report from one of last year's instances."""
        out: dict = {}
        old_rep = inst.report
        fields = self._carried(old_rep)
        for old in fields:
            value = inst.values.get(old)
            if is_blank(value):
                continue
            now = self.new_field(rep, old)
            if now is None:
                self.missing(old_rep.fields[old].label, old, _plain(value))
                continue
            _put(out, rep, now, value)
        copy_name = self.last.identity.copy_name
        if copy_name in old_rep.fields and self.new.identity.copy_name in rep.fields \
                and not is_blank(inst.values.get(copy_name)):
            out[self.new.identity.copy_name] = _plain(inst.values[copy_name])
        self._indicators(inst, rep, out)
        return out

    def dropped(self, inst) -> None:
        """A report of last year's with no kind of this year's to go to: what it carried is lost."""
        for old in self._carried(inst.report):
            if not is_blank(inst.values.get(old)):
                self.missing(inst.report.fields[old].label, old, _plain(inst.values[old]))

    def _carried(self, old_rep: Report) -> list[str]:
        """Last year's fields this year's spec carries (by last year's names), and those last
        year's spec carried (a field this year's spec dropped is then said to be dropped)."""
        refs = [self.old_name(r) for r in self.new.previous.carry] + list(self.last.previous.carry)
        names = []
        for ref in refs:
            table, _, column = ref.partition(".")
            tab = old_rep.tables.get(table) if column else None
            if tab is not None and column in tab.columns:
                names += [tab.name(column, k) for k in tab.rows if k != tab.total_row]
            elif not column and ref in old_rep.fields:
                names.append(ref)
        for ref in self.new.previous.carry:
            if "." not in ref and self.old_name(ref) not in self.last_fields():
                label = self.new.field(ref).label
                self.result.missed.append(f"新规格的“{label}”（{ref}）：上年的规格中没有这个字段，无从带入")
        return list(dict.fromkeys(n for n in names if old_rep.fields[n].kind == "input"))

    def last_fields(self) -> set[str]:
        return {f.name for f in self.last.fields()}

    def _indicators(self, inst, rep: Report, out: dict) -> None:
        """Each indicator's definition into the row of the same 一级/二级 group, k-th in it (a
        group this year's table no longer has, or holds fewer rows of, is listed)."""
        tables = {t.id: t for t in rep.indicator_tables}
        for old in inst.report.indicator_tables:
            now = tables.get(old.id)
            slots = _slots(now) if now is not None else {}
            for i, (key, k) in enumerate(_positions(old), start=1):
                row = {c: inst.values.get(f"{old.id}_{c}_{i}") for c in INDICATOR_DEFINITION if c in old.columns}
                if all(is_blank(v) for v in row.values()):
                    continue
                name = str(row.get("name") or old.indicators[i - 1].name).splitlines()[0]
                j = slots.get((key, k))
                if j is None:
                    where = f"新规格中没有指标表 {old.id}" if now is None else \
                        f"新规格的指标表没有“{key[1].replace(chr(10), '')}”的第 {k} 行"
                    self.result.missed.append(f"上年指标“{name}”：{where}，未带入")
                    continue
                for column, value in row.items():
                    if column not in now.columns:
                        if not is_blank(value):
                            self.result.missed.append(f"上年指标“{name}”的“{old.column_labels.get(column, column)}”"
                                                      f"（{value}）：新规格的指标表没有这一列，未带入")
                        continue
                    if not is_blank(value):
                        _put(out, rep, f"{now.id}_{column}_{j}", value)


def _positions(table) -> list[tuple[tuple[str, str], int]]:
    """((一级, 二级), k) of each row: its group and its place in it (from 1)."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for ind in table.indicators:
        key = (ind.group1, ind.group2)
        seen[key] = seen.get(key, 0) + 1
        out.append((key, seen[key]))
    return out


def _slots(table) -> dict:
    """((一级, 二级), k) -> the row number in this table."""
    return {pos: i for i, pos in enumerate(_positions(table), start=1)}


def _put(section: dict, rep: Report, name: str, value) -> None:
    """A carried value, unless it is what this year's template prefills anyway."""
    default = rep.fields[name].default
    if default is None or str(_plain(default)) != str(_plain(value)):
        section[name] = _plain(value)


def carry(last_path, out, spec: Spec | None = None, specs: Registry | None = None) -> CarryResult:
    """This year's workbook `out` from last year's file. `spec`: this year's (default: last year's
    spec for the next year); `specs`: what last year's file may be read with (with the specs that
    come with xltools). Raises BookError/DataError (nothing written then)."""
    from ..checker import read_any
    last_spec, filled = read_any(last_path, (specs or Registry.packaged()).with_packaged())
    new = spec or spec_at(last_spec.path, year=last_spec.year + 1, region=last_spec.region)
    result = CarryResult(Path(out), new)
    c = _Carry(last_spec, new, result)
    doc: dict = {"year": new.year, "region": new.region}
    once = [i for i in filled.instances if not i.report.copied]
    copies = filled.copies
    used = set()
    for rep in new.reports.values():
        if rep.copied:
            doc[rep.data] = [c.section(inst, rep) for inst in copies]
            used |= {id(i) for i in copies}
        else:
            held = next((i for i in once if i.report.id == rep.id), once[0] if len(once) == 1 else None)
            doc[rep.data] = c.section(held, rep) if held is not None else {}
            used.add(id(held))
    for inst in filled.instances:
        if id(inst) not in used:
            c.dropped(inst)
    if copies and new.copied is None:
        result.missed.append(f"上年有 {len(copies)} 张项目表，新规格没有按项目复制的报表，未带入")
    unit = last_spec.unit_of(filled)           # the unit, by role: wherever each spec keeps it
    for rep in new.reports.values():
        if unit and new.identity.unit in rep.fields:
            for section in (doc[rep.data] if rep.copied else [doc[rep.data]]):
                section[new.identity.unit] = unit
    prompts = _prefill(filled, last_spec, new, doc, result)
    result.carried = [f"{new.field(k).label}：{v}" for section in _sections(new, doc) for k, v in section.items()]
    result.missed = list(dict.fromkeys(result.missed))
    result.path = fill(doc, out, new, prompts=prompts).path
    return result


def _sections(spec: Spec, doc: dict) -> list[dict]:
    out = []
    for rep in spec.reports.values():
        out += doc.get(rep.data) if rep.copied else [doc.get(rep.data) or {}]
    return out


def _prefill(filled, last_spec: Spec, new: Spec, doc: dict, result: CarryResult) -> dict:
    """Each `equals` of this year's spec, from last year's figure of the row with the same name,
    written into `doc`; returns the input prompts that say so."""
    prompts = {}
    ends = year_end(filled, last_spec, new.previous.equals)
    for e in new.previous.equals:
        table, _, column = e.field.partition(".")
        names_table, _, names_column = new.previous.rows.partition(".")
        for rep in new.reports.values():
            tab, names = rep.tables.get(table), rep.tables.get(names_table)
            if tab is None or rep.copied:
                continue
            section = doc[rep.data]
            for key in tab.rows:
                row = section.get(names.name(names_column, key)) if names else None
                if is_blank(row):
                    continue
                last = ends.get(e.code, {}).get(str(row).strip())
                name = tab.name(column, key)
                if last is None:
                    result.missed.append(f"“{row}”：上年报告中没有这一行（或没有{e.last}），{rep.fields[name].label}未预填")
                    continue
                section[name] = last
                prompts[(rep.sheet, rep.cell(name))] = (f"{rep.fields[name].label}：已按上年报告预填为“{row}”"
                                                        f"上年末的数 {last} 万元（{e.message}），请核对。")
    return prompts

