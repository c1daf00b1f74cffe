"""One small exception hierarchy for problems in the spec, in a file, or in how a function is called.

Problems in the *data* of a report are findings (see findings.py), never exceptions.
Every message is Simplified Chinese and names the place (file, sheet, cell or spec path).
"""


class XltoolsError(Exception):
    """Base class; `str(err)` is a one-line Chinese message fit for the user."""


class SpecError(XltoolsError):
    """The spec file is malformed or inconsistent (weights, unknown field, duplicate name...)."""


class BookError(XltoolsError):
    """A file cannot be used at all: not a workbook, encrypted, truncated, a zip bomb, wrong template..."""


class DataError(XltoolsError):
    """A data file (JSON/TOML) has an unknown key, a wrong type or a value out of range."""


class OutputError(XltoolsError):
    """A place the tool was told to write cannot be used (a folder, a device, one of the inputs,
    a read-only or full disk...): nothing is written, the message names the path and the cause."""
