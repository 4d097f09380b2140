"""eslflow's ESL client beside the peer libraries, in one run (../shared/bench-peers).

Copies the shared harness (read-only) to a temporary folder, adds bench/peers/eslflow.py
as a client row, and runs its driver: events/s through `InboundConnection.events()` for
plain and json CHANNEL_* streams, and `api status` round-trip latency, side by side with
genesis, greenswitch, python-ESL (FreeSWITCH's C libesl), the tight pure-Python parser
and the raw-socket limit.

    python bench/esl_bench.py                      # full: N=100,000, 3 reps
    python bench/esl_bench.py --quick              # smoke test
    python bench/esl_bench.py --clients raw,tight,python_esl,eslflow --reps 5

Peer libraries come from ~/.cache/peers-venv (built by the harness's setup_venv.sh);
eslflow runs with this interpreter. Extra arguments go to the harness's run.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(os.environ.get("ESLFLOW_PEERS", ROOT.parent / "shared" / "bench-peers"))
PEERS_PY = Path(
    os.environ.get("PEERS_PY", Path.home() / ".cache" / "peers-venv" / "bin" / "python")
)


def main(argv: list[str]) -> int:
    if not (HARNESS / "run.py").exists():
        print(f"no peer harness at {HARNESS} (set ESLFLOW_PEERS)", file=sys.stderr)
        return 2
    if not PEERS_PY.exists():
        print(
            f"no peers venv at {PEERS_PY}: run `bash {HARNESS}/setup_venv.sh` first",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="eslflow-peers-") as tmp:
        work = Path(tmp) / "bench-peers"
        shutil.copytree(HARNESS, work, ignore=shutil.ignore_patterns("results"))
        for path in work.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.copy(Path(__file__).parent / "peers" / "eslflow.py", work / "clients" / "eslflow.py")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        command = [
            str(PEERS_PY),
            str(work / "run.py"),
            "--python-for",
            f"eslflow={sys.executable}",
            *argv,
        ]
        result = subprocess.run(command, cwd=work, env=env, check=False)
        results = work / "results"
        if results.exists():
            keep = ROOT / "bench" / "results"
            keep.mkdir(exist_ok=True)
            for item in results.iterdir():
                shutil.copy(item, keep / item.name)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
