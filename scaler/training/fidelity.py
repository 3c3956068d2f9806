"""The proxy fidelity: how cheaply a net is trained when it is only compared with others.

A search trains hundreds of candidates, ``scaler scale`` a grid and a comparison, ``scaler bench``
a table of models, and the benchmarks measure what those trainings are worth; all of them train at
one fidelity, owned here: the width multiplier of every trained net, its epochs and training images
(a cap: a smaller data set is used whole), the stride rule of ``scaler.strides``, the seeds per
compared net and the training processes on this machine. The configs of the search, the scaling
and the bench take their defaults from ``PROXY`` and check their values through ``ProxyFidelity``;
the CLI shows them. Plain data (no torch), so ``scaler --help`` reads it cheaply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scaler.errors import ScalerError
from scaler.strides import DEFAULT_MIN_FEATURE, STRIDE_POLICIES, check_policy

#: The zero-cost proxies of ``scaler.training.proxies``, the cheapest fidelity of all: an untrained net
#: scored from one minibatch (``scaler search --prefilter``).
PROXIES = ("naswot", "synflow", "params")


@dataclass(frozen=True)
class ProxyFidelity:
    """One proxy fidelity. ``jobs`` None is the one ``--jobs`` default, ``default_jobs`` of the device
    (``$SCALER_JOBS``, else one process per CPU core up to 4, one on a GPU); see ``processes``."""

    width: float = 0.5
    epochs: int = 2
    train_size: int = 10_000
    strides: str = STRIDE_POLICIES[0]
    min_feature: int = DEFAULT_MIN_FEATURE
    seeds: int = 3  # per compared net: a difference comes with its noise (scale trains 1 unless told)
    jobs: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.width < math.inf:
            raise ScalerError(f"--width must be positive, got {self.width:g}")
        if self.epochs < 1:
            raise ScalerError(f"--epochs must be at least 1, got {self.epochs}")
        if self.train_size < 1:
            raise ScalerError(f"--train-size must be at least 1, got {self.train_size}")
        check_policy(self.strides)
        if self.min_feature < 1:
            raise ScalerError(f"--min-feature must be at least 1 px, got {self.min_feature}")
        if self.seeds < 1:
            raise ScalerError(f"--seeds must be at least 1, got {self.seeds}")
        if self.jobs is not None and self.jobs < 1:
            raise ScalerError(f"--jobs must be at least 1, got {self.jobs}")

    def processes(self, device: str) -> int:
        """Training processes on ``device``: ``jobs``, else ``scaler.training.parallel.default_jobs``."""
        if self.jobs is not None:
            return self.jobs
        from scaler.training.parallel import default_jobs

        return default_jobs(device)


#: The default proxy fidelity: width 0.5, 2 epochs on at most 10,000 images, strides adapted until
#: the last feature map is 2 px, 3 seeds per compared net, ``default_jobs`` processes.
PROXY = ProxyFidelity()
