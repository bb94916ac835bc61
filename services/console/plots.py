"""The model card's plots as SVG, drawn on the server from the card's numbers.

Two plots, each with the model beside its baseline: the ROC curve
(``metrics.overall.curve.roc``, binary models) and calibration, predicted
against observed (``calibration.reliability`` bins for a probability,
``curve.deciles`` for a regression score). The charts are a few lines and
points on fixed axes, so they are written directly as SVG rather than through
a plotting library the service would otherwise not need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 360, 332
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 16, 16, 76
_COLOURS = ("#1f5fa8", "#c2571a")  # model, baseline
_DASHES = ("", "6 4")


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: its name and its (x, y) points in order."""

    name: str
    points: Sequence[tuple[float, float]]


class NoPlot(LookupError):
    """The card has no numbers for this plot (e.g. ROC of a regression model)."""


def roc_svg(card: dict) -> str:
    """The ROC curve of the model and its baseline on held-out data."""
    series = [
        Series(f"{who} (AUROC {_metric(part, 'auroc')})", [(p["fpr"], p["tpr"]) for p in roc])
        for who, part in _parts(card)
        if (roc := part.get("overall", {}).get("curve", {}).get("roc"))
    ]
    if not series:
        raise NoPlot("roc")
    return line_chart(series, "False positive rate", "True positive rate", (0.0, 1.0))


def calibration_svg(card: dict) -> str:
    """Predicted against observed outcome: per probability bin, or per decile of the score."""
    series: list[Series] = []
    for who, part in _parts(card):
        overall = part.get("overall", {})
        bins = overall.get("calibration", {}).get("reliability") or overall.get("curve", {}).get(
            "deciles"
        )
        if bins:
            series.append(Series(who, sorted((b["predicted"], b["observed"]) for b in bins)))
    if not series:
        raise NoPlot("calibration")
    values = [v for s in series for point in s.points for v in point]
    is_probability = all(0.0 <= v <= 1.0 for v in values)
    axis = (0.0, 1.0) if is_probability else _padded(min(values), max(values))
    return line_chart(series, "Predicted", "Observed", axis, markers=True)


def line_chart(
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    axis: tuple[float, float],
    *,
    markers: bool = False,
) -> str:
    """A square-axed line chart (the same range on x and y, with the diagonal y = x)."""
    low, high = axis
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def x(v: float) -> float:
        return _LEFT + (v - low) / (high - low) * plot_w

    def y(v: float) -> float:
        return _TOP + plot_h - (v - low) / (high - low) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" font-family="sans-serif" font-size="11">',
        f"<title>{escape(y_label)} against {escape(x_label)}</title>",
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#999"/>',
        f'<line x1="{x(low):.1f}" y1="{y(low):.1f}" x2="{x(high):.1f}" y2="{y(high):.1f}" '
        'stroke="#bbb" stroke-dasharray="2 3"/>',
    ]
    for i in range(5):
        v = low + (high - low) * i / 4
        out.append(
            f'<text x="{x(v):.1f}" y="{_TOP + plot_h + 14}" text-anchor="middle">{v:.3g}</text>'
            f'<text x="{_LEFT - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.3g}</text>'
        )
    out.append(
        f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_TOP + plot_h + 30}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text transform="translate(12 {_TOP + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    for i, s in enumerate(series):
        colour, dash = _COLOURS[i % len(_COLOURS)], _DASHES[i % len(_DASHES)]
        path = " ".join(f"{x(px):.1f},{y(py):.1f}" for px, py in s.points)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        if markers:
            out += [
                f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="3" fill="{colour}"/>'
                for px, py in s.points
            ]
        legend_y = HEIGHT - 18 + 12 * i - 12 * (len(series) - 1)
        out.append(
            f'<line x1="{_LEFT}" y1="{legend_y - 4}" x2="{_LEFT + 20}" y2="{legend_y - 4}" '
            f'stroke="{colour}" stroke-width="2"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + f'/><text x="{_LEFT + 26}" y="{legend_y}">{escape(s.name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _parts(card: dict) -> list[tuple[str, dict]]:
    """The model's and the baseline's metrics, named for the legend."""
    return [
        (who, part)
        for who, part in (("Model", card.get("metrics")), ("Baseline", card.get("baseline")))
        if isinstance(part, dict)
    ]


def _metric(part: dict, name: str) -> str:
    value = part.get("overall", {}).get(name, {}).get("value")
    return "n/a" if value is None else f"{value:.3f}"


def _padded(low: float, high: float) -> tuple[float, float]:
    pad = (high - low) * 0.05 or 1.0
    return low - pad, high + pad
