from pathlib import Path

from streams.local_state import mark_clean_exit, prepare_table_dir


def test_stores_survive_a_clean_exit_and_are_wiped_after_a_crash(tmp_path: Path) -> None:
    tabledir = tmp_path / "app-data" / "tables"
    (tabledir / "positions.db").mkdir(parents=True)

    assert prepare_table_dir(tabledir) is True  # no clean mark: a crash, rebuild
    assert not tabledir.exists()

    (tabledir / "positions.db").mkdir(parents=True)
    mark_clean_exit(tabledir)
    assert prepare_table_dir(tabledir) is False  # a clean exit: keep the stores
    assert (tabledir / "positions.db").exists()
    assert prepare_table_dir(tabledir) is True  # the mark was consumed by that start


def test_a_first_start_has_nothing_to_wipe(tmp_path: Path) -> None:
    assert prepare_table_dir(tmp_path / "never-created") is False
