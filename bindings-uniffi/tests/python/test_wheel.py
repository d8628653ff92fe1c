"""The package as a user installs it: the wheel (scripts/pack-wheel.py over the generated package) installed with
pip into a fresh virtualenv in a temporary folder outside the repository, then a program in the README's style run
by that virtualenv's interpreter, from that folder, against the real server-example."""

import json
import os
import subprocess
import sys
import venv

from conftest import PACKAGE_DIR, REPO, Server, seed

PROGRAM = '''
import asyncio, json, sys, seqsync

class Progress(seqsync.ProgressListener):
    def __init__(self):
        self.events = 0
    def on_progress(self, p):
        self.events += 1

async def main(url, token, integration):
    engine = await seqsync.open_engine(seqsync.OpenOptions(
        db_path="app.db", server_url=url, token=token, integration_id=integration))
    progress = Progress()
    report = await engine.sync_all(listener=progress)
    chats = await engine.list_rows("conversations", seqsync.ListRowsOptions(
        order_by="last_message_at", descending=True, limit=5))
    stats = await engine.stats()
    await engine.shutdown()
    print(json.dumps({"module": seqsync.__file__, "rows": report.rows, "progress": progress.events,
                      "chats": len(chats), "counts": stats.counts}))

asyncio.run(main(*sys.argv[1:]))
'''


def run(args, cwd, env=None):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def test_the_wheel_installs_into_a_fresh_venv_and_syncs(tmp_path):
    wheel = run([sys.executable, str(REPO / "scripts" / "pack-wheel.py"), "--package-dir",
                 str(PACKAGE_DIR / "seqsync"), "--out-dir", str(tmp_path / "dist")], REPO).strip()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    # Offline and alone: only the wheel, nothing from an index (it has no dependencies).
    run([python, "-m", "pip", "install", "--quiet", "--no-index", "--disable-pip-version-check", wheel], tmp_path)
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(PROGRAM)
    # No PYTHONPATH: the import must find the installed package, not the repository's copy.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # A server of its own: the session's is written to by other tests (and follow loops) while this one syncs.
    seed(tmp_path / "server.db", "wa-wheel", conversations=20, messages=500, contacts=10)
    server = Server(tmp_path / "server.db", {"secret": "wa-wheel"})
    try:
        out = run([python, "main.py", server.url, "secret", "wa-wheel"], app, env)
        status = server.status("secret", "wa-wheel")
    finally:
        server.stop()
    result = json.loads(out.strip().splitlines()[-1])
    expected = {name: c["count"] for name, c in status["collections"].items()}

    assert result["module"].startswith(str(env_dir)), result["module"]
    assert not str(REPO) in result["module"]
    assert result["counts"] == expected
    assert result["rows"] == sum(expected.values())
    assert result["chats"] == min(5, expected["conversations"])
    assert result["progress"] > 0
