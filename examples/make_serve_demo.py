"""The web intake's demo data, for `make serve`.

    python examples/make_serve_demo.py out/serve

Made anew each time: out/serve/data (the server's data folder) with the first admin account
and three unit accounts from a roster (their one-time links are printed), and out/serve/样例/
with the example workbook as first handed in (with errors) and corrected, to upload.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UNITS = ["临湘市民政局", "临湘市教育局", "临湘市水利局"]


def corrected(doc: dict) -> dict:
    """The example with its errors fixed (as tests/test_check_seed.py corrects it): warnings remain."""
    dept = doc["dept"]
    dept["spend"][0]["personnel"] = "452.92"
    dept["narrative"] = dept["narrative"].replace("一般商品和服务支出506000元", "一般商品和服务支出566000元")
    dept["dept_ind"][-1]["actual"] = "5"
    return doc


def main(out: Path) -> None:
    from xltools.collect.ledger import Ledger
    from xltools.serve.config import Config
    from xltools.serve.store import Store
    from xltools.spec import load_spec
    from xltools.write.fill import fill

    shutil.rmtree(out, ignore_errors=True)
    samples = out / "样例"
    samples.mkdir(parents=True)
    doc = json.loads((REPO / "examples" / "linxiang_2022.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        for name, version in (("民政局_初报.xlsx", doc), ("民政局_改正.xlsx", corrected(json.loads(json.dumps(doc))))):
            data = Path(tmp) / "data.json"
            data.write_text(json.dumps(version, ensure_ascii=False), encoding="utf-8")
            fill(data, samples / name, load_spec())
    config = Config(out / "data")
    done = subprocess.run([sys.executable, "-m", "xltools.cli", "serve", "--data", str(config.data), "--init"],
                          capture_output=True, text=True)
    print(done.stdout.strip() or done.stderr.strip())
    ledger = Ledger(config.url)
    try:
        store = Store(ledger)
        print("单位账号的一次性设置密码链接（服务器启动后打开）：")
        for unit in UNITS:
            aid = store.add_account(unit, "unit", unit=unit)
            print(f"  {unit}：http://127.0.0.1:8000/link/{store.new_link(aid)}")
    finally:
        ledger.close()
    print(f"可上传的样例：{samples}/（初报有错误，改正后只有提示）")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/serve"))
