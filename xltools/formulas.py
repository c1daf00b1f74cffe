"""Each rule of the spec as a native Excel formula AND its Python twin, side by side.

The builder writes `excel_*` into the template; `evaluate()` computes the same values in Python
for the cached values the builder and `fill` write, and for the checker. Keep each pair adjacent:
a change to one without the other is caught by the LibreOffice round-trip test.

Formulas are the lowest common denominator of Excel, WPS and LibreOffice: SUM/N/IF/ROUND/TEXT/
COUNT/AND/OR/ABS/ISNUMBER/IFERROR/SEARCH/MID/LEFT/LEN/VALUE/MIN/MAX (and, for the narrative's
quotes, TRIM/SUBSTITUTE/INT/CHAR) only, as Excel 2010, WPS and LibreOffice share them. SUM() rather than "+" because SUM ignores text, so a figure typed as text never
turns a total into #VALUE! (the checker reports that cell instead).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from . import catalogue
from .a1 import a1, column_letters
from .memo import Memo, register, spec_key
from .numbers import CENT, float_to_decimal
from .spec.model import Check, CopyRule, IndicatorTable, RatioRule, Report, ShareScoreRule, Spec, SumRule
from .read.coerce import is_blank

# Bookend sheets around the project sheets: `项目表头:项目表尾!F20` sums every copy placed
# between them (a 3D reference; LibreOffice only accepts it unquoted, so the names have no spaces).
FIRST_BOOKEND, LAST_BOOKEND = "项目表头", "项目表尾"


def bookend_span(sheets: list[str]) -> tuple[int, int] | None:
    """The tab positions of the two bookends (a sheet between them is in the 3D sums), or None
    when either is gone."""
    if FIRST_BOOKEND not in sheets or LAST_BOOKEND not in sheets:
        return None
    return sheets.index(FIRST_BOOKEND), sheets.index(LAST_BOOKEND)


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


# -- sums -------------------------------------------------------------------------------------
def excel_sum(rule: SumRule, cell) -> str:
    pos = [cell(name) for name in rule.plus if name not in rule.extra]
    neg = [cell(name) for name in rule.minus]
    if rule.as_range and not neg:
        return f"SUM({','.join([f'{pos[0]}:{pos[-1]}', *map(cell, rule.extra)])})"
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


# -- a rate and the score it earns (预算执行率 and its score) -------------------------------------
RATE = Decimal("0.0001")      # a rate to two decimals of a percent


def excel_ratio(rule: RatioRule, cell) -> str:
    num_, den = cell(rule.numerator), cell(rule.denominator)
    return f'IF(N({den})=0,"",ROUND(N({num_})/{den},4))'


def value_ratio(rule: RatioRule, get):
    den = num(get(rule.denominator))
    if not den:
        return ""
    return ((num(get(rule.numerator)) or Decimal(0)) / den).quantize(RATE, ROUND_HALF_UP)


def excel_share_score(rule: ShareScoreRule, cell) -> str:
    share = cell(rule.share)
    bounded = f"MAX(0,MIN(1,{share}))" if rule.cap else f"MAX(0,{share})"
    return f'IF({share}="","",ROUND({bounded}*{rule.weight},2))'


def value_share_score(rule: ShareScoreRule, get):
    share = num(get(rule.share))
    if share is None:
        return ""
    share = max(Decimal(0), min(Decimal(1), share) if rule.cap else share)
    return (share * rule.weight).quantize(CENT, ROUND_HALF_UP)


# Each rule kind's formula and its Python twin.
TWINS = {SumRule: (excel_sum, value_sum), CopyRule: (excel_copy, value_copy),
         RatioRule: (excel_ratio, value_ratio), ShareScoreRule: (excel_share_score, value_share_score)}


def value_of(rule, get):
    """What the rule's formula gives for these values."""
    return TWINS[type(rule)][1](rule, get)


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


def excel_check(check: Check, cell, joined: bool = False) -> str:
    """`joined`: a cell's findings joined by ；, as edition 1 of the templates wrote them (EDITIONS)."""
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
        span = f"{cell(check.left[0])}:{cell(check.left[-1])}"
        total = f"SUM({span})"
        diff = f"{total}-{check.right}"
        text = _entry(check).excel(_weights_variant(check), target=str(check.right), total=fig(total, "score"),
                                   direction=catalogue.excel_direction(diff), gap=fig(f"ABS({diff})", "score"),
                                   execution=check.labels[0] if check.labels else "")
        out = f'IF({total}={check.right},"",{text})'
        return f'IF(COUNT({span})=0,"",{out})' if check.quiet_blank else out
    if check.kind == "levels":
        parts = []
        for names, weight, level in zip(check.left, check.right, check.labels):
            total = f"SUM({cell(names[0])}:{cell(names[-1])})"
            diff = f"{total}-{weight}"
            text = _entry(check).excel(level=level, target=_plain(weight), total=fig(total, "score"),
                                       direction=catalogue.excel_direction(diff), gap=fig(f"ABS({diff})", "score"))
            parts.append(f'IF({total}={weight},"",{_line(text, joined)})')
        every = check.left[0][0], check.left[-1][-1]
        return f'IF(COUNT({cell(every[0])}:{cell(every[1])})=0,"",{_lines(parts, joined)})'
    if check.kind == "score-range":
        s, w = cell(check.left), cell(check.right)
        text = _entry(check).excel(score=E(f'IF(ISNUMBER({s}),{fig(s, "score")},{s})'),
                                   weight=fig(f"N({w})", "score"))
        return f'IF({s}="","",IF(AND(ISNUMBER({s}),{s}>=0,{s}<=N({w})),"",{text}))'
    if check.kind == "quotes":
        org, narr = (cell(n) for n in check.left)
        bounds = [cell(n) for n in check.bounds]
        parts = [_quote_excel(narr, org, phrases, cell(name), check.lead, bounds, label, joined)
                 for (phrases, name), (label, _) in zip(check.right, check.labels)]
        return f'IF(OR({org}="",{narr}=""),"",{_lines(parts, joined)})'
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
        values = [num(get(n)) for n in check.left]
        total = sum((v or Decimal(0) for v in values), Decimal(0))
        if total == check.right or (check.quiet_blank and all(v is None for v in values)):
            return None
        return {"variant": _weights_variant(check), "target": str(check.right), "total": fig(total, "score"),
                "direction": catalogue.direction(total - check.right), "gap": fig(abs(total - check.right), "score"),
                "execution": check.labels[0] if check.labels else ""}
    if check.kind == "score-range":
        s, w = get(check.left), num(get(check.right)) or Decimal(0)
        if is_blank(s):
            return None
        n = num(s)
        if n is not None and 0 <= n <= w:
            return None
        return {"score": fig(n, "score") if n is not None else str(s), "weight": fig(w, "score")}
    raise ValueError(check.kind)


def _line(text: str, joined: bool) -> str:
    """One finding of a check cell: on a line of its own (excel_lines), or, as before, ended by ；."""
    return f'{text}&"；"' if joined else f"CHAR(10)&{text}"


def _lines(parts: list[str], joined: bool) -> str:
    return "&".join(parts) if joined else excel_lines(parts)


def _weights_variant(check: Check) -> str:
    """The weights of a form with a 预算执行率 score say that it makes the rest of 100."""
    return "with-execution" if check.labels else ""


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


def level_args(check: Check, get) -> list[dict]:
    """The levels check: for each 一级指标 whose weights do not add up to its header's, the
    arguments of its sentence (none while every weight is blank: a blank form)."""
    every = [num(get(n)) for names in check.left for n in names]
    if all(v is None for v in every):
        return []
    out = []
    for names, weight, level in zip(check.left, check.right, check.labels):
        total = sum((num(get(n)) or Decimal(0) for n in names), Decimal(0))
        if total != weight:
            out.append({"level": level, "target": _plain(weight), "total": catalogue.figure(total, "score"),
                        "direction": catalogue.direction(total - weight), "names": names,
                        "gap": catalogue.figure(abs(total - weight), "score")})
    return out


def value_check(check: Check, get) -> str:
    if check.kind == "levels":
        return value_join(_entry(check).text(**{k: v for k, v in a.items() if k != "names"})
                          for a in level_args(check, get))
    if check.kind == "quotes":
        org, narr = (get(n) for n in check.left)
        if is_blank(org) or is_blank(narr):
            return ""
        bounds = [get(n) for n in check.bounds]
        return value_join(quote_mismatch(narr, org, phrases, get(name), check.lead, bounds, where)
                          for (phrases, name), where in zip(check.right, check.labels))
    args = check_args(check, get)
    return "" if args is None else _entry(check).text(**args)


# -- amounts the narrative quotes in 元 against their 万元 cells -----------------------------------
QUOTE_WINDOW = 20   # characters after the phrase that may hold the amount and its 元
_YUAN = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")   # what VALUE() reads (see quoted_value)
# Where a 机构's sentence ends: its 。 or its line; another row's 机构名称 ends it too (_span).
SENTENCE_ENDS = ("。", "\n")


@lru_cache(maxsize=16)   # each narrative is searched for a dozen phrases
def _lower(text: str) -> str:
    return text.lower()


@lru_cache(maxsize=64)   # a 机构's sentence, for each of its columns' phrases
def _span(narrative, org, lead: str, bounds: tuple) -> tuple[str, int, int] | None:
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


register("narratives lowered", lambda: (_lower.cache_info().currsize, None), _lower.cache_clear)
register("quoted sentences", lambda: (_span.cache_info().currsize, None), _span.cache_clear)


def quoted_amount(narrative, org, phrase, lead: str = "", bounds=()) -> str | None:
    """The amount text the narrative quotes for `phrase` in the sentence opened by `org` + `lead`.

    Exactly what the template's formula reads: SEARCH(org&lead), then SEARCH(phrase) from there,
    which must begin before the sentence ends, then the text up to the next 元 within QUOTE_WINDOW
    characters. None when any step finds nothing or the text is not a number (e.g. "146万元": a
    万元 figure, not a 元 one).
    """
    span = _span(narrative, org, lead, tuple(bounds))
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
    # 。 or a line end: one search, the line ends read as 。 (the formula's length counts: Excel's
    # limit is 8192 characters and each column's check repeats this)
    ends = [f'SEARCH("。",SUBSTITUTE({narr},CHAR(10),"。")&"。",{s1})']
    # Another row's 机构名称, or (when blank) the 。 already counted: SEARCH("") would match at once.
    ends += [f'SEARCH(IF({b}="","。",{b}),{narr}&"。"&{b},{s1})' for b in bounds]
    at = f'SEARCH("{phrase}",{narr},{s0})'
    rest = f"MID({narr},{at}+{len(phrase)},{QUOTE_WINDOW})"
    return f"{at}<MIN({','.join(ends)})", f'LEFT({rest},SEARCH("元",{rest})-1)'


def _quote_excel(narr: str, org: str, phrases: tuple[str, ...], cell: str, lead: str, bounds=(),
                 label: str = "", joined: bool = False) -> str:
    """The inline check of one column: its quoted amount (or the sum of its quoted items) in 元,
    rounded half-up to the cent of 万元, against the cell. Compared as whole 元 bounds, exactly:
    the cell's 万元 times 10000, minus 50 inclusive, plus 50 exclusive."""
    low = f"ROUND(ROUND(N({cell}),2)*10000,0)"
    E = catalogue.Excel
    if len(phrases) == 1:
        cond, amount = _quote_excel_amount(narr, org, phrases[0], lead, bounds)
        total, shown, guard = f'ROUND(VALUE(TRIM(SUBSTITUTE({amount},",",""))),2)', E(amount), cond
    else:
        values = []
        for phrase in phrases:
            cond, amount = _quote_excel_amount(narr, org, phrase, lead, bounds)
            values.append(f'IFERROR(IF({cond},VALUE(TRIM(SUBSTITUTE({amount},",",""))),""),"")')
        total = "ROUND(" + "+".join(f"N({v})" for v in values) + ",2)"
        shown, guard = catalogue.excel_figure(total), f'COUNT({",".join(values)})>0'
    # 万元 of the amount: ROUND of 元/100 (exact at the half-up edge x.xx5), then /100. A sum of
    # items is shown without it (the formula would repeat every item's search once more).
    entry = catalogue.entry("text-amount")
    if len(phrases) == 1:
        text = entry.excel(phrase=phrases[0], quoted=shown, wan=catalogue.excel_figure(f"ROUND({total}/100,0)/100"),
                           label=label, cell=cell, value=catalogue.excel_figure(f"N({cell})"))
    else:
        text = entry.excel("sum", phrase="+".join(phrases), quoted=shown, label=label, cell=cell,
                           value=catalogue.excel_figure(f"N({cell})"))
    return f'IFERROR(IF({guard},IF(INT(({total}-{low}+50)/100)=0,"",{_line(text, joined)}),""),"")'


def quoted_total(narrative, org, phrases: tuple[str, ...], lead: str = "",
                 bounds=()) -> tuple[Decimal, str] | None:
    """(amount in 元, its text) the narrative gives a column: one item's amount as written, or
    the sum of the items it quotes (rounded to the 元 cent); None if it quotes none of them."""
    texts = [quoted_amount(narrative, org, p, lead, bounds) for p in phrases]
    if all(t is None for t in texts):
        return None
    if len(phrases) == 1:
        return quoted_value(texts[0]), texts[0]
    total = sum((quoted_value(t) for t in texts if t is not None), Decimal(0)).quantize(CENT, ROUND_HALF_UP)
    return total, catalogue.figure(total)


def yuan_matches(yuan: Decimal, cell_value) -> bool:
    """An amount in 元 quoted for a 万元 cell: the cell is the amount ÷ 10000, rounded half-up to
    the cent, i.e. cell×10000 − 50 <= amount (to the 元 cent) < cell×10000 + 50."""
    low = (num(cell_value) or Decimal(0)).quantize(CENT, ROUND_HALF_UP) * 10000 - 50
    return low <= yuan.quantize(CENT, ROUND_HALF_UP) < low + 100


def quote_args(narrative, org, phrases, cell_value, lead: str, bounds=(),
               where: tuple[str, str] = ("", "")) -> dict | None:
    """None when the quoted 元 amount (or the sum of the quoted items) matches the 万元 cell, or
    nothing is quoted; else the arguments of the text-amount sentence. `where`: the label and A1
    of the 万元 cell."""
    phrases = (phrases,) if isinstance(phrases, str) else tuple(phrases)
    quoted = quoted_total(narrative, org, phrases, lead, bounds)
    if quoted is None or yuan_matches(quoted[0], cell_value):
        return None
    args = {"phrase": "+".join(phrases), "quoted": quoted[1], "label": where[0], "cell": where[1],
            "value": catalogue.figure(num(cell_value) or Decimal(0))}
    if len(phrases) > 1:
        return {"variant": "sum", **args}
    return {"wan": catalogue.figure(quoted[0].quantize(CENT, ROUND_HALF_UP) / 10000), **args}


def quote_mismatch(narrative, org, phrases, cell_value, lead: str, bounds=(),
                   where: tuple[str, str] = ("", "")) -> str:
    """"" when the quoted 元 amount matches the 万元 cell (or nothing is quoted), else the check text."""
    args = quote_args(narrative, org, phrases, cell_value, lead, bounds, where)
    return "" if args is None else catalogue.entry("text-amount").text(**args)


# -- long texts: the rows of a run joined into the one cell the field's name points at ---------
def excel_join(run, col_letter: str) -> str:
    return excel_lines(f'IF({col_letter}{r}="","",CHAR(10)&{col_letter}{r})' for r in run.row_numbers)


def excel_lines(parts) -> str:
    """Parts that each give "" or CHAR(10)&text, as the texts one a line (the twin of value_join):
    a long text's rows, the findings of one check cell."""
    return f"MID({'&'.join(parts)},2,32767)"


def value_join(texts) -> str:
    return "\n".join(str(t) for t in texts if not is_blank(t))


def fit_cells(run) -> dict[str, str]:
    """A1 of each row's fit cell -> its formula: the row's text again, in a cell that is not
    merged, so that Excel and WPS fit the row's height to it (see spec.model.Run). Presentation
    only: nothing reads these cells, so they are not among the formulas the checker compares.
    (&"": a blank row gives "", not 0.)"""
    letter = column_letters(run.col)
    return {a1(r, run.fit_col): f'{letter}{r}&""' for r in run.row_numbers}


# -- cross-report (department sheet against every project sheet) -------------------------------
# A project sheet counts for the cross check once its figure (实际支出) is filled: once one of the
# cells it is typed into holds a number. Not every project needs a self-evaluation, so a blank
# project sheet, or one whose figure nobody typed yet, has nothing to compare.
def cross_cell(spec: Spec) -> tuple[int, str]:
    """Where the sheet of the report held once shows the cross-report check (beside the header
    row just above the first row it sums, e.g. 项目支出; the rows themselves carry the 元-amount
    checks), and the cell of each copy's figure while filled (filled_cell)."""
    c = spec.cross
    first = spec.reports[c.report].cell(c.fields[0])
    return int("".join(ch for ch in first if ch.isdigit())) - 1, filled_cell(spec)


def filled_inputs(spec: Spec) -> list[str]:
    """The input fields a copy's figure is typed into: the figure itself, or the terms it sums
    (and theirs)."""
    rep = spec.reports[spec.cross.copied]
    rules = {r.target: r for r in rep.sums}
    out, todo = [], [spec.cross.copy_field]
    while todo:
        name = todo.pop(0)
        if name in rules:
            todo[:0] = [*rules[name].plus, *rules[name].minus]
        elif rep.fields[name].kind == "input" and name not in out:
            out.append(name)
    return out


def filled_cell(spec: Spec) -> str:
    """A1, on each copy's sheet, of the cell holding its figure while filled and "" before: in the
    hidden join column of the figure's row, for the 3D sums of the department's sheet."""
    rep = spec.reports[spec.cross.copied]
    return a1(int("".join(ch for ch in rep.cell(spec.cross.copy_field) if ch.isdigit())), rep.join_column)


def excel_filled(spec: Spec, cell) -> str:
    return f'IF(COUNT({",".join(cell(n) for n in filled_inputs(spec))})=0,"",N({cell(spec.cross.copy_field)}))'


def value_filled(spec: Spec, get) -> Decimal | None:
    """A copy's figure, None while none of its inputs holds a number (COUNT sees numbers only)."""
    if all(num(get(n)) is None for n in filled_inputs(spec)):
        return None
    return num(get(spec.cross.copy_field)) or Decimal(0)


def excel_cross(spec: Spec, cell_dept, project_cell: str, edition: int = 0) -> str:
    """The gap between the department's figure and the filled copies' between the bookends (a
    sheet left outside them is not among them), and how many they are; quiet while none is
    filled. An earlier `edition` (EDITIONS) summed every copy's total cell (`project_cell` then)."""
    c = spec.cross
    dept = f'SUM({",".join(cell_dept(n) for n in c.fields)})'
    projects = f"{FIRST_BOOKEND}:{LAST_BOOKEND}!{project_cell}"
    diff = f"{dept}-SUM({projects})"
    text = catalogue.cross_entry(c).excel(dept=catalogue.excel_figure(dept),
                                          projects=catalogue.excel_figure(f"SUM({projects})"),
                                          direction=catalogue.excel_direction(diff),
                                          gap=catalogue.excel_figure(f"ABS({diff})"),
                                          count=catalogue.Excel(f"COUNT({projects})"))
    if edition == 1:
        return f'IF(ROUND({diff},2)=0,"",{text})'
    if edition == 2:
        return f'IF(OR(COUNT({projects})=0,ROUND({diff},2)=0),"",{text})'
    return f'IF(COUNT({projects})=0,"",IF(ROUND({diff},2)=0,"",{text}))'


def value_cross(spec: Spec, dept_get, spent: list[Decimal]) -> str:
    """`spent`: the figures of the filled copies the check counts (value_filled). "" while there
    is none, or the figures agree."""
    if not spent:
        return ""
    dept = sum((num(dept_get(n)) or Decimal(0) for n in spec.cross.fields), Decimal(0))
    projects = sum(spent, Decimal(0))
    diff = dept - projects
    if diff.quantize(CENT, ROUND_HALF_UP) == 0:
        return ""
    return catalogue.cross_entry(spec.cross).text(dept=catalogue.figure(dept), projects=catalogue.figure(projects),
                                                  direction=catalogue.direction(diff), gap=catalogue.figure(abs(diff)),
                                                  count=len(spent))


def check_severities(rep: Report, spec: Spec) -> dict[int, str]:
    """Row -> the severity of the check its check cell shows (the catalogue entry's), the
    cross-report check's included."""
    out = {p.row: _entry(p.check).severity for p in rep.placed if p.role == "check"}
    if spec.cross and rep.id == spec.cross.report:
        out[cross_cell(spec)[0]] = catalogue.cross_entry(spec.cross).severity
    return out


# -- the whole report -------------------------------------------------------------------------
def report_formulas(rep: Report, spec: Spec, joined: bool = False) -> dict[str, str]:
    """field name or check cell (A1 in column I) -> formula text without '='."""
    from .spec import topo_order
    cell = rep.cell
    out: dict[str, str] = {}
    for rule in topo_order(rep):
        out[rule.target] = TWINS[type(rule)][0](rule, cell)
    for table in rep.indicator_tables:
        out[table.grade_field] = excel_grade(table, spec, cell)
    for p in rep.placed:
        if p.role == "check":
            out[f"check:{p.row}"] = excel_check(p.check, cell, joined)
    for name, run in rep.runs.items():
        out[name] = excel_join(run, column_letters(run.col))
    return out


# The editions of the templates handed out whose formula cells differ from today's; workbooks
# filled from them are not formula-altered (rules/integrity.py). Neither has a copy's filled
# figure (filled_cell); both summed every copy's total in the cross note.
#   1: before issue 18: a check cell's findings joined by ；, the cross note speaking with no
#      copy filled;
#   2: the template of 2026-12-07: one finding a line, the cross note quiet only while no sheet
#      lay between the bookends.
EDITIONS = (1, 2)


def formula_cells(rep: Report, spec: Spec, edition: int = 0) -> dict[str, str]:
    """A1 -> formula text (without '=') of every formula cell the template puts on the report's
    sheet: its computed fields, its inline checks in column I, on the sheet of the report the
    cross-report check belongs to (the department's) that check, and on a copy's its filled
    figure (filled_cell). Worked out once per spec content (the reader and the rules both ask for
    every workbook): read only. `edition`: as an earlier edition of the templates wrote them
    (EDITIONS); 0 is today's."""
    key = (spec_key(spec), rep.id, edition)
    hit = _FORMULA_CELLS.get(key)
    if hit is None:
        cells = _formula_cells(rep, spec, edition)
        hit = _FORMULA_CELLS.put(key, (spec, cells), sum(100 + 2 * len(t) for t in cells.values()))
    return hit[1]          # (the entry holds the spec: see memo.spec_key)


_FORMULA_CELLS = Memo("template formulas", max_entries=16, max_bytes=4 << 20)


def _formula_cells(rep: Report, spec: Spec, edition: int) -> dict[str, str]:
    out = {}
    for key, text in report_formulas(rep, spec, joined=edition == 1).items():
        out[a1(int(key[6:]), rep.check_column) if key.startswith("check:") else rep.cell(key)] = text
    if spec.cross and rep.id == spec.cross.report:
        row, project_cell = cross_cell(spec)
        if edition:
            project_cell = spec.reports[spec.cross.copied].cell(spec.cross.copy_field)
        out[a1(row, rep.check_column)] = excel_cross(spec, rep.cell, project_cell, edition)
    if spec.cross and rep.id == spec.cross.copied and not edition:
        out[filled_cell(spec)] = excel_filled(spec, rep.cell)
    return out


def evaluate(rep: Report, spec: Spec, inputs: dict) -> tuple[dict, dict[int, str]]:
    """Inputs (by field name) -> every computed field's value and every check cell's text.

    This is what Excel computes from the same inputs; blank inputs count as 0 in sums.
    """
    from .spec import topo_order
    values = dict(inputs)
    get = values.get
    for rule in topo_order(rep):
        values[rule.target] = value_of(rule, get)
    for table in rep.indicator_tables:
        values[table.grade_field] = value_grade(table, spec, get)
    checks = {p.row: value_check(p.check, get) for p in rep.placed if p.role == "check"}
    return values, checks


def effective(rep: Report, stated: dict) -> dict:
    """Stated values; what they leave out is what the template gives (its defaults, and each
    total from its terms): the figures a report shows, whether a workbook or a data file."""
    from .spec import topo_order
    eff = input_defaults(rep)
    eff.update(stated)
    for rule in topo_order(rep):
        if rule.target not in stated:
            eff[rule.target] = value_of(rule, eff.get)
    return eff


def cached_values(rep: Report, spec: Spec, values: dict, checks: dict[int, str], cross: str = "") -> dict:
    """{A1: value} of every formula cell of one report sheet: the cached values a file carries."""
    out = {}
    for f in rep.computed:
        v = values.get(f.name)
        out[f.cell] = v if v is not None else ""
    for name, run in rep.runs.items():   # what the join and fit formulas give from the rows fill writes
        rows = _rows_of(values.get(name), run)
        out[rep.cell(name)] = value_join(rows)
        for k, ref in enumerate(fit_cells(run)):
            out[ref] = rows[k] if k < len(rows) else ""
    for row, text in checks.items():
        out[a1(row, rep.check_column)] = text
    if spec.cross and rep.id == spec.cross.report:
        out[a1(cross_cell(spec)[0], rep.check_column)] = cross
    if spec.cross and rep.id == spec.cross.copied:
        filled = value_filled(spec, values.get)
        out[filled_cell(spec)] = "" if filled is None else filled
    return out


def _rows_of(text, run) -> list[str]:
    from .spec.layout import run_rows
    if is_blank(text):
        return []
    return run_rows(text, run) or [str(text)]


def input_defaults(rep: Report) -> dict:
    """What the template pre-fills (indicator names and weights, 评价方式…)."""
    return dict(rep.defaults)
