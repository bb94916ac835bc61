"""Predictions and attributions for every door, from one interface and two backends.

``create_inference(settings)`` returns the backend ``CDS_MODEL_BACKEND`` names:
``embedded`` (SavedModels loaded in-process) or ``tfserving`` (gRPC to TensorFlow
Serving). Backends are imported when created, so importing this package (and its
errors) loads neither TensorFlow nor gRPC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.inference.errors import (
    BackendUnavailable,
    CircuitOpen,
    DeadlineExceeded,
    InferenceError,
    InvalidInput,
    ModelConfigError,
    ModelNotFound,
)
from services.inference.interface import Explanation, Inference, ModelInfo, Prediction

if TYPE_CHECKING:
    from services.settings import Settings

__all__ = [
    "BackendUnavailable",
    "CircuitOpen",
    "DeadlineExceeded",
    "Explanation",
    "Inference",
    "InferenceError",
    "InvalidInput",
    "ModelConfigError",
    "ModelInfo",
    "ModelNotFound",
    "Prediction",
    "create_inference",
]


def create_inference(settings: Settings) -> Inference:
    """The backend the settings choose, with its models checked and warmed up, and its
    calls timed in ``cds_model_request_duration_seconds``."""
    from services.inference.timed import TimedInference

    return TimedInference(_backend(settings), settings.model_backend)


def _backend(settings: Settings) -> Inference:
    from services.inference.catalog import Catalog

    catalog = Catalog.from_settings(settings)
    if settings.model_backend == "embedded":
        from services.inference.embedded import EmbeddedInference

        return EmbeddedInference(catalog)

    from services.inference.breaker import CircuitBreaker
    from services.inference.tfserving import TFServingInference

    return TFServingInference(
        settings.tfserving_target,
        catalog,
        deadline_s=settings.tfserving_deadline_ms / 1000,
        retries=settings.tfserving_retries,
        backoff_s=settings.tfserving_backoff_ms / 1000,
        breaker=CircuitBreaker(
            settings.tfserving_breaker_failures, settings.tfserving_breaker_reset_s
        ),
    )
