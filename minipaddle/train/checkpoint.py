"""Checkpoints: Paddle v1's parameter files plus what an exact resume needs.

Layout of one checkpoint, ``SAVE_DIR/pass-%05d/``:

* one file per parameter, named exactly after the parameter (``___conv_0__.w0``), in the format of
  Paddle v1's ``Parameter::save``: a 16-byte little-endian header ``int32 format = 0``,
  ``uint32 value_size = 4``, ``uint64 element_count``, then the float32 values in C order.  A
  directory of these files is what Paddle itself wrote, so Paddle models load here
  (:func:`load_parameters`) and ours load in Paddle;
* ``_minipaddle_state.npz``: optimizer buffers, random state and the like (arrays only, written
  without pickling, so loading never executes data);
* ``_minipaddle_meta.json``: the caller's counters, seed, versions, plus ``"parameters"`` (the
  parameter file names) and ``"files"`` (every file of the checkpoint and its size in bytes), which
  :func:`latest_checkpoint` uses to recognise a complete checkpoint;
* ``_minipaddle_config.yaml``: the resolved config, when given.

A pass directory appears atomically: it is written as ``pass-%05d.tmp/``, every file and the
directory are fsynced, the directory is renamed to its final name and the parent is fsynced.  A
crash at any moment leaves the previous complete checkpoints (plus perhaps a ``.tmp`` or
``.old-*`` directory, which are never loaded and are removed by the next save of that pass) or the
new complete one, never a half-written directory under a final name.

Test hook: with ``MINIPADDLE_TEST_KILL_AT=PHASE:K`` in the environment the process SIGKILLs
itself the K-th time a save reaches ``PHASE`` (:mod:`.killpoints`, ``SAVE_PHASES``), so crash
tests kill every phase of a save on purpose, on a machine of any speed (``docs/training.md``).
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Mapping

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: runs are not locked
    fcntl = None  # type: ignore[assignment]

import numpy as np

from ..config import ConfigError
from ..runtime.backend import to_host
from .killpoints import reached

__all__ = [
    "CONFIG_FILE", "LOCK_FILE", "META_FILE", "RESERVED_PREFIX", "STATE_FILE", "SaveDirLock",
    "decode_paddle_parameter", "encode_paddle_parameter", "latest_checkpoint",
    "load_checkpoint_extras", "load_parameters", "pass_dir_name", "read_paddle_parameter",
    "save_checkpoint", "write_paddle_parameter",
]

#: Files of ours inside a pass directory start with this prefix; anything else is a parameter.
RESERVED_PREFIX = "_minipaddle_"
STATE_FILE = RESERVED_PREFIX + "state.npz"
META_FILE = RESERVED_PREFIX + "meta.json"
CONFIG_FILE = RESERVED_PREFIX + "config.yaml"
#: In the save directory itself: the lock a training run holds (its process id inside).
LOCK_FILE = RESERVED_PREFIX + "lock"

_HEADER = struct.Struct("<iIQ")  # int32 format, uint32 value_size, uint64 element_count
HEADER_SIZE = _HEADER.size       # 16
_VALUE_DTYPES = {4: np.dtype("<f4"), 8: np.dtype("<f8")}
_MISSING_STRATEGIES = ("fail", "rand", "zero")
# Paddle v1's Parameter() defaults (initial_mean 0, initial_std 0.01, Gaussian strategy 0), used
# by missing="rand" when the caller hands an rng instead of keeping its own initial values.
_RAND_STD = 0.01
_META_KEYS = ("parameters", "files")



def pass_dir_name(pass_id: int) -> str:
    """``pass-%05d``, Paddle's name for the directory of one pass."""
    return "pass-%05d" % _check_pass_id(pass_id)


# --------------------------------------------------------------------------------------------
# Paddle v1 parameter files
# --------------------------------------------------------------------------------------------

def encode_paddle_parameter(array, where="parameter") -> bytes:
    """``array`` in Paddle v1's ``Parameter::save`` format: the 16-byte header, then the
    values as float32 in C order (also the raw members of a v2 parameter tar)."""
    arr = to_host(array)            # a device (CuPy) array is copied to the host
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{where}: cannot store an array of dtype {arr.dtype} "
                         "(Paddle parameters are real numbers)")
    values = np.ascontiguousarray(arr, dtype="<f4").reshape(-1)
    return _HEADER.pack(0, 4, values.size) + values.tobytes()


def decode_paddle_parameter(data: bytes, where="parameter",
                            expected_count: int | None = None) -> np.ndarray:
    """The 1-D float32 values of bytes in ``Parameter::save`` format; a ConfigError naming
    ``where`` for a bad header, a size that disagrees with it or with ``expected_count``."""
    count, dtype = _parse_header(where, data, len(data))
    if expected_count is not None and count != expected_count:
        raise ConfigError(f"{where}: holds {count} values, expected {expected_count}")
    return np.frombuffer(data, dtype=dtype, count=count, offset=HEADER_SIZE).astype(np.float32)


def write_paddle_parameter(path, array) -> None:
    """Write ``array`` to ``path`` in Paddle v1's ``Parameter::save`` format (float32, C order).

    The file is flushed and fsynced before returning; atomicity is the caller's business (the
    checkpoint writes a whole directory and renames it).
    """
    data = encode_paddle_parameter(array, f"parameter file {path}")
    # the header, then the values: a crash test can kill between the two (file-partial)
    _write_bytes_file(Path(path), data[:HEADER_SIZE], data[HEADER_SIZE:])


def _parse_header(what: str, head: bytes, file_size: int) -> tuple[int, np.dtype]:
    """Check a parameter's header against its size; return (element_count, value dtype).
    ``what`` names the data in messages ("parameter file PATH", a tar member, ...)."""
    if file_size < HEADER_SIZE or len(head) < HEADER_SIZE:
        raise ConfigError(f"{what}: {file_size} bytes, shorter than Paddle's "
                          f"{HEADER_SIZE}-byte parameter header "
                          "(truncated or not a parameter file)")
    fmt, value_size, count = _HEADER.unpack(head[:HEADER_SIZE])
    if fmt != 0:
        raise ConfigError(f"{what}: header format is {fmt}, expected 0 "
                          "(Paddle's PARAM_FORMAT_ORIGINAL); not a Paddle v1 parameter file")
    if value_size not in _VALUE_DTYPES:
        raise ConfigError(f"{what}: header value_size is {value_size}, expected 4 "
                          "(float32) or 8 (float64)")
    payload = file_size - HEADER_SIZE
    if count * value_size != payload:
        raise ConfigError(f"{what}: header says {count} values of {value_size} "
                          f"bytes ({count * value_size} bytes) but the file holds {payload} bytes "
                          "after the header (truncated or corrupt)")
    return count, _VALUE_DTYPES[value_size]


def _read_header(path) -> int:
    """Element count of a parameter file, checking the header only (cheap)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(HEADER_SIZE)
    except OSError as exc:
        raise ConfigError(f"parameter file {path}: cannot read: {exc.strerror or exc}") from None
    return _parse_header(f"parameter file {path}", head, size)[0]


def read_paddle_parameter(path, expected_count: int | None = None) -> np.ndarray:
    """Read a Paddle v1 parameter file into a 1-D float32 array.

    Accepts ``value_size`` 8 (float64 values, converted to float32).  Raises
    :class:`~minipaddle.config.ConfigError` naming the file when the file is shorter than the
    header, the format is not 0, the value size is not 4 or 8, the element count disagrees with
    the file size, or (when given) with ``expected_count``.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ConfigError(f"parameter file {path}: cannot read: {exc.strerror or exc}") from None
    return decode_paddle_parameter(data, f"parameter file {path}", expected_count)


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------

def _check_pass_id(pass_id) -> int:
    if isinstance(pass_id, bool) or not isinstance(pass_id, (int, np.integer)) or pass_id < 0:
        raise ValueError(f"pass_id must be a non-negative integer, got {pass_id!r}")
    return int(pass_id)


def _check_param_name(name) -> str:
    """A parameter name becomes a file name: refuse what cannot be one, or would clash."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"parameter name {name!r} cannot be a checkpoint file name")
    bad = ("/" in name or "\\" in name or "\0" in name or name in (".", "..")
           or (os.sep != "/" and os.sep in name))
    if bad:
        raise ConfigError(f"parameter name {name!r} cannot be a checkpoint file name "
                          "(contains a path separator or is '.'/'..')")
    if name.startswith(RESERVED_PREFIX):
        raise ConfigError(f"parameter name {name!r} starts with {RESERVED_PREFIX!r}, which "
                          "checkpoints reserve for their own files")
    return name


def _fsync_dir(path) -> None:
    """Make a directory's entries (creations, renames) durable. No-op where unsupported."""
    if os.name == "nt":  # Windows cannot open a directory for fsync
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems refuse fsync on directories
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(fd)


def _write_bytes_file(path: Path, head, rest=None) -> int:
    """Write ``head`` (bytes, or a function filling the open file) then ``rest`` (bytes) to
    ``path``, flush and fsync; return the file's size."""
    with open(path, "wb") as f:
        if callable(head):
            head(f)
        else:
            f.write(head)
        if rest is not None:
            f.flush()
            reached("file-partial")
            f.write(rest)
        f.flush()
        reached("file-written")
        os.fsync(f.fileno())
        reached("file-synced")
        return os.fstat(f.fileno()).st_size


def _state_arrays(state: Mapping | None) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key, value in (state or {}).items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"checkpoint state keys must be non-empty strings, got {key!r}")
        arr = to_host(value)
        if arr.dtype.hasobject:
            raise ValueError(f"checkpoint state {key!r}: arrays of Python objects cannot be "
                             "saved (checkpoints never pickle); store numbers")
        out[key] = arr
    return out


def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
    """What ``np.savez`` writes, but with any key (even 'file') and never pickling."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in arrays.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def save_checkpoint(save_dir, pass_id: int, parameters: Mapping[str, np.ndarray], *,
                    state: Mapping[str, np.ndarray] | None = None, meta: Mapping | None = None,
                    config_yaml: str | None = None) -> Path:
    """Write ``save_dir/pass-%05d/`` atomically and return its path.

    Writes into ``pass-%05d.tmp/`` (a stale one from a crash is removed first), fsyncs every file
    and the directory, then renames it to the final name and fsyncs ``save_dir``.  Re-saving an
    existing pass moves the old directory aside to ``pass-%05d.old-<random>``, renames the new one
    in and then deletes the old one.  ``meta`` must be JSON-serialisable and must not use the keys
    ``"parameters"`` and ``"files"``, which the checkpoint writes itself.
    """
    name = pass_dir_name(pass_id)
    params = {_check_param_name(k): v for k, v in parameters.items()}
    arrays = _state_arrays(state)
    user_meta = dict(meta or {})
    for key in _META_KEYS:
        if key in user_meta:
            raise ValueError(f"checkpoint meta key {key!r} is reserved (the checkpoint writes it)")
    json.dumps(user_meta)  # fail before touching the disk when it is not serialisable
    if config_yaml is not None and not isinstance(config_yaml, str):
        raise TypeError(f"config_yaml must be a str, got {type(config_yaml).__name__}")

    save_dir = Path(save_dir)
    reached("start")
    if not save_dir.is_dir():
        save_dir.mkdir(parents=True, exist_ok=True)
        _fsync_dir(save_dir.parent)
    final = save_dir / name
    tmp = save_dir / (name + ".tmp")
    _remove_tree(tmp)
    tmp.mkdir()
    reached("tmp-created")

    files: dict[str, int] = {}
    for pname, value in params.items():
        write_paddle_parameter(tmp / pname, value)
        files[pname] = (tmp / pname).stat().st_size
    files[STATE_FILE] = _write_bytes_file(tmp / STATE_FILE, lambda f: _write_npz(f, arrays))
    if config_yaml is not None:
        files[CONFIG_FILE] = _write_bytes_file(tmp / CONFIG_FILE, config_yaml.encode("utf-8"))
    full_meta = dict(user_meta, parameters=list(params), files=files)
    text = json.dumps(full_meta, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    _write_bytes_file(tmp / META_FILE, text[:len(text) // 2], text[len(text) // 2:])
    _fsync_dir(tmp)
    reached("tmp-synced")

    if final.exists() or final.is_symlink():
        os.replace(final, save_dir / f"{name}.old-{secrets.token_hex(6)}")
        reached("old-moved")
    reached("before-rename")
    os.replace(tmp, final)
    reached("renamed")
    _fsync_dir(save_dir)
    reached("parent-synced")
    # the superseded version, and any left by a crash between the two renames above
    for stale in save_dir.glob(name + ".old-*"):
        _remove_tree(stale)
    reached("done")
    return final


# --------------------------------------------------------------------------------------------
# The save-directory lock


class SaveDirLock:
    """An exclusive lock on a save directory for as long as a run uses it.

    ``fcntl.flock`` on ``SAVE_DIR/_minipaddle_lock``, which holds the owner's process id.  The
    kernel drops the lock when its process ends, however it ends, so a lock left by a killed run
    is simply taken over.  A second process fails at once with a ConfigError naming the
    directory and the holder's pid.  Within one process the lock is shared: every SaveDirLock
    on the same directory counts, and the last :meth:`release` unlocks.  Where ``fcntl`` does
    not exist (Windows) runs are not locked.
    """

    _held: dict[str, list] = {}     # real path -> [open lock file, count] in this process

    def __init__(self, save_dir):
        self._released = True           # until this object holds a share of the lock
        self.path = Path(save_dir)
        self.path.mkdir(parents=True, exist_ok=True)
        self._key = os.path.realpath(self.path)
        held = self._held.get(self._key)
        if held is not None:
            held[1] += 1
            self._released = False
            return
        lock_file = open(self.path / LOCK_FILE, "a+", encoding="ascii")
        if fcntl is not None:
            try:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock_file.seek(0)
                holder = lock_file.read().strip() or "unknown"
                lock_file.close()
                raise ConfigError(f"save directory {self.path} is in use by another run "
                                  f"(process {holder}, holding {self.path / LOCK_FILE}); "
                                  "wait for it to finish or choose another --save-dir") from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"{os.getpid()}\n")
        lock_file.flush()
        self._held[self._key] = [lock_file, 1]
        self._released = False

    def release(self) -> None:
        """Give the lock up (once per SaveDirLock; the file stays, holding the last pid)."""
        if self._released:
            return
        self._released = True
        held = self._held[self._key]
        held[1] -= 1
        if held[1] == 0:
            del self._held[self._key]
            held[0].close()        # closing the file releases the flock

    def __del__(self) -> None:
        self.release()

    def __enter__(self) -> "SaveDirLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# --------------------------------------------------------------------------------------------
# Finding and loading
# --------------------------------------------------------------------------------------------

def _read_meta(path: Path) -> dict | None:
    """The meta dict of a pass directory, None when absent."""
    meta_path = path / META_FILE
    try:
        text = meta_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"checkpoint meta {meta_path}: cannot read: {exc}") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"checkpoint meta {meta_path}: not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"checkpoint meta {meta_path}: expected a JSON object")
    return meta


def _incomplete(path: Path) -> str | None:
    """Why a pass directory is not a complete checkpoint of ours, or None when it is one:
    its meta is readable and every file it lists is there with the listed size."""
    try:
        meta = _read_meta(path)
    except ConfigError as exc:
        return exc.reason
    if meta is None:
        return f"no {META_FILE}"
    names, files = meta.get("parameters"), meta.get("files")
    if not isinstance(names, list) or not isinstance(files, dict):
        return f"{META_FILE} lacks the 'parameters' list or the 'files' mapping"
    if not all(isinstance(n, str) and n in files for n in names) or STATE_FILE not in files:
        return f"{META_FILE} does not list every parameter file and {STATE_FILE}"
    for fname, size in files.items():
        if not isinstance(fname, str) or "/" in fname or "\\" in fname:
            return f"{META_FILE} lists a file name that is not a plain name: {fname!r}"
        try:
            actual = (path / fname).stat().st_size
        except OSError:
            return f"{fname} is missing"
        if actual != size:
            return f"{fname} has {actual} bytes, {META_FILE} says {size}"
    for pname in names:
        try:
            _read_header(path / pname)
        except ConfigError as exc:
            return exc.reason
    return None


def latest_checkpoint(save_dir, skipped: list | None = None) -> Path | None:
    """The complete ``pass-%05d`` directory with the highest pass number, or None.

    ``*.tmp`` and ``*.old-*`` directories are never returned, and neither is a pass directory
    whose meta is missing or unreadable or lists a file that is missing or has the wrong size.
    Pass directories newer than the one returned that were passed over for that are appended
    to ``skipped`` (when given) as ``(path, why)``.
    """
    save_dir = Path(save_dir)
    try:
        entries = list(os.scandir(save_dir))
    except (FileNotFoundError, NotADirectoryError):
        return None
    passes = []
    for entry in entries:
        m = re.fullmatch(r"pass-(\d{5,})", entry.name)
        if m and entry.name == "pass-%05d" % int(m.group(1)) and entry.is_dir():
            passes.append((int(m.group(1)), entry.name))
    for _, name in sorted(passes, reverse=True):
        why = _incomplete(save_dir / name)
        if why is None:
            return save_dir / name
        if skipped is not None:
            skipped.append((save_dir / name, why))
    return None


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def load_parameters(path, expected: Mapping[str, tuple[int, ...]], *, missing: str = "fail",
                    rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Read one Paddle parameter file per expected parameter, reshaped (C order) to its shape.

    ``missing`` follows Paddle's ``--load_missing_parameter_strategy``:

    * ``"fail"``: any missing parameter file, wrong element count, unreadable file, file with
      NaN or infinite values or extra parameter file (a file not starting with ``_minipaddle_``)
      raises one ConfigError listing every problem;
    * ``"rand"``: missing parameters are left out of the result, so the caller keeps its own
      random initial values; with ``rng`` they are returned drawn from Paddle's default
      initialisation N(0, 0.01^2) instead;
    * ``"zero"``: missing parameters are returned as zeros.

    With ``"rand"`` and ``"zero"`` extra files are ignored (Paddle loads only the network's
    parameters), but size mismatches, corrupt files and non-finite values still fail.  Works on
    directories Paddle wrote (parameter files only).  Arrays are float32.
    """
    if missing not in _MISSING_STRATEGIES:
        raise ValueError(f"missing must be one of {', '.join(_MISSING_STRATEGIES)}, "
                         f"got {missing!r}")
    path = Path(path)
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a directory"
        raise ConfigError(f"model directory {path} {what}")

    result: dict[str, np.ndarray] = {}
    absent: list[str] = []
    problems: list[str] = []
    for name, shape in expected.items():
        _check_param_name(name)
        shape = tuple(int(d) for d in shape)
        need = int(np.prod(shape, dtype=np.int64))
        fpath = path / name
        if not fpath.is_file():
            absent.append(name)
            continue
        try:
            count = _read_header(fpath)
        except ConfigError as exc:
            problems.append(f"{name}: {exc.reason}")
            continue
        if count != need:
            problems.append(f"{name}: file has {count} values, the network needs shape "
                            f"{_fmt_shape(shape)} = {need} values")
            continue
        try:
            values = read_paddle_parameter(fpath, need).reshape(shape)
        except ConfigError as exc:  # changed under our feet since the header check
            problems.append(f"{name}: {exc.reason}")
            continue
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        if bad:
            problems.append(f"{name}: {bad} of its {values.size} values are NaN or infinite")
            continue
        result[name] = values

    extra: list[str] = []
    if missing == "fail":
        extra = sorted(e.name for e in os.scandir(path)
                       if e.is_file() and not e.name.startswith(RESERVED_PREFIX)
                       and e.name not in expected)
        if absent:
            problems.insert(0, f"missing parameter files: {', '.join(absent)}")
        if extra:
            problems.append(f"parameter files the network does not have: {', '.join(extra)}")
    if problems:
        lines = "\n".join("  " + p for p in problems)
        n = len(problems)
        raise ConfigError(f"model directory {path} does not match the network "
                          f"({n} problem{'s' if n != 1 else ''}; "
                          f"--load_missing_parameter_strategy={missing}):\n{lines}")

    for name in absent:
        shape = tuple(int(d) for d in expected[name])
        if missing == "zero":
            result[name] = np.zeros(shape, dtype=np.float32)
        elif rng is not None:  # "rand" with an rng
            result[name] = rng.normal(0.0, _RAND_STD, size=shape).astype(np.float32)
    return result


def load_checkpoint_extras(path) -> tuple[dict[str, np.ndarray], dict, str | None]:
    """``(state, meta, config_yaml)`` of a checkpoint directory.

    The state is read without pickling.  A directory without our files (one Paddle wrote) gives
    ``({}, {}, None)``.  A file the meta lists but that is missing, or an unreadable file, raises
    ConfigError naming it.
    """
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"checkpoint directory {path} does not exist or is not a directory")
    meta = _read_meta(path)
    listed = meta.get("files", {}) if isinstance(meta, dict) else {}
    for fname in (STATE_FILE, CONFIG_FILE):
        if fname in listed and not (path / fname).is_file():
            raise ConfigError(f"checkpoint {path}: {fname} is listed in {META_FILE} but missing")

    state: dict[str, np.ndarray] = {}
    state_path = path / STATE_FILE
    if state_path.is_file():
        try:
            with np.load(state_path, allow_pickle=False) as npz:
                state = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise ConfigError(f"checkpoint state {state_path}: cannot read: {exc}") from None

    config_yaml = None
    config_path = path / CONFIG_FILE
    if config_path.is_file():
        try:
            config_yaml = config_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"checkpoint config {config_path}: cannot read: {exc}") from None
    return state, (meta if meta is not None else {}), config_yaml
