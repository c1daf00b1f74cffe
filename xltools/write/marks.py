"""The 校验结果 sheet and the cell marks, as a plan (shared by Excel and the file writer) and as XML.

Why conditional formatting: a mark must never replace the template's own formatting (fills, fonts,
its own conditional formats on the check cells) and must come off leaving the workbook exactly as
it was. A cell's fill is part of its style: recolouring it loses the original, and restoring it
means remembering it somewhere. A conditional format sits beside the cell's style and changes
nothing of it: each sheet gets one extra <conditionalFormatting> block per severity, tagged by its
formula (MARK_FORMULA, always true, found by no other rule), using two differential formats (dxf)
appended at the end of styles.xml. Removal drops exactly the tagged blocks and, when they are still
the last ones, those two dxfs: sheet parts and styles.xml come back byte for byte. In Excel the
same blocks are FormatConditions with the same formula, deleted by the same tag. The template's
own rules keep precedence (ours get the lowest priority).

The 校验结果 sheet is the first sheet and the one the copy opens on (the package editor renumbers
sheet-scoped names and the workbook view); its rows are a bookkeeper's: errors first, the rule's
Chinese title, wrapped sentences (one cell format of ours, WRAP_XF, appended to styles.xml and
taken off as the dxfs are), amounts in one format, the stable code in a narrow last column, and a
line saying how each program follows a link. Each marked cell also carries a note (a cell
comment, ooxml/comments.py) saying why.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..a1 import a1, quote_sheet, split_a1
from ..catalogue import CATALOGUE, finding_order, result_header, result_row, severity_label
from ..errors import BookError
from ..findings import ERROR, SEVERITY_COLOURS, WARNING, Report
from ..ooxml.ns import TRANSITIONAL, Flavour
from ..ooxml.xmltext import attr, escape, tag_prefix
from ..usertext import cell_text

RESULT_SHEET = "校验结果"
COLUMNS = result_header()
WIDTHS = (6, 18, 14, 8, 50, 16, 16, 32, 9)
LINK_COLUMN = 4                                   # 单元格
WRAPPED = (2, 5, 8)                               # 问题, 说明, 建议: sentences (every cell wraps, top-aligned)
LINE_PT = 15                                      # a wrapped line's height (no program fits rows on opening)
FOLLOW_LINK = ("点“单元格”列的地址可跳到该单元格：Excel、WPS 中单击即可；LibreOffice 中按住 Ctrl 单击"
               "（或在 工具 ▸ 选项 ▸ LibreOffice ▸ 安全 ▸ 选项 中取消“需要 Ctrl+单击才能打开超链接”）。"
               "标色的单元格上有批注，说明问题所在。")
MARK_FORMULA = 'ISTEXT("xltools:mark")'           # the tag: true everywhere, written by no one else
SEVERITIES = (ERROR, WARNING)                   # dxf order: the error fill, then the warning fill
RESULT_PART = "xl/worksheets/xltools_result.xml"
RESULT_REL_ID = "xltoolsResult"


@dataclass
class MarkPlan:
    rows: list[list[str]]                                   # header + one row per finding, plain text
    links: dict[int, tuple[str, str]] = field(default_factory=dict)   # 1-based row -> (sheet, cell)
    cells: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # sheet -> severity -> cells
    compared: list[list[str]] = field(default_factory=list)   # after a blank row: the figures against last year's
    notes: dict[str, dict[str, str]] = field(default_factory=dict)   # sheet -> cell -> why it is marked

    @property
    def findings(self) -> int:
        return len(self.rows) - 1


def plan(report: Report, sheet_names, entries: dict | None = None) -> MarkPlan:
    """What to write: the rows of 校验结果 (errors first), the links, each marked cell once (an
    error wins over a warning on the same cell) and its note. `entries`: the catalogue by code with
    the spec's rules (catalogue.entries_by_code), for their titles."""
    sheet_names = list(sheet_names)
    sheets = set(sheet_names)
    entries = entries or CATALOGUE
    rows = [list(COLUMNS)]
    links: dict[int, tuple[str, str]] = {}
    worst: dict[tuple[str, str], str] = {}
    why: dict[tuple[str, str], list[str]] = {}
    for f in finding_order(report.findings, sheet_names):
        row = result_row(f, entries=entries)
        rows.append(["" if v is None else str(v) for v in row])
        if f.cell and f.sheet in sheets and f.sheet != RESULT_SHEET and _is_cell(f.cell):
            links[len(rows)] = (f.sheet, f.cell)
            key = (f.sheet, f.cell)
            if worst.get(key) != ERROR:
                worst[key] = ERROR if f.severity == ERROR else "warning"
            why.setdefault(key, []).append(f"{severity_label(f.severity)}：{f.message}")
    cells: dict[str, dict[str, list[str]]] = {}
    for (sheet, cell), severity in worst.items():
        cells.setdefault(sheet, {}).setdefault(severity, []).append(cell)
    for by_severity in cells.values():
        for refs in by_severity.values():
            refs.sort(key=split_a1)
    notes: dict[str, dict[str, str]] = {}
    for (sheet, cell), lines in why.items():
        notes.setdefault(sheet, {})[cell] = "\n".join(lines)
    return MarkPlan(rows, links, cells, _compared(report), notes)


PREVIOUS_COLUMNS = ("与上年比较", "", "", "", "本年数", "上年数", "增减率（%）")


def _compared(report: Report) -> list[list[str]]:
    """Below the findings, when checked against last year's: each main figure, this year's and
    last year's and the change (in the 说明, 应为, 实为 columns' places)."""
    if not report.previous:
        return []
    rows = [list(PREVIOUS_COLUMNS)]
    for f in report.previous:
        rows.append(["", "", "", "", f"{f['label']}：{f['value'] or '（空）'}", f["previous"] or "（空）",
                     f["change"] or "—"])
    return rows


def _is_cell(ref: str) -> bool:
    try:
        split_a1(ref)
        return True
    except (ValueError, KeyError, IndexError):
        return False


def location(sheet: str, cell: str) -> str:
    """An internal link target: Excel, WPS and LibreOffice all follow location='Sheet'!A1."""
    return quote_sheet(sheet) + "!" + cell


# -- styles.xml: the two mark formats ------------------------------------------------------------
def dxf_xml(p: str, severity: str) -> str:
    look = SEVERITY_COLOURS[severity]
    sides = "".join(f'<{p}{side} style="thin"><{p}color rgb="FF{look.frame}"/></{p}{side}>'
                    for side in ("left", "right", "top", "bottom"))
    return (f'<{p}dxf><{p}font><{p}b/><{p}color rgb="FF{look.ink}"/></{p}font>'
            f'<{p}fill><{p}patternFill patternType="solid"><{p}bgColor rgb="FF{look.fill}"/>'
            f'</{p}patternFill></{p}fill><{p}border>{sides}</{p}border></{p}dxf>')


def add_dxfs(styles: str) -> tuple[str, dict[str, int]]:
    """styles.xml with the mark formats appended; their dxfIds by severity."""
    p = tag_prefix(styles, "styleSheet")
    ours = "".join(dxf_xml(p, s) for s in SEVERITIES)
    m = re.search(rf"<{p}dxfs\b([^>]*?)(/?)>", styles)
    if m is None:      # no dxfs at all: they go where the schema puts them, before tableStyles/colors/extLst
        at = re.search(rf"<{p}(?:tableStyles|colors|extLst)\b|</{p}styleSheet>", styles)
        if at is None:
            raise BookError("样式部件 styles.xml 不完整，无法加标记")
        return (styles[:at.start()] + f'<{p}dxfs count="{len(SEVERITIES)}">{ours}</{p}dxfs>' + styles[at.start():],
                {s: i for i, s in enumerate(SEVERITIES)})
    count = len(re.findall(rf"<{p}dxf\b", styles[m.end():styles.find(f"</{p}dxfs>", m.end())])) if not m.group(2) else 0
    attrs = re.sub(r'\s*count="\d*"', "", m.group(1))
    opening = f'<{p}dxfs count="{count + len(SEVERITIES)}"{attrs}>'
    if m.group(2):     # <dxfs count="0"/>
        new = styles[:m.start()] + opening + ours + f"</{p}dxfs>" + styles[m.end():]
    else:
        close = styles.index(f"</{p}dxfs>", m.end())
        new = styles[:m.start()] + opening + styles[m.end():close] + ours + styles[close:]
    return new, {s: count + i for i, s in enumerate(SEVERITIES)}


def remove_dxfs(styles: str) -> str:
    """styles.xml without the mark formats, when they are still the last dxfs (as we wrote them).
    Otherwise (Excel re-saved the file and renumbered) they are left: no rule refers to them any
    more, so they show nothing."""
    p = tag_prefix(styles, "styleSheet")
    ours = "".join(dxf_xml(p, s) for s in SEVERITIES)
    m = re.search(rf'<{p}dxfs count="(\d+)"([^>]*)>', styles)
    if m is None:
        return styles
    close = styles.find(f"</{p}dxfs>", m.end())
    if close < 0 or not styles[m.end():close].endswith(ours):
        return styles
    body = styles[m.end():close - len(ours)]
    count = int(m.group(1)) - len(SEVERITIES)
    if count <= 0 and not body:
        return styles[:m.start()] + f'<{p}dxfs count="0"{m.group(2)}/>' + styles[close + len(f"</{p}dxfs>"):]
    return styles[:m.start()] + f'<{p}dxfs count="{count}"{m.group(2)}>' + body + styles[close:]


# -- styles.xml: the wrapped cells' format of 校验结果 ----------------------------------------------
def _wrap_xf(p: str) -> str:
    return (f'<{p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
            f'<{p}alignment vertical="top" wrapText="1"/></{p}xf>')


def add_wrap_xf(styles: str) -> tuple[str, int]:
    """styles.xml with the wrapped-text cell format appended to cellXfs; its index."""
    p = tag_prefix(styles, "styleSheet")
    m = re.search(rf'<{p}cellXfs\b[^>]*>', styles)
    close = styles.find(f"</{p}cellXfs>", m.end()) if m else -1
    if close < 0:
        raise BookError("样式部件 styles.xml 不完整（缺少 cellXfs），无法写出校验结果")
    count = len(re.findall(rf"<{p}xf\b", styles[m.end():close]))
    opening = re.sub(r'\scount="\d*"', "", m.group(0))[:-1] + f' count="{count + 1}">'
    return styles[:m.start()] + opening + styles[m.end():close] + _wrap_xf(p) + styles[close:], count


def remove_wrap_xf(styles: str) -> str:
    """styles.xml without the wrapped-text format, when it is still the last of cellXfs."""
    p = tag_prefix(styles, "styleSheet")
    m = re.search(rf'<{p}cellXfs\b[^>]*>', styles)
    close = styles.find(f"</{p}cellXfs>", m.end()) if m else -1
    ours = _wrap_xf(p)
    if close < 0 or not styles[m.end():close].endswith(ours):
        return styles
    count = len(re.findall(rf"<{p}xf\b", styles[m.end():close])) - 1
    opening = re.sub(r'\scount="\d*"', "", m.group(0))[:-1] + f' count="{count}">'
    return styles[:m.start()] + opening + styles[m.end():close - len(ours)] + styles[close:]


# -- a worksheet's tail (after sheetData): the mark blocks -----------------------------------------
# Elements that follow conditionalFormatting in CT_Worksheet: our block goes before the first of them.
_AFTER_CF = ("dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
             "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
             "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
             "webPublishItems", "tableParts", "extLst")
_OUR_BLOCK = re.compile(r'<((?:\w+:)?)conditionalFormatting\b[^>]*>\s*<((?:\w+:)?)cfRule\b[^>]*>\s*<((?:\w+:)?)formula>'
                        r'ISTEXT\((?:"|&quot;)xltools:mark(?:"|&quot;)\)</\3formula>\s*</\2cfRule>\s*'
                        r'</\1conditionalFormatting>')


def mark_blocks(p: str, cells: dict[str, list[str]], dxf_ids: dict[str, int], first_priority: int) -> str:
    out = []
    for i, severity in enumerate(s for s in SEVERITIES if cells.get(s)):
        sqref = " ".join(cells[severity])
        out.append(f'<{p}conditionalFormatting sqref="{sqref}"><{p}cfRule type="expression" '
                   f'dxfId="{dxf_ids[severity]}" priority="{first_priority + i}"><{p}formula>'
                   f'{escape(MARK_FORMULA)}</{p}formula></{p}cfRule></{p}conditionalFormatting>')
    return "".join(out)


def add_marks_to_tail(tail: str, p: str, cells: dict[str, list[str]], dxf_ids: dict[str, int]) -> str:
    priorities = [int(n) for n in re.findall(r'\bpriority="(\d+)"', tail)] or [0]
    blocks = mark_blocks(p, cells, dxf_ids, max(priorities) + 1)
    at = re.search(r"<(?:\w+:)?(?:" + "|".join(_AFTER_CF) + r")\b|</(?:\w+:)?worksheet>", tail)
    if at is None:
        raise BookError("工作表部件不完整（缺少 </worksheet>），无法加标记")
    return tail[:at.start()] + blocks + tail[at.start():]


def remove_marks_from_tail(tail: str) -> str:
    return _OUR_BLOCK.sub("", tail)


# -- the 校验结果 sheet part ------------------------------------------------------------------------
def _cell(ref: str, text: str, run: str = "", style: int | None = None) -> str:
    if text == "":
        return ""
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    body = escape(cell_text(text))
    s = "" if style is None else f' s="{style}"'
    if run:
        return f'<c r="{ref}"{s} t="inlineStr"><is><r><rPr>{run}</rPr><t{space}>{body}</t></r></is></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{body}</t></is></c>'


def _lines(text: str, width: int) -> int:
    """Lines a wrapped text takes in a column `width` characters wide (a CJK character is two)."""
    per_line = max(width - 1, 1)
    return sum(max(1, math.ceil(sum(2 if ord(ch) > 0x2E80 else 1 for ch in part) / per_line))
               for part in text.split("\n"))


def result_sheet_xml(mp: MarkPlan, flavour: Flavour = TRANSITIONAL, wrap: int | None = None) -> str:
    """The 校验结果 sheet's part, in the namespaces of the workbook's flavour: selected (the copy
    opens on it), the header frozen, the sentences wrapped in cell format `wrap` (add_wrap_xf),
    the line on following links after the table."""
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(WIDTHS, start=1))
    rows = []
    compared = [[]] + mp.compared if mp.compared else []
    heads = {1, len(mp.rows) + 2}                  # the findings' header, the comparison's
    body = mp.rows + compared + [[]]
    for r, values in enumerate(body, start=1):
        cells = []
        for c, text in enumerate(values, start=1):
            if not text and r > len(mp.rows):      # the comparison leaves its unused columns empty
                continue
            run = "<b/>" if r in heads else ('<u/><color rgb="FF0563C1"/>' if c == LINK_COLUMN and r in mp.links else "")
            cells.append(_cell(a1(r, c), str(text), run, None if r in heads else wrap))
        lines = max((_lines(str(values[c - 1]), WIDTHS[c - 1]) for c in WRAPPED if c <= len(values)), default=1)
        height = f' ht="{LINE_PT * lines + 3}" customHeight="1"' if lines > 1 and r not in heads else ""
        rows.append(f'<row r="{r}"{height}>{"".join(cells)}</row>')
    last = len(body) + 1         # the line on links, merged across the table (no program fits its height)
    rows.append(f'<row r="{last}" ht="{LINE_PT * _lines(FOLLOW_LINK, sum(WIDTHS)) + 3}" customHeight="1">{_cell(a1(last, 1), FOLLOW_LINK, style=wrap)}</row>')
    links = "".join(f'<hyperlink ref="{a1(r, LINK_COLUMN)}" location={attr(location(*mp.links[r]))} '
                    f'display={attr(mp.links[r][1])}/>' for r in sorted(mp.links))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{flavour.main}" xmlns:r="{flavour.rel}">'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<cols>{cols}</cols><sheetData>{"".join(rows)}</sheetData>'
            f'<mergeCells count="1"><mergeCell ref="A{last}:{a1(last, len(WIDTHS))}"/></mergeCells>'
            + (f"<hyperlinks>{links}</hyperlinks>" if links else "")
            + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')
