"""The robustness scores of Hendrycks & Dietterich 2019 (ImageNet-C / ImageNet-P), on plain numbers.

Errors are fractions in [0, 1], given per corruption and severity as ``{name: {severity: error}}``.

- mean error: the unnormalised mean of E_{s,c} over corruptions c and severities s.
- corruption error CE_c = sum_s E_{s,c} / sum_s E^ref_{s,c}: errors relative to a reference model
  (AlexNet for ImageNet-C; here a frozen run of the user's choosing), so that hard corruptions do not
  dominate the mean; mCE = mean_c CE_c.
- relative CE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^ref_{s,c} - E^ref_clean): the degradation
  beyond the clean error, relative to the reference's degradation; relative mCE = its mean.
- flip rate FR_p of a perturbation sequence: the share of frames whose prediction differs from the
  previous frame's (geometric sequences) or from the first frame's (noise sequences), over images
  and frames; mFR = mean_p FR_p / FR^ref_p.

A ratio whose reference denominator is zero (or, for the relative CE, not positive: the reference
was not hurt by that corruption) is undefined: it is NaN, and ``mean_defined`` averages the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from scaler.errors import ScalerError

Errors = Mapping[str, Mapping[int, float]]


def mean_error(errors: Errors) -> float:
    """The unnormalised mean error over every corruption and severity given (NaN when none)."""
    values = [e for by_severity in errors.values() for e in by_severity.values()]
    return sum(values) / len(values) if values else math.nan


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _check_covered(errors: Errors, reference: Errors) -> None:
    """Every corruption and severity of ``errors`` must be in ``reference`` too."""
    for name, by_severity in errors.items():
        missing = sorted(set(by_severity) - set(reference.get(name, {})))
        if missing:
            raise ScalerError(f"the reference has no {name} error at severity {', '.join(map(str, missing))}")


def corruption_errors(errors: Errors, reference: Errors) -> dict[str, float]:
    """CE_c = sum_s E_{s,c} / sum_s E^ref_{s,c} per corruption, over the severities of ``errors``."""
    _check_covered(errors, reference)
    return {
        name: _ratio(sum(by_severity.values()), sum(reference[name][s] for s in by_severity))
        for name, by_severity in errors.items()
    }


def relative_corruption_errors(
    errors: Errors, clean_error: float, reference: Errors, reference_clean_error: float
) -> dict[str, float]:
    """Relative CE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^ref_{s,c} - E^ref_clean) per corruption."""
    _check_covered(errors, reference)
    return {
        name: _ratio(
            sum(e - clean_error for e in by_severity.values()),
            sum(reference[name][s] - reference_clean_error for s in by_severity),
        )
        for name, by_severity in errors.items()
    }


def mean_defined(values: Mapping[str, float]) -> float:
    """The mean of the values that are not NaN (mCE, relative mCE, mFR); NaN when none is."""
    defined = [v for v in values.values() if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else math.nan


def flip_rate(predictions: Sequence[Sequence[int]], against_first: bool) -> float:
    """The share of flips in ``predictions[frame][image]``: frame t against frame 0 (``against_first``,
    noise sequences) or against frame t - 1 (geometric sequences), over frames 1.. and images."""
    if len(predictions) < 2:
        raise ScalerError(f"a flip rate needs at least 2 frames, got {len(predictions)}")
    flips = total = 0
    for t in range(1, len(predictions)):
        base = predictions[0] if against_first else predictions[t - 1]
        if len(predictions[t]) != len(base):
            raise ScalerError(f"frame {t} has {len(predictions[t])} predictions, the frame it is compared with {len(base)}")
        flips += sum(a != b for a, b in zip(predictions[t], base, strict=True))
        total += len(base)
    return flips / total if total else math.nan


def relative_flip_rates(flip_rates: Mapping[str, float], reference: Mapping[str, float]) -> dict[str, float]:
    """FR_p / FR^ref_p per perturbation sequence (their mean is the mFR)."""
    missing = sorted(set(flip_rates) - set(reference))
    if missing:
        raise ScalerError(f"the reference has no flip rate for {', '.join(missing)}")
    return {name: _ratio(fr, reference[name]) for name, fr in flip_rates.items()}
