"""The ensemble: the members' latest views on a symbol, weighted into one view.

With member weights w_i > 0 and, for the members that have a view, strengths s_i:

    strength   S = sum_present(w_i * s_i) / sum_present(w_i)         (in [-1, 1])
    agreement  A = |sum_present(w_i * s_i)| / sum_present(w_i * |s_i|)  (1 if all are FLAT)
    coverage   C = sum_present(w_i) / sum_all(w_i)
    confidence   = A * C

Agreement is 1 when every member with a conviction points the same way and 0 when they
cancel out; coverage is the share of the weight that has a view at all, so a single
member's opinion in a large ensemble is held with little confidence. A FLAT member view
counts, with strength 0: it pulls S toward zero. The members' own confidences are not
used. When |S| <= `min_strength` the ensemble's view is FLAT (strength 0).

Which views are "latest" (and when one is too old to count) is the caller's choice: pass
the views it holds for the symbol, keyed by strategy name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from streams.strategies.base import Side, StrategyView, directional

__all__ = ["EnsembleSpec", "combine"]


@dataclass(frozen=True, slots=True)
class EnsembleSpec:
    """The ensemble's config: its name, member weights and dead band.

    `weights` maps strategy names to weights >= 0; empty means every strategy running on
    the symbol, each with weight 1. `min_strength` is the dead band: a combined strength
    of at most this magnitude is a FLAT view.
    """

    name: str = "ensemble"
    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    min_strength: float = 0.0


def combine(
    views: Mapping[str, StrategyView], weights: Mapping[str, float], min_strength: float = 0.0
) -> StrategyView | None:
    """Return the weighted view of the members in WEIGHTS that have a view in VIEWS.

    Members with weight 0 and views of strategies not in WEIGHTS are ignored; None when no
    member has a view.
    """
    total = sum(w for w in weights.values() if w > 0.0)
    present = {name: (w, views[name]) for name, w in weights.items() if w > 0.0 and name in views}
    if not present:
        return None
    weight_present = sum(w for w, _ in present.values())
    weighted = sum(w * view.strength for w, view in present.values())
    conviction = sum(w * abs(view.strength) for w, view in present.values())
    strength = max(-1.0, min(1.0, weighted / weight_present))
    agreement = abs(weighted) / conviction if conviction > 0.0 else 1.0
    coverage = weight_present / total
    confidence = max(0.0, min(1.0, agreement * coverage))
    features = {f"strength.{name}": view.strength for name, (_, view) in present.items()}
    features.update(agreement=agreement, coverage=coverage)
    if abs(strength) <= min_strength:
        return StrategyView(Side.FLAT, 0.0, confidence, features)
    view = directional(1 if strength > 0.0 else -1, abs(strength), confidence, features)
    return view if view is not None else StrategyView(Side.FLAT, 0.0, confidence, features)
