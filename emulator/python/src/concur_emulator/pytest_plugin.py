"""The pytest plugin of concur-emulator (registered through the `pytest11` entry point, so
installing the package is enough).

Fixtures:

- `concur_emulator` (function scope): the session's emulator, **reset before each test** (apps,
  companies, users, tokens, queued faults, the virtual clock and the journal back to the start
  state), so tests neither see each other's companies and journal entries nor pay for a new
  process each.
- `concur_emulator_session` (session scope): the same emulator without the reset, for
  session-scoped fixtures of your own. One `concur-emulator` process per test session (per
  worker with pytest-xdist), started on first use, stopped at the end.

Options: `--concur-emulator-arg=FLAG` (repeatable) or the ini setting `concur_emulator_args`
pass flags to the program (`--rotate never`, `--seed seed.json`, ...); `CONCUR_EMULATOR_BINARY`
names another program than the bundled one.
"""

from __future__ import annotations

import shlex
from typing import Iterator, List

import pytest

from concur_emulator import Emulator


def pytest_addoption(parser: pytest.Parser) -> None:
    """Registers `--concur-emulator-arg` and the `concur_emulator_args` ini setting."""
    group = parser.getgroup("concur-emulator")
    group.addoption(
        "--concur-emulator-arg",
        action="append",
        default=[],
        dest="concur_emulator_arg",
        metavar="FLAG",
        help="a flag for the concur-emulator program (repeatable; shell-split)",
    )
    parser.addini(
        "concur_emulator_args",
        type="args",
        default=[],
        help="flags for the concur-emulator program the concur_emulator fixture starts",
    )


def _args(config: pytest.Config) -> List[str]:
    args: List[str] = list(config.getini("concur_emulator_args"))
    for option in config.getoption("concur_emulator_arg") or []:
        args += shlex.split(option)
    return args


@pytest.fixture(scope="session")
def concur_emulator_session(pytestconfig: pytest.Config) -> Iterator[Emulator]:
    """One emulator for the whole session, never reset by the plugin."""
    with Emulator(*_args(pytestconfig)) as emulator:
        yield emulator


@pytest.fixture
def concur_emulator(concur_emulator_session: Emulator) -> Emulator:
    """The session's emulator, reset to its start state before this test."""
    concur_emulator_session.reset()
    return concur_emulator_session
