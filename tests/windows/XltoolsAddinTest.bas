Attribute VB_Name = "XltoolsAddinTest"
' The Excel side of tests/windows/run_addin_test.ps1 (see there): clicks the add-in's buttons as the
' ribbon does (Application.Run of the callback, with no control) and checks, in Excel itself, what
' they did and what each worksheet function answers. Every check returns "" when it holds, else
' one line per thing that went wrong. ASCII only: Chinese text is spelt with U("code points").
Option Explicit

Private Const ADDIN As String = "'xltools.xlam'!"
Private Const MARK As String = "=ISTEXT(""xltools:mark"")"
Private Const XL_EXPRESSION As Long = 2
Private Const XL_LEFT As Long = -4131
Private Const XL_CONTINUOUS As Long = 1
Private Const XL_VERY_HIDDEN As Long = 2

Private Function U(codes As String) As String
    Dim part As Variant
    For Each part In Split(codes, " ")
        U = U & ChrW(CLng("&H" & part))
    Next part
End Function

Private Function V(r As Range) As String
    If IsError(r.Value) Then
        V = "#ERROR"
    Else
        V = CStr(r.Value)
    End If
End Function

Private Function NumIs(r As Range, expected As Double) As Boolean
    If Not IsError(r.Value) Then
        If VarType(r.Value) = vbDouble Then NumIs = Abs(r.Value - expected) < 0.000000001
    End If
End Function

Private Sub Expect(ByRef problems As String, ok As Boolean, what As String)
    If Not ok Then problems = problems & what & vbLf
End Sub

Private Function SheetExists(wb As Workbook, sheetName As String) As Boolean
    Dim ws As Object
    On Error Resume Next
    Set ws = wb.Sheets(sheetName)
    On Error GoTo 0
    SheetExists = Not ws Is Nothing
End Function

' Excel 2021/365 spill arrays; 2016/2019 do not (the probe xlwings itself uses).
Public Function HasDynamicArrays() As Boolean
    Dim app As Object, probe As Variant
    Set app = Application
    On Error Resume Next
    probe = app.WorksheetFunction.Unique(Array(1))
    HasDynamicArrays = (Err.Number = 0)
    Err.Clear
End Function

' -- the buttons ---------------------------------------------------------------------------------
Public Sub Click(bookName As String, callback As String)
    Workbooks(bookName).Activate
    Application.Run ADDIN & callback, Nothing
End Sub

Private Function MarkCount(wb As Workbook, ByRef problems As String) As Long
    Dim ws As Worksheet, fc As Object, i As Long
    For Each ws In wb.Worksheets
        For i = 1 To ws.Cells.FormatConditions.Count
            Set fc = ws.Cells.FormatConditions(i)
            If fc.Type = XL_EXPRESSION Then
                If fc.Formula1 = MARK Then
                    MarkCount = MarkCount + 1
                    Expect problems, fc.Borders(XL_LEFT).LineStyle = XL_CONTINUOUS, "a mark without its frame on " & ws.Name
                    Expect problems, fc.Font.Bold = True, "a mark without bold figures on " & ws.Name
                End If
            End If
        Next i
    Next ws
End Function

Public Function MarksShown(bookName As String) As String
    Dim wb As Workbook, problems As String
    Set wb = Workbooks(bookName)
    Expect problems, SheetExists(wb, U("6821 9A8C 7ED3 679C")), "no result sheet"
    Expect problems, MarkCount(wb, problems) > 0, "no marks"
    MarksShown = problems
End Function

Public Function MarksGone(bookName As String) As String
    Dim wb As Workbook, problems As String
    Set wb = Workbooks(bookName)
    Expect problems, Not SheetExists(wb, U("6821 9A8C 7ED3 679C")), "the result sheet is still there"
    Expect problems, MarkCount(wb, problems) = 0, "marks are still there"
    MarksGone = problems
End Function

Public Function ScoreFilled(bookName As String) As String
    Dim problems As String, total As Range
    Set total = Workbooks(bookName).Worksheets(U("9879 76EE 652F 51FA")).Range("p_score_total")
    Expect problems, Not IsError(total.Value), "the composite score is an error"
    Expect problems, VarType(total.Value) = vbDouble, "the composite score is not a number: " & V(total)
    ScoreFilled = problems
End Function

Public Function ProjectAdded(bookName As String, sheetName As String) As String
    Dim wb As Workbook, problems As String
    Set wb = Workbooks(bookName)
    If Not SheetExists(wb, sheetName) Then
        ProjectAdded = "no sheet " & sheetName
        Exit Function
    End If
    Expect problems, wb.Sheets(sheetName).Index = wb.Sheets(U("9879 76EE 8868 5C3E")).Index - 1, _
        sheetName & " is not just before the closing bookend"
    Expect problems, wb.ProtectStructure, "the workbook structure is no longer protected"
    Expect problems, Not SheetExists(wb, "History"), "a sheet named History was made"
    ProjectAdded = problems
End Function

' -- a received workbook that carries settings --------------------------------------------------
Public Sub MakeHostile(path As String, interpreter As String)
    Dim wb As Workbook, ws As Worksheet
    Set wb = Workbooks.Open(path)
    wb.Unprotect                                   ' the template's structure lock has no password
    Set ws = wb.Worksheets.Add(After:=wb.Worksheets(wb.Worksheets.Count))
    ws.Name = "xltools.conf"
    ws.Range("A1").Value = "INTERPRETER_WIN"
    ws.Range("B1").Value = interpreter
    ws.Range("A2").Value = "PYTHONPATH"
    ws.Range("B2").Value = wb.Path
    ws.Range("A3").Value = "ADD_WORKBOOK_TO_PYTHONPATH"
    ws.Range("B3").Value = "true"
    ws.Visible = XL_VERY_HIDDEN
    wb.Protect Structure:=True, Windows:=False
    wb.Save
    wb.Close False
End Sub

' -- the worksheet functions ---------------------------------------------------------------------
Private Sub PutFormula(cell As Range, typed As String)
    Dim target As Object
    Set target = cell
    If HasDynamicArrays() Then
        target.Formula2 = typed                    ' as typed in Excel 365: no implicit "@"
    Else
        target.Formula = typed
    End If
End Sub

Public Function FunctionTests(reportName As String) As String
    Dim ws As Worksheet, problems As String, started As Double, project As String
    Set ws = ThisWorkbook.Worksheets(1)
    ws.Cells.Clear
    project = "'[" & reportName & "]" & U("9879 76EE 652F 51FA") & "'!"
    ws.Range("A1:A10").Value = 0.1
    ws.Range("B1").Formula = "=NA()"
    ws.Range("B2").Value = 1
    ws.Range("D1:D2").Value = 50
    ws.Range("E1").Value = 40
    ws.Range("E2").Value = 45
    ws.Range("E3").Formula = "=1/0"
    started = Timer
    PutFormula ws.Range("G1"), "=XLT_TOTAL(A1:A10)"
    PutFormula ws.Range("G2"), "=XLT_TOTAL(A:A)"
    PutFormula ws.Range("G3"), "=XLT_TOTAL(B1:B2)"
    PutFormula ws.Range("G4"), "=XLT_TIE(1,A1:A10)"
    PutFormula ws.Range("G5"), "=XLT_TIE(1.01,A1:A10)"
    PutFormula ws.Range("G6"), "=XLT_SCORE(""" & ChrW(&H2265) & "95%"",""98%"",5)"
    PutFormula ws.Range("G7"), "=XLT_COMPOSITE(D1:D2,E1:E2)"
    PutFormula ws.Range("G8"), "=XLT_COMPOSITE(D1:D2,E2:E3)"
    PutFormula ws.Range("G9"), "=XLT_GRADE(85)"
    PutFormula ws.Range("G10"), "=XLT_FUND_CHECK(" & project & "A16:H21)"
    PutFormula ws.Range("H1"), "=RunPython(""import os"")"
    PutFormula ws.Range("H2"), "=XltoolsAddinVersion()"
    Application.CalculateFull
    Expect problems, NumIs(ws.Range("G1"), 1), "XLT_TOTAL(A1:A10) of ten 0.1 is not exactly 1: " & V(ws.Range("G1"))
    Expect problems, NumIs(ws.Range("G2"), 1), "XLT_TOTAL(A:A), a whole column: " & V(ws.Range("G2"))
    Expect problems, Timer - started < 60, "the functions took over a minute (a whole column read cell by cell?)"
    Expect problems, InStr(V(ws.Range("G3")), "#N/A") > 0, "an #N/A cell is not reported: " & V(ws.Range("G3"))
    Expect problems, V(ws.Range("G4")) = "", "XLT_TIE of equal amounts: " & V(ws.Range("G4"))
    Expect problems, InStr(V(ws.Range("G5")), "0.01") > 0, "XLT_TIE does not state the gap: " & V(ws.Range("G5"))
    Expect problems, NumIs(ws.Range("G6"), 5), "XLT_SCORE: " & V(ws.Range("G6"))
    Expect problems, NumIs(ws.Range("G7"), 85), "XLT_COMPOSITE: " & V(ws.Range("G7"))
    Expect problems, InStr(V(ws.Range("G8")), "#DIV/0!") > 0, "a #DIV/0! score is not reported: " & V(ws.Range("G8"))
    Expect problems, V(ws.Range("G9")) = U("826F 597D"), "XLT_GRADE(85): " & V(ws.Range("G9"))
    Expect problems, V(ws.Range("G10")) = "", "XLT_FUND_CHECK on the seed: " & V(ws.Range("G10"))
    Expect problems, IsError(ws.Range("H1").Value), "RunPython can be called from a cell"
    Expect problems, IsError(ws.Range("H2").Value), "a ribbon module function can be called from a cell"
    FunctionTests = problems
End Function

' XLT_CHECK in the report itself (on a sheet added for the test and removed after), one cell and
' as an array formula over a block (Ctrl+Shift+Enter, as Excel 2016/2019 need).
Public Function CheckFunctionTests(reportName As String) As String
    Dim wb As Workbook, ws As Worksheet, problems As String, cell As Range, header As String
    Set wb = Workbooks(reportName)
    header = U("7EA7 522B")
    wb.Unprotect
    Set ws = wb.Worksheets.Add(After:=wb.Worksheets(wb.Worksheets.Count))
    PutFormula ws.Range("A1"), "=XLT_CHECK()"
    ws.Range("H1:L60").FormulaArray = "=XLT_CHECK()"
    Application.CalculateFull
    If HasDynamicArrays() Then
        Expect problems, V(ws.Range("A1")) = header, "XLT_CHECK does not spill its table: " & V(ws.Range("A1"))
        Expect problems, V(ws.Range("B2")) <> "", "XLT_CHECK's second row is empty"
    Else
        Expect problems, Left(V(ws.Range("A1")), 2) = U("9519 8BEF"), "XLT_CHECK in one cell is not a summary: " & V(ws.Range("A1"))
    End If
    Expect problems, V(ws.Range("H1")) = header, "XLT_CHECK over a block does not start with its header: " & V(ws.Range("H1"))
    For Each cell In ws.Range("H1:L60").Cells
        If IsError(cell.Value) Then
            Expect problems, False, "XLT_CHECK over a block leaves " & V(cell) & " in " & cell.Address
            Exit For
        End If
    Next cell
    Application.DisplayAlerts = False
    ws.Delete
    Application.DisplayAlerts = True
    wb.Protect Structure:=True, Windows:=False
    CheckFunctionTests = problems
End Function

Public Function AddinLoaded() As String
    Dim wb As Workbook
    On Error Resume Next
    Set wb = Workbooks("xltools.xlam")
    On Error GoTo 0
    If wb Is Nothing Then AddinLoaded = "xltools.xlam is not loaded"
End Function
