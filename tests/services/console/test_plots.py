"""The model card plots: well-formed SVG with one line per model and baseline."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from models.registry import model_card
from services.console.plots import HEIGHT, WIDTH, NoPlot, calibration_svg, roc_svg

SVG = "{http://www.w3.org/2000/svg}"


def lines(svg: str) -> list[list[tuple[float, ...]]]:
    root = ET.fromstring(svg)
    return [
        [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        for line in root.iter(f"{SVG}polyline")
    ]


def inside(points: list[tuple[float, ...]]) -> bool:
    return all(0 <= x <= WIDTH and 0 <= y <= HEIGHT for x, y in points)


def test_the_roc_plot_draws_the_models_and_the_baselines_curve():
    card = model_card("post-mi-mortality")
    svg = roc_svg(card)
    model, baseline = lines(svg)
    assert len(model) == len(card["metrics"]["overall"]["curve"]["roc"])
    assert len(baseline) == len(card["baseline"]["overall"]["curve"]["roc"])
    assert inside(model + baseline)
    assert f"AUROC {card['metrics']['overall']['auroc']['value']:.3f}" in svg
    assert f"AUROC {card['baseline']['overall']['auroc']['value']:.3f}" in svg


def test_a_probability_models_calibration_plots_its_reliability_bins():
    card = model_card("breast-cancer-metastasis")
    model, baseline = lines(calibration_svg(card))
    assert len(model) == len(card["metrics"]["overall"]["calibration"]["reliability"])
    assert len(baseline) == len(card["baseline"]["overall"]["calibration"]["reliability"])
    assert inside(model + baseline)


def test_a_regression_model_has_calibration_by_decile_and_no_roc():
    card = model_card("diabetes-progression")
    with pytest.raises(NoPlot):
        roc_svg(card)
    model, baseline = lines(calibration_svg(card))
    assert len(model) == len(card["metrics"]["overall"]["curve"]["deciles"])
    assert len(baseline) == len(card["baseline"]["overall"]["curve"]["deciles"])
    assert inside(model + baseline)  # the axes follow the score's range


def test_a_card_without_numbers_has_no_plot():
    for draw in (roc_svg, calibration_svg):
        with pytest.raises(NoPlot):
            draw({"title": "no metrics"})
