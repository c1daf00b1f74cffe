"""The catalogue of findings and refusals: every code the checker can emit, declared once.

Each entry gives the code, its severity, a short title, the Chinese sentence (a template with
named arguments: figures, units, cells, the direction of a difference), a hint, and the Excel
twin it has: "formula" (a native formula of the template computes the figure), "inline" (a
check cell in column I says the same sentence), "none". The checker builds its findings with
`finding()`, the template's inline cells render the same template as an Excel string expression
with `excel_text()`, `--write` takes its column headers and severity words from here, and the
README's rule table is generated from here (`python -m xltools.catalogue --readme`).

Rules the spec declares (sum rules, compare checks, the cross-report check) keep the spec's
wording: their entry is derived from the spec (`spec_entries`), its template wraps the spec's
message with the figures. Everything else is declared in `_ENTRIES` below.

A file that cannot be used at all is not a finding but a refusal: its code is declared once in
`REFUSALS` (what frictionless keeps as file errors among its errors); `xltools.REFUSED_REASONS`
is the public view of that table, and the README's list of codes is generated from it.

Python and Excel render one template: a literal part is the same text in both; an argument is a
value in Python and an expression in Excel. Figures are `figure()` in Python and
`excel_figure()` (TEXT(…,"0.00")) in Excel, the direction of a difference is `direction()` /
`excel_direction()`, so the cell and the checker's message are byte for byte the same sentence.
"""
from __future__ import annotations

import re
import string
import sys
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .findings import ERROR, WARNING, Finding
from .numbers import CENT

FORMULA, INLINE, NONE = "formula", "inline", "none"
TWIN_LABEL = {FORMULA: "模板公式计算", INLINE: "I 列即时校验", NONE: "—"}
SEVERITY_LABEL = {ERROR: "错误", WARNING: "提示"}
# The 校验结果 sheet of `check --write` (and the add-in's): one row per finding, errors first; the
# rule's Chinese title where a bookkeeper looks, its stable code in a narrow last column.
HINT_COLUMN, CODE_COLUMN = "建议", "代码"
RESULT_COLUMNS = ("级别", "问题", "工作表", "单元格", "说明", "应为", "实为", HINT_COLUMN, CODE_COLUMN)


# The columns of RESULT_COLUMNS a brief table leaves out (the add-in's, which has no room for them).
_VALUE_COLUMNS = ("应为", "实为")


def severity_label(severity: str) -> str:
    return SEVERITY_LABEL[severity]


def result_header(*, values: bool = True) -> list[str]:
    """The 校验结果 table's header; `values=False` leaves out 应为/实为."""
    return [c for c in RESULT_COLUMNS if values or c not in _VALUE_COLUMNS]


def result_row(f: Finding, *, values: bool = True, entries: dict | None = None) -> list:
    """One finding as a row of the 校验结果 table (plain values, in result_header's order).
    `entries`: the catalogue by code with the spec's rules (entries_by_code), for their titles and
    the unit of their figures."""
    e = (entries or CATALOGUE).get(f.code)
    unit = e.unit if e else ""
    row = [severity_label(f.severity), e.title if e else f.code, f.sheet, f.cell, f.message,
           shown(f.expected, unit), shown(f.actual, unit), f.hint, f.code]
    return [v for c, v in zip(RESULT_COLUMNS, row) if values or c not in _VALUE_COLUMNS]


def finding_order(findings: list[Finding], sheets=()) -> list[Finding]:
    """Errors first, then warnings; each by sheet (in `sheets`' order, then as found) and by
    reading order on the form (row, then column)."""
    tabs = {name: i for i, name in enumerate(dict.fromkeys([*sheets, *(f.sheet for f in findings)]))}

    def place(f: Finding):
        letters = f.cell.rstrip("0123456789")
        digits = f.cell[len(letters):]
        return (f.severity != ERROR, tabs[f.sheet], int(digits) if digits.isdigit() else 0, letters.rjust(3))
    return sorted(findings, key=place)


def shown(value, unit: str = "") -> str | None:
    """A finding's expected or actual value as the 校验结果 sheet shows it: an amount in one format
    (two decimals and its unit: 万元 in the tables, 元 where the text said 元), a score in 分, a
    head count whole, a text as it is."""
    if value is None:
        return None
    if isinstance(value, str) and unit == "元" and value.endswith("元"):
        try:                                 # "566000元", as a text quoted it
            value = Decimal(value[:-1].replace(",", ""))
        except ArithmeticError:
            return value
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool) and unit:
        return f"{figure(value, unit)} {unit_word(unit)}"
    return str(value)


@dataclass(frozen=True)
class Entry:
    code: str
    severity: str
    title: str                 # a short name of the rule (the spec's message for spec rules)
    template: str              # the sentence, str.format style with named arguments
    hint: str = ""
    twin: str = NONE
    variants: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    origin: str = "xltools"    # "spec" when the spec declares the rule and gives its wording
    unit: str = ""             # what its findings' expected and actual values count in (万元, 元, score…)

    def text(self, variant: str = "", **args) -> str:
        """The sentence in Python. `title` is always available to the template."""
        return _template(self, variant).format(title=self.title, **args)

    def excel(self, variant: str = "", **args) -> str:
        """The same sentence as a native Excel string expression: literal parts quoted, each
        `Excel` argument an expression, every other argument a literal."""
        args.setdefault("title", self.title)
        parts: list[str] = []
        literal = ""
        for text, name, spec, conv in string.Formatter().parse(_template(self, variant)):
            literal += text
            if name is None:
                continue
            if spec or conv:
                raise ValueError(f"{self.code}: format specs are not rendered in Excel")
            value = args[name]
            if isinstance(value, Excel):
                if literal:
                    parts.append(_quote(literal))
                    literal = ""
                parts.append(str(value))
            else:
                literal += str(value)
        if literal or not parts:
            parts.append(_quote(literal))
        return "&".join(parts)


def _template(entry: Entry, variant: str) -> str:
    return entry.variants[variant] if variant else entry.template


class Excel(str):
    """An argument that is an Excel expression (not a literal) when a template renders in Excel."""


_EXCEL_TEXT_MAX = 255   # characters of one text constant in an Excel formula


def _quote(text: str) -> str:
    """An Excel text constant; a longer text (a long spec message) as several joined by &."""
    chunks = [text[i:i + _EXCEL_TEXT_MAX] for i in range(0, len(text), _EXCEL_TEXT_MAX)] or [""]
    return "&".join('"' + c.replace('"', '""') + '"' for c in chunks)


# -- figures, the same in Python and in Excel ---------------------------------------------------
# Number format by unit: money and scores with 2 decimals, head counts whole.
_FORMAT = {"人": "0"}


def _digits(unit: str) -> Decimal:
    return Decimal(1) if _FORMAT.get(unit) == "0" else CENT


def figure(value, unit: str = "万元") -> str:
    """What TEXT(value,"0.00") shows (TEXT(value,"0") for 人); text is shown as it is."""
    if isinstance(value, str):
        return value
    d = Decimal(0) if value is None else Decimal(value)
    return f"{d.quantize(_digits(unit), ROUND_HALF_UP)}"


def excel_figure(expr: str, unit: str = "万元") -> Excel:
    return Excel(f'TEXT({expr},"{_FORMAT.get(unit, "0.00")}")')


def direction(diff: Decimal) -> str:
    """The first figure is 多 (more) or 少 (less) than the second: diff = first − second."""
    return "少" if diff < 0 else "多"


def excel_direction(diff_expr: str) -> Excel:
    return Excel(f'IF({diff_expr}<0,"少","多")')


def unit_word(unit: str) -> str:
    """How a unit reads after a figure ("万元", "人", "分")."""
    return {"score": "分", "%": "%"}.get(unit, unit)


# -- the entries --------------------------------------------------------------------------------
# Templates of the rules the spec declares, by kind (the spec's message is their {title}).
SUM_TEMPLATE = "{title}，应为 {should} {unit}，填报为 {stated} {unit}，{direction} {gap} {unit}"
EQUAL_TEMPLATE = "{title}：{left}比{right}{direction} {gap} {unit}"
AT_MOST_TEMPLATE = "{title}（{left} {left_value} {unit}，{right} {right_value} {unit}）"
# The cross-report check's: its three labels are the spec's words (spec.model.CrossCheck.labels).
CROSS_TEMPLATE = ("{title}：{total_label} {dept} 万元，比{copies_label} {projects} 万元{direction} {gap} 万元"
                  "（计入 {count} 张{copy_label}）")

# What input-formula and label-formula add about a formula that reaches outside the workbook.
_RISKY = "（该公式调用外部程序、外部文件或链接，可能不安全）"

_ENTRIES = [
    # reading the workbook or data file
    Entry("required", ERROR, "必填项", "必填项未填：{label}"),
    Entry("number-text", WARNING, "文本形式的数字或日期（已按其值读取）", "{note}",
          hint="请按单元格的格式改填：数字不带单位和千位分隔符，日期如 2023-03-30"),
    Entry("indicator-order", WARNING, "数据文件中的指标与规格的顺序不符",
          "第 {row} 个指标：数据文件写的是“{stated}”{elsewhere}，模板此行是“{given}”",
          hint="指标按规格的顺序逐行填写（名称、分值、得分都写在此行）：请按本年规格的指标顺序整理数据文件"),
    Entry("unreadable", ERROR, "无法确定的值", "{reason}",
          hint="请按单元格的格式与单位重新填写",
          variants={"error-value": "{label}：单元格显示错误值 {value}"}),
    Entry("amount-date-format", ERROR, "金额单元格设成了日期格式",
          "{label}：单元格是日期格式，显示为日期 {shown}，却读作 {value} {unit}",
          hint="请把该单元格的格式改回数字（或从原模板复制该单元格），再重填金额"),
    Entry("formula-altered", ERROR, "公式被覆盖或改动",
          "{label}：公式被改动，应为 ={formula}，现为 ={found}",
          hint="请从原模板复制该单元格，或重新用模板填报",
          variants={"typed-over": "{label}：此处应为公式 ={formula}，现被改成了固定值（公式被覆盖）"}),
    # text the template repeats from another cell (the spec's `same_as`: the 机构名称 of later tables)
    Entry("copy-differs", ERROR, "各表同一行的名称应与其来源一致",
          "{table} {cell} 的{label}为“{stated}”，{source_table}同一行 {source_cell} 为“{source}”，两处不一致",
          hint="两处应为同一名称：模板中这一格由公式从 {source_cell} 带出，不必手填",
          variants={"no-source": "{table} {cell} 的{label}为“{stated}”，{source_table}同一行 {source_cell} 却没有填写"}),
    # indicators, scores and grades
    # legacy.py: the old layout, read (and written by fill, score and pack) in the new columns
    Entry("legacy-indicators", WARNING, "旧版表式的指标写法",
          "本表“{actual_col}”列填的是得分（旧版表式的写法），“{score_col}”列为空：已把“{actual_col}”列读作得分",
          hint="请把得分移到“{score_col}”列（分值在“{weight_col}”列），“{target_col}”“{actual_col}”列填实际的目标与完成情况",
          variants={"with-weights":
                    "本表“{actual_col}”列填的是得分、“{target_col}”列填的是分值（旧版表式的写法），“{score_col}”列为空："
                    "已把“{actual_col}”列读作得分、“{target_col}”列读作分值"}),
    Entry("score-sum", ERROR, "综合得分应等于各指标得分之和", "{title} {computed}，填报为 {stated}",
          hint="逐项核对各指标得分", twin=FORMULA, unit="score",
          variants={"with-execution": "总分应等于预算执行率得分与各指标得分之和 {computed}，填报为 {stated}"}),
    Entry("score-over", ERROR, "综合得分不超过满分", "综合得分超过满分 {full} 分：各指标得分合计 {total} 分",
          hint="各指标得分之和不能超过满分：逐项核对得分是否超过该指标的分值", unit="score"),
    Entry("weight-sum", ERROR, "各指标分值合计", "各指标分值合计应为 {target}，现为 {total}，{direction} {gap} 分",
          hint="核对各指标的分值", twin=INLINE, unit="score",
          # a form whose 预算执行率 has a score of its own: the indicators make the rest of 100
          variants={"with-execution": "各指标分值合计应为 {target}（另有预算执行率 {execution} 分，共 100 分），"
                                      "现为 {total}，{direction} {gap} 分"}),
    Entry("level1-weight", ERROR, "一级指标的分值等于其下各指标分值之和",
          "“{level}”各指标分值合计应为 {target}（表头所列），现为 {total}，{direction} {gap} 分",
          hint="核对该一级指标下各指标的分值", twin=INLINE, unit="score"),
    Entry("score-range", ERROR, "得分在 0 至分值之间", "得分 {score} 超出 0 至分值 {weight} 的范围",
          hint="得分不能为负，也不能超过该指标的分值", twin=INLINE, unit="score",
          variants={"not-number": "旧版表式此列应填得分，“{value}”不是数字"}),
    Entry("grade", ERROR, "评价等次与得分相符", "评价等次应为“{should}”（按得分 {basis}），填报为“{stated}”",
          twin=FORMULA),
    Entry("score-manual", WARNING, "须人工评分的指标", "{label}：{reason}", hint="请评价人填写得分"),
    # stated scores judged by the spec's scoring rules ([scoring] judge = true: the national form)
    Entry("score-rule", ERROR, "得分不超过评分规则所给",
          "{label}：按评分规则（{rule}）应得 {should} 分，填报为 {stated} 分", hint="按评分规则核对该指标的得分"),
    Entry("score-band", ERROR, "定性指标的得分在其档内",
          "{label}：完成情况“{word}”属{band}档，得分应在分值的 {low}%–{high}%{edge}（{low_score}–{high_score} 分），"
          "填报为 {stated} 分", hint="按完成情况所属档次给分，或改选与得分相符的完成情况"),
    Entry("actual-not-number", WARNING, "定量指标的实际完成值应为数值",
          "{label}：指标性质为“{nature}”，实际完成值“{value}”不是数值，无法与指标值“{target}”比较",
          hint="核实：填写实际完成的数值（与指标值同一度量单位），定性指标请把指标性质改为“定性”"),
    Entry("reason-required", ERROR, "未达到指标值须说明偏差原因",
          "{label}：未达到指标值（{detail}），须填写偏差原因分析及改进措施",
          hint="在本行“偏差原因分析及改进措施”中说明原因和改进措施",
          variants={"over": "{label}：完成值为指标值的 {ratio}%（{detail}），达到 {limit}% 以上，须说明偏差原因"}),
    Entry("score-deducted", WARNING, "达到指标值而未得满分",
          "{label}：完成值达到指标值（{detail}），得分 {stated} 低于分值 {weight}，未说明扣分原因",
          hint="核实：在本行“偏差原因分析及改进措施”中说明扣分原因"),
    # the budget of the national form
    Entry("execution-over", WARNING, "执行率超过 100%",
          "执行率超过 100%：全年执行数 {spent} 万元多于全年预算数 {budget} 万元（执行率 {rate}%）",
          hint="核实全年执行数与全年预算数"),
    Entry("budget-adjusted", WARNING, "年初预算数与全年预算数不同而未说明原因",
          "预算有调整而未说明原因：年初预算数 {initial} 万元，全年预算数 {budget} 万元（年初{direction} {gap} 万元）",
          hint="核实：在“{reason}”中说明预算调整的原因"),
    Entry("score-ahead", WARNING, "自评预警：指标得分率高于预算执行率",
          "自评预警：指标得分率 {score_rate}%（{scores}/{most} 分）比预算执行率 {rate}% 高 {gap} 个百分点，"
          "超过 {limit} 个百分点", hint="核实各指标得分是否与资金执行情况相符"),
    Entry("budget-unspent", WARNING, "自评预警：预算未执行的比例过高",
          "自评预警：全年预算数 {budget} 万元中有 {unspent} 万元未执行（{share}%），超过 {limit}%",
          hint="核实：在“{reason}”中说明未执行的原因"),
    # the narrative against the tables
    Entry("text-total", WARNING, "综述中的全部门合计与表中相符",
          "综述写的“{phrase}” {quoted} 元（{wan} 万元）与表中各机构{label}之和 {value} 万元不符",
          hint="核对综述中的全部门金额；若综述计入了表中未列的下属机构，请把这些机构补进表中", unit="元"),
    Entry("text-amount", ERROR, "综述中的元金额与表中相符",
          "综述中{phrase} {quoted} 元（{wan} 万元）与{label} {cell} 的 {value} 万元不符",
          hint="核对综述中的金额与表中 {cell}", twin=INLINE, unit="元",
          # a cell holding the sum of several quoted items ([reports.quotes] cells)
          variants={"sum": "综述中{phrase}合计 {quoted} 元与{label} {cell} 的 {value} 万元不符"}),
    Entry("text-footing", ERROR, "综述中的合计与所列分项相符", "{detail}",
          hint="核对综述中合计与分项的金额（只列举部分项目时请在末尾写“等”）", unit="元"),
    # long texts as the office program shows and prints them (rules/longtext.py)
    Entry("text-hidden", WARNING, "长文字写在了隐藏的行中",
          "{label}：第 {row} 行有文字，但这一行是隐藏的：屏幕上看不到，直接打印也不会印出来",
          hint="在左上角的名称框输入 {cell} 回车选中该格，剪切（Ctrl+X）后粘贴到本栏可见的空格子；"
               "Excel、WPS 中也可选中上下两行的行号，右键“取消隐藏”"),
    Entry("text-cut", WARNING, "长文字打印不全",
          "{label}：第 {row} 行的文字约需 {need} 磅高，这一行只有 {have} 磅，屏幕上和直接打印时都只显示前面一部分",
          hint="选中本栏各行的行号，双击两个行号之间的分隔线，行高即按文字调整（Excel：开始→格式→自动调整行高；"
               "WPS：开始→行和列→最适合的行高）",
          variants={"too-long": "{label}：第 {row} 行有 {chars} 字，约需 {need} 磅高，超过一行最高的 409 磅，"
                                "直接打印必然不全"}),
    # what a report workbook may not carry
    Entry("input-formula", ERROR, "填报单元格中的公式", "{label}：填报单元格中是公式 ={formula}，此处应直接填写数值或文字",
          hint="删除公式，直接输入数值或文字",
          variants={"risky": "{label}：填报单元格中是公式 ={formula}，此处应直接填写数值或文字" + _RISKY}),
    # a formula where the template has a label or nothing (sheet protection was taken off)
    Entry("label-formula", ERROR, "表格文字或空白处的公式", "表格文字“{text}”被改成了公式 ={formula}：表格文字不应改动",
          hint="删除该公式；表格文字请从原模板复制该单元格恢复",
          variants={"risky": "表格文字“{text}”被改成了公式 ={formula}：表格文字不应改动" + _RISKY,
                    "blank": "模板中此处为空，现被写入了公式 ={formula}：报表只在填报单元格中填写",
                    "blank-risky": "模板中此处为空，现被写入了公式 ={formula}：报表只在填报单元格中填写" + _RISKY}),
    Entry("external-link", ERROR, "外部链接",
          "工作簿含有指向其他文件的外部链接（{part}）：报表数字应直接填写",
          hint="在“数据→编辑链接”中断开链接后重新保存，或用原模板重新填报",
          variants={"relationship": "工作簿含有指向外部的关系（{kind}：{target}，见 {part}）：报表不应引用外部文件或网址"}),
    # Excel makes a hyperlink of a typed web or mail address: not an error
    Entry("hyperlink", WARNING, "超链接", "工作簿含有超链接（{target}）：报表不需要链接", hint="可删除该超链接"),
    Entry("macro-part", ERROR, "宏", "工作簿含有宏（{part}）：报表不应含宏",
          hint="另存为“Excel 工作簿（*.xlsx）”后重新提交"),
    # xlwings add-ins read their settings (the program to run, the import path) from such a sheet
    Entry("conf-sheet", ERROR, "加载项设置表",
          "工作簿含有名为“{sheet}”的工作表：这是 Excel 加载项（xlwings）的设置表，可指定加载项运行的程序和代码，"
          "报表不应含有此表",
          hint="删除该工作表后重新保存（它可能是隐藏的：右键工作表标签→取消隐藏；深度隐藏的表要在 VBA 编辑器的"
               "属性窗口中把 Visible 改为 -1 才显示），或用原模板重新填报"),
    Entry("project-outside-bookends", WARNING, "项目表在边界表之外",
          "项目表“{sheet}”不在隐藏的边界表“{first}”与“{last}”之间：部门表 {cell} 旁的项目支出核对没有计入它，"
          "显示的差额与本工具的核对结果不同",
          hint="请把工作表“{sheet}”拖到“{first}”与“{last}”之间（右键工作表标签→取消隐藏可看到这两张边界表；"
               "移好后可再隐藏）",
          variants={"missing": "缺少隐藏的边界工作表“{sheet}”：部门表 {cell} 旁的项目支出核对公式无法计算"
                               "（本工具的核对不受影响）"}),
]
# Packs received by `xltools collect` (collect/intake.py), checked against their manifest.
_ENTRIES += [
    Entry("pack-missing", ERROR, "报送包缺少清单中的文件", "报送包中缺少清单列出的文件 {file}",
          hint="请重新生成报送包"),
    Entry("pack-hash", ERROR, "报送包中的文件与清单相符",
          "报送包中的 {file} 与清单（{manifest}）记录的 sha256 不符：打包后被改动过",
          hint="请重新生成报送包，不要在打包后修改其中的文件"),
    Entry("pack-unlisted", WARNING, "报送包中有清单以外的文件", "报送包中的 {file} 不在清单中（打包后被加入）"),
    # A values-only workbook as `xltools pack` writes it: its formulas are values by design.
    Entry("values-copy", WARNING, "只含数值的工作簿",
          "这是报送包中只含数值的工作簿：公式已换成数值，已按数值校验（不核对公式）",
          hint="如需核对公式，请报送填报用的原工作簿"),
]
# What `xltools pack` says about the names of its outputs (pack/run.py).
_ENTRIES += [
    Entry("pack-name-taken", WARNING, "报送包重名",
          "单位名称整理为文件名后与本批中的另一份工作簿相同（“{name}”），本份的输出改名为“{renamed}”",
          hint="请核对两份工作簿的单位名称"),
    Entry("pack-name-shortened", WARNING, "报送包名称过长",
          "单位名称过长，输出的文件夹名只保留前 {kept} 个字：“{renamed}”"),
]
CATALOGUE: dict[str, Entry] = {e.code: e for e in _ENTRIES}

# Hints the checker adds when the narrative quotes a line whose amount is the difference.
HINT_GAP_IN_TEXT = "综述中“{lines}”正好等于差额"
HINT_CROSS_IN_TEXT = "差额与部门综述中的“{lines}”相等，可能是这笔支出没有纳入项目自评表"


def quoted_lines(lines: list[str]) -> str:
    """['a', 'b'] -> 'a”“b' (for the hints above, which put the outer quotes)."""
    return "”“".join(lines)


# What a formula-altered finding calls an inline check cell (it has no field label).
CHECK_CELL_LABEL = "校验单元格"
# The heading of the inline checks' column, on the first row of each report sheet.
CHECK_COLUMN_HEADING = "校验（不打印）"
# The default id of a table's total-row rule when the spec names none (spec/load.py).
ROWS_TO_TOTAL = "rows-to-total"
ROWS_TO_TOTAL_MESSAGE = "合计应等于各行之和"


def entry(code: str) -> Entry:
    return CATALOGUE[code]


def title(code: str) -> str:
    return CATALOGUE[code].title


def message(code: str, variant: str = "", **args) -> str:
    """The sentence of a fixed code in Python (finding() when a Finding is wanted)."""
    return CATALOGUE[code].text(variant, **args)


def excel_text(code: str, variant: str = "", **args) -> str:
    """The same sentence as an Excel string expression (arguments: `Excel(...)` or literals)."""
    return CATALOGUE[code].excel(variant, **args)


# -- entries of the rules the spec declares ----------------------------------------------------
# Made when a rule fires or renders (a finding, a template build): cheap, not kept.
def sum_entry(rule, unit: str = "万元") -> Entry:
    """The entry of one spec sum rule (spec.model.SumRule): its code, message and hint; `unit`:
    its total's."""
    return Entry(rule.code, ERROR, rule.message, SUM_TEMPLATE, rule.hint, FORMULA, origin="spec", unit=unit)


DERIVED_TEMPLATE = "{title}，应为 {should}，填报为 {stated}"


def derived_entry(rule) -> Entry:
    """The entry of a spec rule that derives a figure (spec.model.RatioRule, ShareScoreRule)."""
    return Entry(rule.code, ERROR, rule.message, DERIVED_TEMPLATE, "", FORMULA, origin="spec")


PREVIOUS_TEMPLATE = "{title}：{row}本年填报 {this} 万元，上年报告为 {last} 万元，{direction} {gap} 万元"
PREVIOUS_UNMATCHED = "{title}：上年报告中没有“{row}”，无从核对"


def previous_entry(equals) -> Entry:
    """The entry of a spec's [previous] equals rule (spec.model.Equals): this year against last."""
    return Entry(equals.code, equals.severity, equals.message, PREVIOUS_TEMPLATE, "核对上年报告中的数字，或说明差异的原因",
                 NONE, variants={"unmatched": PREVIOUS_UNMATCHED}, origin="spec")


def check_entry(check) -> Entry:
    """The entry of a spec compare check (spec.model.Check, kind "compare")."""
    template = EQUAL_TEMPLATE if check.op == "=" else AT_MOST_TEMPLATE
    return Entry(check.code, check.severity, check.message, template, "", INLINE, origin="spec", unit=check.unit)


def cross_entry(cross) -> Entry:
    """The entry of the spec's cross-report check (spec.model.CrossCheck), its labels in place."""
    def worded(template: str) -> str:
        for name, label in zip(("total_label", "copies_label", "copy_label"), cross.labels):
            template = template.replace("{" + name + "}", label.replace("{", "{{").replace("}", "}}"))
        return template
    return Entry(cross.code, cross.severity, cross.message, worded(CROSS_TEMPLATE),
                 "部分项目可能未做项目自评", INLINE, origin="spec", unit="万元")


def spec_entries(spec) -> list[Entry]:
    """Every code the spec declares, once each, in the order of the spec."""
    out: dict[str, Entry] = {}
    for rep in spec.reports.values():
        for rule in rep.sums:
            if rule.code not in CATALOGUE:
                out.setdefault(rule.code, sum_entry(rule, rep.fields[rule.target].unit))
        for rule in rep.derived:
            out.setdefault(rule.code, derived_entry(rule))
        for check in rep.checks:
            if check.kind == "compare":
                out.setdefault(check.code, check_entry(check))
    if spec.cross:
        out.setdefault(spec.cross.code, cross_entry(spec.cross))
    for e in spec.previous.equals:
        out.setdefault(e.code, previous_entry(e))
    return list(out.values())


def all_entries(*specs) -> list[Entry]:
    """The whole catalogue for these specs: their rules (a code the first spec declaring it
    words), then the fixed ones."""
    declared: dict[str, Entry] = {}
    for spec in specs:
        for e in spec_entries(spec):
            declared.setdefault(e.code, e)
    return list(declared.values()) + [e for e in _ENTRIES]


def entries_by_code(spec=None) -> dict[str, Entry]:
    """Every entry by its code: the fixed ones, with the spec's rules when a spec is given."""
    return {e.code: e for e in all_entries(spec)} if spec is not None else dict(CATALOGUE)


# -- findings -----------------------------------------------------------------------------------
def finding(code: str | Entry, sheet: str, cell: str, /, *, expected=None, actual=None, hint: str | None = None,
            subject: str = "", where: str = "", variant: str = "", **args) -> Finding:
    """A Finding from a catalogue entry (or its code) and the template's named arguments.

    `subject`: the field the sentence is about, put before it ("基本支出（第1行）：…");
    `where`: the key of a data file, put after it ("…（dept.income[0].total）");
    `hint`: replaces the entry's hint (a hint found in the data); the entry's hint may use the
    template's arguments. Those keywords (and expected/actual) are the Finding's; every other
    keyword is an argument of the template.
    """
    e = code if isinstance(code, Entry) else CATALOGUE[code]
    text = e.text(variant, **args)
    if subject:
        text = f"{subject}：{text}"
    if where:
        text = f"{text}（{where}）"
    if hint is None:
        hint = e.hint.format(**args) if "{" in e.hint else e.hint
    return Finding(e.code, e.severity, sheet, cell, text, expected, actual, hint)


# -- refusals: a file that cannot be used at all -------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """Why a file was refused: the stable code of Report.refused (and of collect's rows). The
    line the user reads is written where the problem is found (xlsx/book.py, spec/registry.py,
    read/, collect/), naming the file; this says what the code covers."""
    code: str
    title: str                 # a few words, as the README lists it
    meaning: str
    collect: bool = False      # only `xltools collect` refuses a submission so
    # The bureau's limit or our own failure, not a verdict on the file: collect records it as
    # such and checks the file again on its next run.
    transient: bool = False


REFUSALS: tuple[Refusal, ...] = (
    Refusal("not-xlsx", "不是工作簿", "不是 Excel 工作簿（文本、网页、PDF、Word、.ods……）"),
    Refusal("old-xls", "旧版 .xls/.et", "旧版 Excel 97-2003（.xls）或 WPS（.et）文件"),
    Refusal("encrypted", "设置了打开密码", "设置了打开密码（已加密），或压缩包设置了密码"),
    Refusal("empty", "空文件", "空文件（0 字节）"),
    Refusal("too-large", "文件过大", "文件过大，不是报表工作簿或数据文件"),
    Refusal("zip-bomb", "压缩炸弹", "压缩包可疑（解压后过大、成员过多或压缩比异常，疑似压缩炸弹）"),
    Refusal("entity-attack", "XML 实体攻击", "XML 含文档类型声明（DTD/实体），疑似恶意构造"),
    Refusal("damaged", "损坏或不完整", "文件已损坏或不完整（压缩包、部件或 XML 无法读取）"),
    Refusal("other-template", "其他模板或年度、地区、版本",
            "没有规格能读它：不是本工具的模板生成的工作簿（缺少模板标识），或是其他年度、地区、版本的模板；"
            "数据文件的年度、地区没有对应的规格"),
    Refusal("sheet-missing", "工作表被删除或改名", "报表的工作表被删除或改名"),
    Refusal("names-missing", "定义名称被删改或指向了别处", "定义名称被删除、改动或指向了别的工作表"),
    Refusal("unsafe-content", "含外部链接或宏（score 不处理）", "工作簿含外部链接或宏（xltools score 不处理这样的工作簿）"),
    Refusal("unreadable-file", "文件不存在或无权限", "文件无法打开（不存在、没有权限、是文件夹、命名管道或设备……）"),
    Refusal("data-invalid", "数据文件有误", "数据文件（JSON/TOML）格式错误、编码不对或含未知的键、错误的类型"),
    Refusal("nested-zip", "压缩包嵌套过深", "压缩包中压缩包里的压缩包（只解开一层嵌套）", collect=True),
    Refusal("pack-manifest", "报送包清单缺失", "报送包的清单 manifest.json 无法读取或没有列出文件", collect=True),
    Refusal("pack-empty", "报送包中没有报表", "报送包中没有可校验的数据文件或工作簿", collect=True),
    Refusal("junk-members", "压缩包中大量无法使用的文件",
            "压缩包中有大量成员不是工作簿或数据文件（或为空、损坏、可疑），合为一行记录", collect=True),
    Refusal("timeout", "校验超时（本局时限）", "超出本局设置的校验时限，下次收取时重新校验", collect=True, transient=True),
    Refusal("worker-died", "校验进程意外终止（本机）", "本机的校验进程意外终止（如内存不足被系统结束），下次收取时重新校验",
            collect=True, transient=True),
    Refusal("out-of-memory", "内存超限（本局上限）", "超出本局设置的内存上限，下次收取时重新校验", collect=True, transient=True),
    Refusal("changed", "收取时文件被改动", "文件在收取过程中被改动，下次收取时重新校验", collect=True, transient=True),
    Refusal("internal-error", "程序内部错误", "本程序出错（请报告），下次收取时重新校验", collect=True, transient=True),
)
REFUSED_REASONS: dict[str, str] = {r.code: r.meaning for r in REFUSALS}
# The refusals that are no verdict on the file (Refusal.transient).
TRANSIENT = frozenset(r.code for r in REFUSALS if r.transient)



def code_title(code: str, specs=()) -> str:
    """The Chinese title of any code a summary counts: a finding's (a fixed one, or a rule one of
    `specs` declares) or a refusal's; the code itself when none of them knows it."""
    if code in CATALOGUE:
        return CATALOGUE[code].title
    refusal = next((r for r in REFUSALS if r.code == code), None)
    if refusal is not None:
        return refusal.title
    for spec in specs:
        found = next((e for e in spec_entries(spec) if e.code == code), None)
        if found is not None:
            return found.title
    return code


# What a submission's state is called (collect's summary, ledger history and lines; check's head line).
STATUS_LABEL = {"ok": "通过", "errors": "有错误", "refused": "无法使用"}


def refusals_table() -> str:
    """The Markdown table of every refusal code (generated; README.md carries it between markers)."""
    lines = ["| 代码 | 原因 | 说明 | 哪些命令 |", "|---|---|---|---|"]
    lines += [f"| `{r.code}` | {_cell(r.title)} | {_cell(r.meaning)} | {'collect' if r.collect else '全部'} |"
              for r in REFUSALS]
    return "\n".join(lines)


# -- the README's generated tables --------------------------------------------------------------
README_BEGIN, README_END = "<!-- rules:begin -->", "<!-- rules:end -->"
REFUSALS_BEGIN, REFUSALS_END = "<!-- refusals:begin -->", "<!-- refusals:end -->"
_ARG = re.compile(r"\{(\w+)\}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def shipped_specs() -> list:
    """Every spec that comes with xltools (the county form first)."""
    from .spec.registry import Registry
    return Registry.packaged().specs()


def rules_table(specs=None) -> str:
    """The Markdown table of every code of these specs (default: those that come with xltools;
    generated, README.md carries it between the markers)."""
    lines = ["| 代码 | 级别 | 规则 | 说明（〔规则〕处为左栏的规则，{…} 处为实际的数字、单元格） | 模板中 | 建议 |",
             "|---|---|---|---|---|---|"]
    for e in all_entries(*(shipped_specs() if specs is None else specs)):
        sentence = e.template.replace("{title}", "〔规则〕")
        lines.append(f"| `{e.code}` | {SEVERITY_LABEL[e.severity]} | {_cell(e.title)} | {_cell(sentence)} "
                     f"| {TWIN_LABEL[e.twin]} | {_cell(e.hint)} |")
    return "\n".join(lines)


def readme_with_table(readme: str, specs=None) -> str:
    """README text with the generated tables between their markers (rules, refusals)."""
    for begin, end, table in ((README_BEGIN, README_END, rules_table(specs)),
                              (REFUSALS_BEGIN, REFUSALS_END, refusals_table())):
        start, stop = readme.index(begin) + len(begin), readme.index(end)
        readme = readme[:start] + "\n" + table + "\n" + readme[stop:]
    return readme


README = Path(__file__).resolve().parents[1] / "README.md"


def main(argv: list[str]) -> int:
    if argv == ["--readme"]:
        README.write_text(readme_with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"已更新 {README} 中的规则表与无法使用的原因代码表")
        return 0
    if argv == ["--table"]:
        print(rules_table())
        return 0
    print("用法：python -m xltools.catalogue --readme | --table", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
