"""`make demo` as a clerk runs it (issue 18, point 10): the inbox it builds holds a corrected
resubmission that passes, so a clerk can tell the units' errors from the tool's, and the demo's
last line says which of the files it wrote to open."""
from __future__ import annotations

import re

from helpers import ROOT, example_script, run_cli
from xltools.spec import load_spec


def test_the_demo_inbox_has_a_resubmission_that_passes(tmp_path):
    inbox = tmp_path / "收件"
    assert example_script("make_collect_demo").main(str(inbox)) == 0
    done = run_cli("collect", inbox, "-o", tmp_path / "汇总.xlsx", timeout=600)
    assert done.returncode == 2, done.stderr                 # the damaged file
    lines = {line.partition("：")[0].rpartition("/")[2]: line.partition("：")[2]
             for line in done.stdout.splitlines() if "：" in line}
    resubmitted = lines["临湘市民政局2022年度绩效自评（修改后）.xlsx"]
    assert "通过（错误 0 处" in resubmitted and re.search(r"第\s*2\s*版", resubmitted), resubmitted
    assert "有错误" in lines["临湘市民政局2022年度绩效自评.xlsx"]
    assert "有错误" in lines["教育局2022年度绩效自评.xlsx"]
    assert "通过（错误 0 处" in lines["临湘市卫生健康局2022年度绩效自评.xlsx"]


def test_make_demo_ends_naming_the_files_it_wrote():
    recipe = re.search(r"^demo:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M).group(1)
    steps = [line.strip() for line in recipe.splitlines() if not line.strip().startswith("@#")]
    last = steps[-1]
    assert last.startswith("@echo") and "请打开" in last
    named = re.findall(r"out/[^\s（）、]+", last)
    spec = load_spec()
    written = set(re.findall(r"(?:-o|--write) (out/[^\s;]+)", "\n".join(steps[:-1])))
    written.add(f"out/{spec.pack_name.format(year=spec.year, unit='临湘市民政局')}/")   # pack -o out
    assert named and set(named) <= written, (named, written)
