"""Write cells into an existing .xlsx by editing only those cells' XML.

`fill` and `score` both write through here. Loading and re-saving a workbook with openpyxl would
drop what it does not model (parts Excel or WPS added, extension lists, printer settings); a
workbook someone handed in must come back with nothing changed but the cells we were asked to
write. Every other zip member is copied byte for byte.

Values: Decimal/int/float -> number; str -> inline string (no shared-strings table to rewrite);
date -> serial number; None -> the cell keeps its style and loses its value. Formula cells keep
their formula; `cached()` replaces only the cached result.
"""
from __future__ import annotations

import copy
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape, unescape

from .ooxml import sheet_parts, write_atomic
from .a1 import a1, split_a1

_CELL = re.compile(r'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_ROW = re.compile(r'<row\b([^>]*?)(?:/>|>(.*?)</row>)', re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_EPOCH = date(1899, 12, 30)
# Control characters XML 1.0 cannot carry (Word's \x0b line break pasted into a cell, say).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _number(value) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = repr(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def value_xml(ref: str, attrs: dict, value) -> str:
    """A plain (non-formula) cell holding `value`, keeping the cell's style."""
    style = f' s="{attrs["s"]}"' if "s" in attrs else ""
    if value is None or value == "":
        return f'<c r="{ref}"{style}/>'
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f'<c r="{ref}"{style}><v>{(value - _EPOCH).days}</v></c>'
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f'<c r="{ref}"{style}><v>{_number(value)}</v></c>'
    text = _XML_ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", str(value))   # as Excel escapes them
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def cached_xml(ref: str, attrs: dict, inner: str, value) -> str:
    """The same formula cell with a new cached result."""
    style = f' s="{attrs["s"]}"' if "s" in attrs else ""
    f = re.search(r"<f\b.*?(?:</f>|/>)", inner or "", re.S)
    formula = f.group(0) if f else ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f'<c r="{ref}"{style}>{formula}<v>{_number(value)}</v></c>'
    text = _XML_ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", str(value or ""))
    return f'<c r="{ref}"{style} t="str">{formula}<v>{escape(text)}</v></c>'


class SheetXml:
    """Cells and rows of one worksheet part, edited in place as text."""

    def __init__(self, xml: str):
        self.xml = xml
        self.edits: dict[tuple[int, int], tuple[str, object]] = {}
        self.heights: dict[int, float] = {}

    def set(self, ref: str, value) -> None:
        self.edits[split_a1(ref)] = ("value", value)

    def cached(self, ref: str, value) -> None:
        self.edits[split_a1(ref)] = ("cached", value)

    def row_height(self, row: int, points: float) -> None:
        self.heights[row] = points

    def render(self) -> str:
        if not self.edits and not self.heights:
            return self.xml
        start = self.xml.index("<sheetData")
        end = self.xml.index("</sheetData>") if "</sheetData>" in self.xml else None
        if end is None:   # <sheetData/>: an empty sheet
            head, body, tail = self.xml[:start], "", self.xml[start:].replace("<sheetData/>", "</sheetData>", 1)
            head += "<sheetData>"
        else:
            open_end = self.xml.index(">", start) + 1
            head, body, tail = self.xml[:open_end], self.xml[open_end:end], self.xml[end:]
        pending: dict[int, dict[int, tuple[str, object]]] = {}
        for (r, c), edit in self.edits.items():
            pending.setdefault(r, {})[c] = edit
        rows_out = []
        for m in _ROW.finditer(body):
            attrs = dict(_ATTR.findall(m.group(1)))
            r = int(attrs["r"])
            rows_out.append((r, self._row(r, attrs, m.group(2) or "", pending.pop(r, {}))))
        for r in sorted(set(pending) | (set(self.heights) - {r for r, _ in rows_out})):
            rows_out.append((r, self._row(r, {"r": str(r)}, "", pending.pop(r, {}))))
        rows_out.sort(key=lambda t: t[0])
        return head + "".join(x for _, x in rows_out) + tail

    def _row(self, r: int, attrs: dict, inner: str, edits: dict) -> str:
        cells = []
        for m in _CELL.finditer(inner):
            cattrs = dict(_ATTR.findall(m.group(1)))
            rr, c = split_a1(cattrs["r"])
            kind_value = edits.pop(c, None)
            if kind_value is None:
                cells.append((c, m.group(0)))
            elif kind_value[0] == "value":
                cells.append((c, value_xml(cattrs["r"], cattrs, kind_value[1])))
            else:
                cells.append((c, cached_xml(cattrs["r"], cattrs, m.group(2), kind_value[1])))
        for c, (kind, value) in edits.items():
            ref = a1(r, c)
            cells.append((c, value_xml(ref, {}, value)))
        cells.sort(key=lambda t: t[0])
        if r in self.heights:
            attrs = dict(attrs, ht=f"{self.heights[r]:.1f}", customHeight="1")
        attr_text = "".join(f' {k}="{v}"' for k, v in attrs.items() if k != "spans")
        body = "".join(x for _, x in cells)
        return f"<row{attr_text}>{body}</row>" if body else f"<row{attr_text}/>"


class Workbook:
    """A workbook's bytes with pending cell edits; `save()` writes the result atomically."""

    def __init__(self, data: bytes):
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.parts = sheet_parts(self.zip)
        self.sheets: dict[str, SheetXml] = {}
        self.replaced: dict[str, bytes] = {}
        self.removed: set[str] = set()

    def sheet(self, name: str) -> SheetXml:
        if name not in self.sheets:
            self.sheets[name] = SheetXml(self.part(self.parts[name]).decode("utf-8"))
        return self.sheets[name]

    def replace_part(self, name: str, data: bytes) -> None:
        self.replaced[name] = data

    def remove_part(self, name: str) -> None:
        """Leave a member out of the saved package (the caller drops its relationship)."""
        self.removed.add(name)

    def part(self, name: str) -> bytes:
        return self.replaced.get(name) or self.zip.read(name)

    def clone_sheet(self, source: str, new_name: str, before: str | None = None) -> None:
        """Copy a sheet the way Excel's Move or Copy does: same cells, styles, validation,
        protection and print setup, and its own copy of the sheet-scoped defined names.

        The copy goes before `before` (default: right after `source`). Call it before editing
        `source`: the copy takes the part as stored.
        """
        wb = self.part("xl/workbook.xml").decode("utf-8")
        rels = self.part("xl/_rels/workbook.xml.rels").decode("utf-8")
        types = self.part("[Content_Types].xml").decode("utf-8")
        sheets = re.findall(r"<sheet\b[^>]*?/>", wb)
        names = [unescape(re.search(r'name="([^"]*)"', s).group(1), {"&quot;": '"', "&apos;": "'"}) for s in sheets]
        src_index = names.index(source)
        at = names.index(before) if before else src_index + 1
        src_part = self.parts[source]
        numbers = [int(n) for n in re.findall(r"sheet(\d+)\.xml", " ".join(self.parts.values()))]
        part = f"xl/worksheets/sheet{max(numbers) + 1}.xml"
        rid = "rId%d" % (max(int(n) for n in re.findall(r'Id="rId(\d+)"', rels)) + 1)
        sheet_id = max(int(n) for n in re.findall(r'sheetId="(\d+)"', wb)) + 1
        new_sheet = (f'<sheet name="{escape(new_name, {chr(34): "&quot;"})}" sheetId="{sheet_id}" '
                     f'state="visible" r:id="{rid}"/>')
        sheets_xml = "".join(sheets[:at] + [new_sheet] + sheets[at:])
        wb = re.sub(r"<sheets>.*?</sheets>", lambda m: f"<sheets>{sheets_xml}</sheets>", wb, flags=re.S)

        def shift(m):
            k = int(m.group(2))
            return f'{m.group(1)}localSheetId="{k + 1 if k >= at else k}"'
        src_names = [m.group(0) for m in re.finditer(
            rf'<definedName\b[^>]*localSheetId="{src_index}"[^>]*>.*?</definedName>', wb, re.S)]
        wb = re.sub(r'(<definedName\b[^>]*?)localSheetId="(\d+)"', shift, wb)
        quoted_src = "'" + source.replace("'", "''") + "'"
        quoted_new = "'" + new_name.replace("'", "''") + "'"
        copies = "".join(n.replace(f'localSheetId="{src_index}"', f'localSheetId="{at}"')
                         .replace(escape(quoted_src), escape(quoted_new)).replace(quoted_src, quoted_new)
                         for n in src_names)
        wb = wb.replace("</definedNames>", copies + "</definedNames>", 1)
        rels = rels.replace("</Relationships>",
                            f'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                            f'relationships/worksheet" Target="/{part}" Id="{rid}"/></Relationships>')
        types = types.replace("</Types>",
                              f'<Override PartName="/{part}" ContentType="application/vnd.openxmlformats-'
                              f'officedocument.spreadsheetml.worksheet+xml"/></Types>')
        data = self.part(src_part).decode("utf-8").replace(' tabSelected="1"', "")
        self.replace_part(part, data.encode("utf-8"))
        src_rels = src_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if src_rels in self.zip.namelist():
            self.replace_part(part.replace("worksheets/", "worksheets/_rels/") + ".rels", self.part(src_rels))
        self.replace_part("xl/workbook.xml", wb.encode("utf-8"))
        self.replace_part("xl/_rels/workbook.xml.rels", rels.encode("utf-8"))
        self.replace_part("[Content_Types].xml", types.encode("utf-8"))
        self.parts[new_name] = part

    def to_bytes(self) -> bytes:
        changed = dict(self.replaced)
        changed.update({self.parts[n]: s.render().encode("utf-8") for n, s in self.sheets.items()})
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            names = {i.filename for i in self.zip.infolist()}
            for info in self.zip.infolist():
                if info.filename in self.removed:
                    continue
                if info.filename in changed:
                    zi = zipfile.ZipInfo(info.filename, info.date_time)
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = info.external_attr
                    dst.writestr(zi, changed[info.filename])
                else:   # a copy: writestr() moves the ZipInfo's offsets, and we may save again
                    dst.writestr(copy.copy(info), self.zip.read(info.filename))
            for name, data in changed.items():
                if name not in names:
                    zi = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = 0o600 << 16
                    dst.writestr(zi, data)
        return out.getvalue()

    def save(self, path) -> Path:
        return write_atomic(path, self.to_bytes())
