"""单位名单: the units expected to report this season (.xlsx or .csv), against what arrived."""
from __future__ import annotations

from pathlib import Path


def read_roster(path) -> list[tuple[str, int | None]]:
    """单位名单 (.xlsx or .csv): the column headed 单位/单位名称 (else the first), and 年度 if present."""
    from ..errors import XltoolsError
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            import csv
            raw = path.read_bytes()
            for enc in ("utf-8-sig", "gb18030"):        # Excel on Chinese Windows saves CSV as GBK
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            table = [row for row in csv.reader(text.splitlines())]
        elif path.suffix.lower() in (".xlsx", ".xlsm"):
            from openpyxl import load_workbook
            wb = load_workbook(path, read_only=True, data_only=True)
            table = [["" if v is None else str(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
            wb.close()
        else:
            raise XltoolsError(f"单位名单 {path} 应为 .xlsx 或 .csv 文件")
    except OSError as err:
        raise XltoolsError(f"单位名单 {path} 无法打开：{err.strerror}") from None
    except XltoolsError:
        raise
    except Exception as err:
        raise XltoolsError(f"单位名单 {path} 无法读取（{type(err).__name__}）") from None
    table = [[c.strip() for c in row] for row in table if any(c.strip() for c in row)]
    if not table:
        raise XltoolsError(f"单位名单 {path} 是空的")
    head = table[0]
    unit_col = next((i for i, h in enumerate(head) if h in ("单位", "单位名称", "部门(单位)名称", "部门（单位）名称", "部门")), None)
    year_col = next((i for i, h in enumerate(head) if h in ("年度", "年份")), None)
    body = table[1:] if unit_col is not None else table
    unit_col = unit_col or 0
    out = []
    for row in body:
        unit = row[unit_col] if unit_col < len(row) else ""
        year = row[year_col] if year_col is not None and year_col < len(row) else ""
        if unit:
            out.append((unit, int(year) if year.isdigit() else None))
    return out


def season_year(rows) -> int | None:
    """A roster without a 年度 column is the season's: the year most submissions are of (a late
    report of last year among them does not move it)."""
    years = [r["year"] for r in rows if r["unit"] and r["year"]]
    return max(set(years), key=lambda y: (years.count(y), y)) if years else None


def compare(rows, roster) -> tuple[list[tuple[str, int | None]], list[dict]]:
    """(units on the roster that have not reported, with the year; submissions of units not on it)."""
    year = season_year(rows)
    submitted = {(r["unit"], r["year"]) for r in rows if r["unit"]}
    on_roster = {unit for unit, _ in roster}
    missing = list(dict.fromkeys((unit, y or year) for unit, y in roster if (unit, y or year) not in submitted))
    return missing, [r for r in rows if r["unit"] and r["unit"] not in on_roster]
