"""bench/tfb.py's choices of what to run: the server matrix, subsets of implementations and
test types, and the command line each server configuration starts (no server started)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def tfb(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    import tfb

    return tfb


def test_the_server_matrix_runs_raw_and_kettle_on_every_configuration(tfb: ModuleType) -> None:
    import tfb_specs

    pairs = tfb_specs.combinations(smoke=False, servers=True)
    labels = [server.label for _, server in pairs[: len(tfb_specs.SERVER_MATRIX)]]
    assert [impl.name for impl, _ in pairs] == ["raw ASGI"] * 7 + ["kettle"] * 7
    assert labels == [
        "granian asgi (asyncio)",
        "granian asgi",
        "granian asgi (rloop, no database)",
        "granian asgi (rust tasks)",
        "granian asgi (2 threads)",
        "uvicorn (asyncio)",
        "uvicorn",
    ]
    assert len({server.slug for _, server in pairs}) == 7  # one log file per configuration
    only = tfb_specs.combinations(smoke=False, only=["blacksheep", "django"], servers=True)
    assert {impl.name for impl, _ in only} == {"blacksheep"}  # WSGI apps have no place here


def test_each_configuration_starts_with_its_own_flags(tfb: ModuleType) -> None:
    import tfb_specs

    by_label = {
        server.label: server.command("app_raw:app", 8000) for server in tfb_specs.SERVER_MATRIX
    }

    def flag(cmd: list[str], name: str) -> str:
        return cmd[cmd.index(name) + 1]

    assert flag(by_label["granian asgi"], "--loop") == "uvloop"  # what `kettle run` uses
    assert flag(by_label["granian asgi (asyncio)"], "--loop") == "asyncio"
    assert flag(by_label["granian asgi (rloop, no database)"], "--loop") == "rloop"
    rust = by_label["granian asgi (rust tasks)"]
    assert (flag(rust, "--loop"), flag(rust, "--task-impl")) == ("uvloop", "rust")
    threads = by_label["granian asgi (2 threads)"]
    assert flag(threads, "--runtime-threads") == "2"
    assert flag(by_label["granian asgi"], "--runtime-threads") == "1"
    assert flag(by_label["uvicorn"], "--loop") == "uvloop"
    assert flag(by_label["uvicorn (asyncio)"], "--loop") == "asyncio"
    assert flag(by_label["uvicorn"], "--http") == "httptools"
    emmett = tfb_specs.GRANIAN_RSGI.command("app_emmett:app", 8000)
    assert flag(emmett, "--interface") == "rsgi"


def test_every_new_peer_is_a_row_of_the_full_run(tfb: ModuleType) -> None:
    import tfb_specs

    pairs = {(impl.name, server.label) for impl, server in tfb_specs.combinations(smoke=False)}
    assert {
        ("kettle (def, sync ORM)", "granian asgi"),
        ("emmett", "granian rsgi"),
        ("blacksheep", "granian asgi"),
        ("litestar", "granian asgi"),
    } <= pairs
    assert ("kettle (def, sync ORM)", "granian asgi") in {
        (impl.name, server.label)
        for impl, server in tfb_specs.combinations(smoke=False, only=["kettle (def, sync ORM)"])
    }


def test_a_subset_of_test_types_keeps_their_order(tfb: ModuleType) -> None:
    import tfb_specs

    settings = tfb.Settings(tests=("updates", "db"))
    assert [test.name for test in tfb.selected_tests(settings)] == ["db", "updates"]
    assert len(tfb.selected_tests(tfb.Settings())) == 6
    [rloop] = [server for server in tfb_specs.SERVER_MATRIX if server.loop == "rloop"]
    names = [test.name for test in tfb.selected_tests(tfb.Settings(), rloop)]
    assert names == ["plaintext", "json"]  # asyncpg cannot connect on rloop


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tests", "db,fortune"], "--tests: unknown fortune; choose from plaintext,json,db,"),
        (["--only", "bottle"], "--only bottle names no implementation; they are: raw ASGI,"),
    ],
)
def test_a_wrong_subset_is_a_usage_error_naming_the_choices(
    tfb: ModuleType, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        tfb.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
