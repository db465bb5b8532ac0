"""Autosaves: one per running instance, offered for the file opened, only once its owner is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from app.model.design import Design, LayerNode
from app.model.recovery import Autosave, key_for, orphans


def a_design(width: int = 4) -> Design:
    return Design(
        input_shape=(4,), layers=[LayerNode("Linear", {"in_features": 4, "out_features": width})]
    )


def test_a_running_instances_autosave_is_not_offered(tmp_path):
    mine = Autosave(tmp_path)
    mine.write(a_design().to_json(), None)
    assert orphans(None, tmp_path) == []  # its lock is held: the instance is alive
    mine.close()  # stopped without saving or discarding: a crash, as far as anyone knows
    [orphan] = orphans(None, tmp_path)
    design, source = orphan.load()
    assert design.layers[0].args["out_features"] == 4 and source is None
    orphan.discard()
    assert orphans(None, tmp_path) == [] and not list(tmp_path.iterdir())


def test_autosaves_are_offered_for_their_own_file_only(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    folder = tmp_path / "recovery"
    first, second = Autosave(folder), Autosave(folder)
    first.write(a_design(5).to_json(), a)
    second.write(a_design(6).to_json(), b)
    first.close()
    second.close()
    [for_a] = orphans(a, folder)
    design, source = for_a.load()
    assert source == a.resolve() and design.layers[0].args["out_features"] == 5
    for_a.release()
    [for_b] = orphans(b, folder)
    assert for_b.load()[1] == b.resolve()
    for_b.release()
    assert orphans(None, folder) == []


def test_saving_under_a_new_name_moves_the_autosave_to_that_name(tmp_path):
    folder = tmp_path / "recovery"
    mine = Autosave(folder)
    mine.write(a_design().to_json(), None)
    mine.write(a_design().to_json(), tmp_path / "named.json")
    assert [p.name.split(".")[0] for p in folder.glob("*.json")] == [
        key_for(tmp_path / "named.json")
    ]
    mine.discard()
    assert not list(folder.glob("*.json"))


def test_an_offered_autosave_is_locked_against_a_second_instance(tmp_path):
    mine = Autosave(tmp_path)
    mine.write(a_design().to_json(), None)
    mine.close()
    [first] = orphans(None, tmp_path)
    assert orphans(None, tmp_path) == []  # a second instance starting now is not offered it
    first.release()
    assert len(orphans(None, tmp_path)) == 1


def test_an_unreadable_autosave_is_set_aside_not_lost(tmp_path):
    mine = Autosave(tmp_path)
    mine.write(a_design().to_json(), None)
    mine.close()
    mine.path.write_text("{ not json")
    [orphan] = orphans(None, tmp_path)
    try:
        orphan.load()
    except ValueError as err:
        assert "cannot be read" in str(err)
    else:
        raise AssertionError("an unreadable autosave loaded")
    kept = orphan.set_aside()
    assert kept.read_text() == "{ not json" and orphans(None, tmp_path) == []


def test_a_process_killed_mid_edit_leaves_its_autosave_to_recover(tmp_path):
    folder = tmp_path / "recovery"
    code = textwrap.dedent(f"""
        import sys, time
        from app.model.recovery import Autosave
        from tests.app.model.test_recovery import a_design
        mine = Autosave({str(folder)!r})
        mine.write(a_design(9).to_json(), None)
        print("written", flush=True)
        time.sleep(60)
    """)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline().strip() == "written"
        assert orphans(None, folder) == []  # alive: not offered
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
    [orphan] = orphans(None, folder)
    assert orphan.load()[0].layers[0].args["out_features"] == 9
    payload = json.loads(orphan.path.read_text())
    assert payload["format"] == "stepgrad.recovery"
    orphan.discard()


def test_lock_files_left_by_ended_instances_are_swept_live_and_young_ones_kept(tmp_path):
    live = Autosave(tmp_path)  # running, nothing autosaved yet
    ended = tmp_path / "999999-deadbeef.lock"  # an instance ended by SIGHUP, say
    ended.write_text("")
    starting = tmp_path / "999998-cafef00d.lock"  # made a moment ago, not locked yet
    starting.write_text("")
    old = os.stat(ended).st_mtime - 3600
    for path in (ended, live._lock.path):
        os.utime(path, (old, old))
    assert orphans(None, tmp_path) == []
    assert not ended.exists()
    assert live._lock.path.exists() and starting.exists()
    live.write(a_design().to_json(), None)  # its lock still guards its autosave
    assert orphans(None, tmp_path) == []
    live.close()
