"""Small models that follow the artifact contract (``models/README.md``), for tests
and benchmarks of anything that serves models.

``build_model_dir(root)`` writes a model directory in TensorFlow Serving layout:

    root/models.config      toy-risk: versions 1 and 2, labels stable → 1, canary → 2
                            toy-score: version 1
    root/toy-risk/1/        SavedModel + assets.extra/ (spec, card, warmup requests)
    root/toy-risk/2/        other weights, no warmup file (zero-batch warmup)
    root/toy-score/1/       a narrower spec

Each version is logistic regression, ``risk = sigmoid(features @ w + b)``, with
``logit`` as a second output; ``explain`` is integrated gradients of ``risk``
from the spec's imputed baseline row. :meth:`ToyVersion.risk` computes the same
numbers with numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from adapters.spec import FeatureSpec

RISK_SPEC = {
    "model": "toy-risk",
    "version": 1,
    "features": [
        {
            "name": "age",
            "source": "patient",
            "attribute": "age",
            "unit": "a",
            "missing": {"impute": 65.0, "indicator": True},
        },
        {
            "name": "sex_female",
            "source": "patient",
            "attribute": "sex",
            "equals": "female",
            "missing": {"impute": 0.0},
        },
        {
            "name": "heart_rate",
            "source": "observation",
            "codes": ["http://loinc.org|8867-4"],
            "unit": "/min",
            "missing": {"impute": 80.0, "indicator": True},
        },
        {
            "name": "atrial_fibrillation",
            "source": "condition",
            "codes": ["http://snomed.info/sct|49436004"],
            "aggregation": "exists",
        },
    ],
}
SCORE_SPEC = {
    "model": "toy-score",
    "version": 1,
    "features": [
        {
            "name": "age",
            "source": "patient",
            "attribute": "age",
            "unit": "a",
            "missing": {"impute": 60.0},
        },
        {
            "name": "systolic_bp",
            "source": "observation",
            "codes": ["http://loinc.org|8480-6"],
            "unit": "mm[Hg]",
            "missing": {"impute": 130.0, "indicator": True},
        },
    ],
}
OUTPUTS = ("risk", "logit")
IG_STEPS = 64


@dataclass(frozen=True)
class ToyVersion:
    """One exported fixture version and the weights behind it."""

    name: str
    version: int
    spec: FeatureSpec
    weights: np.ndarray  # float32 [n_columns]
    bias: float
    path: Path

    @property
    def width(self) -> int:
        return len(self.spec.column_names)

    def risk(self, features: np.ndarray) -> np.ndarray:
        """What ``serving_default`` returns as ``risk``, computed with numpy."""
        logit = features.astype(np.float64) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-logit))

    def rows(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` float32 feature rows of the right width."""
        return np.random.default_rng(seed).normal(size=(n, self.width)).astype(np.float32)


@dataclass(frozen=True)
class ModelDir:
    root: Path
    versions: dict[tuple[str, int], ToyVersion]

    @property
    def config(self) -> Path:
        return self.root / "models.config"

    def __getitem__(self, key: tuple[str, int]) -> ToyVersion:
        return self.versions[key]


def baseline_row(spec: FeatureSpec) -> np.ndarray:
    """The imputed baseline row: imputation values, every missing indicator 1."""
    row: list[float] = []
    for feature in spec.features:
        row.append(feature.missing.impute or 0.0)
        if feature.missing.indicator:
            row.append(1.0)
    return np.array(row, np.float32)


class _Logistic(tf.Module):
    def __init__(self, weights: np.ndarray, bias: float, baseline: np.ndarray) -> None:
        super().__init__()
        self.w = tf.Variable(weights[:, None])
        self.b = tf.Variable(np.float32(bias))
        self.baseline = tf.constant(baseline)
        spec = tf.TensorSpec([None, len(weights)], tf.float32, name="features")
        self.serve = tf.function(self._serve, input_signature=[spec])
        self.explain = tf.function(self._explain, input_signature=[spec])

    def _logit(self, x: tf.Tensor) -> tf.Tensor:
        return tf.squeeze(tf.matmul(x, self.w), -1) + self.b

    def _serve(self, features: tf.Tensor) -> dict[str, tf.Tensor]:
        logit = self._logit(features)
        return {"risk": tf.sigmoid(logit), "logit": logit}

    def _explain(self, features: tf.Tensor) -> dict[str, tf.Tensor]:
        diff = features - self.baseline  # [batch, n]
        alphas = tf.linspace(0.0, 1.0, IG_STEPS + 1)  # trapezoid rule on the straight path
        path = self.baseline + alphas[None, :, None] * diff[:, None, :]  # [batch, steps+1, n]
        flat = tf.reshape(path, [-1, tf.shape(features)[1]])
        with tf.GradientTape() as tape:
            tape.watch(flat)
            risk = tf.sigmoid(self._logit(flat))
        grads = tf.reshape(tape.gradient(risk, flat), tf.shape(path))
        mean_grad = tf.reduce_mean((grads[:, 1:] + grads[:, :-1]) / 2, axis=1)
        batch = tf.shape(features)[0]
        baseline_risk = tf.sigmoid(self._logit(self.baseline[None, :]))
        return {
            "attributions": diff * mean_grad,
            "baseline": tf.repeat(baseline_risk, batch),
            "prediction": tf.sigmoid(self._logit(features)),
        }


def card(name: str, version: int, spec: FeatureSpec) -> dict:
    return {
        "name": name,
        "version": version,
        "title": f"{name} (test fixture)",
        "task": "binary-risk",
        "outputs": [
            {"name": "risk", "description": "probability of the outcome"},
            {"name": "logit", "description": "log-odds of the outcome"},
        ],
        "primary_output": "risk",
        "intended_use": "tests only",
        "feature_columns": spec.column_names,
    }


def export_version(
    base: Path, version: int, spec_data: dict, *, seed: int, warmup_rows: int = 0
) -> ToyVersion:
    """Export one fixture version to ``base/<version>/`` with its ``assets.extra/``."""
    spec = FeatureSpec.model_validate(spec_data)
    rng = np.random.default_rng(seed)
    baseline = baseline_row(spec)
    # Scaled so that no column saturates the sigmoid at the baseline row.
    weights = rng.normal(scale=0.5, size=len(baseline)) / np.maximum(np.abs(baseline), 1.0)
    weights = weights.astype(np.float32)
    bias = float(np.float32(rng.normal(scale=0.5)))
    module = _Logistic(weights, bias, baseline)
    path = base / str(version)
    tf.saved_model.save(
        module, str(path), signatures={"serving_default": module.serve, "explain": module.explain}
    )
    assets = path / "assets.extra"
    assets.mkdir()
    (assets / "feature_spec.yaml").write_text(spec.to_yaml(), encoding="utf-8")
    (assets / "model_card.json").write_text(json.dumps(card(spec.model, version, spec)))
    toy = ToyVersion(spec.model, version, spec, weights, bias, path)
    if warmup_rows:
        write_warmup(assets / "tf_serving_warmup_requests", toy, toy.rows(warmup_rows, seed))
    return toy


def write_warmup(path: Path, toy: ToyVersion, rows: np.ndarray) -> None:
    """TensorFlow Serving warmup records: one predict request per signature."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature in ("serving_default", "explain"):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=toy.name, signature_name=signature),
                inputs={"features": tf.make_tensor_proto(rows)},
            )
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())


def write_models_config(path: Path, entries: list[model_server_config_pb2.ModelConfig]) -> None:
    config = model_server_config_pb2.ModelServerConfig()
    config.model_config_list.config.extend(entries)
    path.write_text(text_format.MessageToString(config), encoding="utf-8")


def build_model_dir(root: Path) -> ModelDir:
    """The fixture model directory described in the module docstring."""
    root.mkdir(parents=True, exist_ok=True)
    toys = [
        export_version(root / "toy-risk", 1, RISK_SPEC, seed=1, warmup_rows=3),
        export_version(root / "toy-risk", 2, RISK_SPEC, seed=2),
        export_version(root / "toy-score", 1, SCORE_SPEC, seed=3),
    ]
    risk = model_server_config_pb2.ModelConfig(
        name="toy-risk", base_path="toy-risk", model_platform="tensorflow"
    )
    risk.model_version_policy.specific.versions.extend([1, 2])
    risk.version_labels["stable"] = 1
    risk.version_labels["canary"] = 2
    score = model_server_config_pb2.ModelConfig(
        name="toy-score", base_path="toy-score", model_platform="tensorflow"
    )
    write_models_config(root / "models.config", [risk, score])
    return ModelDir(root, {(t.name, t.version): t for t in toys})


def model_calls(backend: str, model: str, method: str) -> float:
    """How many calls ``cds_model_request_duration_seconds`` has observed so far."""
    from prometheus_client import REGISTRY

    labels = {"backend": backend, "model": model, "method": method}
    return REGISTRY.get_sample_value("cds_model_request_duration_seconds_count", labels) or 0.0
