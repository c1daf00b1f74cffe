"""Real LibreOffice runs of xltools.office.bridge: recalculation, PDF export, batch conversion, failures."""

from __future__ import annotations

import os
import signal
import re
import zipfile

import openpyxl
import pytest

from xltools.office import bridge as office
from xltools.errors import XltoolsError

TITLE = "县级财政绩效自评"
OTHER = "项目支出绩效表"


def make_book(path, a3_cache: str | None = None):
    """Main sheet: A1=2, A2=3, A3==A1+A2 and a Chinese title; a second sheet refers to A3.

    openpyxl writes formulas without cached values; a3_cache plants a (stale) cached value for A3
    by editing the sheet XML inside the zip, as a workbook saved by another program would carry.
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "部门整体"
    ws["A1"], ws["A2"], ws["A3"], ws["B1"] = 2, 3, "=A1+A2", TITLE
    other = wb.create_sheet(OTHER)
    other["A1"], other["A2"] = "项目名称：乡村道路", "=部门整体!A3*10"
    wb.save(path)
    if a3_cache is not None:
        with zipfile.ZipFile(path) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        xml = parts["xl/worksheets/sheet1.xml"].decode()
        empty = re.search(r"<f>A1\+A2</f><v(?: ?/>|></v>)", xml)   # openpyxl 3.1, with or without lxml
        assert empty, xml
        parts["xl/worksheets/sheet1.xml"] = xml.replace(empty.group(0), f"<f>A1+A2</f><v>{a3_cache}</v>").encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in parts.items():
                z.writestr(name, data)
    return path


def cached(path, sheet, cell):
    return openpyxl.load_workbook(path, data_only=True)[sheet][cell].value


def test_recalculate_computes_formulas_without_cached_values(soffice, tmp_path):
    src = make_book(tmp_path / "src.xlsx")
    assert cached(src, "部门整体", "A3") is None
    dst = soffice.recalculate(src, tmp_path / "out" / "recalc.xlsx")
    assert dst == (tmp_path / "out" / "recalc.xlsx").resolve()
    assert cached(dst, "部门整体", "A3") == 5
    assert cached(dst, OTHER, "A2") == 50
    assert cached(dst, "部门整体", "B1") == TITLE
    # The formulas survive the round trip, not only their values.
    assert openpyxl.load_workbook(dst)["部门整体"]["A3"].value == "=A1+A2"


def test_recalculate_replaces_stale_cached_value(soffice, tmp_path):
    src = make_book(tmp_path / "stale.xlsx", a3_cache="99")
    assert cached(src, "部门整体", "A3") == 99
    dst = soffice.recalculate(src, tmp_path / "fixed.xlsx")
    assert cached(dst, "部门整体", "A3") == 5
    assert cached(dst, OTHER, "A2") == 50


def test_plain_resave_keeps_stale_value(soffice, tmp_path):
    # The LibreOffice quirk that recalculate() exists for: loading alone trusts the cache.
    src = make_book(tmp_path / "stale.xlsx", a3_cache="99")
    [out] = soffice.convert_many([src], tmp_path / "out")
    assert cached(out, "部门整体", "A3") == 99
    [out] = soffice.convert_many([src], tmp_path / "out2", recalc=True)
    assert cached(out, "部门整体", "A3") == 5


def test_to_pdf_whole_workbook_has_chinese_text_and_computed_values(soffice, pdf_text, tmp_path):
    src = make_book(tmp_path / "book.xlsx", a3_cache="99")
    text = pdf_text(soffice.to_pdf(src, tmp_path / "book.pdf"))
    assert TITLE in text and "项目名称：乡村道路" in text
    numbers = text.split()
    assert "5" in numbers and "50" in numbers and "99" not in numbers


def test_to_pdf_one_sheet_only_and_source_untouched(soffice, pdf_text, tmp_path):
    src = make_book(tmp_path / "book.xlsx")
    before = src.read_bytes()
    other = pdf_text(soffice.to_pdf(src, tmp_path / "other.pdf", sheet=OTHER))
    assert "项目名称：乡村道路" in other and "50" in other.split()
    assert TITLE not in other
    main = pdf_text(soffice.to_pdf(src, tmp_path / "main.pdf", sheet="部门整体"))
    assert TITLE in main and "乡村道路" not in main
    assert src.read_bytes() == before
    # No LibreOffice lock file or half-written temporary left beside the source or the outputs.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx", "main.pdf", "other.pdf"]


def test_to_pdf_unknown_sheet(soffice, tmp_path):
    src = make_book(tmp_path / "book.xlsx")
    with pytest.raises(soffice.OfficeError, match="没有名为「不存在」的工作表") as err:
        soffice.to_pdf(src, tmp_path / "x.pdf", sheet="不存在")
    assert isinstance(err.value, XltoolsError)
    assert not (tmp_path / "x.pdf").exists()


def test_convert_many(soffice, tmp_path):
    srcs = []
    for i in range(5):
        wb = openpyxl.Workbook()
        wb.active["A1"], wb.active["A2"], wb.active["B1"] = i, "=A1*100", f"单位{i}"
        wb.save(tmp_path / f"单位{i}.xlsx")
        srcs.append(tmp_path / f"单位{i}.xlsx")
    outs = soffice.convert_many(srcs, tmp_path / "out")
    assert [p.name for p in outs] == [f"单位{i}.xlsx" for i in range(5)]
    for i, out in enumerate(outs):
        ws = openpyxl.load_workbook(out, data_only=True).active
        assert (ws["A1"].value, ws["A2"].value, ws["B1"].value) == (i, i * 100, f"单位{i}")
    assert len(list((tmp_path / "out").iterdir())) == 5


def test_convert_many_reports_failures_and_keeps_the_rest(soffice, tmp_path):
    good = make_book(tmp_path / "good.xlsx")
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(soffice.OfficeError, match="2 个文件中有 1 个转换失败.*bad.xlsx"):
        soffice.convert_many([good, tmp_path / "bad.xlsx"], tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.xlsx"]


def test_convert_many_refuses_clashing_outputs(soffice, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = [make_book(tmp_path / d / "same.xlsx") for d in "ab"]
    with pytest.raises(soffice.OfficeError, match="同一个输出文件"):
        soffice.convert_many(paths, tmp_path / "out")
    with pytest.raises(soffice.OfficeError, match="不支持的输出格式"):
        soffice.convert_many(paths[:1], tmp_path / "out", fmt="docx")


def test_recalculate_refuses_to_overwrite_source(soffice, tmp_path):
    src = make_book(tmp_path / "book.xlsx")
    with pytest.raises(soffice.OfficeError, match="不能覆盖源文件"):
        soffice.recalculate(src, src)


def test_crashed_office_is_restarted(soffice, tmp_path):
    src = make_book(tmp_path / "book.xlsx")
    soffice.recalculate(src, tmp_path / "a.xlsx")
    os.killpg(soffice._office.group, signal.SIGKILL)          # soffice crashes: its keeper ends with it
    soffice._office.keeper.wait()
    assert cached(soffice.recalculate(src, tmp_path / "b.xlsx"), "部门整体", "A3") == 5


def test_hung_office_times_out_then_recovers(soffice, tmp_path, monkeypatch):
    src = make_book(tmp_path / "book.xlsx")
    soffice.start()
    monkeypatch.setattr(soffice, "DOC_TIMEOUT", 2.0)
    os.killpg(soffice._office.group, signal.SIGSTOP)  # LibreOffice stops answering
    with pytest.raises(soffice.OfficeError, match="超时"):
        soffice.recalculate(src, tmp_path / "a.xlsx")
    assert not (tmp_path / "a.xlsx").exists()
    assert cached(soffice.recalculate(src, tmp_path / "b.xlsx"), "部门整体", "A3") == 5


def test_missing_libreoffice_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("XLTOOLS_SOFFICE", "/nonexistent/soffice")
    assert office.find_soffice() is None
    with pytest.raises(office.OfficeError, match="未找到 LibreOffice"):
        office._Office()
