"""Transcribe the published 临湘市民政局 2022 self-evaluation (seed text) into examples/linxiang_2022.json.

The JSON is the seed *exactly as published*: every figure and text of both reports, its printed
totals, scores and grades included, even where the seed contradicts itself (our checker must find
those contradictions). Nothing is corrected here.

How the seed text is laid out: a table cell starts on a line beginning with a TAB; a cell's
further paragraphs are the following non-empty lines without a leading TAB; blank lines separate
paragraphs. Text outside cells (title blocks, the 综述 sections) is free text.

Table values are read from the seed cell by cell (the labels printed next to them locate them);
the narratives are sliced between known headings. Paragraphs are stripped of leading/trailing
whitespace, blank lines dropped, and joined with a single "\\n".

Run from anywhere:  python3 examples/make_linxiang_2022.py
"""
from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seed" / "000_98defafc4fcc3856.txt"
SPEC = REPO / "specs" / "2022.toml"
OUT = REPO / "examples" / "linxiang_2022.json"


def paragraphs(raw_lines: list[str]) -> str:
    """Strip each paragraph, drop blank lines, join with one newline."""
    return "\n".join(s for s in (line.strip() for line in raw_lines) if s)


def parse_cells(lines: list[str]) -> list[tuple[int, str]]:
    """Cells as (1-based line number of the cell's first line, normalized text)."""
    cells: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for no, line in enumerate(lines, 1):
        if line.startswith("\t"):
            current = [line[1:]]
            cells.append((no, current))
        elif line.strip() and current is not None:
            current.append(line)
    return [(no, paragraphs(parts)) for no, parts in cells]


class Seed:
    def __init__(self, path: Path):
        self.text = path.read_text(encoding="utf-8")
        self.lines = self.text.split("\n")
        self.cells = parse_cells(self.lines)
        self.texts = [t for _, t in self.cells]

    def find(self, label: str, start: int = 0, occurrence: int = 1, end: int | None = None) -> int:
        """Index of the occurrence-th cell whose text is exactly `label`, from cell `start`."""
        stop = len(self.texts) if end is None else end
        seen = 0
        for i in range(start, stop):
            if self.texts[i] == label:
                seen += 1
                if seen == occurrence:
                    return i
        raise LookupError(f"cell {label!r} (occurrence {occurrence}) not found in cells {start}..{stop}")

    def after(self, label: str, n: int = 1, start: int = 0, occurrence: int = 1, end: int | None = None):
        """The n cells following the cell `label` (a single string if n == 1)."""
        i = self.find(label, start, occurrence, end)
        vals = self.texts[i + 1:i + 1 + n]
        return vals[0] if n == 1 else vals

    def free(self, pattern: str, count: int | None = None) -> list[tuple]:
        """All matches of a regex on the raw text (for the title blocks printed outside cells)."""
        found = re.findall(pattern, self.text)
        if count is not None and len(found) != count:
            raise ValueError(f"{pattern!r}: expected {count} matches, got {len(found)}")
        return found

    def slice_text(self, start_marker: str, end_marker: str | None, occurrence: int = 1) -> str:
        """Free text after the occurrence-th `start_marker` up to `end_marker` (or EOF), as paragraphs."""
        pos = -1
        for _ in range(occurrence):
            pos = self.text.index(start_marker, pos + 1)
        begin = pos + len(start_marker)
        stop = len(self.text) if end_marker is None else self.text.index(end_marker, begin)
        return paragraphs(self.text[begin:stop].split("\n"))


def money(cell: str) -> str:
    """An amount in a 万元 column, as printed, without a printed unit ("140万元" -> "140")."""
    return cell[:-2] if cell.endswith("万元") else cell


def iso_date(y: str, m: str, d: str) -> str:
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def spec_indicator_names(spec: dict, ind_id: str) -> list[str]:
    for rep in spec["reports"]:
        for b in rep["blocks"]:
            if b.get("kind") == "indicators" and b["id"] == ind_id:
                return [ind["name"] for g in b["groups"] for ind in g["indicators"]]
    raise LookupError(ind_id)


def rows_blank(seed: Seed, first: int, n_cells: int) -> bool:
    return all(t == "" for t in seed.texts[first:first + n_cells])


def build() -> dict:
    seed = Seed(SEED)
    spec = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    ORG = "临湘市民政局机关"

    # ---------------------------------------------------------------- title blocks (free text)
    dept_name, = seed.free(r"部门\(单位\)名称\s+(\S+)", 1)
    eval_methods = seed.free(r"评价方式：\s*(\S+)", 2)
    eval_orgs = seed.free(r"评价机构：\s*(\S+)", 2)
    dates = [iso_date(*d) for d in seed.free(r"报告日期：\s*(\d+)\s*年\s*(\d+)\s*月\s*(\d+)\s*日", 2)]
    fillers = seed.free(r"填报人（签名）：\s*联系电话：\s*(\d+)", 2)
    # 评价类型：项目实施过程评价□   项目完成结果评价(   -- the box after 结果评价 is the checked one
    # (garbled to "(" by the text extraction); the box after 过程评价 is the empty □.
    seed.free(r"评价类型：项目实施过程评价□\s+项目完成结果评价\(", 1)
    eval_type = "项目完成结果评价"
    project_name, = seed.free(r"项目名称\s+(\S+)", 1)
    project_unit, = seed.free(r"项目单位\s+(\S+)", 1)
    project_authority, = seed.free(r"主管部门\s+(\S+)", 1)

    # ---------------------------------------------------------------- 部门整体支出: 一、基本概况
    dept: dict = {
        "dept_name": dept_name,
        "eval_method": eval_methods[0],
        "eval_org": eval_orgs[0],
        "report_date": dates[0],
        "contact": seed.after("联系人"),
        "contact_phone": seed.after("联络电话"),
        "staff_quota": seed.after("人员编制"),
        "staff_actual": seed.after("实有人数"),
        "duties": seed.after("职能职责概述"),
        "tasks": seed.after("年度主要工作内容"),
        "achievements": seed.after("年度部门（单位）总体运行情况及取得的成绩"),
    }

    # ---------------------------------------------------------------- 二、收支情况 (four tables, one
    # filled 机构 row each; the three further rows of each table are printed blank and omitted)
    table_cols = {
        "income": ["org", "total", "carryover", "public_budget", "gov_fund", "nontax", "other"],
        "spend": ["org", "total", "basic", "personnel", "public", "project", "balance_year", "balance_cum"],
        "three_public": ["org", "total", "reception", "car_ops", "car_purchase", "abroad"],
        "assets": ["org", "total", "in_use", "rented", "other"],
    }
    for k, (tid, cols) in enumerate(table_cols.items(), 1):
        i = seed.find(ORG, occurrence=k)
        vals = seed.texts[i:i + len(cols)]
        assert rows_blank(seed, i + len(cols), 3 * len(cols)), f"{tid}: rows after the first are not blank"
        dept[tid] = [{c: (v if c == "org" else money(v)) for c, v in zip(cols, vals)}]

    # ---------------------------------------------------------------- 三、绩效自评情况
    # 预期目标 | 实际完成 header, then a blank label cell, then the two text cells.
    i = seed.find("实际完成", occurrence=1)
    assert seed.texts[i - 1] == "预期目标" and seed.texts[i + 1] == ""
    dept["goals_expected"], dept["goals_actual"] = seed.texts[i + 2], seed.texts[i + 3]

    # Indicator table: the 完成情况 column prints one number per indicator.
    lo = seed.find("整体支出\n绩效定量目标及实施计划\n完成情况", start=i)
    assert seed.texts[lo + 1:lo + 4] == ["评价内容", "绩效目标", "完成情况"]
    hi = seed.find("绩效自评综合得分", start=lo)
    dept["dept_ind"] = [{"name": name, "actual": seed.after(name, start=lo, end=hi)}
                        for name in spec_indicator_names(spec, "dept_ind")]
    dept["score_total"] = seed.texts[hi + 1]
    dept["grade"] = seed.after("评价等次", start=hi)

    # ---------------------------------------------------------------- 四、评价人员 (签字 blank: omitted)
    def reviewers(header_last: str, start: int) -> list[dict]:
        j = seed.find(header_last, start=start) + 1
        out = []
        while not seed.texts[j].startswith("评价组组长（签字）："):
            name, title, unit, signature = seed.texts[j:j + 4]
            assert signature == "", "a 签字 cell is not blank"
            out.append({"name": name, "title": title, "unit": unit})
            j += 4
        return out

    dept["reviewers"] = reviewers("签  字", hi)
    dept["filler_phone"] = fillers[0]

    # ---------------------------------------------------------------- 五、评价报告综述
    dept["narrative"] = seed.slice_text("\t五、评价报告综述（文字部分）\n", "\n财政支出项目绩效评价自评报告\n", 1)

    # ================================================================ 项目支出
    p0 = seed.find("一、项 目 基 本 概 况")
    proj: dict = {
        "eval_type": eval_type,
        "project_name": project_name,
        "project_unit": project_unit,
        "project_authority": project_authority,
        "p_eval_method": eval_methods[1],
        "p_eval_org": eval_orgs[1],
        "p_report_date": dates[1],
        "manager": seed.after("项目负责人", start=p0),
        "manager_phone": seed.after("联系电话", start=p0),
        "address": seed.after("项目地址", start=p0),
        "postcode": seed.after("邮  编", start=p0),
    }
    period = seed.after("项目起止时间", start=p0)
    m = re.fullmatch(r"(\d{4})年\s*(\d+)\s*月起至\s*(\d{4})年\s*(\d+)\s*月止", period)
    assert m, period
    proj["start_month"] = f"{m[1]}-{int(m[2]):02d}"
    proj["end_month"] = f"{m[3]}-{int(m[4]):02d}"

    # Fund matrix. The total row is printed as label/value pairs under the column headings;
    # each source row repeats its label before each of its four values.
    fund_cols = ["plan", "arrived", "spent", "balance"]
    j = seed.find("计划安排资金\n（万元）", start=p0)
    pairs = seed.texts[j:j + 8]
    assert pairs[0::2] == ["计划安排资金\n（万元）", "实际到位资金\n（万元）", "实际支出\n（万元）", "结余（万元）"], pairs
    fund = {"total": {c: money(v) for c, v in zip(fund_cols, pairs[1::2])}}
    j += 8
    for key, label in [("central", "其中：中央财政"), ("province", "省财政"), ("city", "市财政"),
                       ("county", "县市区财政"), ("other", "其它")]:
        pairs = seed.texts[j:j + 8]
        assert pairs[0::2] == [label] * 4, pairs
        fund[key] = {c: money(v) for c, v in zip(fund_cols, pairs[1::2])}
        j += 8
    proj["fund"] = fund

    # 二、项目支出明细情况
    j = seed.find("备注", start=p0) + 1
    detail = []
    while seed.texts[j] != "支出合计":
        item, amount, voucher, note = seed.texts[j:j + 4]
        detail.append({"item": item, "amount": money(amount), "voucher": voucher, "note": note})
        j += 4
    total_amount, total_voucher, total_note = seed.texts[j + 1:j + 4]
    assert total_voucher == "" and total_note == ""
    proj["detail"] = detail
    proj["detail_amount_total"] = money(total_amount)

    # 三、项目绩效自评情况
    i = seed.find("实际完成", start=p0)
    assert seed.texts[i - 1] == "预  期 目 标" and seed.texts[i + 1] == ""
    proj["p_goals_expected"], proj["p_goals_actual"] = seed.texts[i + 2], seed.texts[i + 3]

    lo = seed.find("实际完成值", start=i)
    hi = seed.find("绩效自评综合得分", start=lo)
    proj["proj_ind"] = []
    for name in spec_indicator_names(spec, "proj_ind"):
        target, actual = seed.after(name, 2, start=lo, end=hi)
        proj["proj_ind"].append({"name": name, "target": target, "actual": actual})
    proj["p_score_total"] = seed.texts[hi + 1]
    proj["p_grade"] = seed.after("评价等次", start=hi)

    proj["p_reviewers"] = reviewers("签字", hi)
    proj["p_filler_phone"] = fillers[1]
    proj["p_narrative"] = seed.slice_text("\t五、评价报告综述（文字部分）\n", None, 2)

    return {"year": spec["template"]["year"], "region": spec["template"]["region"],
            "dept": dept, "projects": [proj]}


def main() -> int:
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}: {len(data['dept']['dept_ind'])} dept indicators, "
          f"{len(data['projects'][0]['proj_ind'])} project indicators, "
          f"narrative {len(data['dept']['narrative'])} chars, "
          f"p_narrative {len(data['projects'][0]['p_narrative'])} chars")
    return 0


if __name__ == "__main__":
    sys.exit(main())
