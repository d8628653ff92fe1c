"""Test support: the GENERATED Python package over the real cdylib (made by scripts/gen-bindings.sh if missing),
and the real server-example binary seeded into a temporary directory and served on loopback as a child process."""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
PACKAGE_DIR = Path(os.environ.get("SEQSYNC_PYTHON_DIR", TARGET / "uniffi" / "python"))
# SEQSYNC_PROFILE: the cargo profile folder of the server binary (scripts/test.sh: its debug build).
SERVER = TARGET / os.environ.get("SEQSYNC_PROFILE", "release") / "server-example"
SCENARIOS = json.loads((REPO / "bindings-tests" / "scenarios.json").read_text())


def _run(*args):
    subprocess.run(args, cwd=REPO, check=True)


if not (PACKAGE_DIR / "seqsync" / "__init__.py").exists():
    _run("bash", "scripts/gen-bindings.sh")
sys.path.insert(0, str(PACKAGE_DIR))


def _ensure_server():
    if not SERVER.exists():
        _run("cargo", "build", "--release", "-p", "server-example")


def seed(db, integration, conversations, messages, contacts):
    """Generates an integration into a server database with `server-example seed`."""
    _ensure_server()
    args = [str(SERVER), "seed", "--db", str(db), "--integration", integration, "--conversations",
            str(conversations), "--messages", str(messages), "--contacts", str(contacts)]
    subprocess.run(args, check=True, capture_output=True)


class Server:
    """`server-example serve` on 127.0.0.1:0; `url` once it printed it. tokens: {token: integration}."""

    def __init__(self, db, tokens):
        _ensure_server()
        args = [str(SERVER), "serve", "--db", str(db), "--listen", "127.0.0.1:0"]
        for token, integration in tokens.items():
            args += ["--token", f"{token}={integration}"]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        match = re.search(r" on (http://\S+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"server-example serve did not start: {line!r}")
        self.url = match.group(1)

    def status(self, token, integration):
        """The server's /sync/status/{id}: {latest_seq, collections: {name: {latest_seq, count}}}."""
        request = urllib.request.Request(f"{self.url}/sync/status/{integration}",
                                         headers={"authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as response:
            return json.load(response)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class World:
    """What every scenario needs: the seeded server, its counts, a directory for client databases."""

    def __init__(self, directory, server):
        config = SCENARIOS["server"]
        self.dir = Path(directory)
        self.server = server
        self.token = config["token"]
        self.admin_token = config["admin_token"]
        self.integration = config["integration"]
        status = server.status(self.token, self.integration)
        self.status = status
        self.expected = {name: c["count"] for name, c in status["collections"].items()}


@pytest.fixture(scope="session")
def world():
    config = SCENARIOS["server"]
    with tempfile.TemporaryDirectory(prefix="seqsync-py-") as directory:
        db = Path(directory) / "server.db"
        seed(db, config["integration"], **config["seed"])
        seed(db, config["other_integration"], **config["other_seed"])
        server = Server(db, {config["token"]: config["integration"], config["admin_token"]: "*"})
        try:
            yield World(directory, server)
        finally:
            server.stop()
