"""`xltools serve` over HTTP, in process (Starlette's TestClient): each security property and
rule of the intake, tried as a client would.

One application for the module (its own data folder, SQLite ledger and collect worker pool):
two units, a staff member and an admin. Each test signs in with a client of its own.
"""
from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import openpyxl
import pytest
from starlette.testclient import TestClient

from helpers import CJK, XLTOOLS, load_seed
from serve_kit import PASSWORD, UNIT, book, corrected, csrf_of, example_books, renamed, sign_in, token
import test_bad_input
from xltools.serve import auth
from xltools.serve.app import create_app
from xltools.serve.config import Config

BAD = test_bad_input.BAD                # the suite's hostile workbooks, made by its fixtures:
good, bomb, build = test_bad_input.good, test_bad_input.bomb, test_bad_input.build
OTHER = "临湘市教育局"
THIRD = "临湘市水利局"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    books = example_books(folder)
    books["other"] = book(renamed(corrected(), OTHER), folder / "教育局.xlsx")
    books["third"] = book(renamed(corrected(), THIRD), folder / "水利局.xlsx")
    config = Config(folder / "data", workers=2)
    app = create_app(config)
    with TestClient(app) as first:
        svc = app.state.services
        ids = {}
        for login, role, unit in ((UNIT, "unit", UNIT), (OTHER, "unit", OTHER), (THIRD, "unit", THIRD),
                                  ("审核员", "staff", None), ("管理员", "admin", None)):
            ids[login] = svc.store.add_account(login, role, unit=unit, password_hash=auth.hash_password(PASSWORD))
        env = {"app": app, "svc": svc, "config": config, "folder": folder, "ids": ids, **books}
        a = client(env, UNIT)
        env["bad_id"] = upload(a, books["bad"])
        env["good_id"] = upload(a, books["good"])
        env["other_id"] = upload(client(env, OTHER), books["other"])
        yield env
        first.get("/login")


def client(env, login: str | None = None, app=None, **kw) -> TestClient:
    c = TestClient(app or env["app"], **kw)
    if login:
        assert sign_in(c, login).status_code == 303
    return c


def upload(c: TestClient, path: Path, name: str | None = None, data: bytes | None = None):
    """The new submission's id (the page it lands on), or the response when it was not taken."""
    r = c.post("/upload", data={"csrf": token(c, "/unit")},
               files={"file": (name or path.name, data if data is not None else path.read_bytes())})
    m = re.search(r"/s/(\d+)$", str(r.url))
    return int(m.group(1)) if m and r.status_code == 200 else r


def rows(env, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(env["config"].data / "xltools.db") as db:
        return db.execute(sql, args).fetchall()


# -- passwords and sessions ---------------------------------------------------------------------------

def test_passwords_are_stored_as_argon2id_hashes(env):
    hashes = [h for (h,) in rows(env, "SELECT password_hash FROM accounts")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert PASSWORD.encode() not in (env["config"].data / "xltools.db").read_bytes()


def test_the_session_cookie_is_signed_httponly_lax_and_expires(env):
    c = TestClient(env["app"])
    r = sign_in(c, UNIT)
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "max-age=28800" in cookie.lower() and "secure" not in cookie.lower()   # 8 hours; plain http here
    assert c.get("/unit").status_code == 200
    name, value = cookie.split(";")[0].split("=", 1)
    forged = TestClient(env["app"], cookies={name: value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")})
    r = forged.get("/unit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_session_expires_and_https_cookies_are_secure(tmp_path):
    app = create_app(Config(tmp_path / "data", workers=1, https=True, session_hours=1 / 3600, pack=False))
    with TestClient(app, base_url="https://testserver") as c:
        app.state.services.store.add_account(UNIT, "unit", unit=UNIT, password_hash=auth.hash_password(PASSWORD))
        r = sign_in(c, UNIT)
        assert "secure" in r.headers["set-cookie"].lower()
        assert c.get("/unit").status_code == 200
        time.sleep(2.2)
        r = c.get("/unit", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"


def test_a_new_password_ends_the_other_sessions(env):
    old, new = client(env, THIRD), client(env, THIRD)
    r = new.post("/password", data={"csrf": token(new, "/password"), "old": PASSWORD, "new": "新的密码12345",
                                    "again": "新的密码12345"})
    assert r.status_code == 200 and "密码已修改" in r.text
    assert old.get("/unit", follow_redirects=False).headers["location"] == "/login"
    assert new.get("/unit").status_code == 200
    env["svc"].store.set_password(env["ids"][THIRD], auth.hash_password(PASSWORD))


def test_logins_are_rate_limited(env):
    c = TestClient(env["app"])
    for _ in range(env["config"].login_failures):
        assert sign_in(c, "审核员", "猜的密码").status_code == 401
    r = sign_in(c, "审核员", PASSWORD)                   # the right password, but too late
    assert r.status_code == 429 and "分钟后再试" in r.text
    assert sign_in(TestClient(env["app"]), "管理员").status_code == 303     # another name is not paused
    env["svc"].limiter.succeeded("审核员")


# -- CSRF and authorization --------------------------------------------------------------------------

def _post_routes(env) -> list[str]:
    """Every route that takes a POST, with its parameters filled in."""
    values = {"sid": env["good_id"], "aid": env["ids"][OTHER], "token": "x" * 32, "action": "accept"}
    out = []
    for route in env["app"].routes:
        if hasattr(getattr(route, "endpoint", None), "post"):        # the view classes that take a POST
            out.append(re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(values[m.group(1)]), route.path))
    return out


def test_every_post_without_the_csrf_token_is_refused(env):
    posts = _post_routes(env)
    assert {"/login", "/logout", "/upload", f"/s/{env['good_id']}/submit", "/admin/roster"} <= set(posts)
    admin, unit = client(env, "管理员"), client(env, UNIT)       # each route asked by an account it serves
    before = rows(env, "SELECT count(*) FROM decisions")
    for path in posts:
        asking = unit if path == "/upload" or path.endswith(("/submit", "/pack")) else admin
        for data in ({}, {"csrf": "not-the-token"}):
            r = asking.post(path, data=data, follow_redirects=False)
            assert r.status_code == 403, (path, r.status_code)
            assert "安全令牌" in r.text
    assert rows(env, "SELECT count(*) FROM decisions") == before


SUBMISSION_PAGES = ["", "/file", "/marked.xlsx", "/scored.xlsx", "/pack", "/review"]
SUBMISSION_POSTS = ["/submit", "/pack", "/accept", "/return"]
STAFF_PAGES = ["/season", "/season/summary.xlsx", "/season/packs.zip", "/audit", "/admin", "/units/{aid}"]


def test_a_unit_asking_for_another_units_submission_gets_404(env):
    other = client(env, OTHER)
    sid = env["good_id"]
    answers = [other.get(f"/s/{sid}{tail}") for tail in SUBMISSION_PAGES]
    answers += [other.post(f"/s/{sid}{tail}", data={"csrf": token(other, "/unit"), "opinion": "x"})
                for tail in SUBMISSION_POSTS]
    missing = other.get("/s/999999")
    for r in answers:
        assert r.status_code == 404, (r.url, r.status_code)
        assert r.text == missing.text.replace("999999", str(sid))       # indistinguishable from no such id
    for page in STAFF_PAGES:
        assert other.get(page.format(aid=env["ids"][UNIT])).status_code == 404, page
    assert rows(env, "SELECT count(*) FROM decisions WHERE submission_id = ?", sid) == [(0,)]
    # ... while its own answer
    assert other.get(f"/s/{env['other_id']}").status_code == 200
    assert other.get(f"/s/{env['other_id']}/file").content == env["other"].read_bytes()


def test_without_a_session_every_page_asks_to_sign_in(env):
    c = TestClient(env["app"])
    sid = env["good_id"]
    pages = ["/", "/unit", "/template", *(f"/s/{sid}{t}" for t in SUBMISSION_PAGES),
             *(p.format(aid=env["ids"][UNIT]) for p in STAFF_PAGES)]
    for page in pages:
        r = c.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", page
    token_ = token(c, "/login")
    for tail in SUBMISSION_POSTS:
        r = c.post(f"/s/{sid}{tail}", data={"csrf": token_}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", tail


def test_only_the_declared_decisions_exist(env):
    staff = client(env, "审核员")
    r = staff.post(f"/s/{env['good_id']}/delete", data={"csrf": token(staff, "/season")})
    assert r.status_code == 404
    assert staff.get(f"/s/{env['good_id']}/accept").status_code == 405      # a decision is never a GET


def test_stored_files_are_reachable_by_no_name_or_hash(env):
    svc = env["svc"]
    sha = rows(env, "SELECT sha256 FROM submissions WHERE id = ?", env["good_id"])[0][0]
    stored = svc.store.stored_file(env["good_id"])
    assert stored.startswith(sha) and (env["config"].files / stored[:2] / stored).is_file()
    assert not any(p.name == env["good"].name for p in env["config"].data.rglob("*"))   # never the uploaded name
    c = client(env, UNIT)
    for path in (f"/files/{stored}", f"/s/{sha}", f"/static/../files/{stored[:2]}/{stored}", "/static/../xltools.db",
                 "/static/..%2fsession.key"):
        assert c.get(path).status_code == 404, path


# -- uploads ------------------------------------------------------------------------------------------

def test_an_upload_is_capped_in_size_and_in_number(env):
    c = client(env, UNIT)
    cap = env["config"].max_upload_mb
    r = c.post("/upload", data={"csrf": token(c, "/unit")}, files={"file": ("大.xlsx", b"\0" * ((cap + 2) * 2**20))})
    assert r.status_code == 413 and "上限" in r.text
    svc = env["svc"]
    limit, svc.config.uploads_per_hour = svc.config.uploads_per_hour, len(svc.receiver.recent[env["ids"][UNIT]]) + 1
    try:
        assert isinstance(upload(c, env["bad"], data=b"not a workbook 1"), int)       # (no new version)
        r = upload(c, env["bad"], data=b"not a workbook 2")
        assert r.status_code == 429 and "一小时内最多上传" in r.text
    finally:
        svc.config.uploads_per_hour = limit
    r = upload(c, env["bad"], name="报表.exe")
    assert r.status_code == 400 and "不是可上传的文件" in r.text


@pytest.mark.parametrize("make", BAD, ids=lambda f: f.__name__)
def test_hostile_workbooks_get_one_chinese_message_and_the_server_stays_up(make, tmp_path, build, env):
    c = client(env, UNIT)
    path = build(make, tmp_path)
    sid = upload(c, path)
    if isinstance(sid, int):                     # recorded as a file that cannot be used, and shown as such
        page = c.get(f"/s/{sid}").text
        [(status, message)] = rows(env, "SELECT status, message FROM submissions WHERE id = ?", sid)
        assert status == "refused" and "无法使用" in page
    else:                                        # not even taken (an empty file): said at once
        assert 400 <= sid.status_code < 500
        page = sid.text
        message = re.search(r'role="alert">([^<]+)<', page).group(1)
    alerts = re.findall(r'role="alert">([^<]+)<', page)
    assert len(alerts) == 1 and CJK.search(alerts[0]) and "Traceback" not in page
    assert message.split("：")[-1][:15] in page.replace("&#34;", '"').replace("&#39;", "'")
    assert c.get("/unit").status_code == 200


def test_the_same_file_twice_is_one_submission_and_another_units_file_is_refused(env):
    a, b = client(env, UNIT), client(env, OTHER)
    assert upload(a, env["good"]) == env["good_id"]
    r = upload(b, env["good"])
    assert r.status_code == 409 and "其他单位" in r.text
    r = upload(b, env["bad"], data=env["bad"].read_bytes() + b" ")          # a workbook of another unit
    assert r.status_code == 400 and UNIT in r.text and OTHER in r.text
    assert rows(env, "SELECT count(*) FROM submissions WHERE sha256 = (SELECT sha256 FROM submissions WHERE id = ?)",
                env["good_id"]) == [(1,)]


def test_no_upload_reaches_libreoffice_before_the_checker_accepts_it(env):
    c = client(env, UNIT)
    r = c.post(f"/s/{env['bad_id']}/pack", data={"csrf": token(c, "/unit")})
    assert r.status_code == 409 and "有错误的报表不能打包" in r.text
    sha = rows(env, "SELECT sha256 FROM submissions WHERE id = ?", env["bad_id"])[0][0]
    assert env["svc"].packer.state(sha) is None
    assert "生成报送包" not in c.get(f"/s/{env['bad_id']}").text


def test_a_refused_file_cannot_be_marked_or_scored(env):
    c = client(env, UNIT)
    sid = upload(c, env["bad"], name="坏.xlsx", data=b"PK\x03\x04 not really a zip")
    assert c.get(f"/s/{sid}/marked.xlsx").status_code == 404
    assert c.get(f"/s/{sid}/scored.xlsx").status_code == 404


# -- submitting ---------------------------------------------------------------------------------------

def test_errors_forbid_submitting_and_each_warning_needs_an_explanation(env):
    c = client(env, UNIT)
    bad, good_ = env["bad_id"], env["good_id"]
    r = c.post(f"/s/{bad}/submit", data={"csrf": token(c, "/unit")})
    assert r.status_code == 409 and "不能提交" in r.text
    page = c.get(f"/s/{good_}").text
    positions = re.findall(r'name="explain-(\d+)"', page)
    assert positions
    r = c.post(f"/s/{good_}/submit", data={"csrf": csrf_of(page), f"explain-{positions[0]}": "说明一"})
    assert r.status_code == 400 and f"还有 {len(positions) - 1} 条提示" in r.text
    assert rows(env, "SELECT count(*) FROM decisions WHERE submission_id = ?", good_) == [(0,)]
    said = {f"explain-{p}": f"=1+1 <b>核实{p}</b>" for p in positions}
    r = c.post(f"/s/{good_}/submit", data={"csrf": csrf_of(page), **said})
    assert r.status_code == 200 and "已提交" in r.text
    assert "&lt;b&gt;核实" in r.text and "<b>核实" not in r.text
    stored = rows(env, "SELECT position, text FROM explanations WHERE submission_id = ?", good_)
    assert sorted(str(p) for p, _ in stored) == sorted(positions)


def test_staff_return_with_an_opinion_the_unit_sees_then_accept(env):
    staff, unit = client(env, "审核员"), client(env, UNIT)
    sid = env["good_id"]
    if rows(env, "SELECT count(*) FROM decisions WHERE submission_id = ? AND action = 'submit'", sid) == [(0,)]:
        test_errors_forbid_submitting_and_each_warning_needs_an_explanation(env)
    review = staff.get(f"/s/{sid}/review").text
    assert "核实" in review and "1+1" in review                     # drafted from the warnings and explanations
    opinion = "请补充说明 <img src=x onerror=alert(1)>"
    r = staff.post(f"/s/{sid}/return", data={"csrf": csrf_of(review), "opinion": opinion})
    assert r.status_code == 200
    home = unit.get("/unit").text
    assert "请补充说明 &lt;img src=x onerror=alert(1)&gt;" in home and "<img src=x" not in home
    season = staff.get(f"/season?q={UNIT}").text
    assert "已退回" in season
    page = unit.get(f"/s/{sid}").text                              # resubmitted after the return
    said = {f"explain-{p}": "已补充说明" for p in re.findall(r'name="explain-(\d+)"', page)}
    assert unit.post(f"/s/{sid}/submit", data={"csrf": csrf_of(page), **said}).status_code == 200
    r = staff.post(f"/s/{sid}/accept?next=/season", data={"csrf": token(staff, "/season")})
    assert r.status_code == 200 and "已接收" in r.text
    actions = [a for (a,) in rows(env, "SELECT action FROM decisions WHERE submission_id = ? ORDER BY id", sid)]
    assert actions[-4:] == ["submit", "return", "submit", "accept"]
    log = [a for (a,) in rows(env, "SELECT action FROM audit")]
    for action in ("upload", "submit", "return", "accept", "login"):
        assert action in log


def test_text_from_users_is_never_a_formula_in_the_summary(env):
    admin = client(env, "管理员")
    roster = "单位名称\n=HYPERLINK(\"http://x\")\n<script>alert(1)</script>\n"
    r = admin.post("/admin/roster", data={"csrf": token(admin, "/admin")},
                   files={"roster": ("名单.csv", roster.encode("utf-8"))})
    assert r.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert" not in r.text
    other = client(env, OTHER)
    page = other.get(f"/s/{env['other_id']}").text
    said = {f"explain-{p}": f"=1+1 核实{p}" for p in re.findall(r'name="explain-(\d+)"', page)}
    assert said and other.post(f"/s/{env['other_id']}/submit", data={"csrf": csrf_of(page), **said}).status_code == 200
    got = client(env, "审核员").get("/season/summary.xlsx")
    assert got.status_code == 200
    raw = openpyxl.load_workbook(io.BytesIO(got.content))       # as stored: a formula would be a "=…" value
    cells = [c for ws in raw for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any(c.data_type == "f" and ("HYPERLINK(" in c.value or "1+1" in c.value) for c in cells)
    texts = {c.value for c in cells}
    assert '=HYPERLINK("http://x")' in texts and any(t.startswith("=1+1") for t in texts)


# -- accounts ----------------------------------------------------------------------------------------

def test_a_one_time_link_works_once_and_expires(env):
    svc = env["svc"]
    aid = svc.store.add_account("一次性", "staff")
    link = svc.store.new_link(aid)
    c = TestClient(env["app"])
    page = c.get(f"/link/{link}")
    assert page.status_code == 200 and "一次性" in page.text
    r = c.post(f"/link/{link}", data={"csrf": csrf_of(page.text), "new": "一次性设置的密码1", "again": "一次性设置的密码1"})
    assert r.status_code == 200 and str(r.url).endswith("/season")
    assert TestClient(env["app"]).get(f"/link/{link}").status_code == 404       # spent
    late = svc.store.new_link(aid)
    with sqlite3.connect(env["config"].data / "xltools.db") as db:
        db.execute("UPDATE links SET expires_at = '2000-01-01T00:00:00+00:00' WHERE account_id = ?", (aid,))
    assert TestClient(env["app"]).get(f"/link/{late}").status_code == 404
    assert "安全令牌" not in c.get("/link/nonsense").text


def test_a_reset_stops_the_old_password_and_staff_reset_only_units(env):
    admin, staff = client(env, "管理员"), client(env, "审核员")
    aid = env["svc"].store.add_account("临时工作人员", "staff", password_hash=auth.hash_password(PASSWORD))
    assert sign_in(TestClient(env["app"]), "临时工作人员").status_code == 303
    r = staff.post(f"/admin/accounts/{aid}/link", data={"csrf": token(staff, "/admin")})
    assert r.status_code == 404                                    # staff may reset units only
    r = admin.post(f"/admin/accounts/{aid}/link", data={"csrf": token(admin, "/admin")})
    assert r.status_code == 200 and "/link/" in r.text
    assert sign_in(TestClient(env["app"]), "临时工作人员").status_code == 401


def test_init_prints_a_one_time_password_that_must_be_changed(tmp_path):
    run = lambda: subprocess.run([str(XLTOOLS), "serve", "--data", str(tmp_path / "data"), "--init"],  # noqa: E731
                                 capture_output=True, text=True, timeout=120)
    first, second = run(), run()
    assert first.returncode == 0 and "一次性密码" in first.stdout
    assert second.returncode == 2 and "已有管理员" in second.stderr and "Traceback" not in second.stderr
    key = tmp_path / "data" / "session.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and re.fullmatch(r"[0-9a-f]{64}", key.read_text().strip())
    password = re.search(r"一次性密码：(\S+)", first.stdout).group(1)
    app = create_app(Config(tmp_path / "data", workers=1, pack=False))
    with TestClient(app) as c:
        r = sign_in(c, "admin", password)
        assert r.headers["location"] == "/password"
        assert c.get("/season", follow_redirects=False).headers["location"] == "/password"


def test_the_server_binds_to_loopback_by_default():
    from xltools.cli import parser
    args = parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.data == "xltools-data"


# -- one ledger with collect ---------------------------------------------------------------------------

def test_web_uploads_and_collected_folders_are_one_ledger(env, tmp_path):
    url = env["config"].url
    done = subprocess.run([str(XLTOOLS), "collect", "--history", UNIT, "--db", url, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    versions = [(r["version"], r["sha256"]) for r in json.loads(done.stdout)]
    web = rows(env, "SELECT version, sha256 FROM submissions WHERE unit = ? ORDER BY version", UNIT)
    assert versions == web and len(web) >= 2
    inbox = tmp_path / "收件"
    inbox.mkdir()
    (inbox / "水利局.xlsx").write_bytes(env["third"].read_bytes())
    done = subprocess.run([str(XLTOOLS), "collect", str(inbox), "-o", str(tmp_path / "汇总.xlsx"), "--db", url],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode in (0, 1), done.stderr
    third = client(env, THIRD)
    home = third.get("/unit").text
    assert "水利局.xlsx" in home and "第 1 版" in home
    sid = int(re.search(r'href="/s/(\d+)"', home).group(1))
    assert third.get(f"/s/{sid}").status_code == 200
    assert third.get(f"/s/{sid}/file").content == env["third"].read_bytes()     # found where collect found it
    season = client(env, "审核员").get(f"/season?q={THIRD}").text
    assert "待接收" in season                                      # arriving in the inbox is handing in


def test_the_template_is_this_seasons(env):
    c = client(env, OTHER)
    r = c.get("/template")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert load_seed()["dept"]["dept_name"] not in str(wb.worksheets[0]["D4"].value or "")
    assert os.path.getsize(next(env["config"].derived.glob("template-*.xlsx"))) == len(r.content)


def test_the_admin_chooses_the_seasons_spec_and_a_bad_spec_file_is_refused(env):
    admin = client(env, "管理员")
    page = admin.get("/admin").text
    chosen = re.search(r'<option value="([^"]+)" selected', page).group(1)
    r = admin.post("/admin/season", data={"csrf": csrf_of(page)}, files={"spec": ("坏.toml", b"year = \"x\"\n[[")})
    assert r.status_code == 200 and "规格文件无法使用" in r.text
    r = admin.post("/admin/season", data={"csrf": csrf_of(page), "fingerprint": chosen})
    assert "已设置本期使用的规格" in r.text
    assert rows(env, "SELECT value FROM settings WHERE key = 'season'") == [(chosen,)]
    r = admin.post("/admin/season", data={"csrf": csrf_of(page), "fingerprint": "xltools:不存在"})
    assert r.status_code == 404
    assert client(env, "审核员").post("/admin/season", data={"csrf": csrf_of(page), "fingerprint": chosen}).status_code in (403, 404)


def test_a_data_file_and_a_pack_zip_are_submissions_too(env, tmp_path):
    import hashlib
    import zipfile
    c = client(env, OTHER)
    doc = renamed(corrected(), OTHER)
    data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    sid = upload(c, env["bad"], name="教育局数据.json", data=data)
    page = c.get(f"/s/{sid}").text
    assert "通过" in page and "教育局数据.json" in page
    assert c.get(f"/s/{sid}/marked.xlsx").status_code == 404          # no workbook to mark
    doc["dept"]["contact"] = "另一位联系人"
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    root = f"2022_{OTHER}_绩效自评"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:                             # a pack whose PDF was changed afterwards
        zf.writestr(f"{root}/数据.json", body)
        zf.writestr(f"{root}/{root}.pdf", b"%PDF-1.7 changed")
        zf.writestr(f"{root}/manifest.json", json.dumps({"files": [
            {"path": "数据.json", "sha256": hashlib.sha256(body).hexdigest()},
            {"path": f"{root}.pdf", "sha256": hashlib.sha256(b"%PDF-1.7 as packed").hexdigest()}]}))
    sid = upload(c, env["bad"], name="报送包.zip", data=buf.getvalue())
    page = c.get(f"/s/{sid}").text
    assert "有错误" in page and "pack-" in page and f"{root}.pdf" in page
    assert rows(env, "SELECT unit FROM submissions WHERE id = ?", sid) == [(OTHER,)]
    home = c.get("/unit").text
    assert "与上一版相比" in home and "新出现" in home               # what changed from the data file's version


def test_text_a_unit_typed_stays_text_in_the_workbooks_we_write(env, tmp_path):
    from xltools.ooxml.package import Package
    from xltools.spec import load_spec
    c = client(env, THIRD)
    wb = Package(env["third"].read_bytes(), "水利局")
    wb.sheet(load_spec().reports["dept"].sheet).set("B11", '=HYPERLINK("http://x","点我")')
    sid = upload(c, env["third"], name="公式.xlsx", data=wb.to_bytes())
    for kind in ("marked", "scored"):
        got = c.get(f"/s/{sid}/{kind}.xlsx")
        assert got.status_code == 200, kind
        book = openpyxl.load_workbook(io.BytesIO(got.content))
        cells = [cell for ws in book for row in ws.iter_rows() for cell in row if isinstance(cell.value, str)]
        assert not [cell.coordinate for cell in cells if cell.data_type == "f" and "HYPERLINK" in cell.value], kind
        assert any(cell.value == '=HYPERLINK("http://x","点我")' for cell in cells), kind
