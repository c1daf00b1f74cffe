# The add-in, end to end, on a Windows PC with desktop Excel and 64-bit Python 3.11 or 3.12:
# build, install while Excel is open, each button, each worksheet function, a received workbook
# that carries settings and a planted package, then Excel closed and opened again.
# Windows PowerShell 5.1, from the repository root, with Excel not in use:
#   powershell -NoProfile -ExecutionPolicy Bypass -File tests\windows\run_addin_test.ps1
# Prints 通过/失败 per step and a summary; exit code 1 when anything failed.
# The Excel side (clicking buttons as the ribbon does, checking workbooks and formulas) is
# XltoolsAddinTest.bas beside this script. Message boxes and the project-name prompt are answered by
# a watcher (a background job) that logs their text to $Work\dialogs.txt.
param(
    [string]$Python = "",                                # python.exe (default: py -3.12, then py -3.11)
    [string]$Work = "$env:TEMP\xltools-addin-test"
)
# Not "Stop": Windows PowerShell 5.1 would turn a native program's stderr (pip's warnings) into a
# terminating error. Native programs are judged by their exit code; COM and .NET failures end the
# try block below, and are reported.
$ErrorActionPreference = "Continue"
$repo = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
$results = New-Object System.Collections.ArrayList

function Check([string]$name, [bool]$ok, [string]$detail = "") {
    [void]$results.Add([pscustomobject]@{ Name = $name; Ok = $ok; Detail = $detail })
    if ($ok) { Write-Host "通过  $name" -ForegroundColor Green }
    else { Write-Host "失败  $name  $detail" -ForegroundColor Red }
}

function Native([string]$what, [scriptblock]$run) {
    $output = & $run 2>&1 | Out-String
    Check $what ($LASTEXITCODE -eq 0) $output
    return $output
}

# -- dialogs: read, logged, answered ----------------------------------------------------------------
$dialogLog = Join-Path $Work "dialogs.txt"
$answerFile = Join-Path $Work "answers.txt"

function Start-DialogWatcher {
    Start-Job -ArgumentList $dialogLog, $answerFile -ScriptBlock {
        param($log, $answers)
        Add-Type -AssemblyName System.Windows.Forms
        Add-Type @"
using System;
using System.Text;
using System.Runtime.InteropServices;
public static class Win {
    public delegate bool EnumProc(IntPtr hwnd, IntPtr lParam);
    [DllImport("user32.dll")] public static extern bool EnumWindows(EnumProc proc, IntPtr lParam);
    [DllImport("user32.dll")] public static extern bool IsWindowVisible(IntPtr hwnd);
    [DllImport("user32.dll", CharSet = CharSet.Unicode)] public static extern int GetWindowText(IntPtr hwnd, StringBuilder text, int max);
    [DllImport("user32.dll", CharSet = CharSet.Unicode)] public static extern int GetClassName(IntPtr hwnd, StringBuilder text, int max);
    [DllImport("user32.dll", CharSet = CharSet.Unicode)] public static extern uint GetDlgItemText(IntPtr hwnd, int id, StringBuilder text, int max);
    [DllImport("user32.dll")] public static extern IntPtr GetDlgItem(IntPtr hwnd, int id);
    [DllImport("user32.dll")] public static extern IntPtr SendMessage(IntPtr hwnd, uint msg, IntPtr w, IntPtr l);
    [DllImport("user32.dll")] public static extern bool PostMessage(IntPtr hwnd, uint msg, IntPtr w, IntPtr l);
    [DllImport("user32.dll")] public static extern bool SetForegroundWindow(IntPtr hwnd);
}
"@
        $BM_CLICK = 0x00F5; $WM_CLOSE = 0x0010
        while ($true) {
            $windows = New-Object System.Collections.ArrayList
            [void][Win]::EnumWindows({ param($h, $l) if ([Win]::IsWindowVisible($h)) { [void]$windows.Add($h) }; $true }, [IntPtr]::Zero)
            foreach ($h in $windows) {
                $title = New-Object System.Text.StringBuilder 512
                [void][Win]::GetWindowText($h, $title, 512)
                $class = New-Object System.Text.StringBuilder 256
                [void][Win]::GetClassName($h, $class, 256)
                $t = $title.ToString()
                if ($t -eq "新增项目表") {                           # Excel's InputBox: type the next answer
                    $lines = @(Get-Content -LiteralPath $answers -Encoding UTF8)
                    $answer = $lines[0]
                    Set-Content -LiteralPath $answers -Encoding UTF8 -Value ($lines | Select-Object -Skip 1)
                    [void][Win]::SetForegroundWindow($h)
                    [void](New-Object -ComObject WScript.Shell).AppActivate($t)
                    Start-Sleep -Milliseconds 300
                    [System.Windows.Forms.SendKeys]::SendWait($answer + "{ENTER}")
                    Add-Content -LiteralPath $log -Encoding UTF8 -Value "输入`t$answer"
                    Start-Sleep -Milliseconds 500
                }
                elseif ($class.ToString() -eq "#32770" -and ($t -like "xltools*" -or $t -like "Microsoft*")) {
                    $text = New-Object System.Text.StringBuilder 8192
                    [void][Win]::GetDlgItemText($h, 0xFFFF, $text, 8192)
                    $flat = $text.ToString() -replace "\r?\n", " "
                    Add-Content -LiteralPath $log -Encoding UTF8 -Value "$t`t$flat"
                    $ok = [Win]::GetDlgItem($h, 1)
                    if ($ok -eq [IntPtr]::Zero) { $ok = [Win]::GetDlgItem($h, 2) }
                    if ($ok -ne [IntPtr]::Zero) { [void][Win]::SendMessage($ok, $BM_CLICK, [IntPtr]::Zero, [IntPtr]::Zero) }
                    else { [void][Win]::PostMessage($h, $WM_CLOSE, [IntPtr]::Zero, [IntPtr]::Zero) }
                }
            }
            Start-Sleep -Milliseconds 300
        }
    }
}

function Dialogs { if (Test-Path -LiteralPath $dialogLog) { @(Get-Content -LiteralPath $dialogLog -Encoding UTF8) } else { @() } }

# -- Excel ---------------------------------------------------------------------------------------------
$excelExe = (Get-ItemProperty "HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths\excel.exe").'(default)'

function Start-UserExcel([string]$file = "", [string]$folder = $Work) {
    # Excel started as a person starts it (not through COM), then reached through the running object table.
    if ($file) { Start-Process -FilePath $excelExe -ArgumentList "`"$file`"" -WorkingDirectory $folder }
    else { Start-Process -FilePath $excelExe -ArgumentList "/e" -WorkingDirectory $folder }
    for ($i = 0; $i -lt 120; $i++) {
        Start-Sleep -Milliseconds 500
        try { $xl = [Runtime.InteropServices.Marshal]::GetActiveObject("Excel.Application"); if ($xl.Ready) { return $xl } } catch { }
    }
    throw "Excel 没有启动"
}

function New-TestBook($xl) {
    # The VBA side of the test in a new, unsaved workbook (its code runs without a macro prompt).
    $book = $xl.Workbooks.Add()
    [void]$book.VBProject.VBComponents.Import((Join-Path $PSScriptRoot "XltoolsAddinTest.bas"))
    return $book
}

function Click($xl, $test, [string]$book, [string]$callback) {
    $before = (Dialogs).Count
    [void]$xl.Run("'$($test.Name)'!Click", $book, $callback)
    Start-Sleep -Milliseconds 800
    return ((Dialogs) | Select-Object -Skip $before) -join " | "
}

function Test-Vba($xl, $test, [string]$name, [string]$macro) {
    $args_ = @("'$($test.Name)'!$macro") + $args
    $problems = [string]$xl.Run.Invoke($args_)
    Check $name ([string]::IsNullOrEmpty($problems)) $problems
}

function Planted-Calculators { @(Get-Process -Name calc, CalculatorApp -ErrorAction SilentlyContinue).Count }

# -- the run -------------------------------------------------------------------------------------------
if (Get-Process -Name EXCEL -ErrorAction SilentlyContinue) {
    Write-Host "请先关闭所有 Excel 窗口再运行（测试会启动并关闭 Excel）" -ForegroundColor Red
    exit 2
}
if (Test-Path -LiteralPath $Work) { Remove-Item -LiteralPath $Work -Recurse -Force }
New-Item -ItemType Directory -Path $Work | Out-Null
$vbomKey = $null; $vbomOld = $null; $watcher = $null; $xl = $null
try {
    # 1. Python and the environment
    if (-not $Python) {
        foreach ($v in "3.12", "3.11") {
            $found = & py "-$v" -c "import sys; print(sys.executable)" 2>$null
            if ($LASTEXITCODE -eq 0 -and $found) { $Python = $found.Trim(); break }
        }
    }
    if (-not $Python) { throw "找不到 64 位 Python 3.11 或 3.12（py 启动器），请用 -Python 指定" }
    $bits = (& $Python -c "import struct; print(struct.calcsize('P') * 8)").Trim()
    Check "64 位 Python：$Python" ($bits -eq "64") "$bits 位"
    $envDir = Join-Path $Work "env"
    Native "建立环境" { & $Python -m venv $envDir } | Out-Null
    Native "安装 xltools-jixiao[excel]（本仓库）" { & "$envDir\Scripts\python.exe" -m pip install "$repo[excel]" } | Out-Null
    $xltools = "$envDir\Scripts\xltools.exe"
    $pythonw = "$envDir\Scripts\pythonw.exe"

    # 2. Build (the VBA project object model is opened for the run, then closed again)
    $probe = New-Object -ComObject Excel.Application
    $version = $probe.Version
    $probe.Quit(); [void][Runtime.InteropServices.Marshal]::ReleaseComObject($probe)
    $vbomKey = "HKCU:\Software\Microsoft\Office\$version\Excel\Security"
    if (-not (Test-Path $vbomKey)) { New-Item -Path $vbomKey -Force | Out-Null }
    $vbomOld = (Get-ItemProperty -Path $vbomKey -Name AccessVBOM -ErrorAction SilentlyContinue).AccessVBOM
    Set-ItemProperty -Path $vbomKey -Name AccessVBOM -Value 1 -Type DWord
    $xlam = Join-Path $Work "xltools.xlam"
    Native "构建 xltools.xlam" { & $xltools addin build -o $xlam } | Out-Null

    # 3. Install while the user's Excel is open, twice (the second replaces a loaded add-in)
    $xl = Start-UserExcel
    if ($xl.Workbooks.Count -eq 0) { [void]$xl.Workbooks.Add() }
    Native "Excel 开着时安装" { & $xltools addin install $xlam --interpreter $pythonw } | Out-Null
    Native "Excel 开着、加载项已载入时再次安装（升级）" { & $xltools addin install $xlam --interpreter $pythonw } | Out-Null
    $entry = $null
    foreach ($a in $xl.AddIns) { if ($a.Name -eq "xltools.xlam") { $entry = $a } }
    Check "正在运行的 Excel 中已启用加载项" ($entry -ne $null -and $entry.Installed) ""
    $conf = Get-Content -LiteralPath "$env:USERPROFILE\.xltools\xltools.conf" -Encoding Default
    Check "配置文件只写解释器的完整路径" (($conf -join "|") -eq "`"INTERPRETER_WIN`",`"$pythonw`"") ($conf -join "|")

    # 4. Each button, on a filled report
    $report = Join-Path $Work "报表.xlsx"
    Native "填写报表（xltools fill）" { & $xltools fill (Join-Path $repo "examples\linxiang_2022.json") -o $report } | Out-Null
    $watcher = Start-DialogWatcher
    $test = New-TestBook $xl
    $book = $xl.Workbooks.Open($report)
    $name = $book.Name
    $said = Click $xl $test $name "XltoolsValidate"
    Check "按钮 校验：提示" ($said -like "*校验完成*") $said
    Test-Vba $xl $test "按钮 校验：校验结果表与带框的标记" "MarksShown" $name
    $said = Click $xl $test $name "XltoolsValidate"
    Test-Vba $xl $test "按钮 校验：再点一次仍只有一套标记" "MarksShown" $name
    $said = Click $xl $test $name "XltoolsClearMarks"
    Check "按钮 清除标记：提示" ($said -like "*已清除*") $said
    Test-Vba $xl $test "按钮 清除标记：标记与校验结果表已删除" "MarksGone" $name
    $said = Click $xl $test $name "XltoolsScore"
    Check "按钮 计算得分：提示" ($said -like "*得分*") $said
    Test-Vba $xl $test "按钮 计算得分：综合得分是数字" "ScoreFilled" $name
    Set-Content -LiteralPath $answerFile -Encoding UTF8 -Value @("Project B", "History")
    $said = Click $xl $test $name "XltoolsNewProject"
    Check "按钮 新增项目表：提示" ($said -like "*Project B*") $said
    $said = Click $xl $test $name "XltoolsNewProject"
    Check "按钮 新增项目表：拒绝 Excel 保留的名称 History" ($said -like "*保留*") $said
    Test-Vba $xl $test "按钮 新增项目表：位置、结构保护、没有 History" "ProjectAdded" $name "Project B"
    $book.Save()
    $said = Click $xl $test $name "XltoolsExport"
    $exported = Get-ChildItem -LiteralPath $Work -Directory | Where-Object { $_.Name -like "*_绩效自评" } | Select-Object -First 1
    Check "按钮 导出：报送文件夹" ($said -like "*已导出*" -and $exported -ne $null -and
        (Test-Path (Join-Path $exported.FullName "manifest.json")) -and
        @(Get-ChildItem -LiteralPath $exported.FullName -Filter *.pdf).Count -gt 0) $said
    $said = Click $xl $test $name "XltoolsAbout"
    Check "按钮 关于：版本与日志位置" ($said -like "*加载项：*xlwings 0.37.8*" -and $said -like "*日志文件*") $said

    # 5. Each worksheet function
    Test-Vba $xl $test "函数 XLT_TOTAL、XLT_TIE、XLT_SCORE、XLT_COMPOSITE、XLT_GRADE、XLT_FUND_CHECK（含错误值、整列），运行库函数不能在公式中调用" "FunctionTests" $name
    $book.Save()
    Test-Vba $xl $test "函数 XLT_CHECK：一个格子与数组公式" "CheckFunctionTests" $name
    $book.Close($false)

    # 6. A received workbook with an xltools.conf sheet (veryHidden), an xltools.conf file and an
    #    xltools package beside it, opened by double-click (Excel's current folder: the inbox)
    $inbox = Join-Path $Work "收件"
    New-Item -ItemType Directory -Path (Join-Path $inbox "xltools") | Out-Null
    $hostile = Join-Path $inbox "单位报表.xlsx"
    Copy-Item -LiteralPath $report -Destination $hostile
    $calc = "$env:WINDIR\System32\calc.exe"
    [void]$xl.Run("'$($test.Name)'!MakeHostile", $hostile, $calc)
    [IO.File]::WriteAllText((Join-Path $inbox "xltools.conf"), "`"INTERPRETER_WIN`",`"$calc`"`r`n`"PYTHONPATH`",`"$inbox`"`r`n", [Text.Encoding]::GetEncoding(936))
    $marker = Join-Path $inbox "PLANTED.txt"
    Set-Content -LiteralPath (Join-Path $inbox "xltools\__init__.py") -Encoding UTF8 -Value "open(r'$marker', 'w').write('planted')"
    $checked = & $xltools check $hostile 2>&1 | Out-String
    Check "xltools check 指出 xltools.conf 工作表" ($LASTEXITCODE -eq 1 -and $checked -like "*xltools.conf*") $checked
    $xl.Quit(); [void][Runtime.InteropServices.Marshal]::ReleaseComObject($xl); $xl = $null
    Start-Sleep -Seconds 3
    $calcBefore = Planted-Calculators
    $xl = Start-UserExcel $hostile $inbox
    $test = New-TestBook $xl
    $said = Click $xl $test "单位报表.xlsx" "XltoolsValidate"
    Check "收到的工作簿：校验照常运行本工具的代码" ($said -like "*校验完成*") $said
    Test-Vba $xl $test "收到的工作簿：函数照常（函数服务在收件文件夹中启动）" "FunctionTests" "单位报表.xlsx"
    Check "收到的工作簿：旁边的 xltools 文件夹没有被导入" (-not (Test-Path -LiteralPath $marker)) ""
    Check "收到的工作簿：配置表与配置文件指定的程序没有运行" ((Planted-Calculators) -eq $calcBefore) ""

    # 7. Excel closed and opened again: the add-in is there, buttons and functions work
    $xl.Quit(); [void][Runtime.InteropServices.Marshal]::ReleaseComObject($xl); $xl = $null
    Start-Sleep -Seconds 3
    $xl = Start-UserExcel
    if ($xl.Workbooks.Count -eq 0) { [void]$xl.Workbooks.Add() }
    $test = New-TestBook $xl
    Test-Vba $xl $test "重新打开 Excel：加载项已载入" "AddinLoaded"
    $book = $xl.Workbooks.Open($report)
    $said = Click $xl $test $book.Name "XltoolsAbout"
    Check "重新打开 Excel：关于" ($said -like "*加载项：*") $said
    Test-Vba $xl $test "重新打开 Excel：函数" "FunctionTests" $book.Name
    $book.Close($false)
    foreach ($line in Dialogs) {
        if ($line -like "Microsoft*") { Check "没有 Excel 或 VBA 的错误对话框" $false $line }
    }
}
catch {
    Check "运行到底" $false ($_ | Out-String)
}
finally {
    if ($xl -ne $null) { try { $xl.DisplayAlerts = $false; $xl.Quit() } catch { } }
    if ($watcher -ne $null) { Stop-Job $watcher; Remove-Job $watcher }
    if ($vbomKey -ne $null) {
        if ($vbomOld -eq $null) { Remove-ItemProperty -Path $vbomKey -Name AccessVBOM -ErrorAction SilentlyContinue }
        else { Set-ItemProperty -Path $vbomKey -Name AccessVBOM -Value $vbomOld -Type DWord }
    }
}

$failed = @($results | Where-Object { -not $_.Ok })
Write-Host ""
Write-Host ("共 {0} 项，通过 {1} 项，失败 {2} 项；对话框记录：{3}" -f $results.Count, ($results.Count - $failed.Count), $failed.Count, $dialogLog)
if ($failed.Count) { exit 1 } else { exit 0 }
