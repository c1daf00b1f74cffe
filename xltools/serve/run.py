"""Start the server: uvicorn on 127.0.0.1 by default (HTTPS is the reverse proxy's job)."""
from __future__ import annotations

import sys


def run(config, host: str, port: int) -> int:
    import uvicorn
    from .app import create_app
    app = create_app(config)
    print(f"绩效自评报送已启动：http://{host}:{port}/ （数据文件夹 {config.data}，台账 {config.url}；Ctrl+C 停止）",
          file=sys.stderr, flush=True)
    # proxy_headers: behind nginx on this machine, the client's address (login limits, the
    # audit log) and https come from X-Forwarded-For/-Proto, trusted from 127.0.0.1 only.
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                log_level="warning", access_log=False)
    return 0
