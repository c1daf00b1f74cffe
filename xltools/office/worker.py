"""The UNO client: runs under LibreOffice's own Python (the one that can `import uno`), never
imported by xltools. bridge.py starts it as `python worker.py PIPE TIMEOUT`.

Protocol: one JSON object per line each way. It replies {"ok": true} once connected to soffice
on the named pipe, then one reply per request (convert, export, invalid, quit).
"""
import json, os, sys, time
parent = os.getppid()
try:  # die with the process that started us, however it ends (PR_SET_PDEATHSIG = 1, SIGKILL = 9)
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)
except (OSError, AttributeError):
    pass
if os.getppid() != parent:   # it died before we asked
    sys.exit(1)
proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)  # whatever uno or LibreOffice prints goes to the log, never into the protocol

def reply(**kw):
    proto.write(json.dumps(kw, ensure_ascii=False) + "\n")
    proto.flush()

try:
    import uno
    from com.sun.star.beans import PropertyValue
except ImportError as e:
    reply(ok=False, kind="no-uno", detail=str(e))
    sys.exit(1)

def props(**kw):
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)

pipe, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
while True:
    try:
        ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
        break
    except Exception as e:  # NoConnectException until soffice listens
        if time.monotonic() > deadline:
            reply(ok=False, kind="connect", detail=repr(e))
            sys.exit(1)
        time.sleep(0.1)
desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
reply(ok=True)

def why(e):
    return "%s: %s" % (type(e).__name__, getattr(e, "Message", e))

def close(doc):
    try:
        doc.close(True)
    except Exception:
        doc.dispose()

def load(src, read_only):
    """(spreadsheet, None), or (None, the failure reply). Hidden: no window; MacroExecutionMode 0 /
    UpdateDocMode 0: never run macros or refresh external links of a file we were handed."""
    try:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
            props(Hidden=True, ReadOnly=read_only, MacroExecutionMode=0, UpdateDocMode=0))
    except Exception as e:
        return None, dict(ok=False, kind="load", detail=why(e))
    if doc is None or not hasattr(doc, "Sheets"):
        if doc is not None:
            doc.close(True)
        return None, dict(ok=False, kind="load", detail="不是电子表格")
    return doc, None

def convert(src, dst, filter, recalc, sheet):
    # ReadOnly leaves no .~lock file beside src, but it also silently ignores hiding sheets: the caller hands us a private copy for that.
    doc, failed = load(src, read_only=sheet is None)
    if failed:
        return failed
    try:
        if recalc:
            doc.calculateAll()
        if sheet is not None:
            sheets = doc.Sheets
            if not sheets.hasByName(sheet):
                return dict(ok=False, kind="sheet", detail=", ".join(sheets.ElementNames))
            # The PDF export leaves out hidden sheets. Show the wanted one and make it active
            # first: Calc will not hide the active sheet. Only this in-memory copy changes.
            target = sheets.getByName(sheet)
            target.IsVisible = True
            doc.CurrentController.setActiveSheet(target)
            for name in sheets.ElementNames:
                if name != sheet:
                    other = sheets.getByName(name)
                    other.IsVisible = False
                    # A hidden sheet that has a print area is still exported: drop the area too.
                    other.setPrintAreas(())
        try:
            doc.storeToURL(uno.systemPathToFileUrl(dst), props(FilterName=filter, Overwrite=True))
        except Exception as e:
            return dict(ok=False, kind="store", detail=why(e))
        return dict(ok=True)
    finally:
        close(doc)

def store(doc, dst, filter, filter_data):
    args = [("FilterName", filter), ("Overwrite", True)]
    if filter_data:
        # FilterData must reach the filter as a typed sequence of PropertyValue: uno.invoke.
        args.append(("FilterData", uno.Any("[]com.sun.star.beans.PropertyValue", props(**filter_data))))
    uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(dst), props(**dict(args))))

def export(src, dst, jobs, filter_data, recalc):
    # One load and one PDF of every sheet some job prints (None: the sheets visible in the file),
    # with each sheet's page count: the caller cuts each job's PDF out of it. Visibility and
    # print areas change in memory only.
    doc, failed = load(src, read_only=False)
    if failed:
        return failed
    try:
        if recalc:
            doc.calculateAll()
        sheets = doc.Sheets
        names = list(sheets.ElementNames)
        shown = [n for n in names if sheets.getByName(n).IsVisible]
        asked = {n for job in jobs for n in (job or shown)}
        missing = sorted(asked - set(names))
        if missing:
            return dict(ok=False, kind="sheet", detail=", ".join(names))
        printed = [n for n in names if n in asked]     # Calc prints in the workbook's order
        for n in printed:
            sheets.getByName(n).IsVisible = True
        doc.CurrentController.setActiveSheet(sheets.getByName(printed[0]))
        for n in names:
            if n not in asked:
                sh = sheets.getByName(n)
                sh.IsVisible = False
                sh.setPrintAreas(())   # a hidden sheet with a print area is still exported
        # A sheet as the selection: Calc counts the pages that sheet prints, as in the export.
        pages = [[n, doc.getRendererCount(sheets.getByName(n), ())] for n in printed]
        try:
            store(doc, dst, "calc_pdf_Export", filter_data)
        except Exception as e:
            return dict(ok=False, kind="store", detail=why(e))
        return dict(ok=True, shown=shown, pages=pages)
    finally:
        close(doc)

def invalid(src, dst):
    # Tools > Detective > Mark Invalid Data: a circle (a shape anchored at the cell) on every
    # cell whose value its own data validation refuses, evaluated by Calc itself.
    doc, failed = load(src, read_only=False)
    if failed:
        return failed
    try:
        doc.calculateAll()
        cells = []
        for name in doc.Sheets.ElementNames:
            sh = doc.Sheets.getByName(name)
            sh.showInvalid()
            page = sh.DrawPage
            for i in range(page.Count):
                anchor = page.getByIndex(i).Anchor
                if hasattr(anchor, "CellAddress"):
                    cells.append([name, anchor.CellAddress.Row + 1, anchor.CellAddress.Column + 1])
            sh.clearArrows()
        if dst:
            try:
                store(doc, dst, "Calc MS Excel 2007 XML", None)
            except Exception as e:
                return dict(ok=False, kind="store", detail=why(e))
        return dict(ok=True, cells=cells)
    finally:
        close(doc)

for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "invalid":
        try:
            reply(**invalid(req["src"], req["dst"]))
        except Exception as e:
            reply(ok=False, kind="internal", detail=why(e))
        continue
    if req["op"] == "export":
        try:
            reply(**export(req["src"], req["dst"], req["jobs"], req["filter_data"], req["recalc"]))
        except Exception as e:
            reply(ok=False, kind="internal", detail=why(e))
        continue
    if req["op"] == "quit":
        try:
            desktop.terminate()
        except Exception:
            pass  # the bridge drops while soffice exits
        reply(ok=True)
        break
    try:
        reply(**convert(req["src"], req["dst"], req["filter"], req["recalc"], req["sheet"]))
    except Exception as e:
        reply(ok=False, kind="internal", detail=why(e))
