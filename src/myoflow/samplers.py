"""Batch samplers for training losses that need a particular batch composition.

:class:`TripletBatchSampler` builds every batch as *classes x users x samples*: the same
``n_users`` users contribute ``n_samples`` windows of every class, so that the cross-user triplet
loss (``trp`` in :mod:`myoflow.losses`) finds, for every anchor, positives of its class from other
users and negatives of other classes from its own user.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from torch.utils.data import Sampler

__all__ = ["TripletBatchSampler"]


class TripletBatchSampler(Sampler[list[int]]):
    """Index batches of ``n_classes x n_users x n_samples`` windows: every class from each of ``n_users`` users.

    Each epoch the eligible users (those with at least one window of every class) are shuffled and
    taken ``n_users`` at a time (reshuffled when fewer than ``n_users`` remain), so all users appear
    about equally often; for each chosen user and each class, ``n_samples`` windows of that
    (class, user) *cell* are drawn; the batch is then shuffled. A batch is therefore exactly
    ``n_classes * n_users * n_samples`` indices, all distinct unless a cell holds fewer than
    ``n_samples`` windows (then the cell is padded by drawing from itself with replacement).

    Parameters
    ----------
    labels, users : array-like, shape (n,)
        Class label and user id of every window (any sortable values).
    n_users : int, optional
        Users per batch (at least 2). Default: every eligible user (the source used all 306
        training users, and all 26 validation users for its validation batches).
    n_samples : int, optional
        Windows per (class, user) cell. Default: derived from ``batch_size`` as the source does,
        ``max(min_samples, batch_size // (n_classes * n_users))``.
    batch_size : int
        Nominal batch size used to derive ``n_samples`` (ignored when ``n_samples`` is given). The
        actual size is :attr:`batch_size` after construction.
    min_samples : int
        Smallest derived ``n_samples`` (3 in the latest source, 2 earlier).
    n_batches : int, optional
        Batches per epoch. Default ``max(1, n // batch size)`` (the source's "epoch of about the data
        size"; the source raised instead of giving one batch when ``n`` is smaller than a batch).
    seed : int
        Seed; the batches of an epoch depend only on ``(seed, epoch)`` in the default ``cell_order``.
    cell_order : {"shuffled", "sequential"}
        ``"shuffled"`` (default): each epoch every cell is shuffled and consumed without replacement,
        restarting with a fresh shuffle when fewer than ``n_samples`` windows are left.
        ``"sequential"`` (the source's behaviour): cells are consumed in index order (neighbouring,
        overlapping windows of one repetition together) by a cursor that persists across the epochs
        this object has produced; an exhausted cell yields one block at a random start and rewinds
        its cursor. Batches then depend on the iteration history, not only on ``(seed, epoch)``.

    Notes
    -----
    Call :meth:`set_epoch` before iterating each epoch (as with ``DistributedSampler``), or use
    :meth:`batches`. Deviations from the source (``utils.py`` ``TripletBatchSampler``): users missing
    a class are left out (the source filled their empty cells with random windows of any class and
    user, breaking the composition); the default ``cell_order`` is shuffled and reproducible per
    epoch; the random stream is NumPy's, seeded from ``(seed, epoch)`` rather than
    ``torch.initial_seed() + seed_offset + epoch``.
    """

    def __init__(
        self,
        labels,
        users,
        *,
        n_users: int | None = None,
        n_samples: int | None = None,
        batch_size: int = 2048,
        min_samples: int = 3,
        n_batches: int | None = None,
        seed: int = 13,
        cell_order: str = "shuffled",
    ) -> None:
        super().__init__()
        labels = np.asarray(labels)
        users = np.asarray(users)
        if labels.ndim != 1 or labels.shape != users.shape:
            raise ValueError(f"labels and users must be 1-d of equal length, got {labels.shape} and {users.shape}")
        if cell_order not in ("shuffled", "sequential"):
            raise ValueError(f"cell_order must be 'shuffled' or 'sequential', got {cell_order!r}")
        self.classes_, y = np.unique(labels, return_inverse=True)
        user_ids, u = np.unique(users, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(f"a triplet batch needs at least 2 classes, got {n_classes}")

        counts = np.zeros((n_classes, len(user_ids)), dtype=np.int64)
        np.add.at(counts, (y, u), 1)
        eligible = np.flatnonzero((counts > 0).all(axis=0))
        self.users_ = user_ids[eligible]  # the users batches are drawn from
        if n_users is None:
            n_users = len(eligible)
        n_users = int(n_users)
        if n_users < 2:
            raise ValueError(f"n_users must be at least 2 (positives come from other users), got {n_users}")
        if len(eligible) < n_users:
            raise ValueError(f"n_users={n_users} but only {len(eligible)} users have windows of every class "
                             f"{self.classes_.tolist()}")
        if n_samples is None:
            n_samples = max(int(min_samples), int(batch_size) // (n_classes * n_users))
        n_samples = int(n_samples)
        if n_samples < 1:
            raise ValueError(f"n_samples must be at least 1, got {n_samples}")

        self.n_classes = n_classes
        self.n_users = n_users
        self.n_samples = n_samples
        self.batch_size = n_classes * n_users * n_samples
        self.n_batches = max(1, len(labels) // self.batch_size) if n_batches is None else int(n_batches)
        self.seed = int(seed)
        self.cell_order = cell_order
        self.epoch = 0

        # cells[c][k]: indices (ascending) of class c and eligible user k
        order = np.lexsort((np.arange(len(y)), u, y))
        bounds = np.cumsum(counts.ravel())
        starts = np.concatenate([[0], bounds[:-1]])
        flat = [order[s:e] for s, e in zip(starts, bounds)]
        n_all_users = len(user_ids)
        self._cells = [[flat[c * n_all_users + int(k)] for k in eligible] for c in range(n_classes)]
        self._cursor = np.zeros((n_classes, len(eligible)), dtype=np.int64)  # "sequential" only

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches the next iteration yields."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches(self.epoch):
            yield batch.tolist()

    def batches(self, epoch: int | None = None) -> list[np.ndarray]:
        """The index batches (int64 arrays) of ``epoch`` (default: the one set by :meth:`set_epoch`)."""
        epoch = self.epoch if epoch is None else int(epoch)
        rng = np.random.default_rng([self.seed, epoch])
        n_eligible = len(self.users_)
        if self.cell_order == "shuffled":
            perms = [[rng.permutation(cell) for cell in row] for row in self._cells]
            ptr = np.zeros((self.n_classes, n_eligible), dtype=np.int64)

        def take(c: int, k: int) -> np.ndarray:
            m = self.n_samples
            if self.cell_order == "shuffled":
                cell, p = perms[c][k], int(ptr[c, k])
                if len(cell) < m:  # too small: all of it, padded from itself
                    return np.concatenate([cell, rng.choice(cell, m - len(cell))])
                if p + m > len(cell):  # exhausted: a fresh pass over the cell
                    perms[c][k] = cell = rng.permutation(cell)
                    p = 0
                ptr[c, k] = p + m
                return cell[p : p + m]
            cell, p = self._cells[c][k], int(self._cursor[c, k])
            if p + m <= len(cell):
                self._cursor[c, k] = p + m
                return cell[p : p + m]
            self._cursor[c, k] = 0  # the source's "random_start" reuse
            if len(cell) < m:
                return np.concatenate([cell, rng.choice(cell, m - len(cell))])
            start = int(rng.integers(0, len(cell) - m + 1))
            return cell[start : start + m]

        out = []
        user_perm, up = rng.permutation(n_eligible), 0
        for _ in range(self.n_batches):
            if up + self.n_users > n_eligible:
                user_perm, up = rng.permutation(n_eligible), 0
            chosen = user_perm[up : up + self.n_users]
            up += self.n_users
            batch = np.concatenate([take(c, int(k)) for c in range(self.n_classes) for k in chosen])
            out.append(rng.permutation(batch).astype(np.int64))
        return out
