"""The `xltools` command: parse, call the library, print, exit. No business logic here.

Exit codes: 0 fine; 1 the report has errors (check) ; 2 a file or the spec cannot be used at all.
Heavy imports (openpyxl, pandas) happen inside the commands that need them, so that a cold
`xltools check` stays fast.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import XltoolsError

DEFAULT_TEMPLATE = Path("templates/self_eval.xlsx")


def _spec(args):
    from .spec import load_spec
    return load_spec(getattr(args, "spec", None), year=getattr(args, "year", None),
                     region=getattr(args, "region", None))


def cmd_template(args) -> int:
    from .build import protect
    from .build.workbook import build_template
    spec = _spec(args)
    out = build_template(spec, args.output, protect.password_from(args.password))
    print(f"已生成模板 {out}（{spec.region}{spec.year}年度，{spec.fingerprint}）")
    return 0


def cmd_spec_fields(args) -> int:
    spec = _spec(args)
    rows = [{"name": f.name, "label": f.label, "sheet": spec.reports[f.report].sheet, "cell": f.cell,
             "scope": spec.reports[f.report].scope, "kind": f.kind, "unit": f.unit} for f in spec.fields()]
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for r in rows:
            print(f"{r['name']:<28} {r['sheet']}!{r['cell']:<6} {r['kind']:<8} {r['unit']:<8} {r['label']}")
    return 0


def cmd_fill(args) -> int:
    from .fill import fill
    spec = _spec(args)
    result = fill(args.data, args.output, spec, template=args.template)
    for w in result.warnings:
        print(f"提示：{w}", file=sys.stderr)
    print(f"已写入 {args.output}（{len(result.projects)} 个项目表）")
    return 0


def cmd_check(args) -> int:
    from .check import check_file, render_text
    spec = _spec(args)
    if args.write and len(args.files) > 1:
        raise XltoolsError("--write 只能用于单个工作簿")
    worst = 0
    reports = []
    for path in args.files:
        try:
            report = check_file(path, spec, write=args.write)
        except XltoolsError as e:
            reports.append({"file": str(path), "ok": False, "error": str(e), "findings": [], "score": {}})
            if not args.json:
                print(f"{path}：{e}", file=sys.stderr)
            worst = 2
            continue
        reports.append(report.to_json())
        if not args.json:
            print(render_text(report))
        if not report.ok:
            worst = max(worst, 1)
    if args.json:
        json.dump(reports if len(reports) > 1 else reports[0], sys.stdout, ensure_ascii=False, indent=1)
        print()
    return worst


def cmd_score(args) -> int:
    from .score import score_workbook
    spec = _spec(args)
    result = score_workbook(args.book, args.output, spec, in_place=args.in_place)
    for line in result.lines:
        print(line)
    return 0


def cmd_collect(args) -> int:
    from .collect import collect, render_history, render_line, render_totals
    if args.history:
        from .ledger import Ledger, as_result, default_url
        if not (args.db or args.output):
            raise XltoolsError("--history 需要 --db 或 -o（台账在汇总表旁的 .db 文件中）")
        ledger = Ledger(args.db or default_url(args.output))
        try:
            rows = ledger.history(args.history)
        finally:
            ledger.close()
        if args.json:
            json.dump([{**as_result(r, r["findings"]), "received_at": r["received_at"]} for r in rows],
                      sys.stdout, ensure_ascii=False, indent=1)
            print()
        else:
            print(render_history(rows, args.history))
        return 0
    if not args.paths or not args.output:
        raise XltoolsError("用法：xltools collect 文件夹或文件… -o 汇总.xlsx")
    out = collect(args.paths, args.output, db_url=args.db, roster=args.roster, specs_dirs=args.specs or (),
                  jobs=args.jobs, timeout=args.timeout)
    if args.json:
        json.dump(out.results, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for res in out.results:
            print(render_line(res))
    print(render_totals(out), file=sys.stderr if args.json else sys.stdout)
    return out.exit_code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xltools", description="绩效自评报告模板、填报、校验与评分工具")
    sub = p.add_subparsers(dest="command", required=True)

    def with_spec(sp):
        sp.add_argument("--spec", help="规格文件（默认 specs/2022.toml）")
        return sp

    t = with_spec(sub.add_parser("template", help="生成受保护的 Excel 模板"))
    t.add_argument("--year", type=int, help="年度（覆盖规格中的年度）")
    t.add_argument("--region", help="地区（覆盖规格中的地区）")
    t.add_argument("-o", "--output", default=str(DEFAULT_TEMPLATE), help="输出文件")
    t.add_argument("--password", help="工作表保护密码（也可用环境变量 XLTOOLS_PASSWORD）")
    t.set_defaults(func=cmd_template)

    s = sub.add_parser("spec", help="查看规格")
    ssub = s.add_subparsers(dest="what", required=True)
    sf = with_spec(ssub.add_parser("fields", help="列出全部字段（名称、标签、单元格……）"))
    sf.add_argument("--json", action="store_true")
    sf.set_defaults(func=cmd_spec_fields)

    f = with_spec(sub.add_parser("fill", help="用数据文件填写一份新工作簿"))
    f.add_argument("data")
    f.add_argument("-o", "--output", required=True)
    f.add_argument("--template", help="模板文件（默认按规格现场生成）")
    f.set_defaults(func=cmd_fill)

    c = with_spec(sub.add_parser("check", help="校验工作簿或数据文件"))
    c.add_argument("files", nargs="+")
    c.add_argument("--json", action="store_true")
    c.add_argument("--write", help="另存一份带“校验结果”表的工作簿")
    c.set_defaults(func=cmd_check)

    sc = with_spec(sub.add_parser("score", help="按指标值与实际完成值自动评分"))
    sc.add_argument("book")
    sc.add_argument("-o", "--output")
    sc.add_argument("--in-place", action="store_true", help="写完新文件后替换原文件")
    sc.set_defaults(func=cmd_score)

    co = sub.add_parser("collect", help="批量收取、校验、汇总报送的工作簿，并记入台账")
    co.add_argument("paths", nargs="*", help="文件夹（含子文件夹）、压缩包、工作簿或数据文件")
    co.add_argument("-o", "--output", help="汇总表（.xlsx），台账默认在其旁边（同名 .db）")
    co.add_argument("--db", help="台账数据库地址（SQLAlchemy URL，如 postgresql://用户@主机/库）")
    co.add_argument("--roster", help="单位名单（.xlsx 或 .csv），用于列出未报送单位")
    co.add_argument("--specs", action="append", help="另外的规格文件夹（可多次给出）")
    co.add_argument("--jobs", type=int, help="并行进程数（默认 CPU 核数）")
    co.add_argument("--timeout", type=float, help="每个文件的校验时限（秒，默认 60）")
    co.add_argument("--json", action="store_true", help="每份报送一个 JSON 对象（与 check --json 相同）")
    co.add_argument("--history", metavar="单位", help="列出该单位在台账中的各版报送及其问题")
    co.set_defaults(func=cmd_collect)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except XltoolsError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:          # `xltools spec fields --json | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
