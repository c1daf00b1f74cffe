"""The add-in's generated parts: VBA and ribbon in sync with the one table, in the form the VBA
editor and Excel accept; the pinned xlwings the generated code expects; the Windows-only steps."""
import io
import re
import tomllib
import xml.etree.ElementTree as ET
import zipfile

import pytest

from helpers import ROOT, run_cli
from xltools.addin import build, ribbon, table, vba

NS = "{http://schemas.microsoft.com/office/2009/07/customui}"
# The structure MS-CUSTOMUI2 gives the elements we use (CT_CustomUI, CT_Ribbon, CT_Tabs, CT_Tab,
# CT_Group, CT_Button): allowed children, and the attributes we may write on each.
CHILDREN = {"customUI": {"ribbon"}, "ribbon": {"tabs"}, "tabs": {"tab"}, "tab": {"group"},
            "group": {"button", "separator"}, "button": set()}
ATTRIBUTES = {"customUI": {"onLoad"}, "ribbon": {"startFromScratch"}, "tabs": set(),
              "tab": {"id", "label", "visible", "insertAfterMso", "insertBeforeMso", "keytip"},
              "group": {"id", "label", "visible", "screentip", "supertip", "imageMso"},
              "button": {"id", "label", "size", "imageMso", "screentip", "supertip", "onAction", "enabled",
                         "visible", "showLabel", "showImage", "keytip", "tag", "description"}}
REQUIRED = {"tab": {"id", "label"}, "group": {"id", "label"}, "button": {"id", "label", "onAction"}}
NCNAME = re.compile(r"[A-Za-z_][\w.\-]*\Z")
# Words VBA reserves or uses as statements (independent of vba.py's own list).
KEYWORDS = {"and", "as", "boolean", "byref", "byval", "call", "case", "const", "date", "dim", "do", "double",
            "each", "else", "end", "error", "exit", "false", "for", "function", "get", "goto", "if", "in",
            "input", "integer", "is", "let", "like", "long", "loop", "me", "mod", "name", "new", "next", "not",
            "nothing", "null", "on", "open", "option", "or", "print", "private", "property", "public", "put",
            "redim", "rem", "resume", "return", "select", "set", "single", "static", "step", "stop", "string",
            "sub", "text", "then", "time", "to", "true", "type", "until", "variant", "wend", "while", "with",
            "write", "xor", "line", "close", "seek", "lock", "width", "len", "debug", "object"}


def committed(name: str) -> bytes:
    return (ROOT / "macros" / f"{name}.bas").read_bytes()


def test_committed_vba_equals_a_fresh_generation(tmp_path):
    result = run_cli("addin", "vba", "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    fresh = {p.name: p.read_bytes() for p in tmp_path.glob("*.bas")}
    assert set(fresh) == {f"{m}.bas" for m in vba.MODULES} == {p.name for p in (ROOT / "macros").glob("*.bas")}
    for name, data in fresh.items():
        assert data == (ROOT / "macros" / name).read_bytes(), f"macros/{name} is stale: run xltools addin vba"


@pytest.mark.parametrize("module", vba.MODULES)
def test_vba_is_ascii_with_crlf_short_lines_and_no_keyword_parameters(module):
    data = committed(module)
    assert data.isascii()
    assert data.count(b"\n") == data.count(b"\r\n") and data.endswith(b"\r\n")
    text = data.decode("ascii")
    assert text.startswith(f'Attribute VB_Name = "{module}"\r\n')
    assert all(len(line) < 1024 for line in text.split("\r\n"))
    for m in re.finditer(r"^Public (?:Function|Sub) (\w+)\(([^)]*)\)", text, re.M):
        for param in filter(None, (p.strip() for p in m.group(2).split(","))):
            name = re.sub(r"^(?:ParamArray|Optional|ByVal|ByRef)\s+", "", param).split()[0].rstrip("()")
            assert name.lower() not in KEYWORDS, (m.group(1), name)


def _vba_text(expression: str) -> str:
    """Evaluate the generated text expressions the way VBA would: literals and XltoolsText()."""
    out = ""
    for literal, codes in re.findall(r'"((?:[^"]|"")*)"|XltoolsText\("([0-9A-F ]+)"\)', expression):
        out += "".join(chr(int(c, 16)) for c in codes.split()) if codes else literal.replace('""', '"')
    return out


def test_every_function_has_its_wrapper_and_its_wizard_texts():
    text = committed("xltools_functions").decode("ascii")
    for f in table.FUNCTIONS:
        visible = [a for a in f.args if not a.caller]
        sig = ", ".join(f"ParamArray {a.name}()" if a.vararg else a.name for a in visible)
        assert f"Public Function {f.name}({sig})\r\n" in text
        assert f'XLPy.CallUDF("xltools.addin.excel", "{f.name}", ' in text
        assert len(f.description) <= 255 and all(len(a.help) <= 255 for a in f.args)
    # Replay XltoolsRegisterFunctions: the assignments before each MacroOptions give its texts.
    body = text[text.index("Public Sub XltoolsRegisterFunctions"):text.index("End Sub", text.index("XltoolsRegisterFunctions"))]
    values, seen = {}, {}
    for line in body.split("\r\n"):
        line = line.strip()
        m = re.match(r"(\w+) = (?:\1 & )?(.*)$", line)
        if m:
            values[m.group(1)] = (values.get(m.group(1), "") if f"{m.group(1)} & " in line else "") + _vba_text(m.group(2))
        m = re.match(r'Application\.MacroOptions Macro:="(\w+)", Description:=description, Category:=category'
                     r'(?:, ArgumentDescriptions:=Array\(([\w, ]*)\))?$', line)
        if m:
            seen[m.group(1)] = (values["description"], values["category"],
                                [values[h.strip()] for h in (m.group(2) or "").split(",") if h.strip()])
    for f in table.FUNCTIONS:
        assert seen[f.name] == (f.description, table.CATEGORY, [a.help for a in f.args if not a.caller])
    import xltools.addin.excel as excel                      # the Python twins exist (xlwings imports on Linux)
    assert all(callable(getattr(excel, f.name)) for f in table.FUNCTIONS)


def test_ribbon_xml_has_the_customui_structure_and_callbacks_that_exist():
    root = ET.fromstring(ribbon.ribbon_xml().encode("utf-8"))
    assert root.tag == NS + "customUI"
    ids = []

    def walk(elem):
        name = elem.tag.removeprefix(NS)
        assert name in CHILDREN, name
        assert set(elem.attrib) <= ATTRIBUTES[name], (name, set(elem.attrib) - ATTRIBUTES[name])
        assert REQUIRED.get(name, set()) <= set(elem.attrib), name
        for key in ("label", "screentip", "supertip"):
            if key in elem.attrib:
                assert 1 <= len(elem.attrib[key]) <= 1024
        if "id" in elem.attrib:
            assert NCNAME.match(elem.attrib["id"]), elem.attrib["id"]
            ids.append(elem.attrib["id"])
        if name == "button":
            assert elem.attrib.get("size", "normal") in ("normal", "large")
        for child in elem:
            assert child.tag.removeprefix(NS) in CHILDREN[name], (name, child.tag)
            walk(child)
    walk(root)
    assert len(ids) == len(set(ids)), "ids must be unique"
    tab = root.find(f"{NS}ribbon/{NS}tabs/{NS}tab")
    assert tab.get("label") == "绩效自评"
    buttons = root.findall(f".//{NS}button")
    assert [b.get("label") for b in buttons] == [m.label for m in table.MACROS] == \
        ["校验", "清除标记", "计算得分", "新增项目表", "导出", "关于"]
    callbacks = set(re.findall(r"^Public Sub (\w+)\(control As IRibbonControl\)\r$",
                               committed("xltools_ribbon").decode("ascii"), re.M))
    assert {b.get("onAction") for b in buttons} == callbacks
    for m in table.MACROS:
        assert f'XltoolsRun "import xltools.addin.excel as x; x.{m.python}()"' in committed("xltools_ribbon").decode()
        import xltools.addin.excel as excel
        assert callable(getattr(excel, m.python))


def test_the_ribbon_goes_into_a_real_package_once(tmp_path):
    book = tmp_path / "addin.xlsx"
    book.write_bytes((ROOT / "templates" / "self_eval.xlsx").read_bytes())
    for _ in range(2):                                   # writing it again replaces, never duplicates
        result = run_cli("addin", "ribbon", "--into", book)
        assert result.returncode == 0, result.stderr
    z = zipfile.ZipFile(book)
    assert z.read(ribbon.PART).decode("utf-8") == ribbon.ribbon_xml()
    rels = z.read("_rels/.rels").decode()
    assert rels.count(ribbon.REL_TYPE) == 1 and f'Target="{ribbon.PART}"' in rels
    import openpyxl
    assert openpyxl.load_workbook(io.BytesIO(book.read_bytes())).sheetnames[0] == "部门整体支出"


def test_pinned_xlwings_is_what_the_generated_code_expects():
    import xlwings
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {d for deps in project["optional-dependencies"].values() for d in deps if d.startswith("xlwings")}
    assert pins == {f"xlwings=={table.XLWINGS_VERSION}"}
    assert xlwings.__version__ == table.XLWINGS_VERSION
    assert f'XLTOOLS_XLWINGS_VERSION As String = "{table.XLWINGS_VERSION}"' in committed("xltools_ribbon").decode()
    module = committed("xltools_runtime").decode("ascii")   # xlwings's own VBA, patched (runtime.py)
    assert f"'Version: {xlwings.__version__}\r\n" in module
    assert f'Public Const XLWINGS_VERSION As String = "{xlwings.__version__}"' in module
    assert 'Public Const PROJECT_NAME As String = "xltools"' in module
    assert "Public Function RunPython(" in module and "Function XLPy()" in module   # what our modules call


def test_conf_is_what_vba_input_reads_in_gbk_and_names_only_the_full_interpreter_path():
    data = build.conf_bytes(r"C:\Users\张会计\xltools\pythonw.exe")
    assert data.decode("cp936") == '"INTERPRETER_WIN","C:\\Users\\张会计\\xltools\\pythonw.exe"\r\n'
    assert build.conf_bytes(r"\\server\share\py\pythonw.exe").startswith(b'"INTERPRETER_WIN","\\\\server')
    with pytest.raises(build.AddinError, match="GBK"):
        build.conf_bytes("C:\\Users\\\U0001F600\\python.exe")
    for bare in ("pythonw", "python.exe", r"Scripts\pythonw.exe"):     # looked up on PATH or in the current folder
        with pytest.raises(build.AddinError, match="完整路径"):
            build.conf_bytes(bare)


@pytest.mark.parametrize("what", ["build", "install", "conf"])
def test_windows_steps_say_in_one_chinese_line_that_they_need_windows(what):
    result = run_cli("addin", what)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Windows" in result.stderr and "Excel" in result.stderr
    assert "Traceback" not in result.stderr and not result.stdout


def test_docs_tables_are_generated_from_the_table():
    text = (ROOT / "docs" / "addin.md").read_text(encoding="utf-8")
    block = text.split("<!-- addin:start -->\n", 1)[1].split("\n<!-- addin:end -->", 1)[0]
    assert block == table.docs_tables()
    assert "docs/addin.md" in (ROOT / "README.md").read_text(encoding="utf-8")
