"""The UNO side of tests/office_window.py: run by the Python that has `uno` (the system one), one
request per run, against the LibreOffice window the test started (`--accept=pipe,name=…`).

The test types and pastes through the real window (xdotool, the X clipboard); this only looks:
which document is open, where its rows are, how tall they are, and what LibreOffice itself would
make of them (optimal heights), and it selects ranges and saves copies the way the menus would.

    python3 office_window_uno.py PIPE '{"op": "rows", ...}'   ->  one line of JSON on stdout
"""
import json
import os
import sys
import time

import uno
from com.sun.star.beans import PropertyValue

PT_PER_HMM = 72 / 2540          # points per 1/100 mm (UNO's unit of length)


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect(pipe: str, wait: float = 60.0):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    end = time.monotonic() + wait
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            connect.helper = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
            return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)


def calc_document(desktop, url: str | None = None):
    """The open spreadsheet (the one loaded from `url` when given)."""
    docs = desktop.getComponents().createEnumeration()
    while docs.hasMoreElements():
        doc = docs.nextElement()
        if doc.supportsService("com.sun.star.sheet.SpreadsheetDocument") and (url is None or doc.getURL() == url):
            return doc
    return None


def row_heights(sheet, rows) -> list[float]:
    return [round(sheet.Rows.getByIndex(r - 1).Height * PT_PER_HMM, 2) for r in rows]


def main(pipe: str, request: dict):
    desktop = connect(pipe)
    op = request["op"]
    if op == "ping":
        return {}
    if op == "open":            # a document in the window, as File > Open does
        url = uno.systemPathToFileUrl(request["path"])
        doc = desktop.loadComponentFromURL(url, "_default", 0, ())
        doc.getCurrentController().getFrame().getContainerWindow().setFocus()
        return {"url": doc.getURL()}
    doc = calc_document(desktop, request.get("url"))
    if op == "close":
        if doc is not None:
            doc.setModified(False)
            doc.close(True)
        return {}
    if op == "quit":
        desktop.terminate()
        return {}
    sheet = doc.Sheets.getByName(request["sheet"]) if "sheet" in request else None
    if op == "select":          # a cell (as the Name Box goes to it) or a range, scrolled to the top left
        view = doc.getCurrentController()
        view.setActiveSheet(sheet)
        view.ZoomValue = 100
        target = sheet.getCellRangeByName(request["range"])
        if ":" in request["range"]:
            view.select(target)
        else:                   # not marked (Enter then moves down, as after a click)
            connect.helper.executeDispatch(view.getFrame(), ".uno:GoToCell", "", 0,
                                           (prop("ToPoint", request["range"]),))
        where = target.getRangeAddress()
        view.setFirstVisibleColumn(request.get("left", 0))
        view.setFirstVisibleRow(max(where.StartRow - request.get("above", 0), 0))
        return {}
    if op == "rows":            # the rows' heights in the window, in points
        return {"heights": row_heights(sheet, request["rows"]), "hidden": [
            not sheet.Rows.getByIndex(r - 1).IsVisible for r in request["rows"]]}
    if op == "active":          # the sheet the window shows
        return {"sheet": doc.getCurrentController().getActiveSheet().getName()}
    if op == "notes":           # each cell's note (comment) on a sheet, as LibreOffice read it
        notes = sheet.getAnnotations()
        return {"notes": {notes.getByIndex(i).getPosition().Row: notes.getByIndex(i).getString()
                          for i in range(notes.getCount())}}
    if op == "show_note":       # a cell's note shown on the sheet, as 显示批注 does
        sheet.getCellRangeByName(request["ref"]).getAnnotation().setIsVisible(True)
        return {}
    if op == "text":            # what a cell holds
        return {"text": sheet.getCellRangeByName(request["ref"]).getString()}
    if op == "store":           # File > Save a Copy, as Excel 2007-365
        doc.storeToURL(uno.systemPathToFileUrl(request["path"]),
                       (prop("FilterName", "Calc MS Excel 2007 XML"), prop("Overwrite", True)))
        return {}
    if op == "optimal":         # a saved file's rows: their height, and the height LibreOffice would fit them to
        saved = desktop.loadComponentFromURL(uno.systemPathToFileUrl(request["path"]), "_blank", 0,
                                             (prop("Hidden", True),))
        try:
            sheet = saved.Sheets.getByName(request["sheet"])
            sheet.unprotect("")
            heights = row_heights(sheet, request["rows"])
            for r in request["rows"]:
                sheet.Rows.getByIndex(r - 1).OptimalHeight = True
            return {"heights": heights, "optimal": row_heights(sheet, request["rows"])}
        finally:
            saved.close(True)
    raise ValueError(f"unknown op {op}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]))), flush=True)
    # pyuno's bridge now and then crashes the interpreter's teardown (SIGSEGV after the answer was
    # written): the answer is out, so leave without tearing down
    os._exit(0)
