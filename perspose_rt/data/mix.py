"""Which samples a training step sees: the official data mix (design doc §5.2), sharded by rank.

* ``--mix NAME=RATIO,...`` names sets (official names :data:`~perspose_rt.data.official.MIX_NAMES`
  or ``--data`` names); ratios are normalised by their sum.
* An "epoch" is ``epoch_size`` sample slots (official: 300 000). Set ``d`` owns the slots
  ``[cum_d·n, cum_{d+1}·n)``; slot ``k`` of epoch ``e`` is sample
  ``fixed_shuffle_d[round(k_local + e·r_d·n) mod len_d]``: every epoch walks on through one fixed
  permutation of the set, so small sets repeat and large ones are visited in turn.
  ``fixed_shuffle_d`` is a permutation of the set drawn with the official seed 2147483647 (the
  official code permutes 50 copies of the indices; one permutation has the same walk-on
  behaviour without a 50× index array for million-sample sets).
* Slots are shuffled per epoch (the official DataLoader shuffles too) with a permutation seeded by
  ``(seed, epoch)``. Step ``s`` of a run with ``world`` ranks of ``batch`` samples each takes the
  global slots ``[s·world·batch, (s+1)·world·batch)``; rank ``r`` takes its own ``batch`` of them,
  so the ranks shard the mix and a resumed run draws exactly the same samples.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from perspose_rt.errors import InputError

SHUFFLE_SEED = 2147483647


def parse_mix(spec: str, known: tuple[str, ...]) -> dict[str, float]:
    """``"3dhp=1,coco=0.5"`` → ``{"3dhp": 1.0, "coco": 0.5}``; unknown names and a zero sum refuse."""
    out: dict[str, float] = {}
    for part in [p for p in spec.split(",") if p.strip()]:
        name, sep, val = part.partition("=")
        name = name.strip()
        if not sep:
            raise InputError(f"--mix: {part!r} is not NAME=RATIO")
        if name not in known:
            raise InputError(f"--mix: unknown set name {name!r}; known: {', '.join(known)}")
        try:
            r = float(val)
        except ValueError:
            raise InputError(f"--mix: ratio {val!r} of {name} is not a number") from None
        if not np.isfinite(r) or r < 0:
            raise InputError(f"--mix: ratio of {name} must be a finite number ≥ 0, got {val}")
        out[name] = r
    if not out or sum(out.values()) <= 0:
        raise InputError(f"--mix {spec!r}: the ratios sum to 0; give at least one set a positive ratio")
    return out


class Mix:
    """Maps global sample slots to (set index, sample index).

    Args:
        sizes: number of samples of each set.
        ratios: the sets' ratios (normalised here; sets with ratio 0 are never drawn).
        epoch_size: slots per epoch (``n``).
        seed: run seed (slot shuffling).
    """

    def __init__(self, sizes: list[int], ratios: list[float], epoch_size: int, seed: int = 0) -> None:
        r = np.asarray(ratios, np.float64)
        self.ratios = r / r.sum()
        self.sizes, self.n, self.seed = list(sizes), int(epoch_size), int(seed)
        self.bounds = np.round(np.concatenate([[0.0], np.cumsum(self.ratios)]) * self.n).astype(np.int64)
        self.bounds[-1] = self.n
        rng = np.random.default_rng(SHUFFLE_SEED)
        self.fixed = [rng.permutation(s) for s in self.sizes]

    @lru_cache(maxsize=2)  # noqa: B019 (two epochs alive at a time; the Mix lives as long as the run)
    def _epoch_perm(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def slot(self, g: int) -> tuple[int, int]:
        """Global slot ``g`` (counting over epochs) → (set index, sample index)."""
        epoch, pos = divmod(int(g), self.n)
        k = int(self._epoch_perm(epoch)[pos])
        d = int(np.searchsorted(self.bounds, k, side="right") - 1)
        local = k - self.bounds[d]
        j = round(float(local + epoch * self.ratios[d] * self.n)) % self.sizes[d]
        return d, int(self.fixed[d][j])

    def step_slots(self, step: int, batch: int, rank: int = 0, world: int = 1) -> list[tuple[int, int]]:
        """The (set, sample) pairs of rank ``rank`` at optimiser step ``step``."""
        start = (step * world + rank) * batch
        return [self.slot(g) for g in range(start, start + batch)]
