"""What every test shares: its own ScratchNet home and working folder, so that nothing a test does
(an autosave, a crash log, a checkpoint saved under the default name) lands in the user's folders or
the repository, or is offered to the next test's app at start."""

from __future__ import annotations

import pytest

from tui.safety import HOME_ENV


@pytest.fixture(autouse=True)
def own_folders(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path_factory.mktemp("scratchnet-home")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
