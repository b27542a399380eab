"""A desk's stream state on disk: what lets the next batch go on without re-reading the store.

The state (the duplicate index and the online clusterer, see ``storydesk.stream.StreamState``) is
saved as pickle: its numpy arrays and HNSW graphs travel as raw bytes, so 100k articles save and load
in seconds. Pickle runs code named in the file, so reading admits only the classes the state is made
of: a tampered or foreign file fails with ``SnapshotError`` instead of running anything. Nor may it
make the reader allocate what the file does not hold (``bytearray(2_000_000_000)``, an empty numpy
array of a huge shape), and a file over ``ingest.max_stream_state_bytes`` is refused before loading.

The file sits next to the database and names the batch it belongs to (a token the database keeps
too). It is written to a temporary name first and moved into place only after the batch commits, so
a crash leaves either the old pair or a mismatch, never a state that runs ahead of the database.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

from storydesk.errors import SnapshotError

__all__ = ["FORMAT", "MAGIC", "commit", "dumps", "loads", "path_for", "read", "stage"]

# Goes up whenever what the state holds changes shape or meaning: an older state starts over.
# 6: the cluster classes moved into the storydesk.cluster package (their pickled paths changed).
# 7: the clusterer's parts moved into their modules (stats, terms, tiers, events); the state keeps
#    the originals consolidation placed elsewhere than the saved clusterer (``StreamState.settled``).
FORMAT = 7
_PREFIX = b"storydesk-stream-state "
MAGIC = _PREFIX + f"{FORMAT}\n".encode("ascii")

# Everything a StreamState pickles to (tests/test_stream.py resumes from real saved states).
_ALLOWED: dict[str, frozenset[str]] = {
    "builtins": frozenset({"set", "frozenset", "list", "dict", "tuple", "bytearray", "complex"}),
    "collections": frozenset({"OrderedDict", "defaultdict"}),
    "numpy": frozenset({"dtype", "ndarray"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "datasketch.hashfunc": frozenset({"sha1_hash32"}),
    "datasketch.lean_minhash": frozenset({"LeanMinHash"}),
    "datasketch.lsh": frozenset({"MinHashLSH"}),
    "datasketch.minhash": frozenset({"MinHash"}),
    "datasketch.storage": frozenset({"DictListStorage", "DictSetStorage"}),
    "hnswlib": frozenset({"Index"}),
    "storydesk.cluster.items": frozenset({"ClusterItem"}),
    "storydesk.cluster.index": frozenset({"ExactIndex", "HnswlibIndex", "UsearchIndex"}),
    "storydesk.cluster.online": frozenset({"OnlineClusterer"}),
    "storydesk.cluster.stats": frozenset({"StoryStats", "SharedPairs"}),
    "storydesk.cluster.terms": frozenset({"TermWeights"}),
    "storydesk.cluster.tiers": frozenset({"Tiers"}),
    "storydesk.cluster.events": frozenset({"Events", "StorySplit", "StoryMove"}),
    "storydesk.config": frozenset({"ClusterSettings", "DedupSettings"}),
    "storydesk.dedup": frozenset({"DuplicateIndex", "_Entry"}),
    "storydesk.models": frozenset({"DedupResult", "Explanation", "StoryMerge", "WireOrigin"}),
}


def _lsh_method(obj: Any, name: str) -> Any:
    """``getattr`` as pickle may call it: only for the one bound method MinHashLSH keeps (``_H``)."""
    from datasketch.lsh import MinHashLSH

    if isinstance(obj, MinHashLSH) and name == "_byteswap":
        return obj._byteswap
    raise SnapshotError(f"stream state asks for attribute {name!r} of {type(obj).__name__}")


def _bytearray(*args: Any) -> bytearray:
    """``bytearray`` as pickle may call it: from bytes the file holds, never from a size to allocate."""
    if args and isinstance(args[0], int):
        raise SnapshotError(f"stream state asks to allocate {args[0]:,} bytes, which a state never does")
    return bytearray(*args)


def _guarded_reconstruct(reconstruct: Any) -> Any:
    """numpy's ``_reconstruct`` as pickle may call it: numpy pickles an empty array and fills it from
    the file's bytes, so any other shape is an allocation the file does not pay for."""

    def call(cls: Any, shape: Any, dtype: Any) -> Any:
        if shape not in ((0,), [0]):
            raise SnapshotError(
                f"stream state asks for an array of shape {shape!r}, which a state never does"
            )
        return reconstruct(cls, shape, dtype)

    return call


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name == "getattr":
            return _lsh_method
        if module == "builtins" and name == "bytearray":
            return _bytearray
        if name in _ALLOWED.get(module, ()):
            found = super().find_class(module, name)
            return _guarded_reconstruct(found) if name == "_reconstruct" else found
        raise SnapshotError(f"stream state names {module}.{name}, which a state never holds")


def dumps(state: Any) -> bytes:
    return MAGIC + pickle.dumps(state, protocol=5)


def loads(data: bytes) -> Any:
    if not data.startswith(MAGIC):
        if data.startswith(_PREFIX):
            found = data[len(_PREFIX) :].split(b"\n", 1)[0].decode("ascii", "replace")
            raise SnapshotError(f"stream state of format {found}, this version reads {FORMAT}")
        raise SnapshotError("not a storydesk stream state")
    try:
        return _Unpickler(io.BytesIO(data[len(MAGIC) :])).load()
    except SnapshotError:
        raise
    except Exception as exc:  # truncated or from an incompatible version: the caller starts over
        raise SnapshotError(f"stream state unreadable: {type(exc).__name__}: {exc}") from exc


def path_for(database: str | Path) -> Path:
    return Path(f"{database}.stream")


def stage(database: str | Path, token: str, payload: bytes) -> Path:
    """Write the state for batch ``token`` under a temporary name; ``commit`` moves it into place."""
    final = path_for(database)
    tmp = final.with_name(f"{final.name}.{token}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(token.encode("ascii") + b"\n")
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:  # a full disk, a failed fsync, Ctrl-C: leave no partial file behind
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def commit(tmp: Path) -> None:
    """Move a staged state into place (``<database>.stream``)."""
    os.replace(tmp, tmp.with_name(tmp.name.removesuffix(".tmp").rsplit(".", 1)[0]))


def read(database: str | Path, token: str, max_bytes: int | None = None) -> Any:
    """The state saved for batch ``token``; SnapshotError when absent, stale, unusable, or larger than
    ``max_bytes`` (checked before anything is loaded)."""
    path = path_for(database)
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise SnapshotError(
                    f"{path} is {size:,} bytes, over the limit of {max_bytes:,} (setting "
                    "ingest.max_stream_state_bytes): not loaded"
                )
            saved = fh.readline(256).rstrip(b"\n").decode("ascii", "replace")
            if saved != token:
                raise SnapshotError(f"{path} belongs to another batch than the database's last")
            return loads(fh.read())
    except FileNotFoundError as exc:
        raise SnapshotError(f"{path} does not exist") from exc
