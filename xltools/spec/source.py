"""A spec file's parsed TOML that remembers which keys were read, and where each place is in it.

An admin edits a copy of specs/2022.toml by hand: a misspelt key (`requried = true`, `spna = 2`,
`[[reports.block]]`) would otherwise be ignored without a word and the template come out wrong.
`load_spec` reads the spec through `Node`s, then `unread` names every key nothing looked at, and
`line_of` finds the line of a place (`reports[0].blocks[19].groups[1]`) for the messages.
"""
from __future__ import annotations

import re
from typing import Iterator

from ..errors import SpecError

Place = tuple  # where a value is in the spec: str (a key) and int (an index in an array)


def dotted(path: Place) -> str:
    """('reports', 0, 'blocks', 3) -> 'reports[0].blocks[3]', as the spec's messages write it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class Node(dict):
    """A table of the spec; reading a key marks it read, a missing key is a SpecError naming it."""

    def __init__(self, items: dict, path: Place, source: "Source"):
        super().__init__(items)
        self.path, self.source, self.read = path, source, set()

    def __getitem__(self, key):
        self.read.add(key)
        self.source.last = self.path + (key,)
        if key not in self:
            raise SpecError(self.source.at(self.path, f"缺少键 {key}"))
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        if key in self:
            self.source.last = self.path + (key,)
        return super().get(key, default)

    def known(self, *keys) -> None:
        """Keys a spec may hold that nothing reads (an earlier edition's, a note for the admin):
        not misspellings."""
        self.read.update(keys)

    # A caller that walks every entry (a mapping of labels, prompts…) has read them all.
    def items(self):
        self.read.update(dict.keys(self))
        return super().items()

    def keys(self):
        self.read.update(dict.keys(self))
        return super().keys()

    def values(self):
        self.read.update(dict.keys(self))
        return super().values()

    def __iter__(self):
        self.read.update(dict.keys(self))
        return super().__iter__()


class Source:
    """The spec file's name and text, its tables as Nodes (`doc`)."""

    def __init__(self, name: str, text: str, doc: dict):
        self.name, self.text = name, text
        self.last: Place = ()            # the key read last: where an unforeseen value broke the loader
        self.doc = self._wrap(doc, ())

    def _wrap(self, value, path: Place):
        if isinstance(value, dict):
            return Node({k: self._wrap(v, path + (k,)) for k, v in value.items()}, path, self)
        if isinstance(value, list):
            return [self._wrap(v, path + (i,)) for i, v in enumerate(value)]
        return value

    def at(self, path: Place, message: str) -> str:
        """'{file} 第 N 行 reports[0].blocks[3]：{message}', the one line a spec error shows."""
        line = self.line_of(path)
        where = f"{self.name} 第 {line} 行" if line else self.name
        return f"{where} {dotted(path)}：{message}" if path else f"{where}：{message}"

    def unread(self) -> Iterator[Place]:
        """The path of every key the loader never read, in the file's order."""
        found: list[Place] = []

        def walk(value):
            if isinstance(value, Node):
                for key, item in dict.items(value):
                    if key in value.read:
                        walk(item)
                    else:
                        found.append(value.path + (key,))
            elif isinstance(value, list):
                for item in value:
                    walk(item)
        walk(self.doc)
        return iter(sorted(found, key=lambda p: self.line_of(p) or 0))

    # -- where a place is in the text -----------------------------------------------------
    def line_of(self, path: Place) -> int | None:
        """The line a place starts on: the header of its table, then its key and array items
        within that table's text; a table written only as [[its.items]], the first of them.
        None when it cannot be found (a dotted key, say)."""
        heads = self._headers()
        header, start, end = (), 0, len(self.text)
        for h_path, h_start, h_end in heads:
            if path[:len(h_path)] == h_path and len(h_path) >= len(header):
                header, start, end = h_path, h_start, h_end
        pos = start
        for part in path[len(header):]:
            pos = self._item(pos, end, part) if isinstance(part, int) else self._key(pos, end, part)
            if pos is None:
                pos = next((h_start for h_path, h_start, _ in heads if h_path[:len(path)] == path), None)
                break
        return None if pos is None else self.text.count("\n", 0, pos) + 1

    def _headers(self) -> list[tuple[Place, int, int]]:
        """Each [table] or [[array of tables]] header: its path with indices, where its text starts and ends."""
        heads, counts = [], {}
        for m in re.finditer(r'(?m)^[ \t]*(\[\[?)[ \t]*([\w"][\w.\-" ]*?)[ \t]*\]\]?[ \t]*(?:#.*)?$', self.text):
            path: Place = ()
            names = [n.strip().strip('"') for n in m.group(2).split(".")]
            for name in names[:-1]:
                path += (name,)
                if path in counts:
                    path += (counts[path] - 1,)
            path += (names[-1],)
            if m.group(1) == "[[":
                counts[path] = counts.get(path, 0) + 1
                path += (counts[path] - 1,)
            heads.append((path, m.start()))
        return [(p, s, heads[i + 1][1] if i + 1 < len(heads) else len(self.text)) for i, (p, s) in enumerate(heads)]

    def _key(self, pos: int, end: int, key: str) -> int | None:
        m = re.compile(r'(?:^|[{,\s])"?' + re.escape(key) + r'"?[ \t]*=', re.M).search(self.text, pos, end)
        return m.start() + len(m.group(0)) - len(m.group(0).lstrip("{, \t\n")) if m else None

    def _item(self, pos: int, end: int, index: int) -> int | None:
        """The start of an array's index-th item; pos is at its key (`indicators = [`) or its `[`."""
        equals = pos if self.text.startswith("[", pos) else self.text.find("=", pos, end)   # an array in an array
        i = self.text.find("[", equals, end) if equals >= 0 else -1
        if i < 0:
            return None
        depth, count, quote, fresh = 0, -1, "", True
        while (i := i + 1) < end:
            ch = self.text[i]
            if quote:                                   # inside a string only its end matters
                if ch == "\\" and quote == '"':
                    i += 1
                elif ch == quote:
                    quote = ""
                continue
            if ch == "#":                               # a comment runs to the line's end
                i = self.text.find("\n", i, end)
                if i < 0:
                    return None
                continue
            if depth == 0 and fresh and ch not in " \t\r\n,]":
                count, fresh = count + 1, False
                if count == index:
                    return i
            if ch in "\"'":
                quote = ch
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth < 0:
                    return None
            elif ch == "," and depth == 0:
                fresh = True
        return None
