Attribute VB_Name = "xltools"
' xltools add-in macros. VBA holds no business logic: each macro calls the Python
' library through xlwings (RunPython). Build the add-in on Windows, see README.
Option Explicit

Sub XltoolsValidate()
    RunPython "import xltools.excel as x; x.validate()"
End Sub

Sub XltoolsScore()
    RunPython "import xltools.excel as x; x.score()"
End Sub
