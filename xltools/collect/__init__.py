"""`xltools collect`: a bureau's inbox -> checked submissions, a ledger and a summary workbook.

intake.py finds the submissions (folders, zips, packs) without extracting anything; worker.py
checks each in a pool of processes; ledger.py records them (SQLite or PostgreSQL); summary.py
writes 汇总.xlsx; run.py ties them together for the command."""
