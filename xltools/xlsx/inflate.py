"""Inflating a workbook's parts: a worksheet as far as its cells end, and a worksheet too big to
hold because of its empty rows, streamed with those rows dropped.

"Select all rows, set the height" (or a format) makes Excel write a <row r="N" .../> for every
row of the sheet: 600,000 of them are 38 MB of XML around a report's 50 KB of cells, and Excel
opens such a file. The rows hold no cell, so dropping them changes nothing the reader reads.
"""
from __future__ import annotations

import re
import zlib

# Deflated XML fed to zlib a slice at a time (a memoryview: no copy): about 16 KB of output.
# (Asking zlib for pieces of the output instead copies the rest of the input, unconsumed_tail,
# after every piece.)
INPUT_BYTES = 2 * 1024


def inflate_until(raw: bytes, until: bytes, limit: int) -> bytes:
    """Raw deflate data inflated as far as the end of `until` (or all of it), never past `limit`
    bytes (the size the zip directory declares, checked against the bomb limits)."""
    inflater, view = zlib.decompressobj(-15), memoryview(raw)
    pieces, size, overlap = [], 0, len(until) - 1
    for at in range(0, len(raw), INPUT_BYTES):
        if size >= limit:
            break
        piece = inflater.decompress(view[at:at + INPUT_BYTES], limit - size)
        if not piece:
            continue
        seam = pieces[-1][-overlap:] + piece[:overlap] if pieces else b""
        found = seam.find(until)
        if found >= 0:              # it ends in this piece
            piece = piece[:found + len(until) - overlap]
        else:
            found = piece.find(until)
            if found >= 0:
                piece = piece[:found + len(until)]
        pieces.append(piece)
        size += len(piece)
        if found >= 0:
            break
    return b"".join(pieces)


def deflated_pieces(raw: bytes):
    """The inflated bytes of raw deflate data, a piece at a time."""
    inflater, view = zlib.decompressobj(-15), memoryview(raw)
    for at in range(0, len(raw), INPUT_BYTES):
        piece = inflater.decompress(view[at:at + INPUT_BYTES])
        if piece:
            yield piece
    if not inflater.eof:
        raise zlib.error("incomplete deflate stream")


# An empty row, self-closing, that another numbered row (or the end of the cells) follows: a row
# without r= counts from the one before it, so the row before one stays.
_EMPTY_ROW = re.compile(rb'<row r="[0-9]+"[^<>]*/>(?=\s*(?:<row r="|</sheetData>))')


class TooBig(Exception):
    """What remains of the part without its empty rows still exceeds the cap (or the part holds
    comments or CDATA, where a row tag may be text): `size` bytes inflated so far."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def without_empty_rows(pieces, until: bytes | None, cap: int, declared: int) -> tuple[bytes, int, int]:
    """(the XML of `pieces` with its empty rows dropped, bytes inflated, their CRC-32), as far as
    the end of `until` if given. Holds at most `cap` bytes of what it keeps (TooBig past that);
    more than `declared` bytes inflated is a damaged member (ValueError)."""
    kept, held, size, crc, carry = [], 0, 0, 0, b""
    for piece in pieces:
        size += len(piece)
        if size > declared:
            raise ValueError("more bytes than the zip directory declares")
        crc = zlib.crc32(piece, crc)
        text = carry + piece
        cut = text.rfind(b">") + 1          # a tag cut in two waits for the next piece
        text, carry = text[:cut], text[cut:]
        if b"<!" in text:
            raise TooBig(size)
        text = _EMPTY_ROW.sub(b"", text)
        end = text.find(until) if until is not None else -1
        if end >= 0:
            text = text[:end + len(until)]
        kept.append(text)
        held += len(text)
        if held > cap:
            raise TooBig(size)
        if end >= 0:
            return b"".join(kept), size, crc
    kept.append(carry)
    return b"".join(kept), size, crc
