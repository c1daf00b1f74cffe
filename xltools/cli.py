"""The `xltools` command: parse, call the library (api.py), print, pick the exit code.

Exit codes: 0 fine; 1 the report has errors (check) ; 2 a file or the spec cannot be used at all.
Heavy imports (openpyxl, pandas) happen inside the commands that need them, so that a cold
`xltools check` stays fast.

Each subcommand is one block: a function decorated with @command that adds its subparser and
sets `func`, next to the function that runs it. A new command is a new block; nothing else
changes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import XltoolsError

_COMMANDS: list = []


def command(add):
    """Register a function that adds one subcommand to the parser (in definition order)."""
    _COMMANDS.append(add)
    return add


def with_spec(sp: argparse.ArgumentParser, by_file: bool = False) -> argparse.ArgumentParser:
    """--spec: the spec to use. `by_file`: without it each file is read with the spec that made it."""
    sp.add_argument("--spec", help="规格文件（默认：按工作簿的模板标识或数据文件的年度、地区，从随本工具提供的规格中选）"
                    if by_file else "规格文件（默认随本工具提供的 specs/2022.toml）")
    return sp


def _spec(args):
    """The one spec a command builds from (template, spec fields)."""
    from .api import resolve_spec
    from .spec import load_spec
    year, region = getattr(args, "year", None), getattr(args, "region", None)
    if year or region:
        return load_spec(args.spec, year=year, region=region)
    return resolve_spec(getattr(args, "spec", None))


def _specs(args):
    """What a command that reads files reads them with: the spec given, or each file's own."""
    from .api import specs_for
    return specs_for(args.spec)


def _output(args, out, *inputs) -> None:
    """Refuse, before any work, an output that cannot be written or is one of the inputs
    (the spec included)."""
    from .files import check_output
    from .spec.load import DEFAULT_SPEC
    check_output(out, (*inputs, getattr(args, "spec", None) or DEFAULT_SPEC))


def shown(text: str) -> str:
    """Lines for the terminal: whatever a file name or a unit's text holds (control characters,
    undecodable bytes) shown readably, one line each (usertext.visible)."""
    from .usertext import visible
    return "\n".join(visible(line) for line in text.split("\n"))


def _print_json(doc) -> None:
    import re
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    # A lone surrogate (a file name's undecodable byte) as JSON's own escape: exact, and printable.
    print(re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group(0)):04x}", text))


# --- template ------------------------------------------------------------------------------------
def cmd_template(args) -> int:
    from .spec.shipped import default_template_output
    spec = _spec(args)
    out = args.output or default_template_output(spec.template_file)
    _output(args, out)                 # before openpyxl is even imported
    if not args.output:
        _keep_other_template(out, spec)
    from .build import protect
    from .build.workbook import build_template
    out = build_template(spec, out, protect.password_from(args.password))
    print(f"已生成模板 {out}（{spec.describe()}，{spec.fingerprint}）")
    return 0


def _keep_other_template(out, spec) -> None:
    """Without -o a copied spec writes where the spec it was copied from does: 2023.toml's template
    over templates/self_eval.xlsx, last year's, which its workbooks are still checked against.
    Another region's, year's or form version's template there is kept; the same one is rebuilt."""
    from pathlib import Path
    from .errors import XltoolsError
    from .spec.fingerprint import Fingerprint
    from .xlsx import open_book
    if not Path(out).is_file():
        return
    try:
        found = Fingerprint.of_book(open_book(out))
    except XltoolsError:
        return
    if found and (found.region, found.year, found.form_version) != (spec.region, spec.year, spec.form_version):
        raise XltoolsError(f"{out} 是{found.describe()}，不覆盖：新模板请用 -o 指定文件名，"
                           f"如 -o {spec.region}{spec.year}年度模板.xlsx（规格中 [template] file 也可写默认文件名）")


@command
def _template(sub) -> None:
    t = with_spec(sub.add_parser("template", help="生成受保护的 Excel 模板"))
    t.add_argument("--year", type=int, help="年度（覆盖规格中的年度）")
    t.add_argument("--region", help="地区（覆盖规格中的地区）")
    t.add_argument("-o", "--output", help="输出文件（默认：规格 [template] file 所写的文件名，如 self_eval.xlsx；"
                                          "仓库中在 templates/ 下，安装后在当前目录；那里已有另一年度、地区或版本的模板时不覆盖）")
    t.add_argument("--password", help="工作表保护密码（也可用环境变量 XLTOOLS_PASSWORD）")
    t.set_defaults(func=cmd_template)


# --- spec ----------------------------------------------------------------------------------------
def cmd_spec_fields(args) -> int:
    spec = _spec(args)
    # `typed`: where a program writes the field (a long text: its rows, one paragraph each; its
    # name and `cell` are the hidden formula joining them, read only)
    rows = [{"name": f.name, "label": f.label, "sheet": spec.reports[f.report].sheet, "cell": f.cell,
             "typed": spec.reports[f.report].typed_cells(f.name) if f.kind == "input" else None,
             "scope": spec.reports[f.report].scope, "kind": f.kind, "unit": f.unit} for f in spec.fields()]
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']:<28} {r['sheet']}!{r['typed'] or r['cell']:<6} {r['kind']:<8} {r['unit']:<8} {r['label']}")
    return 0


@command
def _spec_command(sub) -> None:
    s = sub.add_parser("spec", help="查看规格")
    ssub = s.add_subparsers(dest="what", required=True, metavar="子命令")
    sf = with_spec(ssub.add_parser("fields", help="列出全部字段（名称、标签、单元格……）"))
    sf.add_argument("--json", action="store_true")
    sf.set_defaults(func=cmd_spec_fields)


# --- fill ----------------------------------------------------------------------------------------
def cmd_fill(args) -> int:
    from .api import fill
    _output(args, args.output, args.data, args.template)
    result = fill(args.data, args.output, _specs(args), template=args.template)
    for w in result.warnings:
        print(f"提示：{w}", file=sys.stderr)
    print(f"已写入 {args.output}（{len(result.projects)} 个项目表）")
    return 0


@command
def _fill(sub) -> None:
    f = with_spec(sub.add_parser("fill", help="用数据文件填写一份新工作簿"), by_file=True)
    f.add_argument("data", metavar="数据文件", help="数据文件（.json 或 .toml，格式见 README“数据文件”）")
    f.add_argument("-o", "--output", required=True, help="填好的工作簿（.xlsx）")
    f.add_argument("--template", help="模板文件（默认按规格生成）")
    f.set_defaults(func=cmd_fill)


# --- carry ---------------------------------------------------------------------------------------
def cmd_carry(args) -> int:
    from .write.carry import carry
    _output(args, args.output, args.last)
    from .api import specs_for
    from .spec.registry import LAST_SPEC_HINT
    spec = _spec(args) if args.spec else None
    # last year's file: by the spec given for it, else by its own among those xltools knows
    readers = specs_for(args.last_spec) if args.last_spec else _specs(args)
    result = carry(args.last, args.output, spec, readers.saying(LAST_SPEC_HINT))
    print(f"已写入 {result.path}（{result.spec.describe()}）；从上年带入 {len(result.carried)} 项：")
    for line in result.carried:
        print(f"  {line}")
    for line in result.missed:
        print(f"未能带入：{line}", file=sys.stderr)
    return 0


@command
def _carry(sub) -> None:
    c = sub.add_parser("carry", help="用上年度的工作簿开始本年度的：带入单位、机构、项目与指标，预填上年结转")
    c.add_argument("last", metavar="去年.xlsx", help="上年度的工作簿（或数据文件）")
    c.add_argument("-o", "--output", required=True, help="本年度的工作簿")
    c.add_argument("--spec", help="本年度的规格文件（默认：上年的规格，年度加一）")
    c.add_argument("--last-spec", help="生成上年工作簿的规格文件（默认：按其模板标识从随本工具提供的规格中选）")
    c.set_defaults(func=cmd_carry)


# --- check ---------------------------------------------------------------------------------------
def cmd_check(args) -> int:
    from .api import check, check_many, exit_code
    from .checker import refuse_data_file_for_write, render_refused, render_text, write_checked_copy
    if args.write and len(args.files) > 1:
        raise XltoolsError("--write 只能用于单个工作簿")
    if args.previous and len(args.files) > 1:
        raise XltoolsError("--previous 只能用于单个文件（本年度的报告）")
    if args.write:
        refuse_data_file_for_write(args.files[0])     # before any output
        _output(args, args.write, *args.files)
    reports = []
    checked = [check(args.files[0], _specs(args), previous=args.previous, previous_spec=args.last_spec)] if args.previous \
        else check_many(args.files, _specs(args))
    for report in checked:
        reports.append(report)
        if args.json:
            continue
        if report.refused:
            print(render_refused(report), file=sys.stderr)
        else:
            print(render_text(report))
    if args.write and not reports[0].refused:
        write_checked_copy(args.files[0], args.write, reports[0], _specs(args))
    if args.json:           # always an array, one object per file, refused files included
        _print_json([r.to_json() for r in reports])
    return exit_code(reports)


@command
def _check(sub) -> None:
    c = with_spec(sub.add_parser("check", help="校验工作簿或数据文件"), by_file=True)
    c.add_argument("files", nargs="+", metavar="文件", help="工作簿（.xlsx）或数据文件（.json/.toml），可多个")
    c.add_argument("--json", action="store_true", help="输出 JSON 数组，每个文件一项（含无法使用的文件）")
    c.add_argument("--write", help="另存一份带“校验结果”表的工作簿")
    c.add_argument("--previous", metavar="去年.xlsx", help="上年度的工作簿或数据文件：核对上年结转等与上年报告相符，"
                                                        "并列出主要数字的上年数与增减率")
    c.add_argument("--last-spec", help="生成上年工作簿的规格文件（默认：按其模板标识从随本工具提供的规格中选）")
    c.set_defaults(func=cmd_check)


# --- score ---------------------------------------------------------------------------------------
def cmd_score(args) -> int:
    from .api import score
    if args.output:
        _output(args, args.output, args.book)
    elif args.in_place:
        _output(args, args.book)         # the book itself: only that it can be replaced
    result = score(args.book, args.output, in_place=args.in_place, spec=_specs(args))
    for line in result.lines:
        print(line)
    return 0


@command
def _score(sub) -> None:
    sc = with_spec(sub.add_parser("score", help="按指标值与实际完成值自动评分"), by_file=True)
    sc.add_argument("book", metavar="工作簿", help="填好的工作簿（.xlsx）")
    sc.add_argument("-o", "--output", help="评分后的工作簿（或用 --in-place）")
    sc.add_argument("--in-place", action="store_true", help="写完新文件后替换原文件")
    sc.set_defaults(func=cmd_score)


# --- pack ----------------------------------------------------------------------------------------
def cmd_pack(args) -> int:
    from .office import bridge as office
    from .pack.run import exit_code, pack, render
    specs = _specs(args)
    if office.find_soffice() is None:
        raise XltoolsError("打包需要 LibreOffice 导出 PDF，未找到 soffice。请安装：apt-get install "
                           "libreoffice-calc-nogui python3-uno（Windows 请用 Excel 加载项中的“导出”）")
    results = pack(args.books, args.output, force=args.force, zip=args.zip, pdfa=args.pdfa, spec=specs)
    for r in results:
        print(shown(render(r)), file=sys.stderr if r.error or r.refused else sys.stdout)
    return exit_code(results)


@command
def _pack(sub) -> None:
    pk = with_spec(sub.add_parser("pack", help="校验后打包：各报告 PDF、只含数值的工作簿、数据、清单"), by_file=True)
    pk.add_argument("books", nargs="+", metavar="工作簿", help="填好的工作簿（.xlsx），可多个")
    pk.add_argument("-o", "--output", required=True, help="输出目录")
    pk.add_argument("--zip", action="store_true", help="每个工作簿打成一个 zip")
    pk.add_argument("--force", action="store_true", help="有错误也打包（PDF 每页加“未通过校验”水印）")
    pk.add_argument("--pdfa", action="store_true", help="PDF/A-2b 格式")
    pk.set_defaults(func=cmd_pack)


# --- addin ---------------------------------------------------------------------------------------
def cmd_addin(args) -> int:
    """The Excel add-in: VBA and ribbon anywhere; build/install/conf on Windows with Excel."""
    from .addin import build, ribbon, vba
    if args.what == "vba":
        for path in vba.write_modules(args.output):
            print(f"已生成 {path}")
    elif args.what == "ribbon":
        if args.into:
            print(f"已写入功能区：{ribbon.write_ribbon(args.into)}")
        else:
            sys.stdout.write(ribbon.ribbon_xml())
    elif args.what == "build":
        print(f"已生成加载项 {build.build(args.output)}")
    elif args.what == "install":
        target = build.install(args.addin, args.interpreter)
        print(f"已安装加载项 {target}，已写入配置 {build.conf_path()}；Excel 中可见“绩效自评”选项卡")
    elif args.what == "bundle":
        from .addin import bundle
        result = bundle.make(args.output, wheel=args.wheel, xlam=args.xlam)
        print(f"已生成离线安装包 {result.folder}（{len(result.files)} 个文件）")
        if result.note:
            print(result.note)
    else:
        print(f"已写入配置 {build.write_conf(args.interpreter)}")
    return 0


@command
def _addin(sub) -> None:
    ad = sub.add_parser("addin", help="Excel 加载项：生成 VBA 与功能区、离线安装包；构建、安装、配置（需 Windows 与 Excel）")
    asub = ad.add_subparsers(dest="what", required=True, metavar="子命令")
    av = asub.add_parser("vba", help="由声明表生成 macros/*.bas")
    av.add_argument("-o", "--output", default="macros", help="输出文件夹（默认 macros）")
    ar = asub.add_parser("ribbon", help="输出“绩效自评”功能区的 customUI XML，或用 --into 写入 .xlam")
    ar.add_argument("--into", help="写入功能区的加载项文件（.xlam）")
    ab = asub.add_parser("build", help="通过 Excel 构建 xltools.xlam")
    ab.add_argument("-o", "--output", help="输出文件（默认 xltools.xlam）")
    ai = asub.add_parser("install", help="把加载项装入 Excel 的加载项文件夹并启用（Excel 开着也可以），并写配置")
    ai.add_argument("addin", nargs="?", help="加载项文件（默认 xltools.xlam）")
    ai.add_argument("--interpreter", help="pythonw.exe 的完整路径（默认当前 Python）")
    ac = asub.add_parser("conf", help="只写配置：加载项启动的解释器（完整路径），GBK 编码")
    ac.add_argument("--interpreter", help="pythonw.exe 的完整路径（默认当前 Python）")
    ah = asub.add_parser("bundle", help="离线安装包：Windows 64 位 Python 3.11/3.12 的全部 wheel、安装脚本、SHA256SUMS")
    ah.add_argument("-o", "--output", required=True, help="输出文件夹（须不存在或为空）")
    ah.add_argument("--wheel", help="本工具的 wheel 文件（默认由源代码目录构建）")
    ah.add_argument("--xlam", help="放进安装包的加载项文件（如已签名的 xltools.xlam；Windows 上默认当场构建）")
    ad.set_defaults(func=cmd_addin)


# --- collect -------------------------------------------------------------------------------------
def cmd_collect(args) -> int:
    from .collect.run import collect, history_unit, render_history, render_line, render_totals
    if args.history:
        from .collect.ledger import Ledger, as_result, default_url
        if not (args.db or args.output):
            raise XltoolsError("--history 需要 --db 或 -o（台账在汇总表旁的 .db 文件中）")
        ledger = Ledger(args.db or default_url(args.output))
        try:
            unit = history_unit(ledger.units(), args.history)
            rows = ledger.history(unit)
        finally:
            ledger.close()
        if args.json:
            _print_json([{**as_result(r, r["findings"]), "received_at": r["received_at"]} for r in rows])
        else:
            print(render_history(rows, unit))
        return 0
    if not args.paths or not args.output:
        raise XltoolsError("用法：xltools collect 文件夹或文件… -o 汇总.xlsx")
    out = collect(args.paths, args.output, db_url=args.db, roster=args.roster, specs_dirs=args.specs or (),
                  jobs=args.jobs, timeout=args.timeout)
    if args.json:
        _print_json(list(out.results()))
    else:
        for res in out.results():
            print(render_line(res))
    print(render_totals(out), file=sys.stderr if args.json else sys.stdout)
    return out.exit_code


@command
def _collect(sub) -> None:
    co = sub.add_parser("collect", help="批量收取、校验、汇总报送的工作簿，并记入台账")
    co.add_argument("paths", nargs="*", help="文件夹（含子文件夹）、压缩包、工作簿或数据文件")
    co.add_argument("-o", "--output", help="汇总表（.xlsx），台账默认在其旁边（同名 .db）")
    co.add_argument("--db", help="台账数据库地址（SQLAlchemy URL，如 postgresql://用户@主机/库）")
    co.add_argument("--roster", help="单位名单（.xlsx 或 .csv），用于列出未报送单位")
    co.add_argument("--specs", action="append", help="另外的规格文件夹（可多次给出）")
    co.add_argument("--jobs", type=int, help="并行进程数（默认 CPU 核数）")
    co.add_argument("--timeout", type=float, help="每个文件的校验时限（秒，默认 60）")
    co.add_argument("--json", action="store_true", help="每份报送一个 JSON 对象（与 check --json 相同）")
    co.add_argument("--history", metavar="单位", help="列出该单位在台账中的各版报送及其问题（可只写名称中的一段）")
    co.set_defaults(func=cmd_collect)


# --- serve ---------------------------------------------------------------------------------------
def cmd_serve(args) -> int:
    from importlib.util import find_spec
    missing = [m for m in ("starlette", "uvicorn", "jinja2", "python_multipart", "itsdangerous", "argon2")
               if find_spec(m) is None]                       # the serve extra
    if missing:
        from .addin.table import DISTRIBUTION
        raise XltoolsError(f"网页报送需要另外安装的组件（缺少 {'、'.join(missing)}）：pip install '{DISTRIBUTION}[serve]'")
    from .serve.config import Config
    given = {"workers": args.jobs, "timeout": args.timeout, "max_upload_mb": args.max_upload_mb,
             "uploads_per_hour": args.uploads_per_hour}
    config = Config(args.data, db_url=args.db, https=args.https, **{k: v for k, v in given.items() if v})
    if args.init:
        from .serve.init import first_admin
        login, password = first_admin(config)
        print(f"已创建管理员账号 {login}，一次性密码：{password}\n请登录后立即修改密码（台账：{config.url}）")
        return 0
    from .serve.run import run
    return run(config, args.host, args.port)


@command
def _serve(sub) -> None:
    sv = sub.add_parser("serve", help="网页报送：单位上传、校验、提交；财政局审核、接收、汇总")
    sv.add_argument("--data", default="xltools-data", help="数据文件夹（上传的文件、台账、会话密钥；默认 xltools-data）")
    sv.add_argument("--db", help="台账数据库地址（默认数据文件夹中的 SQLite；可与 xltools collect --db 相同）")
    sv.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1，由 nginx 等反向代理提供 HTTPS）")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--jobs", type=int, help="校验进程数（默认 CPU 核数）")
    sv.add_argument("--timeout", type=float, help="每个文件的校验时限（秒，默认 60）")
    sv.add_argument("--max-upload-mb", type=int, help="单个上传文件的上限（MB，默认 20）")
    sv.add_argument("--uploads-per-hour", type=int, help="每个账号每小时最多上传次数（默认 120）")
    sv.add_argument("--https", action="store_true", help="经 HTTPS 反向代理访问：会话 Cookie 只经 HTTPS 发送")
    sv.add_argument("--init", action="store_true", help="创建第一个管理员账号并显示其一次性密码")
    sv.set_defaults(func=cmd_serve)


# --- the parser and main -------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    from .cliparse import Parser
    p = Parser(prog="xltools", description="绩效自评报告模板、填报、校验与评分工具")
    sub = p.add_subparsers(dest="command", required=True, metavar="命令")
    for add in _COMMANDS:
        add(sub)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except XltoolsError as e:
        print(f"错误：{shown(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:          # `xltools spec fields --json | head`
        sys.stderr.close()
        return 0
    except Exception as e:           # a bug must still answer with one line and exit 2, never exit 1
        if os.environ.get("XLTOOLS_DEBUG"):
            raise
        return _unexpected(args, e)


def _unexpected(args, err: Exception) -> int:
    """One line for a failure no check foresaw: exit 1 would read as "the report has errors"."""
    named = [str(p) for p in (*getattr(args, "files", ()), *getattr(args, "books", ()), getattr(args, "book", None),
                              getattr(args, "data", None), getattr(args, "output", None),
                              getattr(args, "write", None)) if p]
    where = f"处理 {'、'.join(dict.fromkeys(named))} 时" if named else ""
    from .errors import unexpected
    why = unexpected(err) + "；未写入任何文件"
    # Objects the failure left half-done (openpyxl's writers) would print their own traceback
    # when collected at exit: this line is the answer.
    sys.unraisablehook = lambda unraisable: None
    try:
        print(f"错误：{where}{why}", file=sys.stderr)
    except OSError:
        pass
    return 2


if __name__ == "__main__":
    sys.exit(main())
