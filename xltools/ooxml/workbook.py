"""workbook.xml: its list of sheets, and the edits that add, remove or copy a sheet's entry.

`sheet_entries` is the one parser of the sheet list: the reader (xlsx/book.py) and the editor
(package.py) both call it, so they agree on every file, whatever prefix the writer gave the
SpreadsheetML elements (`<x:sheet>`) or the relationships namespace (`r:id`, `x:id`, declared
on the root or on each element), transitional or strict.

A sheet-scoped defined name refers to its sheet by position (localSheetId), and so do the
workbook view's activeTab and firstSheet: every edit of the list renumbers them.
"""
from __future__ import annotations

import re

from ..a1 import quote_sheet
from .ns import MAIN_NAMESPACES, REL_NAMESPACES, Flavour
from .xmltext import (Tag, append_child, attr, attr_prefix, elements, escape, find, prefix_for, replace_all,
                      unescape, with_attr)


class SheetEntry:
    """One <sheet>: its name, sheetId, the Id of its relationship from workbook.xml, its state
    (visible, hidden, veryHidden) and where it is written."""

    __slots__ = ("name", "sheet_id", "rid", "state", "tag")

    def __init__(self, name: str, sheet_id: str | None, rid: str | None, state: str, tag: Tag):
        self.name, self.sheet_id, self.rid, self.state, self.tag = name, sheet_id, rid, state, tag


def sheet_entries(text: str) -> list[SheetEntry]:
    """The <sheet> entries of workbook.xml's text, in order."""
    out = []
    for tag in find(elements(text), "sheet", MAIN_NAMESPACES):
        rid = next((tag.get("id", ns) for ns in REL_NAMESPACES if tag.get("id", ns) is not None), None)
        out.append(SheetEntry(tag.get("name"), tag.get("sheetId"), rid, tag.get("state") or "visible", tag))
    return out


def flavour(text: str) -> Flavour:
    tags = elements(text)
    return Flavour.of(tags[0].ns if tags else "")


def _renumbered(text: str, position) -> str:
    """Each sheet position k in the text (localSheetId, activeTab, firstSheet) made position(k);
    None drops a defined name and sends a view to the first sheet."""
    edits = []
    for tag in elements(text):
        if tag.ns not in MAIN_NAMESPACES:
            continue
        if tag.local == "definedName":
            k = tag.get("localSheetId")
            if k is None or not k.isdigit():
                continue
            new = position(int(k))
            if new is None:
                edits.append((tag.start, tag.outer_end, ""))
            elif new != int(k):
                edits.append((tag.start, tag.end, with_attr(text[tag.start:tag.end], "localSheetId", str(new))))
        elif tag.local == "workbookView":
            head = text[tag.start:tag.end]
            for name in ("activeTab", "firstSheet"):
                k = tag.get(name)
                if k is not None and k.isdigit() and position(int(k)) != int(k):
                    head = with_attr(head, name, str(position(int(k)) or 0))
            if head != text[tag.start:tag.end]:
                edits.append((tag.start, tag.end, head))
    return replace_all(text, edits)


def insert_sheet(text: str, at: int, name: str, rid: str, state: str | None = None) -> str:
    """workbook.xml with a <sheet> entry for `name` at position `at` (len: the end), written with
    the prefixes in force there; everything that counts positions from `at` on moves up one."""
    entries = sheet_entries(text)
    text = _renumbered(text, lambda k: k + 1 if k >= at else k)
    tags = elements(text)
    sheets = find(tags, "sheets", MAIN_NAMESPACES)
    if not sheets:
        raise ValueError("workbook.xml has no <sheets>")
    holder = sheets[0]
    fl = Flavour.of(holder.ns)
    p = prefix_for(holder.scope, fl.main)
    rp, declaration = attr_prefix(holder.scope, fl.rel)
    ids = [int(e.sheet_id) for e in entries if e.sheet_id and e.sheet_id.isdigit()]
    state_attr = f" state={attr(state)}" if state else ""
    element = (f"<{p}sheet{declaration} name={attr(name)} sheetId=\"{max(ids, default=0) + 1}\"{state_attr} "
               f"{rp}id={attr(rid)}/>")
    entries = sheet_entries(text)
    if at < len(entries):
        return text[:entries[at].tag.start] + element + text[entries[at].tag.start:]
    return append_child(text, holder, element)


def remove_sheet(text: str, index: int) -> str:
    """workbook.xml without the sheet at `index`: its entry and its own defined names; later
    positions move down one."""
    entry = sheet_entries(text)[index]
    text = text[:entry.tag.start] + text[entry.tag.outer_end:]
    return _renumbered(text, lambda k: None if k == index else k - 1 if k > index else k)


def copy_local_names(text: str, source: int, target: int, source_name: str, target_name: str) -> str:
    """workbook.xml with a copy of every name scoped to sheet `source` scoped to `target`, its
    references to the source sheet made references to the target sheet (as Excel's Move or Copy
    does)."""
    tags = elements(text)
    copies = []
    for tag in find(tags, "definedName", MAIN_NAMESPACES):
        if tag.get("localSheetId") != str(source) or tag.empty:
            continue
        head = with_attr(text[tag.start:tag.end], "localSheetId", str(target))
        formula = _renamed(unescape(text[tag.end:tag.inner_end]), source_name, target_name)
        copies.append(head + escape(formula) + text[tag.inner_end:tag.outer_end])
    if not copies:
        return text
    holder = find(tags, "definedNames", MAIN_NAMESPACES)[0]
    return text[:holder.inner_end] + "".join(copies) + text[holder.inner_end:]


def _renamed(formula: str, old: str, new: str) -> str:
    """References to sheet `old` ('old'!A1 or old!A1) made references to `new`."""
    formula = formula.replace(quote_sheet(old) + "!", quote_sheet(new) + "!")
    return re.sub(r"(?<![\w.'\]])" + re.escape(old) + "!", lambda m: quote_sheet(new) + "!", formula)


def opened_on(text: str, index: int) -> str:
    """workbook.xml whose (first) workbook view opens on the sheet at `index`, its tab in sight."""
    views = find(elements(text), "workbookView", MAIN_NAMESPACES)
    if not views:
        return text
    view = views[0]
    head = with_attr(text[view.start:view.end], "activeTab", str(index))
    first = view.get("firstSheet")
    if first is not None and first.isdigit() and int(first) > index:
        head = with_attr(head, "firstSheet", str(index))
    return text[:view.start] + head + text[view.end:]
