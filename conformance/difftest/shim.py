"""``python -m conformance.difftest.shim CONFIG STATE_DIR``: bgprr's daemon with the
compiled policies installed in its engine by hand, for use while the daemon does not
install them itself (BGPRR_DIFFTEST_SHIM=1)."""

from __future__ import annotations

import asyncio
import signal
import sys

from bgprr.config import load_config
from bgprr.io.daemon import Daemon
from bgprr.policy import compile_policies


async def main(path: str, state: str) -> None:
    config = load_config(path)
    daemon = Daemon(config, state_dir=state)
    pol = compile_policies(config)
    daemon.engine.set_policies(
        global_import=pol.global_import,
        global_export=pol.global_export,
        neighbors=dict(pol.neighbors),
    )
    await daemon.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(daemon.stop()))
    await daemon.stopped.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
