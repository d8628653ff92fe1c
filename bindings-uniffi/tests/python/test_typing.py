"""The generated package's annotations carry to a type checker: the example passes `mypy --strict`, and wrong calls
(a misspelt option, a wrong argument type, a missing await) fail it."""

import subprocess
import sys

import mypy  # noqa: F401  (requirements.txt: a missing checker fails, not skips)
from conftest import PACKAGE_DIR, REPO, TARGET

WRONG = '''
import seqsync

async def wrong(engine: seqsync.SyncEngine) -> None:
    await engine.sync_all(listner=None)
    await engine.list_rows("messages", seqsync.ListRowsOptions(limit="ten"))
    stats: seqsync.DatabaseStats = engine.stats()
'''


def mypy(*files):
    # One cache for both runs: the generated module is checked once.
    args = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--cache-dir",
            str(TARGET / "mypy-cache"), *map(str, files)]
    return subprocess.run(args, capture_output=True, text=True, env={"MYPYPATH": str(PACKAGE_DIR), "PATH": ""})


def test_the_example_type_checks_and_wrong_calls_do_not(tmp_path):
    example = mypy(REPO / "examples" / "python" / "sync_example.py")
    assert example.returncode == 0, example.stdout + example.stderr
    wrong = tmp_path / "wrong.py"
    wrong.write_text(WRONG)
    result = mypy(wrong)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Unexpected keyword argument "listner"' in result.stdout, result.stdout
    assert 'incompatible type "str"; expected "int"' in result.stdout, result.stdout
    assert "Coroutine" in result.stdout, result.stdout
