"""A folder of submissions as a bureau receives them, built from the example, for `make demo`.

    python examples/make_collect_demo.py out/收件

- 民政局: the published seed as first handed in (real errors), then a corrected resubmission;
- 教育局: the corrected seed under another unit's name, with one figure wrong (basic ≠ the sum);
- 卫生健康局.zip: a zip as Chinese Windows makes it (member names in GBK, no UTF-8 flag);
- a damaged workbook (cut off in the middle, as an interrupted upload leaves it);
- an Excel owner file (~$…xlsx) beside them, which collect skips.

The folder is made anew each time (files are written with increasing modification times, so
the resubmission arrives after the first version).
"""
from __future__ import annotations

import copy
import io
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "linxiang_2022.json"


def corrected(doc: dict) -> dict:
    """The seed as the unit should have filed it: its published errors fixed, nothing else touched
    (it passes `check` with only its warnings: tests/test_check_seed.py)."""
    doc = copy.deepcopy(doc)
    dept = doc["dept"]
    # 人员经费 includes 对个人和家庭的补助 (0.83 万元), as the narrative's items add up; its typo fixed.
    dept["spend"][0]["personnel"] = "452.92"
    dept["narrative"] = dept["narrative"].replace("一般商品和服务支出506000元", "一般商品和服务支出566000元")
    dept["dept_ind"][-1]["actual"] = "5"          # 满意度 within its weight: the sum is then the stated 97
    return doc


def renamed(doc: dict, unit: str) -> dict:
    doc = copy.deepcopy(doc)
    old = doc["dept"]["dept_name"]
    doc["dept"]["dept_name"] = unit
    for table in ("income", "spend", "three_public", "assets"):
        for row in doc["dept"].get(table, []):
            if row.get("org") == old + "机关" or row.get("org") == old:
                row["org"] = unit + "机关"
    doc["dept"]["narrative"] = doc["dept"]["narrative"].replace(old, unit)
    return doc


class _GbkInfo(zipfile.ZipInfo):
    """A member named in GBK without the UTF-8 flag, as Windows' built-in zip writes it."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def gbk_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(_GbkInfo(name, (2023, 3, 1, 9, 0, 0)), body)
    return out.getvalue()


def main(target: str) -> int:
    from xltools.write.fill import fill
    from xltools.spec import load_spec
    spec = load_spec()
    seed = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    folder = Path(target)
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "民政局").mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        def book(doc: dict) -> bytes:
            data = Path(tmp) / "data.json"
            data.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            out = Path(tmp) / "book.xlsx"
            fill(data, out, spec)
            return out.read_bytes()

        good = corrected(seed)
        education = renamed(good, "临湘市教育局")
        education["dept"]["spend"][0]["personnel"] = "450.00"
        files = [
            ("民政局/临湘市民政局2022年度绩效自评.xlsx", book(seed)),
            ("教育局2022年度绩效自评.xlsx", book(education)),
            ("卫生健康局.zip", gbk_zip({"卫生健康局/临湘市卫生健康局2022年度绩效自评.xlsx":
                                        book(renamed(good, "临湘市卫生健康局"))})),
            ("损坏的报表.xlsx", book(renamed(good, "临湘市水利局"))[:20000]),
            ("~$教育局2022年度绩效自评.xlsx", b"\x00" * 165),
            ("民政局/临湘市民政局2022年度绩效自评（修改后）.xlsx", book(good)),
        ]
    start = time.time() - 3600
    for k, (name, body) in enumerate(files):
        path = folder / name
        path.write_bytes(body)
        os.utime(path, (start + 60 * k, start + 60 * k))
    print(f"已生成 {folder}（{len(files)} 个文件）")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out/收件"))
