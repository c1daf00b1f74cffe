"""`xltools collect`: a bureau's inbox -> checked submissions, a ledger and a summary workbook.

intake.py finds the submissions without extracting anything (zips.py reads zips, packs.py packs,
submission.py is what they find and how a file is refused); worker.py
checks each in a pool of processes and returns its record (record.py, typed from worker to ledger to
summary); ledger.py records them (SQLite or PostgreSQL) in the tables schema.py declares and migrates; summary.py writes 汇总.xlsx, its sheets
laid out by sheets.py, its letters by letters.py, its roster read by roster.py; run.py ties them
together for the command."""
