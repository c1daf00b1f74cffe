"""Helpers shared by the check/fill/score/bad-input/property tests (plain functions, no fixtures).

Cells are always derived from field names through the spec, never written as literals: the layout
moves (a page break, a wider column) and the tests must keep saying the same thing.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "linxiang_2022.json"
SEED_TEXT = ROOT.parent / "shared" / "seed" / "000_98defafc4fcc3856.txt"   # shared/ sits beside the repo
XLTOOLS = Path(sys.executable).with_name("xltools")
CJK = re.compile(r"[\u4e00-\u9fff]")
CENT = Decimal("0.01")


# --- files and the command line ---------------------------------------------------------------
def example_script(name: str):
    """A script of examples/ as a module (the demo's data are the tests' too)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_seed() -> dict:
    """The published 2022 seed as data (amounts stay strings, as in the file)."""
    return json.loads(SEED.read_text(encoding="utf-8"))


def write_json(path: Path, doc: dict) -> Path:
    path = Path(path)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return path


def sheet_parts(book) -> dict[str, str]:
    """Sheet name -> the part holding its cells, as the package editor finds it (book: a path or
    the file's bytes)."""
    from xltools.ooxml.package import Package
    return dict(Package(book).worksheets())


def padded(src, out, sheet_bytes: int, sheet: str | None = None) -> Path:
    """The workbook with a sheet (default: the department's) grown to `sheet_bytes` of XML by cells
    beyond the form, each the smallest a cell can be (the shape that costs a reader or a writer the
    most per byte). bench/editor.py measures on it too."""
    from xltools.spec import load_spec
    part = sheet_parts(src)[sheet or load_spec().reports["dept"].sheet]
    parts = zip_members(src)
    xml = parts[part].decode()
    rows, size, r = [], len(xml.encode()), 200
    while True:
        row = f'<row r="{r}">' + "".join(f'<c r="{c}{r}" s="1"/>' for c in "JKLMNOPQRSTUVWXYZ") + "</row>"
        if size + len(row) > sheet_bytes:
            break
        rows.append(row)
        size += len(row)
        r += 1
    parts[part] = xml.replace("</sheetData>", "".join(rows) + "</sheetData>").encode()
    return rezip(parts, out)


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_cli(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    """`xltools ARGS` as a user runs it; never raises on a non-zero exit."""
    return subprocess.run([str(XLTOOLS), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


# Runs the command as its only child and reports that child's own peak RSS. getrusage(CHILDREN)
# in the test process would be the maximum over every child it ever waited for (LibreOffice,
# earlier CLI runs...), so it cannot tell one run apart; inside this wrapper the only child is ours.
_MEASURE = (
    "import json, resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'rc': p.returncode, 'out': p.stdout.decode('utf-8', 'replace'),"
    " 'err': p.stderr.decode('utf-8', 'replace'), 'peak_kb': peak}))\n"
)


def run_measured(*args, timeout: float = 120) -> dict:
    """`xltools ARGS` in a wrapper: {'rc', 'out', 'err', 'peak_kb'} (peak RSS of that run, Linux KB)."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(XLTOOLS), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- data files -> field names (independent of xltools.read.data) ------------------------------------
def flatten_section(rep, section: dict) -> dict[str, object]:
    """One report's nested data -> {field name: raw value}, as DESIGN.md's naming says:
    table rows by position ("1".."N") or by key, indicator rows as <table>_<column>_<n>."""
    out = {}
    indicator_ids = {t.id for t in rep.indicator_tables}
    for key, value in section.items():
        if key in indicator_ids:
            for i, row in enumerate(value, start=1):
                for col, v in row.items():
                    out[f"{key}_{col}_{i}"] = v
        elif key in rep.tables:
            table = rep.tables[key]
            body = [k for k in table.rows if k != table.total_row]
            rows = dict(zip(body, value)) if isinstance(value, list) else value
            for rkey, row in rows.items():
                for col, v in row.items():
                    out[table.name(col, rkey)] = v
        else:
            out[key] = value
    return out


def expected_value(field, raw):
    """What a data file's raw value means once read from a workbook cell."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if field.numeric:
        return Decimal(str(raw))
    if field.unit == "month":            # a month is the text 2022-01 (xltools.units.Month)
        year, month = (int(p) for p in str(raw).split("-")[:2])
        return f"{year:04d}-{month:02d}"
    if field.unit == "date":
        parts = [int(p) for p in str(raw).split("-")]
        return date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)
    return str(raw)


# --- a consistent filled report, built from random leaves ---------------------------------------
SAFE_TEXT = "本单位按照年度计划组织实施各项工作，资金管理规范，项目进展顺利，群众满意度较高。"


def money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def split(total_cents: int, parts: int, cut) -> list[int]:
    """total split into `parts` non-negative integers, cut points chosen by cut(lo, hi)."""
    cuts = sorted(cut(0, total_cents) for _ in range(parts - 1))
    edges = [0, *cuts, total_cents]
    return [b - a for a, b in zip(edges, edges[1:])]


def _as_text(v) -> str:
    return format(v, "f") if isinstance(v, Decimal) else "" if v is None else str(v)


def consistent_data(spec, ints, n_orgs: int = 1, n_projects: int = 1, n_details: int = 3,
                    decimal_scores: bool = False, blank_leaves: bool = False) -> dict:
    """A data file whose every stated figure holds: leaves random, totals computed by the
    template's own Python twin (xltools.formulas.evaluate), scores within weights, grades from
    the spec's bands, required texts filled, narratives quoting no 元 amounts.

    ints(lo, hi) -> an int in [lo, hi] (hypothesis' draw or random.randint).
    Every total is stated (so a test may change any of them); with blank_leaves some leaves of
    the 收入/三公/资产 tables are stated blank (where a stray figure can be typed). Balances are kept >= 0 and scores
    are whole numbers unless decimal_scores; negative balances and decimal scores have their own
    tests in test_rules_properties.py.
    """
    from xltools.formulas import input_defaults
    from xltools.formulas import evaluate

    def amount(hi_yuan: int = 10000) -> int:          # in cents of 万元
        return ints(0, hi_yuan * 100)

    # projects first: the department's 项目支出 rows must add up to what they spent
    projects, spent_by_project = [], []
    org_names = ORG_NAMES[:n_orgs] if ints(0, 1) else [f"{name}（二级机构）" for name in ORG_NAMES[:n_orgs]]
    for p in range(n_projects):
        prep = spec.reports["project"]
        details = [amount() for _ in range(n_details)]
        spent_total = sum(details)
        sources = [k for k in prep.tables["fund"].rows if k != prep.tables["fund"].total_row]
        spent = dict(zip(sources, split(spent_total, len(sources), ints)))
        fund_inputs = {}
        for k in sources:
            arrived = spent[k] + amount(100)
            fund_inputs[k] = {"plan": money(arrived + amount(100)), "arrived": money(arrived), "spent": money(spent[k])}
        section = {
            "eval_type": prep.fields["eval_type"].choices[-1],
            "project_name": f"测试项目{p + 1}", "project_unit": "测试单位", "project_authority": "测试主管部门",
            "p_report_date": "2023-03-30", "manager": "李四", "manager_phone": "13973020106",
            "address": "测试路一号", "postcode": "414300", "start_month": "2022-01", "end_month": "2022-12",
            "p_goals_expected": SAFE_TEXT, "p_goals_actual": SAFE_TEXT,
            "p_narrative": list_sentence("项目资金", [(f"{CN[i]}类支出", c) for i, c in enumerate(details)], ints)
            + "\n" + SAFE_TEXT,
        }
        flat = {prep.tables["fund"].name(c, k): v for k, row in fund_inputs.items() for c, v in row.items()}
        for i, cents in enumerate(details, start=1):
            flat[prep.tables["detail"].name("item", str(i))] = f"支出事项{i}"
            flat[prep.tables["detail"].name("amount", str(i))] = money(cents)
        _scores(spec, prep, flat, ints, decimal_scores)
        projects.append(_finish(spec, prep, section, flat, evaluate, input_defaults))
        spent_by_project.append(spent_total)

    rep = spec.reports["dept"]
    quota = ints(1, 200)
    section = {
        "dept_name": "测试局", "report_date": "2023-03-30", "contact": "张三", "contact_phone": "18711296425",
        "staff_quota": Decimal(quota), "staff_actual": Decimal(ints(0, quota)),
        "duties": SAFE_TEXT, "tasks": SAFE_TEXT, "achievements": SAFE_TEXT,
        "goals_expected": SAFE_TEXT, "goals_actual": SAFE_TEXT, "narrative": SAFE_TEXT,
    }
    project_rows = split(sum(spent_by_project), n_orgs, ints)
    for r in range(1, n_orgs):
        if ints(0, 1):          # units without project spending: their sentence may leave it out
            project_rows[0], project_rows[r] = project_rows[0] + project_rows[r], 0
    flat, narrated = {}, []
    for r in range(1, n_orgs + 1):
        key = str(r)
        t = lambda table, col: rep.tables[table].name(col, key)  # noqa: E731
        personnel, public = amount(), amount()
        spend_total = personnel + public + project_rows[r - 1]
        gov_fund, nontax, other = amount(), amount(), amount()
        narrated.append((org_names[r - 1], personnel, public, project_rows[r - 1]))
        flat.update({
            t("income", "org"): org_names[r - 1],
            t("income", "carryover"): money(amount()),
            # what is not carried over covers the year's spending: 当年结余 >= 0
            t("income", "public_budget"): money(spend_total + amount(100)),
            t("income", "gov_fund"): money(gov_fund), t("income", "nontax"): money(nontax),
            t("income", "other"): money(other),
            t("spend", "personnel"): money(personnel), t("spend", "public"): money(public),
            t("spend", "project"): money(project_rows[r - 1]),
            t("three_public", "reception"): money(amount(50)), t("three_public", "car_ops"): money(amount(50)),
            t("three_public", "car_purchase"): money(amount(50)), t("three_public", "abroad"): money(amount(50)),
            t("assets", "in_use"): money(amount()), t("assets", "rented"): money(amount()),
            t("assets", "other"): money(amount()),
        })
        if blank_leaves:       # left blank, as units leave lines they have nothing for
            for table, col in (("income", "gov_fund"), ("income", "nontax"), ("income", "other"),
                               ("three_public", "car_purchase"), ("three_public", "abroad"),
                               ("assets", "rented"), ("assets", "other")):
                if ints(0, 1):
                    flat[t(table, col)] = None
    section["narrative"] = dept_narrative(narrated, ints) + (list_sentence(
        "专项资金", [(f"{CN[p]}号项目经费", c) for p, c in enumerate(spent_by_project)], ints) + "\n"
        if n_projects else "") + SAFE_TEXT
    _scores(spec, rep, flat, ints, decimal_scores)
    dept = _finish(spec, rep, section, flat, evaluate, input_defaults, used_rows={str(r) for r in range(1, n_orgs + 1)})
    return {"year": spec.year, "region": spec.region, "dept": dept, "projects": projects}


ORG_NAMES = ["测试局机关", "测试局社会福利中心", "测试局救助站", "测试局机关服务中心"]
CN = "一二三四五六七八九十"


def yuan_text(cents: int, ints) -> str:
    """Cents of 元 as a narrative writes them: 4520887.01, 4,520,887.01, 30030000 or 30030000.00."""
    whole, frac = divmod(cents, 100)
    text = f"{whole:,}" if ints(0, 3) == 0 else str(whole)
    return text + (f".{frac:02d}" if frac or ints(0, 2) == 0 else "")


def _offset(lo: int, hi: int, ints) -> int:
    """An offset in cents of 元 in [lo, hi), often at an edge: lo is the half-up edge itself."""
    k = ints(0, 5)
    return lo if k == 0 else hi - 1 if k == 1 else 0 if k == 2 else ints(lo, hi - 1)


PER = 10000               # cents of 元 in a cent of 万元
ORG_TOTALS = "各机构支出合计"   # the subject of the sentence listing every 机构's total (dept_narrative)


def dept_narrative(rows, ints) -> str:
    """One sentence per 机构 (name, 人员支出, 公用支出, 项目支出 in cents of 万元) quoting its row in 元
    as the seed does, and, for several 机构, the all-unit sentence before them.

    Every 元 amount rounds half-up to its cell (÷ 10000), also 人员支出 = 工资福利支出 + 对个人和家庭的
    补助, and the sentences foot exactly: each amount is the cell × 10000 plus an offset in
    [-50, 50) 元 (often -50: the half-up edge), the offsets chosen so that every total stays
    within the same bounds. Zero items (补助, 项目支出) are sometimes left out; a sentence sometimes
    ends at its line instead of 。.

    Units mixed, as the issue found them: with several 机构, one 机构's sentence is sometimes in
    万元 (its cells, two decimals: its 补助 a whole number of 万元 cents, so that the sentence foots
    in 万元 as written) while the others and their sum stay in 元; and a last sentence may list
    every 机构's total, that one in 万元, the others and the sum in 元. Those footings hold only
    within the 万元 rounding (±50 元 a figure)."""
    sentences, sums, heads = [], [0] * 6, []
    in_wan = ints(0, len(rows) - 1) if len(rows) > 1 and ints(0, 2) == 0 else None
    for k, (org, personnel, public, project) in enumerate(rows):
        o_ws = _offset(max(-5000, -personnel * PER), 5000, ints)
        o_g = _offset(max(-5000, -5000 - o_ws, -public * PER), min(5000, 5000 - o_ws), ints)
        o_p = _offset(max(-5000, -5000 - o_ws - o_g), min(5000, 5000 - o_ws - o_g), ints) if project else 0
        ws, g, p = personnel * PER + o_ws, public * PER + o_g, project * PER + o_p
        subsidy = 0 if ints(0, 2) == 0 else ints(0, min(ws, 2_000_000))
        if k == in_wan:
            subsidy -= subsidy % PER
        w, b = ws - subsidy, ws + g
        figures = [b + p, b, w, g, subsidy, p]
        sums = [x + y for x, y in zip(sums, figures)]
        heads.append((org, b + p, k == in_wan))
        sentences.append(_spend_sentence(org + "预算支出", figures, ints, wan=k == in_wan))
    if len(rows) > 1:
        sentences.insert(0, _spend_sentence("本部门预算总支出", sums, ints, full=True))
        if in_wan is not None and ints(0, 1):
            listed = "，".join(f"{org}{money(_wan(c))}万元" if wan else f"{org}{yuan_text(c, ints)}元"
                               for org, c, wan in heads)
            sentences.append(f"{ORG_TOTALS}{yuan_text(sums[0], ints)}元，其中：{listed}。\n")
    return "".join(sentences)


def _wan(cents_of_yuan: int) -> int:
    """Cents of 元 rounded half-up to cents of 万元 (what a 万元 cell shows)."""
    return (cents_of_yuan + PER // 2) // PER


def _spend_sentence(subject: str, figures, ints, full: bool = False, wan: bool = False) -> str:
    unit = "万元" if wan else "元"
    total, basic, wages, goods, subsidy, project = (
        (str(money(_wan(c))) if wan else yuan_text(c, ints)) + unit for c in figures)
    inner = f"工资福利支出{wages}、一般商品和服务支出{goods}"
    if figures[4] or full or ints(0, 1):
        inner += f"、对个人和家庭的补助{subsidy}"
    out = f"{subject}{total}，其中：基本支出{basic}（{inner}）"
    if figures[5] or full or ints(0, 1):
        out += f"；项目支出{project}"
    return out + ("。\n" if ints(0, 2) else "\n")


def list_sentence(subject: str, items, ints) -> str:
    """"专项资金3003万元，其中：民政管理业务经费146万元，…。" (items in cents of 万元)."""
    listed = "，".join(f"{label}{money(c)}万元" for label, c in items)
    return f"{subject}{money(sum(c for _, c in items))}万元，其中：{listed}。"


def org_sentence(narrative: str, org: str) -> str:
    """The sentence of one 机构 in a narrative dept_narrative wrote (up to its 。 or line end)."""
    start = narrative.find(org + "预算支出")
    if start < 0:
        return ""
    rest = narrative[start:]
    return rest[:min(i for i in (rest.find("。"), rest.find("\n"), len(rest)) if i >= 0)]


def _scores(spec, rep, flat: dict, ints, decimal_scores: bool) -> None:
    for table in rep.indicator_tables:
        for i, ind in enumerate(table.indicators, start=1):
            flat[f"{table.id}_weight_{i}"] = ind.weight
            # mostly near the weight (so every grade band occurs), sometimes anywhere in [0, weight]
            short = ints(0, int(ind.weight) * 100) if ints(0, 3) == 0 else ints(0, 150)
            cents = max(0, int(ind.weight) * 100 - short)
            flat[f"{table.id}_score_{i}"] = money(cents) if decimal_scores else Decimal(cents // 100)


def _finish(spec, rep, section: dict, flat: dict, evaluate, input_defaults, used_rows=None) -> dict:
    """Add every computed figure, as the template computes it, and give every field by its flat
    name (data.py accepts `income_total_1` as well as the nested form)."""
    inputs = input_defaults(rep)
    inputs.update({k: v for k, v in {**section, **flat}.items() if k in rep.fields})
    values, _checks = evaluate(rep, spec, inputs)
    for f in rep.computed:
        table = rep.tables.get(f.table) if f.table else None
        if table is not None and f.row != table.total_row:
            if used_rows is not None and f.row not in used_rows:
                continue          # the department's unused 机构 rows stay unstated
            if f.table == "detail" and table.name("amount", f.row) not in flat:
                continue
        v = values.get(f.name)
        if f.numeric:
            flat[f.name] = v if v is not None else Decimal(0)
        elif v not in (None, ""):
            flat[f.name] = v
    return {k: _as_text(v) for k, v in {**section, **flat}.items()}


# --- a consistent national form (specs/national_2022.toml) -----------------------------------------
def national_project(spec, rng, name: str, unit: str, units=("%", "个", "天", "万元")) -> dict:
    """The inputs of one 项目支出绩效自评表 whose every rule holds: the 项目资金 rows (at least 96%
    spent: no 自评预警), one or more indicators of each 二级 group, each 一级 group's weights adding
    up to its header's, every 指标性质, each target met (under 130% of it) and scored in full.
    `rng`: a random.Random. (bench/national.py makes its corpus with it too.)"""
    table = spec.reports["project"].indicator_tables[0]
    money = lambda lo, hi: Decimal(rng.randint(lo * 100, hi * 100)) / 100   # noqa: E731
    p = {"project_name": name, "authority": "测试主管部门", "impl_unit": unit,
         "goals_expected": "按照年度计划完成项目建设任务，资金使用规范。", "goals_actual": "已完成年度目标。"}
    for row in ("fiscal", "carryover", "other"):
        if row == "fiscal" or rng.random() < 0.3:
            budget = money(10, 3000)
            p.update({f"budget_initial_{row}": budget, f"budget_budget_{row}": budget,
                      f"budget_spent_{row}": (budget * Decimal(rng.randint(960, 1000)) / 1000).quantize(CENT)})
    groups: dict[str, list[int]] = {}
    for i, ind in enumerate(table.indicators, start=1):
        groups.setdefault(ind.group, []).append(i)
    by_level: dict[str, list[int]] = {}
    for slots in groups.values():
        for i in slots[:rng.randint(1, len(slots))]:
            by_level.setdefault(table.indicators[i - 1].group1, []).append(i)
    for level, used in by_level.items():
        total = int(table.levels[level])
        cuts = sorted(rng.sample(range(1, total), len(used) - 1)) if len(used) > 1 else []
        for i, weight in zip(used, [b - a for a, b in zip([0, *cuts], [*cuts, total])]):
            nature = rng.choice(["≥", "≤", "=", "定性"])
            row = {"name": f"指标{i}", "nature": nature, "weight": Decimal(weight), "score": Decimal(weight)}
            if nature == "定性":
                row.update(target="效果明显", actual=rng.choice(["达成年度指标", "达成"]))
            else:
                target = rng.randint(10, 500)
                actual = {"≥": target + rng.randint(0, target // 5), "≤": target - rng.randint(0, target // 2),
                          "=": target}[nature]
                row.update(target=str(target), unit=rng.choice(units), actual=str(actual))
            p.update({f"ind_{c}_{i}": v for c, v in row.items()})
    return p


# --- workbooks ----------------------------------------------------------------------------------
def zip_members(path_or_bytes) -> dict[str, bytes]:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def rezip(members: dict[str, bytes], path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return Path(path)


def formula_elements(data: bytes) -> dict:
    """(sheet, A1) -> the <c> element of every formula cell, from the raw sheet XML."""
    from xml.etree import ElementTree as ET
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        out = {}
        for sheet, part in sheet_parts(data).items():
            for c in ET.fromstring(z.read(part)).iterfind(".//m:sheetData/m:row/m:c", ns):
                if c.find("m:f", ns) is not None:
                    out[(sheet, c.get("r"))] = c
    return out


def comparable(value, quantum: str = "0.01"):
    """A cell value as two programs may store it: numbers to `quantum`, blank as ""."""
    from decimal import ROUND_HALF_UP
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(repr(value)).quantize(Decimal(quantum), ROUND_HALF_UP)
    return value


def formula_cells(path) -> dict[str, dict[str, str]]:
    """{sheet: {A1: formula}} of every formula cell, read by openpyxl (independently of xltools)."""
    import openpyxl
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = {c.coordinate: c.value for row in ws.iter_rows() for c in row
                         if isinstance(c.value, str) and c.value.startswith("=")}
    return out


# --- the rules keep to the codes they declare --------------------------------------------------------
def checked_by_declared_rules(path, spec):
    """Read and check a file as `xltools check` does, asserting that each finding's code is one
    its rule declares (a note of the reader: one of the reader's note codes). Returns the findings."""
    from xltools.checker import read_any
    from xltools.read.filled import NOTE_CODES
    from xltools.rules import findings_by_rule, run_rules
    spec, filled = read_any(path, spec)
    made = findings_by_rule(filled, spec)
    for rule, f in made:
        declared = NOTE_CODES if rule is None else rule.declares(spec)
        assert f.code in declared, f"{type(rule).__name__ if rule else 'the reader'} emits {f.code}, " \
                                   f"which it does not declare ({sorted(declared)}): {f.message}"
    findings = [f for _, f in made]
    assert findings == run_rules(read_any(path, spec)[1], spec).findings
    return findings


def unlocked_cells(ws, rep) -> tuple[set, set, set]:
    """A report sheet's protection as a unit meets it: (the inputs' cells, the long texts' cells,
    the unlocked cells outside the long texts' rows, which LibreOffice fits only when unlocked whole)."""
    from openpyxl.cell.cell import MergedCell      # the covered part of a merged range, absent from the file
    from openpyxl.utils import get_column_letter
    inputs = {f.cell for f in rep.inputs if f.name not in rep.runs}
    texts = {f"{get_column_letter(run.col)}{r}" for run in rep.runs.values() for r in run.row_numbers}
    unlocked = {c.coordinate for row in ws.iter_rows() for c in row
                if not isinstance(c, MergedCell) and not c.protection.locked}
    in_text_rows = {c for c in unlocked if int(c.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) in rep.text_rows}
    assert texts <= in_text_rows, rep.sheet
    return inputs, texts, unlocked - in_text_rows
