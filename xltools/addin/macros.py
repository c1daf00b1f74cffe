"""What the ribbon's buttons do, over the workbook interface of access.py.

Each macro reads a snapshot of the open workbook with the same library the command line uses
(check, score, the reader), works out plain values, and hands them to the interface; it returns
the one message the person sees (None: nothing to say). No Excel object is touched here, so the
same code runs on a file (FileBook, the tests) and in Excel (LiveBook). Each workbook is read
with the spec that made it (its template's fingerprint, among the specs that come with xltools).
"""
from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..a1 import BAD_SHEET_CHARS, MAX_SHEET_NAME, RESERVED_SHEET_NAMES, a1
from ..catalogue import entries_by_code
from ..errors import BookError
from ..spec.registry import Registry
from ..write import marks
from .access import BookAccess



def validate(book: BookAccess) -> str:
    from ..checker import read_any
    from ..rules import run_rules
    spec, filled = read_any(book.snapshot(), Registry.packaged())
    report = run_rules(filled, spec)
    plan = marks.plan(report, book.sheet_names(), entries_by_code(spec))
    book.apply_marks(plan)
    errors = sum(f.severity == "error" for f in report.findings)
    warnings = len(report.findings) - errors
    if not report.findings:
        return "校验通过：没有发现问题。"
    return (f"校验完成：错误 {errors} 处，提示 {warnings} 处，已列在“{marks.RESULT_SHEET}”表（点单元格地址可跳转），"
            "有问题的单元格已标色；改正后可再点“校验”，或点“清除标记”恢复原样。")


def clear_marks(book: BookAccess) -> str:
    book.clear_marks()
    return "已清除校验标记和“校验结果”表。"


def score(book: BookAccess) -> str:
    from ..checker import read_book
    from ..write.score import ScoreResult, score_instance, summary_lines
    sp, filled = read_book(book.snapshot(), Registry.packaged())
    result = ScoreResult(Path(book.label))
    values: dict[str, dict[str, object]] = {}
    for inst in filled.instances:
        new = score_instance(inst, sp, result)
        inst.values.update(new)
        values[inst.sheet] = {inst.report.cell(name): value for name, value in new.items()}
    book.write_values(values)
    lines = summary_lines(filled, sp, result)
    manual = len(result.findings)
    if manual:
        lines.append(f"另有 {manual} 项无法自动评分，已留空，请评价人填写。")
    return "\n".join(lines)


def sheet_name_for(project: str, taken) -> str:
    """A sheet name Excel accepts (31 characters, none of []:*?/\\, no apostrophe at either end,
    not a name Excel reserves), unique in the workbook."""
    base = BAD_SHEET_CHARS.sub("_", project.strip())[:MAX_SHEET_NAME].strip("'").strip() or "项目"
    if base.lower() in (r.lower() for r in RESERVED_SHEET_NAMES):
        raise BookError(f"“{base}”是 Excel 保留的工作表名，不能用作项目表名：请换一个项目名称")
    taken = {t.lower() for t in taken}
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:MAX_SHEET_NAME - len(suffix)] + suffix, n + 1
    return name


def new_project(book: BookAccess) -> str | None:
    """A new copy of the report copied per project, named by the project, its copy name filled."""
    from ..checker import read_book
    from ..formulas import LAST_BOOKEND
    answer = book.ask("新项目的名称（将作为工作表名）：", "新增项目表")
    if answer is None:
        return None
    project = answer.strip()
    sp, filled = read_book(book.snapshot(), Registry.packaged())
    rep = sp.copied
    names = book.sheet_names()
    if rep is None or LAST_BOOKEND not in names:
        raise BookError(f"工作簿 {book.label} 缺少“{LAST_BOOKEND}”表，无法确定新项目表的位置（请用原模板）")
    source = rep.sheet if rep.sheet in names else filled.copies[0].sheet if filled.copies else None
    if source is None:
        raise BookError(f"工作簿 {book.label} 没有可复制的项目表")
    name = sheet_name_for(project, names)
    book.copy_sheet(source, name, LAST_BOOKEND)
    # The copy starts as the template's blank form: the source's figures are not the new project's.
    # A long text's field cell is its join formula: the text lives in the rows of its run.
    blank = {f.cell: f.default for f in rep.inputs if f.name not in rep.runs}
    for run in rep.runs.values():
        blank.update({a1(row, run.col): None for row in run.row_numbers})
    blank[rep.cell(sp.identity.copy_name)] = project
    book.write_values({name: blank})
    counted = ""
    if sp.cross:     # the cross check counts a project sheet once its figure is filled (formulas.value_filled)
        figure = rep.fields[sp.cross.copy_field].label.split("（")[0]      # 实际支出（万元）·合计 -> 实际支出
        counted = f"，填写{figure}后计入{sp.cross.labels[0]}的核对"
    return f"已新增项目自评表，工作表名：{name}（位于“{LAST_BOOKEND}”之前{counted}）。"


def export(book: BookAccess) -> str:
    """The hand-in folder beside the workbook, by the same packer as `xltools pack`. A workbook with
    errors is packed too (a draft for the unit's own review), every PDF page watermarked."""
    from ..pack import run as pack
    result = pack.pack_one(book.snapshot(), book.folder(), force=True, spec=Registry.packaged(),
                           pdf_maker=book.pdf_maker())
    if result.error:
        raise BookError(f"无法导出 {book.label}：{result.error}")
    note = (f"\n有 {len(result.errors)} 处错误，PDF 每页已加“{pack.WATERMARK}”水印；请先“校验”并改正后再导出报送。"
            if result.forced else "")
    return f"已导出到 {result.output}（{len(result.files)} 个文件）。{note}"


def about(book: BookAccess) -> str:
    from ..errors import XltoolsError
    from ..spec.fingerprint import Fingerprint
    from ..xlsx import open_book
    from .log import log_path
    known = Registry.packaged()
    try:      # the reader's own parse of the defined names (any prefix, any encoding)
        fp = Fingerprint.of_book(open_book(book.snapshot()))
        info = known.by_fingerprint.get(fp) if fp else None
        found = f"{(info.describe() if info else fp.describe())}，{fp}" + ("" if info else "（没有对应的规格）") if fp \
            else "（不是本工具的模板）"
    except (OSError, XltoolsError):
        found = "（无法读取）"
    try:
        import xlwings
        xlwings_version = xlwings.__version__
    except ImportError:
        xlwings_version = "未安装"
    return "\n".join([f"加载项：{book.addin_version()}",
                      f"xltools：{__version__}（xlwings {xlwings_version}）",
                      f"规格：{'；'.join(f'{i.describe()}，{i.fingerprint}' for i in known.infos)}",
                      f"本工作簿的模板：{found}",
                      f"日志文件：{log_path()}"])
