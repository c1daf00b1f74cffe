"""Filled reports as the rules see them, from a data file (JSON/TOML) or a workbook (workbook.py).

A data file holds each report under the key its spec declares (`data`), keyed by the field
names of `xltools spec fields`; a report copied per project is a list, one object per copy
(the 2022 spec's keys):

    {"year": 2022, "region": "临湘市",
     "dept": {"dept_name": "…", "income": [{"org": "…", "public_budget": "3461.78"}], …},
     "projects": [{"project_name": "…", "fund": {"total": {"plan": "2983"}}, "detail": […], …}]}

Tables are lists of rows (or, for the fund matrix, objects keyed by row); indicator tables are
lists in spec order; any field may also be given by its flat name (`detail_amount_total`).
A key that is absent was not stated; "" or null is stated blank. Unknown keys raise DataError.
"""
from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from ..errors import DataError
from .. import catalogue
from ..files import read_regular
from .filled import Filled, Instance
from ..spec.model import Report, Spec
from ..units import TEXT_MAX
from .coerce import coerce



# Limits on a data file. Every stated value becomes a cell of the workbook `fill` writes, so they
# keep that workbook within what the reader (xlsx/book.py MAX_*) accepts: a text is at most what
# one cell holds; the file at most MAX_DATA_BYTES, which escaped as XML (at most 5x, "&" ->
# "&amp;") plus MAX_PROJECTS copies of the project sheet (~140 KB each) stays under
# MAX_TOTAL_BYTES (200 MB). A report's data nests 5 deep and its numbers have ~15 digits.
MAX_DATA_BYTES = 16 * 2**20
MAX_PROJECTS = 200
MAX_TEXT_CHARS = TEXT_MAX       # Excel's limit for one cell (declared with the text unit)
MAX_KEY_CHARS = 200
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40           # digits of a number as written; also its magnitude (10**40)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _number(text: str, path: Path):
    if len(text) > MAX_NUMBER_CHARS:
        raise DataError(f"数据文件 {path.name}：数字 {text[:20]}…有 {len(text)} 位，超过上限 {MAX_NUMBER_CHARS} 位")
    value = Decimal(text)
    if not value.is_finite():
        raise DataError(f"数据文件 {path.name}：{text} 不是有限的数字")
    if value and abs(value.adjusted()) > MAX_NUMBER_CHARS:    # 1e999999999: no arithmetic copes
        raise DataError(f"数据文件 {path.name}：数字 {text} 的数量级超出范围")
    return value


def _refuse_constant(text: str, path: Path):
    raise DataError(f"数据文件 {path.name}：{text} 不是数字（JSON 中不允许 NaN、Infinity）")


def _check_values(doc, path: Path) -> None:
    """Refuse what no cell can hold, naming its key: too deep, too long a text, a lone
    surrogate (not a character: no file can store it), a number too long or too large."""
    stack = [(doc, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DataError(f"数据文件 {path.name}：{where or '顶层'} 嵌套超过 {MAX_DEPTH} 层，不是报表数据")
        if isinstance(node, Mapping):
            for key, value in node.items():
                if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or _SURROGATE.search(key):
                    raise DataError(f"数据文件 {path.name}：{where or '顶层'} 中有一个键名过长或含无效字符，不是已知字段")
                stack.append((value, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(node, (list, tuple)):
            stack.extend((value, f"{where}[{i}]", depth + 1) for i, value in enumerate(node))
        elif isinstance(node, str):
            if len(node) > MAX_TEXT_CHARS:
                raise DataError(f"数据文件 {path.name}：{where} 的文字有 {len(node)} 个字符，"
                                f"超过一个单元格的上限 {MAX_TEXT_CHARS} 个")
            if _SURROGATE.search(node):
                raise DataError(f"数据文件 {path.name}：{where} 含有无效字符（孤立的 UTF-16 代理项 \\u{ord(_SURROGATE.search(node).group(0)):04x}）")
        elif isinstance(node, bool):
            pass
        elif isinstance(node, int):
            if abs(node) >= 10 ** MAX_NUMBER_CHARS:
                raise DataError(f"数据文件 {path.name}：{where} 的数字超过 {MAX_NUMBER_CHARS} 位")
        elif isinstance(node, (Decimal, float)):
            value = Decimal(node)
            if not value.is_finite() or (value and abs(value.adjusted()) > MAX_NUMBER_CHARS):
                raise DataError(f"数据文件 {path.name}：{where} 的数字 {node} 不是有限的数字或数量级超出范围")


def read_document(path: Path, data: bytes | None = None):
    """A data file's document, within the limits above. `data`: the file's bytes when the
    caller holds them (then only they are checked)."""
    if data is not None and len(data) > MAX_DATA_BYTES:
        raise DataError(f"数据文件 {path} 过大（{len(data) // 2**20} MB，上限 {MAX_DATA_BYTES // 2**20} MB），"
                        "不是报表数据，已拒绝读取", "too-large")
    raw = data if data is not None else read_regular(path, MAX_DATA_BYTES, DataError, noun="数据文件",
                                                     too_large="不是报表数据，已拒绝读取")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"数据文件 {path} 不是 UTF-8 编码的文本") from None
    try:
        if path.suffix.lower() == ".toml":
            doc = tomllib.loads(text, parse_float=lambda t: _number(t, path))
        else:
            doc = json.loads(text, parse_float=lambda t: _number(t, path),
                             parse_int=lambda t: int(_number(t, path)),
                             parse_constant=lambda t: _refuse_constant(t, path))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise DataError(f"数据文件 {path} 格式错误：{e}") from None
    except RecursionError:
        raise DataError(f"数据文件 {path} 嵌套过深，不是报表数据") from None
    except ValueError:     # TOML: an integer beyond Python's 4300-digit conversion limit
        raise DataError(f"数据文件 {path}：有数字超过 {MAX_NUMBER_CHARS} 位") from None
    _check_values(doc, path)
    return doc


def _flatten(rep: Report, section: dict, prefix: str, path: Path) -> dict[str, tuple[object, str]]:
    """Nested data of one report -> {field name: (raw value, key path)}."""
    out: dict[str, tuple[object, str]] = {}
    indicators = {t.id: t for t in rep.indicator_tables}

    def unknown(key: str, extra: str = ""):
        raise DataError(f"数据文件 {path.name}：{key} 不是已知字段{extra}（可用 xltools spec fields 查看全部字段）")

    def put(name: str, value, where: str):
        if name not in rep.fields:
            unknown(where)
        out[name] = (value, where)

    if not isinstance(section, dict):
        raise DataError(f"数据文件 {path.name}：{prefix} 应为对象")
    for key, value in section.items():
        where = f"{prefix}.{key}"
        if key in indicators:
            table = indicators[key]
            for i, row, rwhere in _indicator_rows(table, value, where, path):
                if not isinstance(row, dict):
                    raise DataError(f"数据文件 {path.name}：{rwhere} 应为对象")
                for col, v in row.items():
                    if col not in table.columns:
                        unknown(f"{rwhere}.{col}", f"（指标列只有 {'、'.join(table.columns)}）")
                    put(f"{key}_{col}_{i}", v, f"{rwhere}.{col}")
        elif key in rep.tables:
            table = rep.tables[key]
            body = [k for k in table.rows if k != table.total_row]
            if isinstance(value, list):
                if len(value) > len(body):
                    raise DataError(f"数据文件 {path.name}：{where} 有 {len(value)} 行，模板只有 {len(body)} 行")
                rows = {body[i]: row for i, row in enumerate(value)}
            elif isinstance(value, dict):
                rows = value
            else:
                raise DataError(f"数据文件 {path.name}：{where} 应为行的列表")
            for rkey, row in rows.items():
                rwhere = f"{where}[{rkey}]" if isinstance(value, dict) else f"{where}[{body.index(rkey)}]"
                if rkey not in table.rows:
                    unknown(rwhere)
                if not isinstance(row, dict):
                    raise DataError(f"数据文件 {path.name}：{rwhere} 应为对象")
                for col, v in row.items():
                    if col not in table.columns:
                        unknown(f"{rwhere}.{col}")
                    put(table.name(col, rkey), v, f"{rwhere}.{col}")
        else:
            put(key, value, where)
    return out


def nested(rep: Report, values: dict) -> dict:
    """One report's values by field name in the data file's own shape, as _flatten reads it back:
    tables as lists of rows (a matrix keyed by row), indicator tables as lists in spec order,
    every other field by its name. Blank values are left out."""
    out: dict = {}
    indicators = {t.id for t in rep.indicator_tables}
    for name, value in values.items():
        if value is None or value == "":
            continue
        f = rep.fields[name]
        if f.table in indicators:
            rows = out.setdefault(f.table, [])
            rows.extend({} for _ in range(int(f.row) - len(rows)))
            rows[int(f.row) - 1][f.column] = value
        elif f.table in rep.tables and not (f.row == rep.tables[f.table].total_row and not rep.tables[f.table].matrix):
            table = rep.tables[f.table]
            if table.matrix:
                out.setdefault(f.table, {}).setdefault(f.row, {})[f.column] = value
            else:
                body = [k for k in table.rows if k != table.total_row]
                rows = out.setdefault(f.table, [])
                rows.extend({} for _ in range(body.index(f.row) + 1 - len(rows)))
                rows[body.index(f.row)][f.column] = value
        else:
            out[name] = value
    return out


def _indicator_rows(table, value, where: str, path: Path):
    """(row number, row, key path) of an indicator table's data: a list in the spec's order, or,
    for a table whose groups have ids (the national form: rows the unit names), an object by
    group id, each a list filling that group's rows in order."""
    if isinstance(value, list):
        if len(value) > len(table.indicators):
            raise DataError(f"数据文件 {path.name}：{where} 应为至多 {len(table.indicators)} 项的列表（按规格中指标的顺序）")
        return [(i, row, f"{where}[{i - 1}]") for i, row in enumerate(value, start=1)]
    groups: dict[str, list[int]] = {}
    for i, ind in enumerate(table.indicators, start=1):
        if ind.group:
            groups.setdefault(ind.group, []).append(i)
    if not isinstance(value, dict) or not groups:
        raise DataError(f"数据文件 {path.name}：{where} 应为指标的列表（按规格中指标的顺序）"
                        + (f"，或按二级指标分组的对象（{'、'.join(groups)}）" if groups else ""))
    out = []
    for group, rows in value.items():
        if group not in groups:
            raise DataError(f"数据文件 {path.name}：{where}.{group} 不是已知的指标组（应为 {'、'.join(groups)}）")
        if not isinstance(rows, list) or len(rows) > len(groups[group]):
            raise DataError(f"数据文件 {path.name}：{where}.{group} 应为至多 {len(groups[group])} 项的列表（模板中本组的行数）")
        out += [(groups[group][k], row, f"{where}.{group}[{k}]") for k, row in enumerate(rows)]
    return out


def _instance(rep: Report, sheet: str, flat: dict, where_file: str, year: int) -> Instance:
    inst = Instance(rep, sheet)
    for name, (raw, where) in flat.items():
        f = rep.fields[name]
        if isinstance(raw, (dict, list)):
            raise DataError(f"数据文件 {where_file}：{where} 应为单个值")
        if isinstance(raw, bool):
            raise DataError(f"数据文件 {where_file}：{where} 不能是 true/false")
        c = coerce(f, raw, year=year, from_text_ok=True)
        inst.values[name] = c.value
        inst.where[name] = where
        if c.note:
            inst.notes.append(catalogue.finding("number-text", sheet, f.cell, where=where, note=c.note))
        if c.error:
            inst.notes.append(catalogue.finding("unreadable", sheet, f.cell, actual=str(raw), where=where,
                                                reason=c.error))
    inst.notes += _indicators_out_of_order(inst)
    return inst


def _indicators_out_of_order(inst: Instance) -> list:
    """A data file lists a form's indicators in the spec's order: one written for last year's
    spec, with an indicator dropped or added since, puts each name, weight and score on another
    indicator's row. Said where a stated name differs from the one the spec gives the row."""
    out = []
    for table in inst.report.indicator_tables:
        given = [" ".join(ind.name.split()) for ind in table.indicators]
        for i, name in enumerate(table.names("name")):
            stated = " ".join(str(inst.values.get(name) or "").split())
            if not stated or not given[i] or stated == given[i]:
                continue
            elsewhere = f"，规格中它是第 {given.index(stated) + 1} 个指标" if stated in given else "，规格中没有这个指标"
            out.append(catalogue.finding("indicator-order", inst.sheet, inst.cell(name), where=inst.where[name],
                                         row=i + 1, stated=stated, elsewhere=elsewhere, given=given[i]))
    return out


def load_data(path, spec: Spec, data: bytes | Mapping | None = None) -> Filled:
    """`data`: the file's bytes when the caller holds them (path then only names the file), or
    the document itself, as json.load (or read_document) would give it."""
    path = Path(path)
    doc = read_document(path, data) if data is None or isinstance(data, (bytes, bytearray)) else data
    if isinstance(data, Mapping):
        _check_values(data, path)       # a document handed over in memory meets the same limits
    if not isinstance(doc, Mapping):
        raise DataError(f"数据文件 {path.name} 顶层应为对象")
    keys = ("year", "region", *(r.data for r in spec.reports.values()))
    for key in doc:
        if key not in keys:
            raise DataError(f"数据文件 {path.name}：顶层键 {key} 不是已知字段（应为 {'、'.join(keys)}）")
    if "year" in doc and (isinstance(doc["year"], bool) or str(doc["year"]).strip() != str(spec.year)):
        raise DataError(f"数据文件 {path.name}：year 为 {doc['year']!r}，规格为 {spec.year} 年度"
                        "（year 应为年份数字；其他年度请用 --spec 指定对应的规格）")
    if "region" in doc and doc["region"] != spec.region:
        raise DataError(f"数据文件 {path.name} 的地区为 {doc['region']}，规格为 {spec.region}")
    instances = []
    for rep in spec.reports.values():
        sections = doc.get(rep.data, [] if rep.copied else {})
        if not rep.copied:
            sections = [sections]
        elif not isinstance(sections, list):
            raise DataError(f"数据文件 {path.name}：{rep.data} 应为列表（每个项目一项）")
        elif len(sections) > MAX_PROJECTS:
            raise DataError(f"数据文件 {path.name} 有 {len(sections)} 个项目，超过一个工作簿的上限 {MAX_PROJECTS} 个；"
                            "请分成几个数据文件")
        for i, section in enumerate(sections):
            where = f"{rep.data}[{i}]" if rep.copied else rep.data
            instances.append(_instance(rep, copy_sheet_name(rep, i), _flatten(rep, section, where, path), path.name,
                                       spec.year))
    return Filled(str(path), "data", instances)


def copy_sheet_name(rep: Report, index: int) -> str:
    """The sheet of a report's n-th copy, named as Excel names a copy: 项目支出, 项目支出 (2), …"""
    return rep.sheet if index == 0 else f"{rep.sheet} ({index + 1})"
