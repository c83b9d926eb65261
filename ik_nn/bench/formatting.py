"""How the bench writes numbers in Markdown: percentages, SI-prefixed errors, rates and ratios."""
from __future__ import annotations

import numpy as np


def percent(x, digits=None) -> str:
    """Write a fraction x (0..1) as a percentage; "—" for None.

    digits None: as many decimals as the figure needs ("100 %", "99.95 %", "92.9 %");
    otherwise exactly that many ("50.00 %").
    """
    if x is None:
        return "—"
    if digits is not None:
        return f"{100 * x:.{digits}f} %"
    if x == 1.0:
        return "100 %"
    if x >= 0.999:
        return f"{100 * x:.2f} %"
    return f"{100 * x:.1f} %"


def si(x, unit) -> str:
    """Write x in compact engineering notation: ``si(1.2e-08, "m")`` → "12 nm"."""
    if not np.isfinite(x):
        return "∞"
    if x == 0:
        return f"0 {unit}"
    scales = [(1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]
    for s, p in scales:
        if abs(x) >= s:
            return f"{x / s:.3g} {p}{unit}"
    return f"{x:.1e} {unit}"


def rate(x) -> str:
    """Write a rate (per second) with thousands separators and no decimals."""
    return f"{x:,.0f}"


def ratio(x) -> str:
    """Write a speed ratio: two significant digits below 10 ("1.2×"), whole above ("13×")."""
    return f"{x:.2g}×" if x < 10 else f"{x:,.0f}×"
