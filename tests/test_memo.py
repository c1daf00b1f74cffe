"""The reader's memos: bounded, least recently used out first, keyed by content, and never
changing an answer (the same findings with every memo emptied before each workbook).

(How much memory a long-lived process keeps is measured by bench/memory.py, not asserted here.)
"""
from __future__ import annotations

import io
import zipfile

import pytest

import xltools
from helpers import SEED, load_seed
from xltools import memo
from xltools.memo import Memo
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


def json_text(doc) -> str:
    import json
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, default=str)


def test_specs_are_known_by_their_text_not_by_the_object(seed_book):
    from xltools.read import workbook as read
    from xltools.spec.model import Spec
    memo.clear()
    a, b = xltools.load_spec(DEFAULT_SPEC), xltools.load_spec(DEFAULT_SPEC)
    assert a is not b and read._expected(a, "dept") is read._expected(b, "dept")
    other_year = xltools.load_spec(DEFAULT_SPEC, year=2023)
    assert read._expected(other_year, "dept") is not read._expected(a, "dept")
    # A spec built in code, without a text to hash, is its own: no other spec answers for it.
    fields = {f: getattr(a, f) for f in Spec.__dataclass_fields__}
    hand = Spec(**{**fields, "digest": ""})
    assert read._expected(hand, "dept") is not read._expected(a, "dept")
    assert read._expected(hand, "dept")[0] is hand
    assert xltools.check(seed_book, hand, name="x.xlsx").refused == "other-template"   # its fingerprint differs


def test_a_workbook_part_is_read_once_for_every_workbook_that_repeats_it(seed_book):
    from xltools.xlsx import open_book
    memo.clear()
    first, second = (open_book(f"{i}.xlsx", b) for i, b in enumerate(_variants(seed_book, 2)))
    assert first.defined_names is second.defined_names and first.derived is second.derived
    assert first.sheets == second.sheets and first.sheets is not second.sheets   # each its own list
