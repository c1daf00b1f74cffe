"""Each rule of the spec as a native Excel formula AND its Python twin, side by side.

The builder writes `excel_*` into the template; `evaluate()` computes the same values in Python
for the cached values the builder and `fill` write, and for the checker. Keep each pair adjacent:
a change to one without the other is caught by the LibreOffice round-trip test.

Formulas are the lowest common denominator of Excel, WPS and LibreOffice: SUM/N/IF/ROUND/TEXT/
COUNT/AND/OR/ABS/ISNUMBER/IFERROR/SEARCH/MID/LEFT/LEN/VALUE only. SUM() rather than "+" because SUM ignores text, so a figure typed as text never
turns a total into #VALUE! (the checker reports that cell instead).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from . import catalogue
from .a1 import a1
from .numbers import CENT, float_to_decimal
from .spec.model import CHECK_COLUMN, Check, CopyRule, IndicatorTable, Report, Spec, SumRule
from .values import is_blank

# Bookend sheets around the project sheets: `项目表头:项目表尾!F20` sums every copy placed
# between them (a 3D reference; LibreOffice only accepts it unquoted, so the names have no spaces).
FIRST_BOOKEND, LAST_BOOKEND = "项目表头", "项目表尾"


def money(d: Decimal) -> str:
    return f"{d.quantize(CENT, ROUND_HALF_UP)}"


def num(value) -> Decimal | None:
    """What SUM() sees in a cell: numbers count, text and blanks do not."""
    if type(value) is Decimal:          # the usual case, first
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return float_to_decimal(value) if isinstance(value, float) else Decimal(value)
    return None


def _abs(cell: str) -> str:
    return re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", cell)


# -- sums -------------------------------------------------------------------------------------
def excel_sum(rule: SumRule, cell) -> str:
    pos = [cell(name) for name in rule.plus]
    neg = [cell(name) for name in rule.minus]
    if rule.as_range and not neg:
        return f"SUM({pos[0]}:{pos[-1]})"
    out = f"SUM({','.join(pos)})" if pos else ""
    out += "".join(f"-SUM({c})" for c in neg)
    return out


def value_sum(rule: SumRule, get) -> Decimal:
    total = Decimal(0)
    for name in rule.plus:
        value = get(name)
        if type(value) is Decimal or (value := num(value)) is not None:
            total += value
    for name in rule.minus:
        value = get(name)
        if type(value) is Decimal or (value := num(value)) is not None:
            total -= value
    return total


# -- copies (the 机构名称 repeated in later tables) ----------------------------------------------
def excel_copy(rule: CopyRule, cell) -> str:
    src = cell(rule.source)
    return f'IF({src}="","",{src})'


def value_copy(rule: CopyRule, get):
    v = get(rule.source)
    return "" if is_blank(v) else v


# -- grade ------------------------------------------------------------------------------------
def excel_grade(table: IndicatorTable, spec: Spec, cell) -> str:
    scores = table.names("score")
    total = cell(table.score_field)
    expr = f'"{spec.grades[-1].label}"'
    for band in reversed(spec.grades[:-1]):
        expr = f'IF({total}>={band.min},"{band.label}",{expr})'
    return f'IF(COUNT({cell(scores[0])}:{cell(scores[-1])})=0,"",{expr})'


def value_grade(table: IndicatorTable, spec: Spec, get) -> str:
    if not any(num(get(n)) is not None for n in table.names("score")):
        return ""
    return spec.grade_of(num(get(table.score_field)) or Decimal(0))


# -- inline checks ----------------------------------------------------------------------------
# The sentence of each check is its catalogue template: `_check_excel_args` gives the template's
# arguments as Excel expressions, `check_args` the same arguments as values, so the cell and the
# checker say the same thing.
def _entry(check: Check):
    return catalogue.check_entry(check) if check.kind == "compare" else catalogue.entry(check.code)


def excel_check(check: Check, cell) -> str:
    E, fig = catalogue.Excel, catalogue.excel_figure
    if check.kind == "compare":
        left, right = cell(check.left), cell(check.right)
        unit, (lname, rname) = check.unit, check.labels
        if check.op == "=":
            diff = f"N({left})-N({right})"
            text = _entry(check).excel(left=lname, right=rname, direction=catalogue.excel_direction(diff),
                                       gap=fig(f"ABS({diff})", unit), unit=catalogue.unit_word(unit))
            return f'IF(ROUND({diff},2)=0,"",{text})'
        text = _entry(check).excel(left=lname, right=rname, left_value=fig(f"N({left})", unit),
                                   right_value=fig(f"N({right})", unit), unit=catalogue.unit_word(unit))
        return f'IF(N({left})<=N({right}),"",{text})'
    if check.kind == "weights":
        total = f"SUM({cell(check.left[0])}:{cell(check.left[-1])})"
        diff = f"{total}-{check.right}"
        text = _entry(check).excel(target=str(check.right), total=fig(total, "score"),
                                   direction=catalogue.excel_direction(diff), gap=fig(f"ABS({diff})", "score"))
        return f'IF({total}={check.right},"",{text})'
    if check.kind == "score-range":
        s, w = cell(check.left), cell(check.right)
        text = _entry(check).excel(score=E(f'IF(ISNUMBER({s}),{fig(s, "score")},{s})'),
                                   weight=fig(f"N({w})", "score"))
        return f'IF({s}="","",IF(AND(ISNUMBER({s}),{s}>=0,{s}<=N({w})),"",{text}))'
    if check.kind == "quotes":
        org, narr = (cell(n) for n in check.left)
        parts = "&".join(_quote_excel(narr, org, phrase, cell(name), check.lead, label)
                         for (phrase, name), (label, _) in zip(check.right, check.labels))
        return f'IF(OR({org}="",{narr}=""),"",{parts})'
    raise ValueError(check.kind)


def check_args(check: Check, get) -> dict | None:
    """The arguments of the check's sentence when the check fails, None when it holds
    (compare, weights and score-range checks; quotes are checked phrase by phrase)."""
    fig, unit = catalogue.figure, check.unit
    if check.kind == "compare":
        left, right = num(get(check.left)) or Decimal(0), num(get(check.right)) or Decimal(0)
        lname, rname = check.labels
        if check.op == "=":
            diff = left - right
            if diff.quantize(CENT, ROUND_HALF_UP) == 0:
                return None
            return {"left": lname, "right": rname, "direction": catalogue.direction(diff),
                    "gap": fig(abs(diff), unit), "unit": catalogue.unit_word(unit)}
        if left <= right:
            return None
        return {"left": lname, "right": rname, "left_value": fig(left, unit), "right_value": fig(right, unit),
                "unit": catalogue.unit_word(unit)}
    if check.kind == "weights":
        total = sum((num(get(n)) or Decimal(0) for n in check.left), Decimal(0))
        if total == check.right:
            return None
        return {"target": str(check.right), "total": fig(total, "score"),
                "direction": catalogue.direction(total - check.right), "gap": fig(abs(total - check.right), "score")}
    if check.kind == "score-range":
        s, w = get(check.left), num(get(check.right)) or Decimal(0)
        if is_blank(s):
            return None
        n = num(s)
        if n is not None and 0 <= n <= w:
            return None
        return {"score": fig(n, "score") if n is not None else str(s), "weight": fig(w, "score")}
    raise ValueError(check.kind)


def value_check(check: Check, get) -> str:
    if check.kind == "quotes":
        org, narr = (get(n) for n in check.left)
        if is_blank(org) or is_blank(narr):
            return ""
        return "".join(quote_mismatch(narr, org, phrase, get(name), check.lead, where)
                       for (phrase, name), where in zip(check.right, check.labels))
    args = check_args(check, get)
    return "" if args is None else _entry(check).text(**args)


# -- amounts the narrative quotes in 元 against their 万元 cells -----------------------------------
QUOTE_WINDOW = 20   # characters after the phrase that may hold the amount and its 元


@lru_cache(maxsize=16)   # each narrative is searched for a dozen phrases
def _lower(text: str) -> str:
    return text.lower()


def quoted_amount(narrative, org, phrase, lead: str = "") -> str | None:
    """The amount text the narrative quotes for `phrase` in the sentence opened by `org` + `lead`.

    Exactly what the template's formula reads: SEARCH(org&lead), then SEARCH(phrase) from there,
    then the text up to the next 元 within QUOTE_WINDOW characters. None when any step finds
    nothing or the text is not a number (e.g. "146万元": a 万元 figure, not a 元 one).
    """
    if not narrative or not org:
        return None
    low = _lower(str(narrative))
    start = low.find((str(org) + lead).lower())
    pos = low.find(phrase.lower(), start) if start >= 0 else -1
    if pos < 0:
        return None
    rest = str(narrative)[pos + len(phrase): pos + len(phrase) + QUOTE_WINDOW]
    end = rest.find("元")
    if end < 1:
        return None
    text = rest[:end]
    try:
        Decimal(text.replace(",", "").strip())
    except ArithmeticError:
        return None
    return text


def _quote_excel(narr: str, org: str, phrase: str, cell: str, lead: str, label: str = "") -> str:
    at = f'SEARCH("{phrase}",{narr},SEARCH({org}&"{lead}",{narr}))+{len(phrase)}'
    rest = f"MID({narr},{at},{QUOTE_WINDOW})"
    amount = f'LEFT({rest},SEARCH("元",{rest})-1)'
    text = catalogue.entry("text-amount").excel(
        phrase=phrase, quoted=catalogue.Excel(amount), wan=catalogue.excel_figure(f"VALUE({amount})/10000"),
        label=label, cell=cell, value=catalogue.excel_figure(f"N({cell})"))
    return f'IFERROR(IF(ROUND(VALUE({amount})/10000,2)=ROUND(N({cell}),2),"",{text}&"；"),"")'


def quote_args(narrative, org, phrase: str, cell_value, lead: str, where: tuple[str, str] = ("", "")) -> dict | None:
    """None when the quoted 元 amount matches the 万元 cell (or nothing is quoted), else the
    arguments of the text-amount sentence; `where`: the label and A1 of the 万元 cell."""
    text = quoted_amount(narrative, org, phrase, lead)
    if text is None:
        return None
    cell = num(cell_value) or Decimal(0)
    yuan = Decimal(text.replace(",", "").strip())
    if (yuan / 10000).quantize(CENT, ROUND_HALF_UP) == cell.quantize(CENT, ROUND_HALF_UP):
        return None
    return {"phrase": phrase, "quoted": text, "wan": catalogue.figure(yuan / 10000), "label": where[0],
            "cell": where[1], "value": catalogue.figure(cell)}


def quote_mismatch(narrative, org, phrase: str, cell_value, lead: str, where: tuple[str, str] = ("", "")) -> str:
    """"" when the quoted 元 amount matches the 万元 cell (or nothing is quoted), else the check text."""
    args = quote_args(narrative, org, phrase, cell_value, lead, where)
    return "" if args is None else catalogue.entry("text-amount").text(**args) + "；"


# -- cross-report (department sheet against every project sheet) -------------------------------
def cross_cell(spec: Spec) -> tuple[int, str]:
    """Where the department sheet shows the cross-report check (beside the header row just above
    its first 项目支出 row; the rows themselves carry the 元-amount checks), and the project
    sheets' cell it sums."""
    first = spec.dept.cell(spec.cross.dept[0])
    return int("".join(ch for ch in first if ch.isdigit())) - 1, spec.project.cell(spec.cross.project)


def excel_cross(spec: Spec, cell_dept, project_cell: str) -> str:
    c = spec.cross
    dept = f'SUM({",".join(cell_dept(n) for n in c.dept)})'
    projects = f"SUM({FIRST_BOOKEND}:{LAST_BOOKEND}!{project_cell})"
    diff = f"{dept}-{projects}"
    text = catalogue.cross_entry(c).excel(dept=catalogue.excel_figure(dept), projects=catalogue.excel_figure(projects),
                                          direction=catalogue.excel_direction(diff),
                                          gap=catalogue.excel_figure(f"ABS({diff})"))
    return f'IF(ROUND({diff},2)=0,"",{text})'


def value_cross(spec: Spec, dept_get, project_values: list[Decimal]) -> str:
    dept = sum((num(dept_get(n)) or Decimal(0) for n in spec.cross.dept), Decimal(0))
    projects = sum(project_values, Decimal(0))
    diff = dept - projects
    if diff.quantize(CENT, ROUND_HALF_UP) == 0:
        return ""
    return catalogue.cross_entry(spec.cross).text(dept=catalogue.figure(dept), projects=catalogue.figure(projects),
                                                  direction=catalogue.direction(diff), gap=catalogue.figure(abs(diff)))


# -- the whole report -------------------------------------------------------------------------
def report_formulas(rep: Report, spec: Spec) -> dict[str, str]:
    """field name or check cell (A1 in column I) -> formula text without '='."""
    from .spec import topo_order
    cell = rep.cell
    out: dict[str, str] = {}
    for rule in topo_order(rep):
        out[rule.target] = excel_sum(rule, cell) if isinstance(rule, SumRule) else excel_copy(rule, cell)
    for table in rep.indicator_tables:
        out[table.grade_field] = excel_grade(table, spec, cell)
    for p in rep.placed:
        if p.role == "check":
            out[f"check:{p.row}"] = excel_check(p.check, cell)
    return out


def evaluate(rep: Report, spec: Spec, inputs: dict) -> tuple[dict, dict[int, str]]:
    """Inputs (by field name) -> every computed field's value and every check cell's text.

    This is what Excel computes from the same inputs; blank inputs count as 0 in sums.
    """
    from .spec import topo_order
    values = dict(inputs)
    get = values.get
    for rule in topo_order(rep):
        values[rule.target] = value_sum(rule, get) if isinstance(rule, SumRule) else value_copy(rule, get)
    for table in rep.indicator_tables:
        values[table.grade_field] = value_grade(table, spec, get)
    checks = {p.row: value_check(p.check, get) for p in rep.placed if p.role == "check"}
    return values, checks


def cached_values(rep: Report, spec: Spec, values: dict, checks: dict[int, str], cross: str = "") -> dict:
    """{A1: value} of every formula cell of one report sheet: the cached values a file carries."""
    out = {}
    for f in rep.computed:
        v = values.get(f.name)
        out[f.cell] = v if v is not None else ""
    for row, text in checks.items():
        out[a1(row, CHECK_COLUMN)] = text
    if rep.id == "dept" and spec.cross:
        out[a1(cross_cell(spec)[0], CHECK_COLUMN)] = cross
    return out


def input_defaults(rep: Report) -> dict:
    """What the template pre-fills (indicator names and weights, 评价方式…)."""
    return dict(rep.defaults)
