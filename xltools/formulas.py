"""Each rule of the spec as a native Excel formula AND its Python twin, side by side.

The builder writes `excel_*` into the template; `evaluate()` computes the same values in Python
for the cached values the builder and `fill` write, and for the checker. Keep each pair adjacent:
a change to one without the other is caught by the LibreOffice round-trip test.

Formulas are the lowest common denominator of Excel, WPS and LibreOffice: SUM/N/IF/ROUND/TEXT/
COUNT/AND/OR (and, for the narrative's quotes, SEARCH/MID/LEFT/LEN/VALUE/TRIM/SUBSTITUTE/MIN/INT/
IFERROR/CHAR) only, as Excel 2010, WPS and LibreOffice share them. SUM() rather than "+" because SUM ignores text, so a figure typed as text never
turns a total into #VALUE! (the checker reports that cell instead).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

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
def excel_check(check: Check, cell) -> str:
    if check.kind == "compare" and check.op == "=":
        left, right = cell(check.left), cell(check.right)
        return (f'IF(ROUND(N({left})-N({right}),2)=0,"",'
                f'"{check.message}：差额 "&TEXT(N({left})-N({right}),"0.00"))')
    if check.kind == "compare":
        left, right = cell(check.left), cell(check.right)
        return f'IF(N({left})<=N({right}),"","{check.message}")'
    if check.kind == "weights":
        rng = f"{cell(check.left[0])}:{cell(check.left[-1])}"
        return f'IF(SUM({rng})={check.right},"","{check.message}（现为 "&TEXT(SUM({rng}),"0.00")&"）")'
    if check.kind == "score-range":
        s, w = cell(check.left), cell(check.right)
        return f'IF({s}="","",IF(AND(ISNUMBER({s}),{s}>=0,{s}<=N({w})),"","{check.message}"))'
    if check.kind == "quotes":
        org, narr = (cell(n) for n in check.left)
        bounds = [cell(n) for n in check.bounds]
        parts = "&".join(_quote_excel(narr, org, phrases, cell(name), check.lead, bounds)
                         for phrases, name in check.right)
        return f'IF(OR({org}="",{narr}=""),"",{parts})'
    raise ValueError(check.kind)


def value_check(check: Check, get) -> str:
    if check.kind == "compare":
        left, right = num(get(check.left)) or Decimal(0), num(get(check.right)) or Decimal(0)
        if check.op == "=":
            diff = left - right
            return "" if diff.quantize(CENT, ROUND_HALF_UP) == 0 else f"{check.message}：差额 {money(diff)}"
        return "" if left <= right else check.message
    if check.kind == "weights":
        total = sum((num(get(n)) or Decimal(0) for n in check.left), Decimal(0))
        return "" if total == check.right else f"{check.message}（现为 {money(total)}）"
    if check.kind == "score-range":
        s, w = get(check.left), num(get(check.right)) or Decimal(0)
        if is_blank(s):
            return ""
        s = num(s)
        return "" if s is not None and 0 <= s <= w else check.message
    if check.kind == "quotes":
        org, narr = (get(n) for n in check.left)
        if is_blank(org) or is_blank(narr):
            return ""
        bounds = [get(n) for n in check.bounds]
        return "".join(quote_mismatch(narr, org, phrases, get(name), check.lead, bounds)
                       for phrases, name in check.right)
    raise ValueError(check.kind)


# -- amounts the narrative quotes in 元 against their 万元 cells -----------------------------------
QUOTE_WINDOW = 20   # characters after the phrase that may hold the amount and its 元
_YUAN = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")   # what VALUE() reads (see quoted_value)
# Where a 机构's sentence ends: its 。 or its line; another row's 机构名称 ends it too (quote_span).
SENTENCE_ENDS = ("。", "\n")


@lru_cache(maxsize=16)   # each narrative is searched for a dozen phrases
def _lower(text: str) -> str:
    return text.lower()


def quote_span(narrative, org, lead: str = "", bounds=()) -> tuple[str, int, int] | None:
    """(narrative lowered, start, end) of the sentence opened by `org` + `lead`: from there up to
    the first 。 or line end, or the first other 机构名称 of the table (`bounds`), searched from
    after `org` (SEARCH is case-insensitive: so is this). None when no such sentence opens."""
    if not narrative or not org:
        return None
    low = _lower(str(narrative))
    start = low.find((str(org) + lead).lower())
    if start < 0:
        return None
    after = start + len(str(org))
    end = len(low)
    for mark in SENTENCE_ENDS + tuple(str(b).lower() for b in bounds if not is_blank(b)):
        at = low.find(mark, after)
        if 0 <= at < end:
            end = at
    return low, start, end


def quoted_amount(narrative, org, phrase, lead: str = "", bounds=()) -> str | None:
    """The amount text the narrative quotes for `phrase` in the sentence opened by `org` + `lead`.

    Exactly what the template's formula reads: SEARCH(org&lead), then SEARCH(phrase) from there,
    which must begin before the sentence ends, then the text up to the next 元 within QUOTE_WINDOW
    characters. None when any step finds nothing or the text is not a number (e.g. "146万元": a
    万元 figure, not a 元 one).
    """
    span = quote_span(narrative, org, lead, bounds)
    if span is None:
        return None
    low, start, end = span
    pos = low.find(phrase.lower(), start)
    if not 0 <= pos < end:
        return None
    rest = str(narrative)[pos + len(phrase): pos + len(phrase) + QUOTE_WINDOW]
    stop = rest.find("元")
    if stop < 1:
        return None
    text = rest[:stop]
    return text if quoted_value(text) is not None else None


def quoted_value(text: str) -> Decimal | None:
    """VALUE(TRIM(SUBSTITUTE(text, ",", ""))) for the plain decimals a narrative writes (thousands
    separators and spaces around allowed; no exponent, percent or date, which VALUE would read)."""
    plain = text.replace(",", "").strip(" ")
    return Decimal(plain) if _YUAN.fullmatch(plain) else None


def _quote_excel_amount(narr: str, org: str, phrase: str, lead: str, bounds) -> tuple[str, str]:
    """(condition, amount text) formulas: the phrase begins inside the sentence; what precedes 元."""
    s0 = f'SEARCH({org}&"{lead}",{narr})'
    s1 = f"{s0}+LEN({org})"
    ends = [f'SEARCH("{mark}",{narr}&"{mark}",{s1})' if mark != "\n" else
            f"SEARCH(CHAR(10),{narr}&CHAR(10),{s1})" for mark in SENTENCE_ENDS]
    # Another row's 机构名称, or (when blank) the 。 already counted: SEARCH("") would match at once.
    ends += [f'SEARCH(IF({b}="","。",{b}),{narr}&"。"&{b},{s1})' for b in bounds]
    at = f'SEARCH("{phrase}",{narr},{s0})'
    rest = f"MID({narr},{at}+{len(phrase)},{QUOTE_WINDOW})"
    return f"{at}<MIN({','.join(ends)})", f'LEFT({rest},SEARCH("元",{rest})-1)'


def _quote_excel(narr: str, org: str, phrases: tuple[str, ...], cell: str, lead: str, bounds=()) -> str:
    """The inline check of one column: its quoted amount (or the sum of its quoted items) in 元,
    rounded half-up to the cent of 万元, against the cell. Compared as whole 元 bounds, exactly:
    the cell's 万元 times 10000, minus 50 inclusive, plus 50 exclusive."""
    low = f"ROUND(ROUND(N({cell}),2)*10000,0)"
    shown = f'TEXT(N({cell}),"0.00")&"万元；"'
    if len(phrases) == 1:
        cond, amount = _quote_excel_amount(narr, org, phrases[0], lead, bounds)
        value = f'VALUE(TRIM(SUBSTITUTE({amount},",","")))'
        return (f'IFERROR(IF({cond},IF(INT((ROUND({value},2)-{low}+50)/100)=0,"",'
                f'"{phrases[0]}"&{amount}&"元≠"&{shown}),""),"")')
    values = []
    for phrase in phrases:
        cond, amount = _quote_excel_amount(narr, org, phrase, lead, bounds)
        values.append(f'IFERROR(IF({cond},VALUE(TRIM(SUBSTITUTE({amount},",",""))),""),"")')
    total = "ROUND(" + "+".join(f"N({v})" for v in values) + ",2)"
    return (f'IFERROR(IF(COUNT({",".join(values)})=0,"",IF(INT(({total}-{low}+50)/100)=0,"",'
            f'"{"+".join(phrases)}共"&TEXT({total},"0.00")&"元≠"&{shown})),"")')


def quoted_total(narrative, org, phrases: tuple[str, ...], lead: str = "",
                 bounds=()) -> tuple[Decimal, str, str] | None:
    """(amount in 元, the quote as the check shows it, the amount's text) the narrative gives a
    column: one item's amount as written, or the sum of the items it quotes (rounded to the 元
    cent); None if it quotes none of them."""
    texts = [quoted_amount(narrative, org, p, lead, bounds) for p in phrases]
    if all(t is None for t in texts):
        return None
    if len(phrases) == 1:
        return quoted_value(texts[0]), f"{phrases[0]}{texts[0]}元", texts[0]
    total = sum((quoted_value(t) for t in texts if t is not None), Decimal(0)).quantize(CENT, ROUND_HALF_UP)
    return total, f"{'+'.join(phrases)}共{total}元", str(total)


def yuan_matches(yuan: Decimal, cell_value) -> bool:
    """An amount in 元 quoted for a 万元 cell: the cell is the amount ÷ 10000, rounded half-up to
    the cent, i.e. cell×10000 − 50 <= amount (to the 元 cent) < cell×10000 + 50."""
    low = (num(cell_value) or Decimal(0)).quantize(CENT, ROUND_HALF_UP) * 10000 - 50
    return low <= yuan.quantize(CENT, ROUND_HALF_UP) < low + 100


def quote_mismatch(narrative, org, phrases, cell_value, lead: str, bounds=()) -> str:
    """"" when the quoted 元 amount matches the 万元 cell (or nothing is quoted), else the check text."""
    phrases = (phrases,) if isinstance(phrases, str) else tuple(phrases)
    quoted = quoted_total(narrative, org, phrases, lead, bounds)
    if quoted is None or yuan_matches(quoted[0], cell_value):
        return ""
    return f"{quoted[1]}≠{money(num(cell_value) or Decimal(0))}万元；"


# -- cross-report (department sheet against every project sheet) -------------------------------
def cross_cell(spec: Spec) -> tuple[int, str]:
    """Where the department sheet shows the cross-report check (beside the header row just above
    its first 项目支出 row; the rows themselves carry the 元-amount checks), and the project
    sheets' cell it sums."""
    first = spec.dept.cell(spec.cross.dept[0])
    return int("".join(ch for ch in first if ch.isdigit())) - 1, spec.project.cell(spec.cross.project)


def excel_cross(spec: Spec, cell_dept, project_cell: str) -> str:
    """The gap, and how many project sheets the 3D range counts (a sheet left outside the bookends
    is not among them): every project sheet's total cell holds a number (its SUM formula)."""
    c = spec.cross
    dept = ",".join(cell_dept(n) for n in c.dept)
    projects = f"{FIRST_BOOKEND}:{LAST_BOOKEND}!{project_cell}"
    return (f'IF(ROUND(SUM({dept})-SUM({projects}),2)=0,"",'
            f'"项目支出与各项目表实际支出合计差额 "&TEXT(SUM({dept})-SUM({projects}),"0.00")'
            f'&"（计入 "&COUNT({projects})&" 张项目表）")')


def value_cross(spec: Spec, dept_get, project_values: list[Decimal], count: int | None = None) -> str:
    """`project_values`: the totals of the project sheets between the bookends (`count` of them,
    blank ones included, which add 0; by default one each)."""
    dept = sum((num(dept_get(n)) or Decimal(0) for n in spec.cross.dept), Decimal(0))
    diff = dept - sum(project_values, Decimal(0))
    count = len(project_values) if count is None else count
    return "" if diff.quantize(CENT, ROUND_HALF_UP) == 0 else \
        f"项目支出与各项目表实际支出合计差额 {money(diff)}（计入 {count} 张项目表）"


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
