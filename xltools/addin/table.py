"""The one declaration of the add-in's worksheet functions and ribbon macros.

Everything else is derived from here: the xlwings decorators in xltools/addin/excel.py, the VBA wrappers
and MacroOptions descriptions (vba.py), the ribbon (ribbon.py) and the README's tables. On Linux the
xlwings decorators attach nothing to introspect (xlwings's own generate_vba_wrapper reads
`__xlfunc__`), so the table is explicit rather than read back from the functions.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import __version__

ADDIN_VERSION = __version__
DISTRIBUTION = "xltools-jixiao"     # our name on the package index ("xltools" there is another project)
XLWINGS_VERSION = "0.37.8"          # the xlwings whose VBA the add-in embeds (pinned in pyproject.toml)
PROJECT_NAME = "xltools"             # xlwings custom add-in project: %USERPROFILE%\.xltools\xltools.conf
UDF_MODULE = "xltools.addin.excel"
CATEGORY = "xltools 绩效自评"
MAX_HELP = 255                       # Excel's limit for MacroOptions descriptions and argument help
# xlwings's conversion options for every worksheet argument: an error cell (#N/A, #DIV/0!) arrives as
# its text, which the parsers report, instead of None, which would count as a blank, i.e. 0.
ARG_OPTIONS = {"err_to_str": True}


@dataclass(frozen=True)
class Arg:
    name: str                        # ASCII, never a VBA keyword (vba.py checks)
    help: str                        # Chinese, shown in the function wizard
    vararg: bool = False             # ParamArray: any number of cells or ranges
    ndim: int | None = None          # 2: xlwings always passes a list of lists (a range)
    caller: bool = False             # xlwings's reserved `caller`: the calling range, not in the signature


@dataclass(frozen=True)
class Function:
    name: str                        # the worksheet function, ASCII
    description: str                 # Chinese, the function wizard's description
    args: tuple[Arg, ...]
    volatile: bool = False
    spills: bool = False             # returns a dynamic array


@dataclass(frozen=True)
class Macro:
    id: str                          # ribbon control id and VBA callback (Sub <callback>(control As IRibbonControl))
    label: str                       # Chinese button label
    screentip: str
    supertip: str
    image: str                       # imageMso: a built-in Office icon (no image parts to ship)
    python: str                      # the function in xltools.addin.excel that RunPython calls
    group: str = "check"

    @property
    def callback(self) -> str:
        return "Xltools" + self.id[0].upper() + self.id[1:]

    @property
    def command(self) -> str:
        return f"import xltools.addin.excel as x; x.{self.python}()"


_AMOUNT_HELP = "万元金额：单元格、区域或数字；空白按 0，文字数字按读表规则换算"

FUNCTIONS: tuple[Function, ...] = (
    Function("XLT_TOTAL", "万元金额的精确合计（按分计算，不受浮点误差影响）；空白按 0，"
             "“1,234.5”“１２３万元”等文字数字按校验程序的规则换算，无法识别的单元格在结果中指明。",
             (Arg("amounts", _AMOUNT_HELP, vararg=True, ndim=2),)),
    Function("XLT_TIE", "合计与分项是否相符（精确到分）：相符返回空白，否则说明差额，如“差额 0.83 万元（合计多于分项）”。",
             (Arg("total", "合计金额（万元）"), Arg("parts", "分项金额：单元格或区域，可填多个", vararg=True, ndim=2))),
    Function("XLT_FUND_CHECK", "按本工作簿规格的规则校验项目资金表：2022 年表式为计划安排/实际到位/实际支出/结余 × "
             "合计、中央、省、市、县市区、其它，选中 6 行 8 列（含标签）或 6 行 4 列（仅金额）；项目支出绩效自评表为"
             "年初预算数/全年预算数/全年执行数 × 年度资金总额及其中各行，选中 4 行 3 列金额。无误返回空白，否则每个问题一行。",
             (Arg("matrix", "资金表区域：如项目表的 A16:H21（含标签列）或其中的金额列", ndim=2),
              Arg("caller", "", caller=True)), spills=True),
    Function("XLT_SCORE", "按本工作簿规格的评分规则给一项指标评分（达到指标值得满分，未达到按规则计分）；"
             "无法自动评分时返回说明文字。",
             (Arg("target", "指标值（目标），如“≥95%”“≤10天”“达成”；项目支出绩效自评表选中“指标性质、指标值、度量单位”"
                            "三格", ndim=2),
              Arg("actual", "实际完成值，如“98%”“12天”"), Arg("weight", "分值"), Arg("caller", "", caller=True))),
    Function("XLT_COMPOSITE", "综合得分：各指标得分之和；分值合计须符合规格（2022 年表式为 100，项目支出绩效自评表为 90，"
             "另有预算执行率 10 分）、每项得分须在 0 至分值之间，否则返回问题说明。",
             (Arg("weights", "各指标分值（一列）", ndim=2), Arg("scores", "各指标得分（与分值同样多）", ndim=2),
              Arg("caller", "", caller=True))),
    Function("XLT_GRADE", "评价等次：按本工作簿规格的等次区间（如优秀/良好/中/差，下限含本数）。",
             (Arg("score", "综合得分"), Arg("caller", "", caller=True))),
    Function("XLT_CHECK", "本工作簿（按最近一次保存的文件）的全部校验结果，每个问题一行：级别、代码、工作表、单元格、说明。"
             "保存后按 Ctrl+Alt+F9 刷新。",
             (Arg("caller", "", caller=True),), spills=True),
)

GROUPS = {"check": "校验", "score": "评分", "project": "项目", "export": "导出", "help": "帮助"}

MACROS: tuple[Macro, ...] = (
    Macro("validate", "校验", "校验本工作簿",
          "按规格校验当前工作簿（含未保存的修改）：在“校验结果”表列出每个问题并链接到其单元格，"
          "并在有问题的单元格上加标记（不改动模板原有格式）。",
          "ReviewAcceptChange", "validate", "check"),
    Macro("clearMarks", "清除标记", "清除校验标记",
          "删除“校验结果”表和校验加上的标记，工作簿恢复原样。", "ReviewDeleteComment", "clear_marks", "check"),
    Macro("score", "计算得分", "自动评分",
          "按指标值、实际完成值和分值填写各指标得分（写入数值），综合得分与评价等次由模板公式计算。",
          "FunctionWizard", "score", "score"),
    Macro("newProject", "新增项目表", "新增一张项目自评表",
          "复制项目自评表，按项目名称命名，放在已有项目表之后（部门整体的项目支出核对会计入它）。",
          "TableInsert", "new_project", "project"),
    Macro("export", "导出", "导出报送材料",
          "把当前工作簿打包：PDF 由 Excel 导出，另附数值副本与清单，放在工作簿旁的文件夹中。",
          "FileSaveAsPdfOrXps", "export", "export"),
    Macro("about", "关于", "关于 xltools",
          "显示加载项、xltools 与模板的版本，以及日志文件的位置。", "Info", "about", "help"),
)


def function(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)


def macro(python: str) -> Macro:
    return next(m for m in MACROS if m.python == python)


def docs_tables() -> str:
    """The buttons and functions tables of docs/addin.md (a test keeps the file in sync)."""
    lines = ["| 按钮 | 作用 |", "|---|---|"]
    lines += [f"| **{m.label}** | {m.supertip} |" for m in MACROS]
    lines += ["", "| 函数 | 作用 | 参数 |", "|---|---|---|"]
    for f in FUNCTIONS:
        shown = [a for a in f.args if not a.caller]
        sig = ", ".join(f"{a.name}…" if a.vararg else a.name for a in shown)
        helps = "；".join(f"`{a.name}`：{a.help}" for a in shown) or "—"
        lines.append(f"| `={f.name}({sig})` | {f.description} | {helps} |")
    return "\n".join(lines)
