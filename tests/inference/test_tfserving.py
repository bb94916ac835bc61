"""The TensorFlow Serving backend against ``cds model-server`` on loopback."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_service_pb2_grpc

from adapters.spec import FeatureSpec
from services.inference import create_inference
from services.inference.breaker import CircuitBreaker
from services.inference.catalog import Catalog
from services.inference.embedded import EmbeddedInference
from services.inference.errors import (
    BackendUnavailable,
    CircuitOpen,
    DeadlineExceeded,
    InvalidInput,
    ModelConfigError,
    ModelNotFound,
)
from services.inference.tfserving import TFServingInference, typed_error
from services.settings import Settings
from tests.inference.fixtures import RISK_SPEC, ModelDir, model_calls
from tests.inference.servers import ModelServerProcess, start_model_server

pytestmark = pytest.mark.server

DEADLINE_S = 2.0
T = TypeVar("T")


def client(
    target: str,
    model_dir: Path,
    *,
    retries: int = 2,
    backoff_s: float = 0.02,
    failures: int = 2,
    reset_s: float = 1.0,
) -> TFServingInference:
    return TFServingInference(
        target,
        Catalog.from_model_dir(model_dir),
        deadline_s=DEADLINE_S,
        retries=retries,
        backoff_s=backoff_s,
        breaker=CircuitBreaker(failures, reset_s),
    )


@pytest.fixture(scope="module")
def tfserving(
    model_server: ModelServerProcess, model_dir: ModelDir
) -> Iterator[TFServingInference]:
    backend = client(model_server.target, model_dir.root)
    yield backend
    backend.close()


@pytest.fixture
def copy(model_dir: ModelDir, tmp_path: Path) -> Path:
    """A private copy of the fixture models, for a client that disagrees with the server."""
    return Path(shutil.copytree(model_dir.root, tmp_path / "models"))


SELECTORS = [{}, {"version": 1}, {"version": 2}, {"label": "stable"}, {"label": "canary"}]


@pytest.mark.parametrize("selector", SELECTORS, ids=str)
def test_predict_equals_embedded(tfserving, embedded: EmbeddedInference, model_dir, selector):
    x = model_dir["toy-risk", 1].rows(16, seed=3)
    got = tfserving.predict("toy-risk", x, **selector)
    want = embedded.predict("toy-risk", x, **selector)
    assert (got.model, got.version) == (want.model, want.version)
    assert set(got.outputs) == set(want.outputs) == {"risk", "logit"}
    for name, values in want.outputs.items():
        assert got.outputs[name].dtype == np.float32
        np.testing.assert_allclose(got.outputs[name], values, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("selector", SELECTORS, ids=str)
def test_explain_equals_embedded(tfserving, embedded: EmbeddedInference, model_dir, selector):
    x = model_dir["toy-risk", 1].rows(8, seed=4)
    got = tfserving.explain("toy-risk", x, **selector)
    want = embedded.explain("toy-risk", x, **selector)
    assert (got.model, got.version) == (want.model, want.version)
    for field in ("attributions", "baseline", "prediction"):
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=1e-6, atol=1e-7)


def test_other_model_and_a_batch_larger_than_grpcs_default_message(
    tfserving, embedded: EmbeddedInference, model_dir
):
    x = model_dir["toy-score", 1].rows(400_000)  # 4.8 MB of features, 1.6 MB per output
    got = tfserving.predict("toy-score", x).outputs["risk"]
    np.testing.assert_allclose(got, embedded.predict("toy-score", x).outputs["risk"], rtol=1e-6)


def test_models_info_and_ready(tfserving, embedded: EmbeddedInference):
    assert tfserving.models() == embedded.models()
    assert tfserving.model_info("toy-risk", label="stable") == embedded.model_info(
        "toy-risk", label="stable"
    )
    assert tfserving.ready()


def test_create_inference_chooses_tfserving(model_server: ModelServerProcess, model_dir):
    settings = Settings(
        model_dir=model_dir.root, model_backend="tfserving", tfserving_target=model_server.target
    )
    inference = create_inference(settings)
    try:
        assert isinstance(inference.inner, TFServingInference)
        x = model_dir["toy-risk", 2].rows(2)
        calls = model_calls("tfserving", "toy-risk", "predict")
        np.testing.assert_allclose(
            inference.predict("toy-risk", x).outputs["risk"],
            model_dir["toy-risk", 2].risk(x),
            rtol=1e-5,
        )
        assert model_calls("tfserving", "toy-risk", "predict") == calls + 1
    finally:
        inference.close()


@pytest.mark.parametrize(
    ("model", "selector"),
    [("nope", {}), ("toy-risk", {"version": 7}), ("toy-risk", {"label": "beta"})],
)
def test_unknown_model_version_or_label(tfserving, model, selector):
    for call in (tfserving.predict, tfserving.explain):
        with pytest.raises(ModelNotFound):
            call(model, np.zeros((1, 6), np.float32), **selector)


def test_wrong_width_is_invalid_input(tfserving):
    with pytest.raises(InvalidInput, match=r"\[batch, 6\]"):
        tfserving.predict("toy-risk", np.zeros((1, 5), np.float32))


def test_a_label_only_the_client_knows_is_model_not_found(model_server, copy: Path):
    """The server decides what a label means; its INVALID_ARGUMENT answer for an
    unknown label is still "no such model version", not bad input."""
    config = copy / "models.config"
    config.write_text(
        config.read_text().replace(
            'key: "canary"',
            'key: "beta"\n      value: 2\n    }\n    version_labels {\n      key: "canary"',
        )
    )
    backend = client(model_server.target, copy)
    try:
        assert backend.model_info("toy-risk", label="beta").version == 2
        with pytest.raises(ModelNotFound, match="Unrecognized servable version label: beta"):
            backend.predict("toy-risk", np.zeros((1, 6), np.float32), label="beta")
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("spec", "features", "signature", "error"),
    [
        ({"name": "nope"}, (1, 6), "", ModelNotFound),
        ({"name": "toy-risk", "version": {"value": 7}}, (1, 6), "", ModelNotFound),
        ({"name": "toy-risk", "version_label": "beta"}, (1, 6), "", ModelNotFound),
        ({"name": "toy-risk"}, (1, 5), "", InvalidInput),
        ({"name": "toy-risk"}, (1, 6), "score", InvalidInput),
    ],
)
def test_server_errors_map_to_typed_errors(model_server, spec, features, signature, error):
    """The mapping, fed the real RpcErrors of raw TF Serving stub calls."""
    message = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(signature_name=signature, **spec),
        inputs={"features": tf.make_tensor_proto(np.zeros(features, np.float32))},
    )
    with grpc.insecure_channel(model_server.target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.Predict(message, timeout=30)
    assert type(typed_error(raised.value)) is error


def test_start_catches_a_spec_that_does_not_fit_the_served_signature(model_server, copy: Path):
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
    spec_path = copy / "toy-risk" / "1" / "assets.extra" / "feature_spec.yaml"
    spec_path.write_text(FeatureSpec.model_validate(wider).to_yaml())
    with pytest.raises(ModelConfigError, match=r"'toy-risk' version 1.*\[-1, 6\].*7 columns"):
        client(model_server.target, copy)


def test_start_catches_a_version_the_server_does_not_serve(model_server, copy: Path):
    three = Path(shutil.copytree(copy / "toy-risk" / "2", copy / "toy-risk" / "3"))
    card_path = three / "assets.extra" / "model_card.json"
    card_path.write_text(json.dumps(dict(json.loads(card_path.read_text()), version=3)))
    config = copy / "models.config"
    config.write_text(config.read_text().replace("versions: 2", "versions: 2\n        versions: 3"))
    with pytest.raises(ModelConfigError, match="does not serve 'toy-risk' version 3"):
        client(model_server.target, copy)


def timed(call: Callable[[], T]) -> tuple[float, T | BaseException]:
    start = time.monotonic()
    try:
        result: T | BaseException = call()
    except Exception as exc:
        result = exc
    return time.monotonic() - start, result


def eventually(call: Callable[[], T], within_s: float = 120.0) -> T:
    """``call()`` once it stops raising BackendUnavailable (a restart takes a while)."""
    give_up = time.monotonic() + within_s
    while True:
        try:
            return call()
        except BackendUnavailable:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.1)


@pytest.mark.slow
def test_frozen_server_costs_the_deadline_then_the_breaker_fails_fast(
    model_dir: ModelDir, embedded: EmbeddedInference, tmp_path: Path
):
    server = start_model_server(model_dir.config, tmp_path)
    backend = client(server.target, model_dir.root, failures=2, reset_s=1.0)
    x = model_dir["toy-risk", 2].rows(2)
    try:
        backend.predict("toy-risk", x)
        server.freeze()  # connections stay open, nothing answers
        for _ in range(2):  # the breaker's threshold
            elapsed, error = timed(lambda: backend.predict("toy-risk", x))
            assert isinstance(error, DeadlineExceeded)
            assert DEADLINE_S * 0.9 <= elapsed < DEADLINE_S * 1.5
        elapsed, error = timed(lambda: backend.predict("toy-risk", x))
        assert isinstance(error, CircuitOpen)
        assert elapsed < DEADLINE_S / 10
        elapsed, ready = timed(backend.ready)
        assert ready is False
        assert elapsed < DEADLINE_S / 10
        elapsed, error = timed(lambda: client(server.target, model_dir.root))
        assert isinstance(error, DeadlineExceeded)  # a client starting now fails in time too
        assert elapsed < DEADLINE_S * 1.5

        server.thaw()
        recovered = eventually(lambda: backend.predict("toy-risk", x))
        np.testing.assert_allclose(
            recovered.outputs["risk"], embedded.predict("toy-risk", x).outputs["risk"], rtol=1e-6
        )
        assert backend.ready()
    finally:
        backend.close()
        server.stop()


@pytest.mark.slow
def test_dead_server_fails_fast_and_a_restarted_one_is_picked_up(
    model_dir: ModelDir, embedded: EmbeddedInference, tmp_path: Path
):
    server = start_model_server(model_dir.config, tmp_path)
    backend = client(server.target, model_dir.root, failures=2, reset_s=1.0)
    patient = client(server.target, model_dir.root, retries=10, backoff_s=0.3, failures=10)
    x = model_dir["toy-risk", 1].rows(3)
    restarted = None
    try:
        server.kill()
        for _ in range(2):
            elapsed, error = timed(lambda: backend.explain("toy-risk", x, label="stable"))
            assert isinstance(error, BackendUnavailable)
            assert not isinstance(error, CircuitOpen)
            assert elapsed < DEADLINE_S * 1.5
        elapsed, error = timed(lambda: backend.explain("toy-risk", x, label="stable"))
        assert isinstance(error, CircuitOpen)
        assert elapsed < DEADLINE_S / 10
        assert not backend.ready()
        # Retries back off inside the deadline: ten retries starting at 0.3 s would take
        # minutes; the call still answers within the deadline.
        elapsed, error = timed(lambda: patient.predict("toy-risk", x))
        assert isinstance(error, BackendUnavailable)
        assert elapsed < DEADLINE_S * 1.5

        restarted = start_model_server(model_dir.config, tmp_path, port=server.port)
        got = eventually(lambda: backend.explain("toy-risk", x, label="stable"))
        want = embedded.explain("toy-risk", x, label="stable")
        assert got.version == want.version == 1
        np.testing.assert_allclose(got.attributions, want.attributions, rtol=1e-6, atol=1e-7)
        assert backend.ready()
    finally:
        backend.close()
        patient.close()
        for process in (server, restarted):
            if process is not None:
                process.stop()
