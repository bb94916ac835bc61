"""The embedded backend: the fixture SavedModels loaded in-process."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from adapters.spec import FeatureSpec
from services.inference import create_inference
from services.inference.catalog import Catalog
from services.inference.embedded import EmbeddedInference
from services.inference.errors import (
    BackendUnavailable,
    InvalidInput,
    ModelConfigError,
    ModelNotFound,
)
from services.settings import Settings
from tests.inference.fixtures import RISK_SPEC, ModelDir, baseline_row, model_calls, write_warmup

METHODS = ("predict", "explain")


@pytest.mark.parametrize(
    ("selector", "version"),
    [
        ({}, 2),
        ({"version": 1}, 1),
        ({"version": 2}, 2),
        ({"label": "stable"}, 1),
        ({"label": "canary"}, 2),
    ],
)
def test_predict_serves_the_version_asked_for(
    embedded: EmbeddedInference, model_dir: ModelDir, selector: dict, version: int
):
    toy = model_dir["toy-risk", version]
    x = toy.rows(5)
    prediction = embedded.predict("toy-risk", x, **selector)
    assert (prediction.model, prediction.version) == ("toy-risk", version)
    assert set(prediction.outputs) == {"risk", "logit"}
    np.testing.assert_allclose(prediction.outputs["risk"], toy.risk(x), rtol=1e-5)
    assert prediction.outputs["risk"].shape == (5,)


def test_versions_really_differ(embedded: EmbeddedInference, model_dir: ModelDir):
    x = model_dir["toy-risk", 1].rows(3)
    one = embedded.predict("toy-risk", x, version=1).outputs["risk"]
    two = embedded.predict("toy-risk", x, version=2).outputs["risk"]
    assert not np.allclose(one, two)


def test_explain_attributes_the_prediction_against_the_baseline(
    embedded: EmbeddedInference, model_dir: ModelDir
):
    toy = model_dir["toy-risk", 1]
    x = toy.rows(4, seed=7)
    explanation = embedded.explain("toy-risk", x, label="stable")
    assert explanation.version == 1
    assert explanation.attributions.shape == (4, toy.width)
    np.testing.assert_allclose(explanation.prediction, toy.risk(x), rtol=1e-5)
    baseline = toy.risk(baseline_row(toy.spec)[None, :])
    np.testing.assert_allclose(explanation.baseline, np.repeat(baseline, 4), rtol=1e-5)
    np.testing.assert_allclose(
        explanation.attributions.sum(axis=1),
        explanation.prediction - explanation.baseline,
        atol=2e-3,
    )


def test_each_model_has_its_own_width(embedded: EmbeddedInference, model_dir: ModelDir):
    score = model_dir["toy-score", 1]
    assert score.width != model_dir["toy-risk", 1].width
    x = score.rows(2)
    np.testing.assert_allclose(
        embedded.predict("toy-score", x).outputs["risk"], score.risk(x), rtol=1e-5
    )
    with pytest.raises(InvalidInput, match=r"\[batch, 6\]"):
        embedded.predict("toy-risk", x)


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (np.zeros((2, 5), np.float32), r"must be \[batch, 6\].*not \[2, 5\]"),
        (np.zeros((2, 7), np.float32), r"not \[2, 7\]"),
        (np.zeros(6, np.float32), r"not \[6\]"),
        (np.zeros((1, 2, 6), np.float32), r"not \[1, 2, 6\]"),
        (np.zeros((2, 6), np.float64), "must be float32, not float64"),
        (np.array([[0, 0, 0, 0, np.nan, 0]], np.float32), "NaN or infinity"),
        (np.array([[0, 0, np.inf, 0, 0, 0]], np.float32), "NaN or infinity"),
        ([[0.0] * 6], "numpy array, not list"),
    ],
)
@pytest.mark.parametrize("method", ["predict", "explain"])
def test_bad_features_are_invalid_input(embedded: EmbeddedInference, method, features, message):
    with pytest.raises(InvalidInput, match=message):
        getattr(embedded, method)("toy-risk", features)


@pytest.mark.parametrize(
    ("model", "selector"),
    [("nope", {}), ("toy-risk", {"version": 7}), ("toy-risk", {"label": "beta"})],
)
def test_unknown_model_version_or_label(embedded: EmbeddedInference, model, selector):
    x = np.zeros((1, 6), np.float32)
    for call in (embedded.predict, embedded.explain):
        with pytest.raises(ModelNotFound):
            call(model, x, **selector)
    with pytest.raises(ModelNotFound):
        embedded.model_info(model, **selector)


def test_model_info_and_models(embedded: EmbeddedInference, model_dir: ModelDir):
    info = embedded.model_info("toy-risk", label="stable")
    assert (info.name, info.version, info.labels) == ("toy-risk", 1, {"stable": 1, "canary": 2})
    assert info.spec == model_dir["toy-risk", 1].spec
    assert info.card["version"] == 1
    assert [(i.name, i.version) for i in embedded.models()] == [("toy-risk", 2), ("toy-score", 1)]


def test_concurrent_callers_get_their_own_answers(embedded: EmbeddedInference, model_dir: ModelDir):
    def call(i: int) -> None:
        version = 1 + i % 2
        toy = model_dir["toy-risk", version]
        x = toy.rows(1 + i % 7, seed=i)
        got = embedded.predict("toy-risk", x, version=version)
        np.testing.assert_allclose(got.outputs["risk"], toy.risk(x), rtol=1e-5)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(call, range(200)))


def test_create_inference_defaults_to_embedded_and_times_its_calls(model_dir: ModelDir):
    inference = create_inference(Settings(model_dir=model_dir.root))
    assert isinstance(inference.inner, EmbeddedInference)
    assert inference.ready()
    x = model_dir["toy-risk", 2].rows(3)
    calls = {method: model_calls("embedded", "toy-risk", method) for method in METHODS}
    inference.predict("toy-risk", x)
    inference.predict("toy-risk", x)
    inference.explain("toy-risk", x)
    assert model_calls("embedded", "toy-risk", "predict") == calls["predict"] + 2
    assert model_calls("embedded", "toy-risk", "explain") == calls["explain"] + 1
    inference.close()
    assert not inference.ready()
    with pytest.raises(BackendUnavailable):  # failed calls are timed too
        inference.predict("toy-risk", x)
    assert model_calls("embedded", "toy-risk", "predict") == calls["predict"] + 3


@pytest.fixture
def copy(model_dir: ModelDir, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir.root, tmp_path / "models"))


def test_spec_wider_than_the_signature_fails_at_load(copy: Path):
    """The artifact's own spec must describe its input: catch a mixed-up assets.extra."""
    wider = dict(
        RISK_SPEC,
        features=[
            *RISK_SPEC["features"],
            {
                "name": "bmi",
                "source": "observation",
                "codes": ["http://loinc.org|39156-5"],
                "unit": "kg/m2",
                "missing": {"impute": 26.0},
            },
        ],
    )
    spec_path = copy / "toy-risk" / "2" / "assets.extra" / "feature_spec.yaml"
    spec_path.write_text(FeatureSpec.model_validate(wider).to_yaml())
    with pytest.raises(ModelConfigError, match=r"'toy-risk' version 2.*7 columns"):
        EmbeddedInference(Catalog.from_model_dir(copy))


def test_card_outputs_must_match_the_signature(copy: Path):
    card_path = copy / "toy-score" / "1" / "assets.extra" / "model_card.json"
    card_path.write_text(card_path.read_text().replace('"logit"', '"log_odds"'))
    with pytest.raises(ModelConfigError, match="returns \\['logit', 'risk'\\]"):
        EmbeddedInference(Catalog.from_model_dir(copy))


def test_warmup_requests_are_replayed(copy: Path, model_dir: ModelDir):
    """Version 1 ships warmup records; a record of the wrong width fails the load,
    which shows the records are run, not just read."""
    warmup = copy / "toy-risk" / "1" / "assets.extra" / "tf_serving_warmup_requests"
    assert warmup.exists()
    EmbeddedInference(Catalog.from_model_dir(copy)).close()
    write_warmup(warmup, model_dir["toy-risk", 1], np.zeros((1, 5), np.float32))
    with pytest.raises(ModelConfigError, match="'toy-risk' version 1: warmup failed"):
        EmbeddedInference(Catalog.from_model_dir(copy))


def test_corrupt_warmup_file_fails_the_load(copy: Path):
    warmup = copy / "toy-risk" / "1" / "assets.extra" / "tf_serving_warmup_requests"
    warmup.write_bytes(b"not a TFRecord file at all")
    with pytest.raises(ModelConfigError, match="warmup failed"):
        EmbeddedInference(Catalog.from_model_dir(copy))
