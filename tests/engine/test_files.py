"""write_atomic: the whole file or the old one, with its mode and links kept, never a device."""

from __future__ import annotations

import os
import stat

import pytest

import engine
from engine.files import (
    FileTooLargeError,
    NotARegularFileError,
    parse_json,
    read_json,
    write_atomic,
)


def test_writes_text_bytes_and_a_writer(tmp_path):
    write_atomic(tmp_path / "a.txt", "héllo")
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    write_atomic(tmp_path / "c.bin", lambda out: out.write(b"xyz"))
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "c.bin").read_bytes() == b"xyz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.bin"]


@pytest.mark.parametrize("mode", [0o644, 0o755, 0o600, 0o640])
def test_an_existing_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "f"
    path.write_text("old")
    path.chmod(mode)
    write_atomic(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == mode


def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640


def test_a_link_is_followed_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_fifo_and_a_folder_are_refused_untouched(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFileError, match="not a regular file") as err:
        write_atomic(fifo, "x")
    assert err.value.filename == str(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(NotARegularFileError, match="a folder"):
        write_atomic(tmp_path, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs a character device")
def test_a_character_device_is_refused():
    with pytest.raises(NotARegularFileError):
        write_atomic("/dev/null", "x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_names_the_path_given(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError) as err:
            write_atomic(folder / "out.py", "x")
    finally:
        folder.chmod(0o700)
    assert err.value.filename == str(folder / "out.py")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f"
    path.write_text("old")

    def broken(out):
        out.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as err:
        write_atomic(path, broken)
    assert err.value.filename == str(path)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f"]


def test_engine_save_keeps_mode_and_refuses_a_fifo(tmp_path):
    path = tmp_path / "w.npz"
    engine.save({"a": engine.ones(2)}, path)
    path.chmod(0o644)
    engine.save({"a": engine.zeros(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert engine.load(path)["a"].tolist() == [0.0, 0.0]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFileError):
        engine.save({"a": engine.ones(1)}, fifo)


def test_open_regular_reads_a_file_and_refuses_folders_fifos_and_devices(tmp_path):
    from engine.files import FileTooLargeError, open_regular

    (tmp_path / "f").write_bytes(b"abc")
    with open_regular(tmp_path / "f") as f:
        assert f.read() == b"abc"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in (tmp_path, fifo, "/dev/zero"):
        with pytest.raises(NotARegularFileError) as caught:
            open_regular(path)  # a FIFO with no writer would block a plain open()
        assert str(caught.value).startswith(f"{path}: ") and "Errno" not in str(caught.value)
    with pytest.raises(FileTooLargeError, match=r"f: 3 bytes, more than the 2 bytes"):
        open_regular(tmp_path / "f", max_bytes=2)
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing")


def test_parse_json_refuses_deep_nesting_before_parsing():
    assert parse_json('{"a": ["[[[", {"b": 1}]}', max_depth=3) == {"a": ["[[[", {"b": 1}]}
    with pytest.raises(ValueError, match="nested 4 levels deep, more than the 3 allowed"):
        parse_json("[[[[]]]]", max_depth=3)
    with pytest.raises(ValueError, match="nested 100000 levels deep"):
        parse_json("[" * 100_000)  # json.loads would raise RecursionError


def test_read_json_bounds_size_and_kind(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"x": [1, 2]}')
    assert read_json(path, max_bytes=100) == {"x": [1, 2]}
    with pytest.raises(FileTooLargeError, match="more than the 5 bytes"):
        read_json(path, max_bytes=5)
    path.write_bytes(b'{"x": "\xff"}')
    with pytest.raises(UnicodeDecodeError):
        read_json(path, max_bytes=100)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(NotARegularFileError):
        read_json(tmp_path / "pipe", max_bytes=100)
