"""The reader's memos: bounded, least recently used out first, keyed by content, and never
changing an answer (the same findings with every memo emptied before each workbook).

(How much memory a long-lived process keeps is measured by bench/memory.py, not asserted here.)
"""
from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest

import xltools
from helpers import SEED, load_seed, write_json
from xltools import memo
from xltools.memo import Memo
from xltools.read.workbook import read_workbook
from xltools.spec.load import DEFAULT_SPEC

SPEC = xltools.load_spec()


def test_a_memo_keeps_the_most_recently_used_within_its_entries_and_bytes():
    m = Memo("test", max_entries=3, max_bytes=100)
    try:
        for k in "abc":
            m.put(k, k.upper(), 10)
        assert m.get("a") == "A"                 # a is now the most recent
        m.put("d", "D", 10)                       # 4 entries: the least recent (b) goes
        assert [m.get(k) for k in "abcd"] == ["A", None, "C", "D"]
        m.put("e", "E", 75)                       # 105 bytes: the least recent (a) goes, 95 fit
        assert [m.get(k) for k in "acde"] == [None, "C", "D", "E"] and m.weight == 95
        m.put("huge", "H", 101)                   # heavier than the whole budget: not kept
        assert m.get("huge") is None and len(m) == 3
        m.put("e", "E2", 5)                       # re-weighed in place
        assert m.weight == 25 and m.get("e") == "E2"
        assert ("test", 3, 25) in memo.stats()
    finally:
        memo._ALL.remove(m)


def _variants(book: bytes, n: int):
    """n workbooks, each with the department's name made its own (as bench/memory.py does)."""
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    name = load_seed()["dept"]["dept_name"].encode()
    for i in range(n):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for part, data in members.items():
                z.writestr(part, data.replace(name, name + str(i).encode()) if part.startswith("xl/") else data)
        yield buf.getvalue()


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory) -> bytes:
    return xltools.fill(SEED, tmp_path_factory.mktemp("memo") / "seed.xlsx", SPEC).path.read_bytes()


def test_memos_never_change_an_answer(seed_book):
    books = list(_variants(seed_book, 6))
    warm = [xltools.check(b, SPEC, name=f"{i}.xlsx").to_json() for i, b in enumerate(books)]
    cold = []
    for i, b in enumerate(books):
        memo.clear()
        cold.append(xltools.check(b, SPEC, name=f"{i}.xlsx").to_json())
    assert warm == cold
    assert len({json_text(w) for w in warm}) == len(books)     # the names do differ in the findings' file only
    assert all(w["findings"] == warm[0]["findings"] for w in warm)


def test_figures_that_change_between_workbooks_read_as_a_cold_reader_reads_them(seed_book, tmp_path):
    """The reader keeps what a cell's bytes read as, and how each cell began, up to its value: a
    workbook whose figures, texts and blanks differ at the same cells (a number in one is text in
    the other) reads, after the other, as it does with every memo emptied."""
    doc = load_seed()
    changed = []

    def change(node):          # every figure another, the same kind of cell
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(value, (dict, list)):
                change(value)
            elif isinstance(value, str) and value.replace(".", "", 1).isdigit() and "phone" not in str(key):
                node[key] = str(Decimal(value) + 1)
                changed.append(key)

    change(doc["dept"])
    doc["dept"]["staff_actual"] = "1,234"               # a number written as text
    doc["dept"]["eval_org"] = ""                        # a text left blank
    assert len(changed) > 30
    other = xltools.fill(write_json(tmp_path / "other.json", doc), tmp_path / "other.xlsx", SPEC).path.read_bytes()

    def read(book):
        filled = read_workbook("b.xlsx", SPEC, book)
        return [(i.sheet, i.values, i.formulas, i.input_formulas, i.stray_formulas) for i in filled.read], \
            xltools.check(book, SPEC, name="b.xlsx").to_json()

    for first, then in ((seed_book, other), (other, seed_book)):
        memo.clear()
        read(first)
        warm = read(then)
        memo.clear()
        assert warm == read(then)
        assert warm[0] != read(first)[0]


def json_text(doc) -> str:
    import json
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, default=str)


def test_specs_are_known_by_their_text_not_by_the_object(seed_book):
    from xltools.read import workbook as read
    from xltools.rules.integrity import expected_formulas
    from xltools.spec.model import Spec
    memo.clear()
    a, b = xltools.load_spec(DEFAULT_SPEC), xltools.load_spec(DEFAULT_SPEC)
    for known in (lambda s: read._plan(s, s.reports["dept"]), lambda s: expected_formulas(s, "dept")):
        assert a is not b and known(a) is known(b)
        other_year = xltools.load_spec(DEFAULT_SPEC, year=2023)
        assert known(other_year) is not known(a)
        # A spec built in code, without a text to hash, is its own: no other spec answers for it.
        fields = {f: getattr(a, f) for f in Spec.__dataclass_fields__}
        hand = Spec(**{**fields, "digest": ""})
        assert known(hand) is not known(a)
    assert read._plan(hand, hand.reports["dept"]).spec is hand
    assert xltools.check(seed_book, hand, name="x.xlsx").refused == "other-template"   # its fingerprint differs


def test_a_workbook_part_is_read_once_for_every_workbook_that_repeats_it(seed_book):
    from xltools.xlsx import open_book
    memo.clear()
    first, second = (open_book(f"{i}.xlsx", b) for i, b in enumerate(_variants(seed_book, 2)))
    assert first.defined_names is second.defined_names and first.derived is second.derived
    assert first.sheets == second.sheets and first.sheets is not second.sheets   # each its own list


def test_two_specs_whose_long_texts_have_different_rows_are_read_whole_in_one_process(tmp_path):
    """A collect worker checks workbooks of several specs in one process: a variant of the 2022
    spec (another year, ten more rows for the 综述) must not be read with the 2022 rows (issue 15:
    the second spec's narrative came back ten paragraphs short, without a word)."""
    from xltools.checker import check_file
    from xltools.write.fill import fill
    text = DEFAULT_SPEC.read_text(encoding="utf-8")
    rows = SPEC.reports["dept"].runs["narrative"].rows
    block = f'field = "narrative"\nrequired = true\nrows = {rows}\n'
    assert text.count(block) == 1 and text.count("year = 2022\n") == 1
    variant_path = tmp_path / "2023.toml"
    variant_path.write_text(text.replace(block, block.replace(f"rows = {rows}", f"rows = {rows + 10}"))
                            .replace("year = 2022\n", "year = 2023\n"), encoding="utf-8")
    variant = xltools.load_spec(variant_path)
    assert variant.fingerprint != SPEC.fingerprint
    assert variant.reports["dept"].runs["narrative"].rows == rows + 10
    # the join cell lies on the same row in both: only the number of rows tells them apart
    assert variant.reports["dept"].cell("narrative") == SPEC.reports["dept"].cell("narrative")

    books = {}
    for spec in (SPEC, variant):
        rows = spec.reports["dept"].runs["narrative"].rows
        doc = load_seed()
        doc["year"] = spec.year
        doc["dept"]["narrative"] = "\n".join(f"第{i}段：本段是综述的第{i}段文字。" for i in range(1, rows + 1))
        books[spec.year] = (spec, doc["dept"]["narrative"],
                            fill(doc, tmp_path / f"{spec.year}.xlsx", spec).path)
    memo.clear()
    for year in (2022, 2023, 2022, 2023):
        spec, narrative, path = books[year]
        filled = read_workbook(path, spec)
        assert filled.first("dept").values["narrative"] == narrative, (year, filled.first("dept").values["narrative"].count("\n") + 1)
        assert len(filled.first("dept").rows["narrative"]) == spec.reports["dept"].runs["narrative"].rows
        assert "required" not in {f.code for f in check_file(path, spec).findings}


def test_every_cache_on_the_check_path_is_listed_and_cleared(seed_book):
    """What checking keeps between workbooks is in memo.stats() (bench/memory.py prints it) and
    memo.clear() empties it: no cache of its own on the side."""
    memo.clear()
    xltools.check(seed_book, SPEC, name="x.xlsx")
    entries = {name: n for name, n, _ in memo.stats()}
    for name in ("reading plans", "template formulas", "expected formulas", "normalised formulas", "narratives lowered",
                 "quoted sentences", "cell references", "input limits", "workbook parts", "sheet layouts"):
        assert entries[name] > 0, name
    memo.clear()
    assert {name: n for name, n, _ in memo.stats() if n} == {}
