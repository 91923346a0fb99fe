"""Real `pager run` processes for the chaos tests: started, waited for, killed with -9, their logs kept."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import typing

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """`python -m pager run` in a subprocess on `database_url`; `config` is YAML with `{port}` and `{data_dir}`."""

    def __init__(self, workdir: pathlib.Path, name: str, config: str, env: typing.Mapping[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "pager.yaml"
        self.config.write_text(config.format(port=self.port, data_dir=self.dir / "data"))
        self.env = {**os.environ, **env}
        self.env.pop("PAGER_CONFIG", None)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.dir / "out.log", "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pager", "--log-json", "run", "--config", str(self.config)],
                env=self.env,
                cwd=self.dir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self, chars: int = 4000) -> str:
        path = self.dir / "out.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {self.name}\n{text[-chars:]}"

    async def ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} not ready within {timeout}s:\n{self.log()}")
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(
    workdir: pathlib.Path, n: int, config: str, env: typing.Mapping[str, str]
) -> typing.AsyncIterator[list[Daemon]]:
    """`n` replicas on one database, started together and all ready; stopped (and logs shown on failure) after."""
    daemons = [Daemon(workdir, f"replica{i + 1}", config, env) for i in range(n)]
    try:
        for d in daemons:
            d.start()
        await asyncio.gather(*(d.ready() for d in daemons))
        yield daemons
    except BaseException:
        for d in daemons:
            print(d.log())
        raise
    finally:
        for d in daemons:
            d.stop()
