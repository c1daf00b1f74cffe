"""The blocks of a report that are scored: the indicator table and the 项目资金 (budget) table.

An indicator table is laid out in one of two shapes:
- the county form (2022): a label column, then 一级/二级/指标内容/指标值/实际完成值/分值/得分 with
  the spec's indicators and weights prefilled, the header one row of texts;
- a form that names its columns (`columns`, the national 项目支出绩效自评表): 一级, 二级, then
  the fields of each row in order (三级指标, 指标性质, 指标值, 度量单位, 实际完成值, 分值, 得分,
  偏差原因…), the header rows as a table's (`header`), the rows of each 二级 group blank for
  the unit to name (`rows`), the 一级 headers stating their weight ("产出指标（50分）", `levels`).
Then the composite score and the grade rows. The budget table (`kind = "budget"`) gives the
form's 预算执行率 and its score, added to the composite.
"""
from __future__ import annotations

from decimal import Decimal

from .. import catalogue
from ..scoring.parse import fmt
from .model import Budget, Check, Indicator, IndicatorTable, RatioRule, ShareScoreRule, Table

OLD_COLUMNS = ("level1", "level2", "name", "target", "actual", "weight", "score")
ROW_FIELDS = {"name": "text", "nature": "choice", "target": "text", "unit": "text", "actual": "text",
              "weight": "score", "score": "score", "reason": "text"}
NATURES = ("≥", ">", "≤", "<", "=", "定性")


class ScoredBlocks:
    """Mixed into spec.layout.Layout (its helpers: put, add_field, place_field, fit, height…)."""

    def _indicators(self, b, place) -> list[Indicator]:
        inds: list[Indicator] = []
        ids: set[str] = set()
        for g, group in enumerate(b["groups"]):
            where = f"{place}.groups[{g}]"
            if group.get("id") in ids:        # a data file fills a group by its id: the second was unreachable
                self.fail(f"{where}.id", f"指标组 id {group['id']} 重复")
            if "id" in group:
                ids.add(group["id"])
            if "rows" in group:
                n = group["rows"]
                if not isinstance(n, int) or n < 1:
                    self.fail(where, "rows 应为正整数（本组留给单位填写的指标行数）")
                inds += [Indicator(group["level1"], group["level2"], "", None, group=group.get("id", ""))
                         for _ in range(n)]
                continue
            for k, it in enumerate(group["indicators"]):
                try:
                    weight = Decimal(str(it["weight"]))
                except ArithmeticError:                 # not a number (a missing weight says so itself)
                    self.fail(f"{where}.indicators[{k}]", f"分值 {it.get('weight')!r} 不是数字")
                inds.append(Indicator(group["level1"], group["level2"], it["name"], weight,
                                      it.get("lower_is_better", False), group.get("id", "")))
        if not inds:
            self.fail(place, "指标表没有指标")
        return inds

    def _weights_target(self, b, place, inds: list[Indicator], levels: dict[str, Decimal]) -> Decimal:
        """What the indicators' weights add up to: 100 less the 预算执行率's; prefilled weights
        and the 一级 headers' weights must say so."""
        budget = self.r.budget
        target = Decimal(100) - (budget.weight if budget else 0)
        given = [i.weight for i in inds if i.weight is not None]
        if given and len(given) != len(inds):
            self.fail(place, "指标的分值要么都在规格中给出，要么都留给单位填写")
        if given and sum(given) != target:
            self.fail(place, f"指标分值合计为 {sum(given)}，应为 {target}")
        if levels and sum(levels.values()) != target:
            self.fail(f"{place}.levels", f"一级指标分值合计为 {sum(levels.values())}，应为 {target}")
        for level, weight in levels.items():
            got = sum(i.weight or 0 for i in inds if i.group1 == level)
            if given and got != weight:
                self.fail(f"{place}.levels", f"“{level}”下指标的分值之和为 {got}，与其分值 {weight} 不符")
        return target

    def block_indicators(self, b, place):
        tid = b["id"]
        inds = self._indicators(b, place)
        levels = {lv["name"]: Decimal(str(lv["weight"])) for lv in b.get("levels", []) if "weight" in lv}
        unknown = {i.group1 for i in inds} - {lv["name"] for lv in b.get("levels", [])}
        if b.get("levels") and unknown:
            self.fail(f"{place}.levels", f"未列出一级指标 {'、'.join(sorted(unknown))}")
        target = self._weights_target(b, place, inds, levels)
        named = "columns" in b
        columns = tuple(b["columns"]) if named else OLD_COLUMNS
        first_col = 1 if named else 2             # the county form: column A is the block's label
        if columns[:2] != ("level1", "level2") or not set(columns[2:]) <= set(ROW_FIELDS) \
                or not {"name", "target", "actual", "weight", "score"} <= set(columns):
            self.fail(f"{place}.columns", f"应为 level1、level2，再依次为 {'、'.join(ROW_FIELDS)} 中的列"
                                          "（至少 name、target、actual、weight、score）")
        if first_col + len(columns) - 1 != self.r.columns:
            self.fail(f"{place}.columns", f"共 {first_col + len(columns) - 1} 列，应为 {self.r.columns} 列")
        col_of = {c: first_col + k for k, c in enumerate(columns)}
        labels = b["column_labels"]
        row_fields = columns[2:]
        table = IndicatorTable(tid, inds, b["score_field"], b["grade_field"], labels, row_fields, old_form=not named,
                               extra_scores=(self.r.budget.score,) if self.r.budget else (), levels=levels,
                               label_columns=(col_of["level1"], col_of["level2"]))
        self.r.indicator_tables.append(table)

        top = self.row
        if named:
            if b.get("caption"):
                self.put(row=self.row, col=1, cols=self.r.columns, role="caption", text=b["caption"])
                self.height(self.row, 22)
                self.row += 1
            header_row = self.row
            self.header_rows(b["header"], place)
        else:
            header_row = self.row
            header = b["header"]
            spans = [2] + [1] * 5 if len(header) == 6 else [1] * 7
            col = 2
            for text, span in zip(header, spans):
                self.put(row=self.row, col=col, cols=span, role="header", text=text)
                self.fit(self.row, col, span, text)
                col += span
            self.row += 1
        weight_names = table.names("weight")
        weights = catalogue.entry("weight-sum")
        execution = (fmt(self.r.budget.weight),) if self.r.budget else ()
        self.check_at(header_row, Check(weights.code, "weights", tuple(weight_names), "=", target,
                                        weights.title, weights.severity, labels=execution, unit="score",
                                        quiet_blank=named))
        first = self.row
        if levels:
            level_check = catalogue.entry("level1-weight")
            groups = tuple(tuple(n for n, i in zip(weight_names, inds) if i.group1 == lv) for lv in levels)
            self.check_at(header_row + 1, Check(level_check.code, "levels", groups, "=", tuple(levels.values()),
                                                level_check.title, level_check.severity, labels=tuple(levels),
                                                unit="score", quiet_blank=True))

        def shown(ind: Indicator, col: int) -> str:
            return table.level_label(ind.group1) if col == col_of["level1"] else ind.group2

        def merge_runs(col: int, key):
            start = 0
            while start < len(inds):
                end = start
                while end + 1 < len(inds) and key(inds[end + 1]) == key(inds[start]):
                    end += 1
                self.put(row=first + start, col=col, rows=end - start + 1, role="label", text=shown(inds[start], col))
                start = end + 1

        merge_runs(col_of["level1"], lambda i: i.group1)
        merge_runs(col_of["level2"], lambda i: (i.group1, i.group2))
        prompts = b.get("prompts", {})
        natures = tuple(b.get("natures", NATURES))
        counted: dict[tuple[str, str], int] = {}
        for i, ind in enumerate(inds, start=1):
            r = self.row
            k = counted[ind.group1, ind.group2] = counted.get((ind.group1, ind.group2), 0) + 1
            title = ind.name.splitlines()[0] if ind.name else f"{ind.group2.replace(chr(10), '')}第{k}项"
            for column in row_fields:
                kw = {}
                if column == "name" and ind.name:
                    kw["default"] = ind.name
                elif column == "weight":
                    kw = {"default": ind.weight, "required": ind.weight is not None}
                elif column == "score":
                    kw["lower_is_better"] = ind.lower_is_better
                elif column == "nature":
                    kw["choices"] = natures
                f = self.add_field(f"{place}.indicators[{i - 1}]", f"{tid}_{column}_{i}",
                                   label=f"{title}·{labels[column]}", unit=ROW_FIELDS[column], table=tid,
                                   column=column, row=str(i), prompt=prompts.get(column, ""), **kw)
                self.place_field(f, r, col_of[column], align="top" if column == "reason" else None)
            self.fit(r, col_of["name"], 1, ind.name)
            in_range = catalogue.entry("score-range")
            self.check_at(r, Check(in_range.code, "score-range", f"{tid}_score_{i}", "<=", f"{tid}_weight_{i}",
                                   in_range.title, in_range.severity, unit="score"))
            self.row += 1
        # the level-1 texts are long: make sure their merged cells are tall enough
        for col, key in ((col_of["level1"], "group1"), (col_of["level2"], "group2")):
            for ind_text in {getattr(i, key) for i in inds}:
                rows = [first + k for k, i in enumerate(inds) if getattr(i, key) == ind_text]
                need = self.lines_of(ind_text, col) + 6
                have = sum(self.r.row_heights.get(r, self.row_pt) for r in rows)
                if need > have:
                    for r in rows:
                        self.height(r, self.r.row_heights.get(r, self.row_pt) + (need - have) / len(rows))
        if not named:
            self.put(row=top, col=1, rows=self.row - top, role="label", text=b["label"])
        span = b.get("total_label_span", 3)
        for name, label in ((b["score_field"], b["score_label"]), (b["grade_field"], b["grade_label"])):
            self.put(row=self.row, col=1, cols=span, role="header", text=label)
            f = self.add_field(place, name, label=label, unit="score" if name == b["score_field"] else "text",
                               kind="computed")
            self.place_field(f, self.row, span + 1, cols=self.r.columns - span)
            self.height(self.row, 24)
            self.row += 1

    def block_budget(self, b, place):
        """项目资金（万元）: the label down the left; a header row (年初预算数, 全年预算数, 全年执行数,
        分值, 执行率, 得分, the reason's label); the total row first, then the 其中 rows. 分值,
        执行率 and 得分 sit on the total row only; the reason, typed by the unit, spans the rows."""
        if self.r.budget is not None:
            self.fail(place, "一张报表只能有一个项目资金表")
        tid, rows, cols = b["id"], b["rows"], b["columns"]
        roles = {k: b[k] for k in ("initial", "budget", "spent")}
        if len(rows) < 2 or len(cols) != 3 or sorted(roles.values()) != sorted(c["id"] for c in cols):
            self.fail(place, "应有合计行及其中各行，金额列为 initial、budget、spent 三列（年初预算数、全年预算数、全年执行数）")
        label_span = b.get("row_label_span", 2)
        reason_col = 1 + label_span + len(cols) + 3 + 1
        if reason_col > self.r.columns:
            self.fail(place, f"项目资金表需要至少 {reason_col} 列")
        total = rows[0]["id"]
        table = Table(tid, [c["id"] for c in cols], [r["id"] for r in rows[1:]] + [total], total, matrix=True)
        self.r.tables[tid] = table
        weight = Decimal(str(b["weight"]))
        exec_labels = {"weight": "分值", "rate": "执行率", "score": "得分", **b.get("headers", {})}
        top = self.row
        head = [(c["label"], 1) for c in cols] + [(exec_labels[k], 1) for k in ("weight", "rate", "score")]
        head.append((b["reason"]["label"], self.r.columns - reason_col + 1))
        col = 2 + label_span
        self.put(row=self.row, col=2, cols=label_span, role="header", text="")
        for text, span in head:
            self.put(row=self.row, col=col, cols=span, role="header", text=text)
            self.fit(self.row, col, span, text)
            col += span
        self.row += 1
        rate_name, score_name = f"{tid}_rate", f"{tid}_score"
        for n, row in enumerate(rows):
            is_total = n == 0
            self.put(row=self.row, col=2, cols=label_span, role="header" if is_total else "label", text=row["label"])
            col = 2 + label_span
            for c in cols:
                f = self.add_field(f"{place}.columns", table.name(c["id"], row["id"]),
                                   label=f"{c['label']}·{row['label'].removeprefix('其中：')}", unit=c.get("unit", "万元"),
                                   kind="computed" if is_total else "input", table=tid, column=c["id"], row=row["id"])
                self.place_field(f, self.row, col)
                col += 1
            if is_total:
                self.put(row=self.row, col=col, role="label", text=fmt(weight))
                for name, unit, label in ((rate_name, "rate", "执行率"), (score_name, "score", "预算执行率得分")):
                    f = self.add_field(place, name, label=label, unit=unit, kind="computed")
                    self.place_field(f, self.row, col + 1)
                    col += 1
            else:
                for k in range(3):
                    self.put(row=self.row, col=col + k, role="label", text="—")
            self.height(self.row, self.row_pt)
            self.row += 1
        reason = self.add_field(place, b["reason"]["field"], label=b["reason"]["label"].replace("\n", ""),
                                unit="text", prompt=b["reason"].get("prompt", ""))
        self.place_field(reason, top + 1, reason_col, rows=len(rows), cols=self.r.columns - reason_col + 1, align="top")
        self.put(row=top, col=1, rows=self.row - top, role="label", text=b["label"])
        totals = {k: table.name(v, total) for k, v in roles.items()}
        self.r.budget = Budget(tid, totals["initial"], totals["budget"], totals["spent"], rate_name, score_name,
                               weight, reason.name)
        rate_rule, score_rule = b.get("rate_rule", {}), b.get("score_rule", {})
        self.r.derived += [
            RatioRule(rate_rule.get("id", "execution-rate"), rate_name,
                      totals["spent"], totals["budget"], rate_rule.get("message", "执行率应等于全年执行数除以全年预算数")),
            ShareScoreRule(score_rule.get("id", "execution-score"), score_name,
                           rate_name, weight, self.scoring.execution_cap,
                           score_rule.get("message", "预算执行率得分应等于执行率乘以分值")),
        ]
