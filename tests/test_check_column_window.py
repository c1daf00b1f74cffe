"""Column I of the filled seed as a bookkeeper sees it in LibreOffice's real window (issue 18):
the department's 收支 table, whose first 机构 row's check cell says four things at once, and the
cross-report note above it. The screenshot is kept in tests/artifacts/check_column_window/ to be
looked at.
"""
from __future__ import annotations

from helpers import SEED, run_cli
from xltools.a1 import a1
from xltools.checker import check_file
from xltools.formulas import check_severities
from xltools.spec import load_spec

SPEC = load_spec()
DEPT = SPEC.reports["dept"]


def test_each_finding_of_column_i_reads_whole_beside_its_row(window, tmp_path):
    """Every check cell of the department's sheet that speaks holds the checker's sentences, and
    its row is at least as tall as LibreOffice itself would make it for them (its optimal
    height, with nothing cut); the rows of the seed's four narrative findings and of the
    cross-report note are shown on screen."""
    book = tmp_path / "填报.xlsx"
    assert run_cli("fill", SEED, "-o", book).returncode == 0
    rows = sorted(check_severities(DEPT, SPEC))
    window.open(book)
    try:
        texts = {r: window.uno({"op": "text", "url": window.url, "sheet": DEPT.sheet,
                                "ref": a1(r, DEPT.check_column)})["text"] for r in rows}
        speaking = {r: t for r, t in texts.items() if t}
        said = [f.message for f in check_file(book, SPEC).findings if f.code == "text-amount"]
        quotes = next(p.row for p in DEPT.placed if p.role == "check" and p.check.kind == "quotes")
        assert speaking[quotes].split("\n") == said and len(said) == 4
        assert "计入 1 张项目表" in speaking[quotes - 1]          # the cross-report note, just above
        shown = window.uno({"op": "rows", "url": window.url, "sheet": DEPT.sheet, "rows": sorted(speaking)})
        fitted = window.uno({"op": "optimal", "path": str(book), "sheet": DEPT.sheet, "rows": sorted(speaking)})
        for row, height, optimal in zip(sorted(speaking), shown["heights"], fitted["optimal"]):
            assert optimal <= height + 0.5, (row, optimal, height, speaking[row])
        window.select(DEPT.sheet, a1(quotes - 4, 2), left=1)     # column I whole on the screen
        window.shot("column-i-beside-the-table")
    finally:
        window.close()
