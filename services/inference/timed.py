"""Model latency per backend: one wrapper around whichever backend serves, so no
backend times itself."""

from __future__ import annotations

import numpy as np

from services.inference.interface import Explanation, Inference, ModelInfo, Prediction
from services.metrics import MODEL_LATENCY


class TimedInference:
    """``inner`` with each predict and explain call observed in
    ``cds_model_request_duration_seconds{backend, model, method}``."""

    def __init__(self, inner: Inference, backend: str) -> None:
        self.inner = inner
        self.backend = backend

    def predict(
        self,
        model: str,
        features: np.ndarray,
        *,
        version: int | None = None,
        label: str | None = None,
    ) -> Prediction:
        with MODEL_LATENCY.labels(self.backend, model, "predict").time():
            return self.inner.predict(model, features, version=version, label=label)

    def explain(
        self,
        model: str,
        features: np.ndarray,
        *,
        version: int | None = None,
        label: str | None = None,
    ) -> Explanation:
        with MODEL_LATENCY.labels(self.backend, model, "explain").time():
            return self.inner.explain(model, features, version=version, label=label)

    def model_info(
        self, model: str, *, version: int | None = None, label: str | None = None
    ) -> ModelInfo:
        return self.inner.model_info(model, version=version, label=label)

    def models(self) -> list[ModelInfo]:
        return self.inner.models()

    def ready(self) -> bool:
        return self.inner.ready()

    def close(self) -> None:
        self.inner.close()
