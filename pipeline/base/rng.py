"""Keyed deterministic randomness.

Every draw comes from a generator derived from stable parts (seed, scenario,
entity kind, entity key, purpose), never from a global stream, Python's
``hash()`` (salted per process) or the wall clock. Adding a team, a member or
a week therefore never shifts anyone else's values.

One convention names the streams: a :data:`Key` is the tuple of stable parts
naming a family of streams, seed first (``(42, "ai-success", "pr")``). Code
that draws takes one (conventionally ``k``) and names each stream by
appending its purpose: ``keyed_uniform(pr_keys, *k, "size")``; a part of the
work hands a longer key on (``(*k, "review")``).

Two tools:

* :func:`rng` — a numpy ``Generator`` for one keyed stream (a member, a team,
  a week): ``rng(seed, "ai-success", "member", 3, "volume")``.
* :func:`keyed_uniform` / :func:`keyed_u64` — counter-based, vectorized draws
  for whole columns: one independent value per key (e.g. a PR's stable key)
  and stream, without a Python loop and without depending on row order.
"""

from __future__ import annotations

import hashlib

import numpy as np

Key = tuple[object, ...]
"""Stable parts naming a family of streams, seed first: ``(seed, scenario, purpose, ...)``."""

_SEP = "\x1f"
_MASK64 = (1 << 64) - 1


def _encode(parts: tuple[object, ...]) -> bytes:
    out = []
    for p in parts:
        if isinstance(p, bool) or p is None:
            out.append(repr(p))
        elif isinstance(p, (int, np.integer)):
            out.append(f"i{int(p)}")
        elif isinstance(p, (float, np.floating)):
            out.append(f"f{float(p)!r}")
        elif isinstance(p, str):
            out.append(f"s{p}")
        elif isinstance(p, bytes):
            out.append("b" + p.hex())
        else:
            raise TypeError(f"rng key parts must be str/int/float/bytes, got {type(p).__name__}")
    return _SEP.join(out).encode("utf-8")


def key_digest(*parts: object) -> bytes:
    """sha256 of the encoded parts: a stable digest, the same in every process."""
    return hashlib.sha256(_encode(parts)).digest()


def key64(*parts: object) -> int:
    """A stable unsigned 64-bit integer for the parts."""
    return int.from_bytes(key_digest(*parts)[:8], "little")


def rng(*parts: object) -> np.random.Generator:
    """A numpy Generator seeded from the parts (PCG64 via SeedSequence)."""
    words = np.frombuffer(key_digest(*parts), dtype="<u4").astype(np.uint64).tolist()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def keyed_u64(keys: np.ndarray | list[int], *parts: object) -> np.ndarray:
    """One uniform uint64 per key for the stream named by ``parts``.

    The value for a key depends only on (parts, key): reordering, adding or
    removing other keys changes nothing for it.
    """
    base = np.uint64(key64(*parts))
    k = np.asarray(keys).astype(np.uint64, copy=False)
    with np.errstate(over="ignore"):
        return _splitmix64(_splitmix64(k ^ base) + base)


def keyed_uniform(keys: np.ndarray | list[int], *parts: object) -> np.ndarray:
    """One float64 in [0, 1) per key (53 random bits), see :func:`keyed_u64`."""
    return (keyed_u64(keys, *parts) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
