"""The graceful-restart state file: appends for peers coming up, atomic rewrites."""

from __future__ import annotations

import json
from pathlib import Path

from bgprr.io.state import LEGACY_FILE, STATE_FILE, PeerStateFile, load_expected_peers


def test_rewrite_then_appends_then_rewrite(tmp_path: Path) -> None:
    st = PeerStateFile(str(tmp_path))
    assert load_expected_peers(str(tmp_path)) == frozenset()
    st.rewrite({"10.0.0.2", "10.0.0.1"})
    assert st.written and st.rewrites == 1
    assert load_expected_peers(str(tmp_path)) == {"10.0.0.1", "10.0.0.2"}
    st.add({"10.0.0.3"})
    st.add(set())  # nothing to add: no write at all
    st.add({"10.0.0.4", "fd00::1"})
    assert st.appends == 2
    assert load_expected_peers(str(tmp_path)) == {
        "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "fd00::1"
    }
    st.rewrite({"10.0.0.4"})  # peers that went down are dropped
    assert load_expected_peers(str(tmp_path)) == {"10.0.0.4"}
    assert [p.name for p in tmp_path.iterdir()] == [STATE_FILE]  # no temporary left


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("# header\n10.0.0.1\n10.0.0.2\n10.0.")
    assert load_expected_peers(str(tmp_path)) == {"10.0.0.1", "10.0.0.2"}


def test_legacy_json_file_is_read(tmp_path: Path) -> None:
    (tmp_path / LEGACY_FILE).write_text(json.dumps({"established": ["10.0.0.9", 3]}))
    assert load_expected_peers(str(tmp_path)) == {"10.0.0.9"}
    (tmp_path / LEGACY_FILE).write_text("{not json")
    assert load_expected_peers(str(tmp_path)) == frozenset()
    st = PeerStateFile(str(tmp_path))
    st.rewrite({"10.0.0.1"})  # the new file wins once written
    assert load_expected_peers(str(tmp_path)) == {"10.0.0.1"}


def test_unwritable_directory_is_logged_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    st = PeerStateFile(str(blocker / "sub"))  # a path below a regular file
    st.rewrite({"10.0.0.1"})
    assert not st.written
    st.add({"10.0.0.2"})
    assert not st.written and st.appends == 0
