"""`xltools serve`: the bureau's intake in a browser, on the collect ledger.

app.py (the application, its routes and services), views/ (small view classes per role),
templates/ and static/ (server-rendered pages, a little JavaScript), receive.py (an upload's path
into the ledger), jobs.py (work done in collect's worker pool and the pack thread), store.py (the
web's own records), auth.py (passwords, sessions, CSRF, login limits), pages.py (what a page
shows), config.py (the data folder). It calls the library and owns no rule.
"""
