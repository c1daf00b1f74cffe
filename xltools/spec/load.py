"""Read a spec file (specs/YEAR.toml), validate it, lay it out and expand its rules.

Every problem raises SpecError naming the file, the line and the place in it (e.g.
`specs/2022.toml 第 380 行 reports[0].rules[3] (id=basic)：未知字段 spend.foo`); nothing is written.
A key nothing reads (a misspelt `requried`) is refused too: it would change nothing without a word.
"""
from __future__ import annotations

import hashlib
import re
import string
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .. import catalogue
from ..a1 import BAD_SHEET_CHARS, MAX_SHEET_NAME, RESERVED_SHEET_NAMES
from ..errors import SpecError
from ..files import read_regular
from ..findings import ERROR, WARNING
from .previous import previous_of
from .scoring import scoring_rules
from .source import Source
from .shipped import TEMPLATE_NAME, default_spec
from .layout import Layout
from .model import (Check, CopyRule, CrossCheck, Figure, Grade, Identity, Placed, PrintSetup, Quotes,
                    Report, Spec, SumRule, Term)

# The repository's specs/2022.toml in a checkout, else the copy installed in the package.
DEFAULT_SPEC = default_spec()
MAX_SPEC_BYTES = 10 * 2**20     # a spec is tens of kilobytes


def _dec(value, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise SpecError(f"{where}：{value!r} 不是数字") from None


def parse_expr(expr: str, where: str) -> list[Term]:
    """'a.b + c - d.e' -> terms. Only sums and differences: every rule of domain.md is one."""
    terms, sign, token = [], 1, ""
    for ch in expr + "+":
        if ch in "+-" and token.strip():
            terms.append(Term(sign, token.strip()))
            token = ""
            sign = 1 if ch == "+" else -1
        elif ch in "+-":
            sign = -sign if ch == "-" else sign
        else:
            token += ch
    if not terms:
        raise SpecError(f"{where}：表达式为空")
    return terms


def load_spec(path: str | Path | None = None, *, year: int | None = None, region: str | None = None) -> Spec:
    path = Path(path) if path else DEFAULT_SPEC
    raw = read_regular(path, MAX_SPEC_BYTES, SpecError, noun="规格文件")   # a FIFO would hang read_bytes
    try:
        text = raw.decode("utf-8-sig")        # Windows Notepad puts a BOM before UTF-8
        doc = tomllib.loads(text)
    except UnicodeDecodeError:
        raise SpecError(f"{path}：不是 UTF-8 编码的文本（如 GBK）：请用记事本等“另存为”，编码选 UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(_syntax_error(path, text, e)) from None
    where = str(path)
    if "reports" in doc and "identity" not in doc:
        # A spec written before report kinds were declared in it names no unit field
        raise SpecError(f"{where}：缺少 [identity]（填报单位名称的字段）。这是报表种类写入规格之前的旧规格："
                        "请从 specs/2022.toml 复制 [identity]、[pack]、[summary] 及各报表的 scope、data、pdf（见 README“管理员”一节）")
    source = Source(where, text, doc)
    try:
        spec = _build(source.doc, where, raw, year, region)
    except SpecError as e:
        raise SpecError(_with_line(source, str(e))) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError):
        # A value of a type or form the loader did not foresee (rows = "36", indicators = "…"): it
        # broke in the table whose key it read last, on that key or one read a little before it
        table, key = source.last[:-1], "".join(str(p) for p in source.last[-1:])
        raise SpecError(source.at(table, "此处有值的类型或写法不对，请对照 specs/2022.toml 中同名的键"
                                         f"（最后读到的是 {key}；数字不加引号，文字加引号，列表写在 [ ] 中）")) from None
    unread = list(source.unread())
    if unread:
        more = f"（另有 {len(unread) - 1} 个未知的键）" if len(unread) > 1 else ""
        raise SpecError(source.at(unread[0], f"未知的键 {unread[0][-1]}：拼写有误，或这里不用这个键（写了也不起作用）{more}"))
    return spec


def _syntax_error(path: Path, text: str, e: tomllib.TOMLDecodeError) -> str:
    """tomllib's message is English: the line, the column and the line's text say it to an admin."""
    at = re.search(r"line (\d+), column (\d+)", str(e))
    if not at:
        return f"{path}：TOML 语法错误（请对照 specs/2022.toml 检查引号、括号与等号）"
    line = int(at.group(1))
    shown = (text.splitlines()[line - 1:line] or [""])[0].strip()[:80]
    return (f"{path} 第 {line} 行第 {at.group(2)} 列：TOML 语法错误，该行为“{shown}”"
            "（请检查引号、括号是否成对，键与值之间是否有等号，同一个键是否写了两次）")


def _with_line(source: Source, message: str) -> str:
    """'{file}: reports[0].blocks[3]：…' -> '{file} 第 N 行 reports[0].blocks[3]：…' (the place's line)."""
    m = re.match(re.escape(source.name) + r"[:：]\s*((?:[A-Za-z_]\w*(?:\[\d+\])*)(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*)",
                 message)
    if not m:
        return message
    path = tuple(int(p) if p.isdigit() else p for p in re.findall(r"[A-Za-z_]\w*|\d+", m.group(1)))
    line = source.line_of(path)
    return f"{source.name} 第 {line} 行 {message[m.start(1):]}" if line else message


def _build(doc: dict, where: str, raw: bytes, year, region) -> Spec:
    t = doc["template"]
    if not isinstance(t.get("any_region", False), bool):      # registry.py reads it: a data file of any region
        raise SpecError(f"{where}: template.any_region：应为 true 或 false")
    declared_year, declared_region = t["year"], t["region"]     # read even when --year, --region override them
    year = int(year or declared_year)
    region = region or declared_region
    fmt = {"year": year, "region": region, "bureau": t["bureau"].replace(t["region"], region, 1)}

    grades = [Grade(_dec(g["min"], f"{where}: grades[{i}].min"), g["label"]) for i, g in enumerate(doc.get("grades", []))]
    if not grades or grades[-1].min != 0:
        raise SpecError(f"{where}: grades：评价等次须从高到低列出，且最低一档下限为 0")
    if len({g.min for g in grades}) != len(grades) or len({g.label for g in grades}) != len(grades):
        raise SpecError(f"{where}: grades：评价等次的下限或名称重复")
    for i, (upper, lower) in enumerate(zip(grades, grades[1:]), start=1):
        if lower.min > upper.min:      # a typo (良 95 under 优 90) would grade 96 良 and 92 优
            raise SpecError(f"{where}: grades[{i}].min：评价等次须从高到低列出：“{lower.label}”的下限 {lower.min} "
                            f"高于上一档“{upper.label}”的 {upper.min}")

    pr = doc["print"]
    printing = PrintSetup([float(w) for w in pr["widths"]], float(pr["check_width"]), pr["font"],
                          pr.get("text_font", pr["font"]), pr["title_font"], float(pr["body_size"]))
    if not 4 <= len(printing.widths) <= 16:
        raise SpecError(f"{where}: print.widths：须给出打印的每一列的列宽（4 至 16 列，如 A–H 共 8 列）")
    scoring = scoring_rules(doc, where)

    reports: dict[str, Report] = {}
    seen_names: dict[str, str] = {}
    for i, rd in enumerate(doc["reports"]):
        place = f"{where}: reports[{i}]"
        rep = Report(rd["id"], rd["sheet"], rd["scope"], rd["title"], rd.get("data", rd["id"]),
                     rd.get("pdf", "{sheet}_{name}" if rd["scope"] == "sheet" else "{sheet}"))
        if rep.id in reports:
            raise SpecError(f"{place}：报表 id {rep.id} 重复")
        _sheet_name(rep.sheet, [r.sheet for r in reports.values()], f"{place}.sheet")
        if rep.scope not in ("workbook", "sheet"):
            raise SpecError(f"{place}.scope：应为 workbook 或 sheet")
        if rep.data in ("year", "region") or rep.data in (r.data for r in reports.values()):
            raise SpecError(f"{place}.data：数据文件中的键 {rep.data} 重复或与 year、region 相同")
        _names_in(rep.pdf, {"sheet"} | ({"name"} if rep.copied else set()), f"{place}.pdf")
        targets = _rule_targets(rd, place)
        Layout(rep, printing.widths, targets, fmt, place, scoring).run(rd["blocks"])
        for name in rep.fields:
            if name in seen_names:
                raise SpecError(f"{place}：字段名 {name} 与报表 {seen_names[name]} 重复（定义名称须在整个工作簿唯一）")
            seen_names[name] = rep.id
        _expand_rules(rep, rd, place)
        reports[rep.id] = rep
    if not reports or sum(r.copied for r in reports.values()) > 1:
        raise SpecError(f"{where}: reports：须至少有一张报表，且至多一张按项目复制（scope = \"sheet\"）")
    identity = _identity(doc["identity"], reports, where)
    pack_name = doc.get("pack", {}).get("name", "{year}_{unit}")
    _names_in(pack_name, {"year", "unit"}, f"{where}: pack.name")
    cross = _cross(doc["cross"], reports, where) if "cross" in doc else None
    summary = doc.get("summary", {})
    return Spec(where, year, region, fmt["bureau"], int(t["form_version"]), grades, scoring, printing,
                reports, cross, hashlib.sha256(raw).hexdigest(), identity,
                _figures(summary.get("figures", []), reports, f"{where}: summary.figures"),
                _figures(summary.get("copy_figures", []), reports, f"{where}: summary.copy_figures", copies=True),
                pack_name=pack_name, previous=previous_of(doc, reports, where), form=t.get("form", ""),
                template_file=_template_file(t, where))


def _sheet_name(name, taken: list[str], where: str) -> None:
    """A report's sheet is named as Excel allows, and apart from the others the workbook holds."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_SHEET_NAME or BAD_SHEET_CHARS.search(name) \
            or name.startswith("'") or name.endswith("'"):
        raise SpecError(f"{where}：工作表名 {name!r} 不可用：须为 1 至 {MAX_SHEET_NAME} 个字，不含 [ ] : * ? / \\，"
                        "不以单引号开头或结尾")
    from ..formulas import FIRST_BOOKEND, LAST_BOOKEND    # both read specs: imported when used
    from ..write.marks import RESULT_SHEET
    others = (*taken, FIRST_BOOKEND, LAST_BOOKEND, RESULT_SHEET, *RESERVED_SHEET_NAMES)
    if name.lower() in (other.lower() for other in others):
        raise SpecError(f"{where}：工作表名 {name} 已被另一张报表或本工具的工作表（{FIRST_BOOKEND}、{LAST_BOOKEND}、"
                        f"{RESULT_SHEET}）使用")


def _template_file(t: dict, where: str) -> str:
    name = t.get("file", TEMPLATE_NAME)
    if not isinstance(name, str) or not name.endswith(".xlsx") or "/" in name or "\\" in name or name.startswith("."):
        raise SpecError(f"{where}: template.file：应为 .xlsx 文件名（不含文件夹）")
    return name


# -- what a workbook of the form holds, beyond its reports' layout ----------------------------
def _copied(reports: dict[str, Report]) -> Report | None:
    return next((r for r in reports.values() if r.copied), None)


def _fields_of(reports: dict[str, Report], ref: str, where: str) -> tuple[Report, tuple[str, ...]]:
    """A field, or `table.column`: its rows (the total row when the table has one), and its report."""
    table, _, column = ref.partition(".")
    for rep in reports.values():
        tab = rep.tables.get(table)
        if column and tab is not None and column in tab.columns:
            return rep, tuple(tab.name(column, k) for k in ([tab.total_row] if tab.total_row else tab.rows))
        if not column and ref in rep.fields:
            return rep, (ref,)
    raise SpecError(f"{where}：未知字段 {ref}")


def _identity(d: dict, reports: dict[str, Report], where: str) -> Identity:
    unit = _fields_of(reports, d["unit"], f"{where}: identity.unit")[1][0]
    copied, copy_name = _copied(reports), d.get("copy_name", "")
    if copied is not None and copy_name not in copied.fields:
        raise SpecError(f"{where}: identity.copy_name：应为按项目复制的报表“{copied.sheet}”中的字段")
    return Identity(unit, copy_name)


def _cross(c: dict, reports: dict[str, Report], where: str) -> CrossCheck:
    held, fields = _fields_of(reports, c["total"], f"{where}: cross.total")
    copied = _copied(reports)
    if held.copied or "." not in c["total"]:
        raise SpecError(f"{where}: cross.total：应为只有一张的报表中某表的一列（表.列）")
    if copied is None or c["copies"] not in copied.fields:
        raise SpecError(f"{where}: cross.copies：未知字段 {c['copies']}（应为按项目复制的报表中的字段）")
    labels = (c.get("total_label", held.fields[fields[0]].label), c.get("copies_label", copied.fields[c["copies"]].label),
              c.get("copy_label", copied.sheet))
    return CrossCheck(_spec_code(c["id"], f"{where}: cross"), _severity(c, WARNING, f"{where}: cross"), held.id, fields,
                      copied.id, c["copies"], c["message"], labels)


def _figures(declared: list, reports: dict[str, Report], where: str, copies: bool = False) -> tuple[Figure, ...]:
    """[summary] figures (copies=False) or copy_figures (copies=True: of the copied report)."""
    out: list[Figure] = []
    for j, fd in enumerate(declared):
        place = f"{where}[{j}]"
        ref = fd.get("column") or fd.get("field") or ""
        if ("column" in fd) == ("field" in fd) or ("column" in fd) != ("." in ref):
            raise SpecError(f"{place}：须给出 field（一个字段）或 column（表.列）之一")
        rep, names = _fields_of(reports, ref, place)
        if copies and not rep.copied:
            raise SpecError(f"{place}：{ref} 不在按项目复制的报表中")
        if not rep.fields[names[0]].numeric:
            raise SpecError(f"{place}：{ref} 不是金额或数字")
        key = fd.get("key")
        if not isinstance(key, str) or not key.isascii() or not key.isidentifier() or key in (f.key for f in out):
            raise SpecError(f"{place}.key：须为不重复的 ASCII 名称")
        out.append(Figure(key, fd["label"], rep.id, names))
    return tuple(out)


def _names_in(template: str, allowed: set[str], where: str) -> None:
    """A file-name template names only what it may ({year}, {unit}…), and is one file's name on
    Windows too: a / made pack write into a folder that is not there."""
    if not isinstance(template, str) or not template.strip(" .") or re.search(r'[\\/:*?"<>|\x00-\x1f]', template):
        raise SpecError(f"{where}：{template!r} 不能用作文件名：不含 \\ / : * ? \" < > | 等字符（不能分出文件夹）")
    try:
        named = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        named = {"{"}
    if not named <= allowed:
        raise SpecError(f"{where}：{template!r} 中只能用 {'、'.join('{' + a + '}' for a in sorted(allowed))}")


def _rule_targets(rd: dict, place: str) -> set[tuple[str, str]]:
    out = set()
    for j, rule in enumerate(rd.get("rules", [])):
        target = rule.get("target", "")
        if target.count(".") != 1:
            raise SpecError(f"{place}.rules[{j}] (id={rule.get('id')})：target 应写成 表.列，实为 {target!r}")
        out.add(tuple(target.split(".")))
    return out


def _expand_rules(rep: Report, rd: dict, place: str):
    def field_of(ref: str, row: str | None, where: str) -> str:
        if "." in ref:
            table, column = ref.split(".", 1)
            tab = rep.tables.get(table)
            if tab is None or column not in tab.columns:
                raise SpecError(f"{where}：未知字段 {ref}")
            if row not in tab.rows:
                raise SpecError(f"{where}：表 {table} 没有第 {row} 行")
            name = tab.name(column, row)
        else:
            name = ref
        if name not in rep.fields:
            raise SpecError(f"{where}：未知字段 {ref}")
        return name

    for j, rule in enumerate(rd.get("rules", [])):
        where = f"{place}.rules[{j}] (id={rule.get('id')})"
        table, column = rule["target"].split(".")
        tab = rep.tables.get(table)
        if tab is None or column not in tab.columns:
            raise SpecError(f"{where}：未知字段 {rule['target']}")
        terms = parse_expr(rule["expr"], where)
        for key in tab.rows:
            if key == tab.total_row:
                continue
            rep.sums.append(SumRule(_spec_code(rule["id"], where), field_of(rule["target"], key, where),
                                    tuple(Term(t.sign, field_of(t.name, key, where)) for t in terms),
                                    rule["message"], rule.get("hint", "")))

    # A table's total row is the column-wise sum of its other rows; `same_as` columns repeat text.
    for bi, b in enumerate(rd["blocks"]):
        if b.get("kind") not in ("table", "matrix", "budget"):
            continue
        tab = rep.tables[b["id"]]
        if tab.total_row:
            tr = b.get("total_rule", {})
            for column in tab.columns:
                target = tab.name(column, tab.total_row)
                if target in rep.fields and rep.fields[target].numeric:
                    rep.sums.append(SumRule(_spec_code(tr.get("id", catalogue.ROWS_TO_TOTAL), f"{place}.blocks[{bi}]"),
                                            target,
                                            tuple(Term(1, tab.name(column, k)) for k in tab.rows
                                                  if k != tab.total_row),
                                            tr.get("message", catalogue.ROWS_TO_TOTAL_MESSAGE), as_range=True))
        for column in b.get("columns", []):
            if "same_as" in column:
                for key in tab.rows:
                    rep.copies.append(CopyRule(tab.name(column["id"], key),
                                               field_of(column["same_as"], key, f"{place}.blocks[{bi}]")))

    for it in rep.indicator_tables:
        rep.sums.append(SumRule("score-sum", it.score_field, tuple(Term(1, n) for n in (*it.names("score"), *it.extra_scores)),
                                catalogue.title("score-sum"), as_range=True, extra=it.extra_scores))
    for rule in rep.derived:
        _spec_code(rule.code, f"{place}: {rule.target}")

    for j, c in enumerate(rd.get("checks", [])):
        where = f"{place}.checks[{j}] (id={c.get('id')})"
        left, right = field_of(c["left"], None, where), field_of(c["right"], None, where)
        if c["op"] not in ("=", "<="):
            raise SpecError(f"{where}：op 只能是 = 或 <=")
        labels = (c.get("left_label", rep.fields[left].label), c.get("right_label", rep.fields[right].label))
        check = Check(_spec_code(c["id"], where), "compare", left, c["op"], right, c["message"],
                      _severity(c, ERROR, where),
                      labels=labels, unit=rep.fields[left].unit)
        rep.checks.append(check)
        rep.placed.append(Placed(row=_row_of(rep.cell(left)), col=rep.check_column, role="check", check=check,
                                 border=False))
    for p in rep.placed:
        if p.role == "check" and p.check.kind in ("weights", "levels", "score-range"):
            rep.checks.append(p.check)

    if "quotes" in rd:
        _expand_quotes(rep, rd["quotes"], place, field_of)

    _check_dependencies(rep, place)


def _expand_quotes(rep: Report, q: dict, place: str, field_of) -> None:
    """[reports.quotes]: `cells` maps a column to the item (or the items, summed) the narrative
    quotes for it, e.g. "spend.personnel" = ["工资福利支出", "对个人和家庭的补助"] where the
    accounting convention puts both in 人员经费; `phrases` (item -> column) is the older form."""
    if q["field"] not in rep.fields:
        raise SpecError(f"{place}.quotes：未知字段 {q['field']}")
    cells: dict[str, tuple[str, ...]] = {}
    for phrase, ref in q.get("phrases", {}).items():
        cells[ref] = cells.get(ref, ()) + (phrase,)
    for ref, items in q.get("cells", {}).items():
        items = (items,) if isinstance(items, str) else tuple(items)
        if not items or not all(isinstance(i, str) and i for i in items):
            raise SpecError(f"{place}.quotes.cells.{ref}：应为综述中的项目名称或名称列表")
        cells[ref] = items
    for ref in cells:
        field_of(ref, "1", f"{place}.quotes.cells.{ref}")
    rep.quotes = Quotes(q["field"], cells, q.get("org_table", "income"), q.get("lead", ""))
    org_table = rep.tables[rep.quotes.org_table]
    rows = [key for key in org_table.rows if key != org_table.total_row]
    for key in rows:
        pairs = tuple((items, field_of(ref, key, place)) for ref, items in cells.items())
        bounds = tuple(org_table.name("org", other) for other in rows if other != key)
        where = tuple((rep.fields[name].heading, rep.cell(name)) for _, name in pairs)
        text_amount = catalogue.entry("text-amount")
        check = Check(text_amount.code, "quotes", (org_table.name("org", key), q["field"]), "", pairs,
                      text_amount.title, text_amount.severity, lead=rep.quotes.lead, labels=where, bounds=bounds)
        rep.checks.append(check)
        rep.placed.append(Placed(row=_row_of(rep.cell(pairs[0][1])), col=rep.check_column, role="check",
                                 check=check, border=False))


def _spec_code(code: str, where: str) -> str:
    """A rule's id is its finding code: it must not be one the catalogue already gives a meaning."""
    if code in catalogue.CATALOGUE:
        raise SpecError(f"{where}：id {code} 已是内置校验代码（见 README 的规则表），请换一个")
    return code


def _severity(declared: dict, default: str, where: str) -> str:
    severity = declared.get("severity", default)
    if severity not in catalogue.SEVERITY_LABEL:
        raise SpecError(f"{where}：severity 只能是 {' 或 '.join(catalogue.SEVERITY_LABEL)}，实为 {severity!r}")
    return severity


def _row_of(a1_ref: str) -> int:
    return int("".join(ch for ch in a1_ref if ch.isdigit()))


def _check_dependencies(rep: Report, place: str):
    """Every computed field has exactly one formula, and no formula depends on itself."""
    producers = {}
    for rule in list(rep.sums) + list(rep.copies) + list(rep.derived):
        if rule.target in producers:
            raise SpecError(f"{place}：字段 {rule.target} 被两条规则计算")
        producers[rule.target] = rule
    for f in rep.computed:
        if f.name not in producers and not any(f.name == it.grade_field for it in rep.indicator_tables):
            raise SpecError(f"{place}：计算字段 {f.name} 没有规则给出公式")
    for f in rep.inputs:
        if f.name in producers:
            raise SpecError(f"{place}：字段 {f.name} 是填报项，却又被规则 {producers[f.name].code} 计算")
    rep.order = None
    try:
        order = topo_order(rep)
    except _Cycle as cycle:       # (a rule whose expr holds its own target: 基本支出 = 基本支出 + …)
        rule, f = producers[cycle.field], rep.fields[cycle.field]
        raise SpecError(f"{place}：规则 {rule.code} 循环引用：{f.label}（{f.name}）的公式经由规则用到了它自己，"
                        "请检查各规则的 target 与 expr") from None
    assert len(order) == len(producers)


class _Cycle(SpecError):
    """Rules that read their own target, through one another: `field` is one of them."""

    def __init__(self, field: str):
        super().__init__(f"规则循环引用，涉及字段 {field}")
        self.field = field


def topo_order(rep: Report) -> list:
    """Sum, copy and derived rules in an order where every rule comes after the rules it reads."""
    if rep.order is None:
        rep.order = _topo_order(rep)
    return rep.order


def _topo_order(rep: Report) -> list:
    rules = {r.target: r for r in list(rep.sums) + list(rep.copies) + list(rep.derived)}
    done, order, visiting = set(), [], set()

    def deps(r):
        return r.reads

    def visit(name):
        if name in done or name not in rules:
            return
        if name in visiting:
            raise _Cycle(name)
        visiting.add(name)
        for d in deps(rules[name]):
            visit(d)
        visiting.discard(name)
        done.add(name)
        order.append(rules[name])

    for name in rules:
        visit(name)
    return order


__all__ = ["load_spec", "DEFAULT_SPEC", "topo_order"]
