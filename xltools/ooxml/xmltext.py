"""The XML text of a package's small parts, read and edited as text.

An edit replaces exactly the elements it means to and leaves every other byte as it was, so a part
is never re-serialised. What makes that safe whatever program wrote the part is `elements()`: a
namespace-aware scan of the tags (the prefixes in force at each element, bound on the root or on
the element itself, each name and attribute resolved to its namespace as ElementTree would), with
where each element starts and ends. Meant for the small parts (workbook.xml, .rels, content
types, styles: kilobytes); worksheets are streamed or edited as cells (package.py, cells.py).

The escaping helpers are here too: xml.sax.saxutils would import urllib, http, email and ssl
(11% of a cold `xltools check`).
"""
from __future__ import annotations

import re

from ..memo import Memo

XML_NS = "http://www.w3.org/XML/1998/namespace"

# A comment, processing instruction, CDATA section or declaration (skipped), or a tag.
_TOKEN = re.compile(r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!.*?>"
                    r"|<(/?)([^\s/>!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>", re.S)
_ATTR = re.compile(r"""([^\s=/>]+)\s*=\s*(["'])(.*?)\2""", re.S)
_REF = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


# -- escaping ---------------------------------------------------------------------------------
def escape(text: str) -> str:
    """Text content: &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attr(text: str) -> str:
    """An attribute value in double quotes; line breaks and tabs as character references (a
    parser would otherwise turn them into spaces)."""
    text = escape(text).replace('"', "&quot;")
    return '"' + text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'


def unescape(text: str) -> str:
    """The five predefined entities and character references resolved."""
    if "&" not in text:
        return text

    def ref(m):
        name = m.group(1)
        if name[0] == "#":
            return chr(int(name[2:], 16) if name[1] == "x" else int(name[1:]))
        return _NAMED[name]
    return _REF.sub(ref, text)


# -- parts as text ----------------------------------------------------------------------------
_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_DECL_ENCODING = re.compile(r"""encoding\s*=\s*["']([^"']+)["']""")
UTF8_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class Doctype(ValueError):
    """The part declares a DTD: refused (the reader refuses it too: see xlsx/parts.py)."""


def encoding_of(head: bytes) -> str | None:
    """The encoding a part's first bytes show, when it is not UTF-8: a UTF-16 byte-order mark or
    first character, or a declared legacy encoding (a Chinese generator may declare GB2312)."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if head[:2] == b"<\x00":
        return "utf-16-le"
    if head[:2] == b"\x00<":
        return "utf-16-be"
    m = _DECL.match(head[:200].decode("ascii", "replace"))
    found = _DECL_ENCODING.search(m.group(0)) if m else None
    if found and found.group(1).lower().replace("-", "").replace("_", "") != "utf8":
        return found.group(1)
    return None


def as_utf8_declaration(text: str) -> str:
    """The text's XML declaration made to say UTF-8 (what encode() writes)."""
    return _DECL.sub(lambda m: _DECL_ENCODING.sub('encoding="UTF-8"', m.group(0)), text, count=1)


def decode(data: bytes) -> tuple[str, str]:
    """(bom, text) of a part. UTF-8 comes back byte for byte through encode(bom, text); UTF-16 and
    declared legacy encodings become UTF-8 with the declaration changed to say so (every reader
    accepts either). Raises Doctype for a DTD, LookupError for an unknown encoding, UnicodeError
    for bytes that are not in the encoding."""
    from ..xlsx.parts import _has_dtd
    bom = ""
    if data.startswith(b"\xef\xbb\xbf"):
        bom, data = "\ufeff", data[3:]
    enc = encoding_of(data)
    if enc is None:
        text = data.decode("utf-8")
        utf8 = data
    else:
        text = as_utf8_declaration(data.decode(enc).lstrip("\ufeff"))
        utf8 = text.encode("utf-8")
    if _has_dtd(utf8):
        raise Doctype
    return bom, text


def encode(bom: str, text: str) -> bytes:
    return (bom + text).encode("utf-8")


# -- elements ---------------------------------------------------------------------------------
class Tag:
    """One element's start (or empty) tag, resolved. `attrs` keys as ElementTree's: "name" for an
    attribute without prefix, "{namespace}name" for one with. `scope`: prefix -> namespace in
    force inside the element ("" the default namespace). Offsets into the text: the tag is
    text[start:end]; the element's content text[end:inner_end], the whole element
    text[start:outer_end] (an empty tag: inner_end == outer_end == end)."""

    __slots__ = ("qname", "prefix", "ns", "local", "attrs", "scope", "start", "end", "inner_end", "outer_end",
                 "empty", "depth")

    def __init__(self, qname, ns, attrs, scope, start, end, empty, depth):
        self.qname = qname
        prefix, _, self.local = qname.rpartition(":")
        self.prefix = prefix + ":" if prefix else ""
        self.ns, self.attrs, self.scope = ns, attrs, scope
        self.start, self.end, self.empty, self.depth = start, end, empty, depth
        self.inner_end = self.outer_end = end

    def get(self, name: str, ns: str | None = None) -> str | None:
        return self.attrs.get(f"{{{ns}}}{name}" if ns else name)

    def is_(self, local: str, namespaces) -> bool:
        return self.local == local and self.ns in namespaces

    def __repr__(self):
        return f"<Tag {self.qname} {self.attrs} @{self.start}>"


# An edit reads a part's tags several times between two changes (the sheet list, then where to
# insert...): the scans of the last few texts are kept, keyed by the text. Shared: read only.
_SCANNED = Memo("xml tags", max_entries=16, max_bytes=16 << 20)


def elements(text: str) -> list[Tag]:
    """Every element's start tag in document order (comments, CDATA and processing instructions
    skipped). Raises ValueError for unbalanced tags or an undeclared prefix. The list is shared
    with later callers of the same text: read only."""
    hit = _SCANNED.get(text)
    if hit is None:
        hit = _scan(text)
        _SCANNED.put(text, hit, 2 * len(text) + 400 * len(hit))   # the key, and per tag its object and dicts
    return hit


def _scan(text: str) -> list[Tag]:
    out: list[Tag] = []
    stack: list[Tag] = []
    scope = {"xml": XML_NS}
    for m in _TOKEN.finditer(text):
        closing, qname, raw, empty = m.groups()
        if qname is None:
            continue
        if closing:
            if not stack or stack[-1].qname != qname:
                raise ValueError(f"unbalanced </{qname}>")
            tag = stack.pop()
            tag.inner_end, tag.outer_end = m.start(), m.end()
            scope = stack[-1].scope if stack else {"xml": XML_NS}
            continue
        pairs = [(name, unescape(value)) for name, _, value in _ATTR.findall(raw)]
        inner = scope
        for name, value in pairs:
            if name == "xmlns" or name.startswith("xmlns:"):
                if inner is scope:
                    inner = dict(scope)
                inner[name[6:]] = value
        prefix = qname.rpartition(":")[0]
        if prefix not in inner and prefix:
            raise ValueError(f"undeclared prefix {prefix}")
        attrs = {}
        for name, value in pairs:
            if name == "xmlns" or name.startswith("xmlns:"):
                continue
            p, _, local = name.rpartition(":")
            if p and p not in inner:
                raise ValueError(f"undeclared prefix {p}")
            attrs[f"{{{inner[p]}}}{local}" if p else name] = value
        tag = Tag(qname, inner.get(prefix, ""), attrs, inner, m.start(), m.end(), bool(empty), len(stack))
        out.append(tag)
        if not empty:
            stack.append(tag)
            scope = inner
    if stack:
        raise ValueError(f"<{stack[-1].qname}> is not closed")
    return out


def find(tags: list[Tag], local: str, namespaces) -> list[Tag]:
    return [t for t in tags if t.local == local and t.ns in namespaces]


def prefix_for(scope: dict, ns: str) -> str | None:
    """How to write a name in namespace `ns` where `scope` is in force: "" (the default
    namespace), "p:", or None when no prefix is bound to it there."""
    if scope.get("") == ns:
        return ""
    for p, uri in scope.items():
        if uri == ns and p:
            return p + ":"
    return None


def attr_prefix(scope: dict, ns: str, wanted: str = "r") -> tuple[str, str]:
    """(prefix, declaration) for an attribute in namespace `ns` on a new element in `scope`: the
    prefix already bound to it (no declaration), else `wanted` (or a free variant of it) declared
    on the element itself. (Attributes never take the default namespace.)"""
    for p, uri in scope.items():
        if uri == ns and p:
            return p + ":", ""
    p = wanted
    while p in scope:
        p += "x"
    return p + ":", f" xmlns:{p}={attr(ns)}"


def tag_prefix(text: str, local: str) -> str:
    """The prefix ("" or "x:") the first element named `local` is written with: SpreadsheetML
    from some generators has x: throughout."""
    m = re.search(r"<([\w.-]+:)?" + local + r"\b", text)
    return (m.group(1) or "") if m else ""


def append_child(text: str, parent: Tag, element: str) -> str:
    """The text with `element` as the last child of `parent` (an empty tag is opened for it)."""
    if parent.empty:
        head = text[parent.start:parent.end - 2].rstrip()      # without its "/>"
        return text[:parent.start] + f"{head}>{element}</{parent.qname}>" + text[parent.end:]
    return text[:parent.inner_end] + element + text[parent.inner_end:]


def with_attr(tag_text: str, name: str, value: str) -> str:
    """A start tag's text with attribute `name` (no prefix) set to `value`."""
    m = re.search(r"(\s" + re.escape(name) + r"\s*=\s*)([\"']).*?\2", tag_text, re.S)
    if m:
        return tag_text[:m.start()] + f" {name}={attr(value)}" + tag_text[m.end():]
    close = len(tag_text) - (2 if tag_text.endswith("/>") else 1)
    return tag_text[:close].rstrip() + f" {name}={attr(value)}" + tag_text[close:]


def replace_all(text: str, edits) -> str:
    """The text with each (start, end, new text) of `edits` applied (spans must not overlap)."""
    out, last = [], 0
    for start, end, new in sorted(edits, key=lambda e: e[0]):
        out += [text[last:start], new]
        last = end
    out.append(text[last:])
    return "".join(out)
