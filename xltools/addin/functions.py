"""The worksheet functions' logic, pure Python over the values xlwings passes.

xlwings hands a function lists of lists for ranges, None for blank cells, floats for numbers,
str for text and datetime for date-formatted cells. Every answer comes from the declarations the
checker uses: numbers.parse_amount for amounts, the spec's sum rules and checks for the fund matrix
and the composite score, scoring.score_indicator for scores, the spec's grade bands. xltools/addin/excel.py
only wraps these with the xlwings decorators the table in table.py declares.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ..read.filled import Instance
from .. import catalogue
from ..catalogue import STATUS_LABEL, direction, entries_by_code, result_header, result_row
from ..formulas import money, value_check
from ..numbers import CENT, parse_amount, parse_score
from ..read.coerce import coerce
from ..scoring import score_indicator
from ..spec.load import DEFAULT_SPEC
from ..spec.registry import spec_at

def spec(fingerprint: str | None = None):
    """The spec of the calling workbook, by its template's fingerprint (excel.py reads it from the
    book's defined name), among those that come with xltools; the default spec for a workbook
    that carries none (a sheet of the user's own) or one no spec here made."""
    from ..spec.fingerprint import Fingerprint
    from ..spec.registry import Registry
    fp = Fingerprint.parse(fingerprint)
    found = Registry.packaged().spec_of(fp) if fp else None
    return found or spec_at(DEFAULT_SPEC)


def _cells(arg):
    """(row, col, value) of one argument: a scalar or a list of lists (1-based positions)."""
    if isinstance(arg, (list, tuple)):
        rows = arg if all(isinstance(r, (list, tuple)) for r in arg) else [arg]
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                yield r, c, value
    else:
        yield 1, 1, arg


def _where(index: int | None, r: int, c: int, arg) -> str:
    head = f"第 {index} 个参数" if index else ""
    if isinstance(arg, (list, tuple)) and (len(arg) > 1 or (arg and isinstance(arg[0], (list, tuple)) and len(arg[0]) > 1)):
        return f"{head}第 {r} 行第 {c} 列"
    return head or "该单元格"


def _plain(value):
    """A cell as the parsers take it: a date-formatted cell as the date it shows, a logical one as
    Excel spells it, so that no message ever spells Python's datetime(...) or False."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}" if (value.hour, value.minute, value.second) == (0, 0, 0) else f"{value:%Y-%m-%d %H:%M}"
    return value


def _amount(value) -> tuple[Decimal | None, str | None]:
    """A cell as a term of a sum of 万元: (value, None) or (None, reason)."""
    if isinstance(value, (datetime, date)):
        return None, f"是日期 {value:%Y-%m-%d}，不是金额"
    parsed = parse_amount(value)
    if parsed.error:
        return None, parsed.error
    return parsed.for_sum, None


def _sum(args, first_index: int = 1) -> tuple[Decimal, list[str]]:
    total, problems = Decimal(0), []
    for i, arg in enumerate(args, start=first_index):
        for r, c, value in _cells(arg):
            amount, reason = _amount(value)
            if reason:
                problems.append(f"{_where(i, r, c, arg)}：{reason}")
            else:
                total += amount
    return total, problems


def _number(d: Decimal) -> float:
    """What a cell shows: the nearest double of the exact decimal."""
    return float(d)


def total(*amounts):
    result, problems = _sum(amounts)
    if problems:
        return "无法合计：" + "；".join(problems[:3]) + ("……" if len(problems) > 3 else "")
    return _number(result)


def tie(total_value, *parts):
    stated, reason = _amount(total_value)
    if reason:
        return f"合计：{reason}"
    summed, problems = _sum(parts, first_index=2)
    if problems:
        return "无法核对：" + "；".join(problems[:3])
    gap = stated - summed
    if gap.quantize(CENT, ROUND_HALF_UP) == 0:
        return ""
    side = f"合计{direction(gap)}于分项"
    return f"差额 {money(abs(gap))} 万元（{side}）"


# -- the fund matrix ---------------------------------------------------------------------------
def _fund_layout(sp):
    """Rows and columns of the spec's fund matrix (its `matrix` block) as the template lays them
    out: [[field name, ...] per sheet row], the value columns' offsets within the label+value block."""
    rep, table = next(((r, t) for r in sp.reports.values() for t in r.tables.values() if t.matrix), (None, None))
    if table is None:
        return None, [], []
    from ..a1 import split_a1
    cells = {(r, c): table.name(c, r) for r in table.rows for c in table.columns}
    where = {name: split_a1(rep.cell(name)) for name in cells.values()}
    rows = sorted(table.rows, key=lambda r: where[table.name(table.columns[0], r)][0])
    cols = sorted(table.columns, key=lambda c: where[table.name(c, table.rows[0])][1])
    first = min(col for _, col in where.values())
    # 1-based columns of the values within the block that starts at the first value's label column
    offsets = [where[table.name(c, rows[0])][1] - first + 2 for c in cols]
    return rep, [[table.name(c, r) for c in cols] for r in rows], offsets


def fund_check(matrix, shape=(1, 1), dynamic=True, fingerprint: str | None = None):
    from ..rules.rule import Context
    from ..rules.tables import Sums
    sp = spec(fingerprint)
    rep, grid, offsets = _fund_layout(sp)
    if rep is None:
        return "本规格的报表没有资金表"
    rows = matrix if isinstance(matrix, (list, tuple)) and matrix and isinstance(matrix[0], (list, tuple)) else None
    width = len(rows[0]) if rows else 0
    if rows is None or len(rows) != len(grid) or width not in (len(offsets), max(offsets)):
        return (f"资金表应为 {len(grid)} 行：模板中的 {len(grid)} 行 {max(offsets)} 列（含标签），"
                f"或 {len(grid)} 行 {len(offsets)} 列（仅金额）")
    pick = list(range(len(offsets))) if width == len(offsets) else [o - 1 for o in offsets]
    values, problems = {}, []
    for names, row in zip(grid, rows):
        for name, index in zip(names, pick):
            f = rep.fields[name]
            raw = row[index]
            c = coerce(f, raw.date() if isinstance(raw, datetime) else raw, year=sp.year)
            if c.error:       # as the reader reports it
                problems.append([catalogue.finding("unreadable", rep.sheet, f.cell, actual=str(raw),
                                                   reason=c.error).message])
            values[name] = c.value
    out = []
    Sums().report(Context(sp, Instance(rep, rep.sheet, values), out))
    fund = {n for names in grid for n in names}
    problems += [[f.message] for f in out if any(rep.fields[n].cell == f.cell for n in fund)]
    if not problems:
        return ""
    return in_cells(problems, shape, dynamic, f"{len(problems)} 个问题：{problems[0][0]}")


# -- scores ------------------------------------------------------------------------------------
def score(target, actual, weight, fingerprint: str | None = None):
    """`target`: the 指标值 cell, or, on a form that writes them apart (项目支出绩效自评表), the
    three cells 指标性质, 指标值, 度量单位."""
    cells = [_plain(v) for v in _column(target)]
    if len(cells) not in (1, 3):
        return "指标值应为一个单元格，或“指标性质、指标值、度量单位”三个单元格"
    actual, w = _plain(actual), parse_score(_plain(weight))
    if w.error or w.value is None:
        return f"分值：{w.error or '未填'}"
    apart = dict(zip(("nature", "unit"), (cells[0], cells[2]))) if len(cells) == 3 else {}
    result = score_indicator(cells[1] if apart else cells[0], actual, w.value, rules=spec(fingerprint).scoring, **apart)
    return _number(result.score) if result.score is not None else result.reason


def _column(arg) -> list:
    return [v for _, _, v in _cells(arg)]


def composite(weights, scores, fingerprint: str | None = None):
    checks = [c for rep in spec(fingerprint).reports.values() for c in rep.checks]
    ws, ss = [_plain(v) for v in _column(weights)], [_plain(v) for v in _column(scores)]
    if len(ws) != len(ss):
        return f"分值有 {len(ws)} 项，得分有 {len(ss)} 项，应一一对应"
    values, problems = {}, []
    for i, (w, s) in enumerate(zip(ws, ss), start=1):
        for kind, raw in (("weight", w), ("score", s)):
            parsed = parse_score(raw)
            if parsed.error:
                problems.append(f"第 {i} 项{'分值' if kind == 'weight' else '得分'}：{parsed.error}")
            values[f"{kind}_{i}"] = parsed.value
    if problems:
        return "；".join(problems[:3])
    names = [f"weight_{i}" for i in range(1, len(ws) + 1)]
    for check in checks:
        if check.kind == "weights":
            text = value_check(dataclasses.replace(check, left=tuple(names)), values.get)
            if text:
                problems.append(text)
            break
    for check in checks:
        if check.kind == "score-range":
            for i in range(1, len(ws) + 1):
                text = value_check(dataclasses.replace(check, left=f"score_{i}", right=f"weight_{i}"), values.get)
                if text:
                    problems.append(f"第 {i} 项：{text}")
            break
    if problems:
        return "；".join(problems[:3]) + ("……" if len(problems) > 3 else "")
    return _number(sum((v for k, v in values.items() if k.startswith("score_") and v is not None), Decimal(0)))


def grade(value, fingerprint: str | None = None):
    parsed = parse_score(_plain(value))
    if parsed.error:
        return f"得分：{parsed.error}"
    if parsed.value is None:
        return ""
    return spec(fingerprint).grade_of(parsed.value)


# -- answers of several rows ------------------------------------------------------------------------
def in_cells(rows: list[list[str]], shape: tuple[int, int], dynamic: bool, summary: str):
    """A multi-row answer as the calling cells can show it. Entered in a block (an array formula,
    Ctrl+Shift+Enter, as Excel 2016/2019 need): exactly that block, blanks around, the last row
    saying how many did not fit. In one cell: the rows, which spill where Excel has dynamic arrays;
    elsewhere only a cell's worth would show (the first row's first cell), so one line instead:
    `summary` and how to see them all."""
    height, width = shape
    if height * width > 1:
        grid = [([str(v) for v in row] + [""] * width)[:width] for row in rows[:height]]
        if len(rows) > height:
            grid[-1] = [f"……另有 {len(rows) - height + 1} 行未显示：请选中更多行后重新输入数组公式"] + [""] * (width - 1)
        return grid + [[""] * width for _ in range(height - len(grid))]
    if dynamic:
        return rows
    width = max(len(r) for r in rows)
    return (f"{summary}（共 {len(rows)} 行：选中 {len(rows)} 行 {width} 列，输入公式后按 Ctrl+Shift+Enter 可全部列出）")


# -- the calling workbook's findings --------------------------------------------------------------
FINDING_COLUMNS = result_header()[:5]     # 级别 问题 工作表 单元格 说明, as 校验结果 has them


def check(path, shape=(1, 1), dynamic=True) -> list[list[str]] | str:
    from ..checker import read_any
    from ..rules import run_rules
    p = Path(str(path))
    if not p.suffix or not p.exists():
        return "请先保存工作簿（按最近一次保存的文件校验）"
    from ..spec.registry import Registry
    spec, filled = read_any(p, Registry.packaged())     # the workbook's own spec, by its fingerprint
    report = run_rules(filled, spec)
    if not report.findings:
        return STATUS_LABEL["ok"]
    entries = entries_by_code(spec)
    rows = [result_row(f, entries=entries)[:5] for f in report.findings]
    errors = sum(f.severity == "error" for f in report.findings)
    first = report.findings[0]
    summary = (f"错误 {errors} 处，提示 {len(rows) - errors} 处；第 1 条："
               f"{first.sheet or ''}{'!' + first.cell if first.cell else ''} {first.message}")
    return in_cells([FINDING_COLUMNS] + rows, shape, dynamic, summary)
