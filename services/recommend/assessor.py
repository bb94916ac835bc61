"""FHIR records → assessments: extract, predict, explain, band and word.

The same :class:`Assessor` serves every door. It reads each model's feature
spec and card from the inference layer (so from the artifact being served),
extracts features with the adapters, asks the inference layer for predictions
and attributions, and turns the numbers into :class:`Assessment` objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from adapters import Extractor, FeatureMatrix, PatientFeatures, PatientRecord, to_matrix
from adapters.extract import ErrorMode
from adapters.spec import MISSING_SUFFIX, Feature
from services.recommend import wording
from services.recommend.assessment import Assessment, Factor, OptionRisk
from services.recommend.bands import band_for, banded_output
from services.settings import Settings

if TYPE_CHECKING:
    from services.inference import Inference, ModelInfo


class Assessor:
    """Scores patients with a model and explains the scores."""

    def __init__(self, inference: Inference, settings: Settings) -> None:
        self.inference = inference
        self.settings = settings
        self._extractors: dict[tuple[str, int], Extractor] = {}
        self._columns: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def model_info(
        self, model: str, *, version: int | None = None, label: str | None = None
    ) -> ModelInfo:
        return self.inference.model_info(model, version=version, label=label)

    def extract(
        self,
        info: ModelInfo,
        records: Sequence[PatientRecord],
        index_time: datetime,
        *,
        errors: ErrorMode = "raise",
    ) -> FeatureMatrix:
        """The model's feature matrix for ``records`` as of ``index_time``."""
        key = (info.name, info.version)
        extractor = self._extractors.get(key)
        if extractor is None:
            extractor = self._extractors[key] = Extractor(info.spec)
        rows = [extractor.extract(r, index_time, errors=errors) for r in records]
        return to_matrix(info.spec, rows)

    def assess(
        self,
        model: str,
        records: Sequence[PatientRecord],
        index_time: datetime,
        *,
        explain: bool = True,
        version: int | None = None,
        label: str | None = None,
        errors: ErrorMode = "raise",
    ) -> list[Assessment]:
        """One assessment per record, in order.

        Raises the adapters' ``FHIRInputError`` for bad input (with
        ``errors="raise"``) and the inference layer's typed errors when the
        model is unknown or its backend fails; the caller decides what a
        failure means for its door (a CDS Hooks service answers with no card).
        """
        info = self.model_info(model, version=version, label=label)
        if not records:
            return []
        matrix = self.extract(info, records, index_time, errors=errors)
        return self.assess_matrix(info, matrix, explain=explain)

    def assess_matrix(
        self, info: ModelInfo, matrix: FeatureMatrix, *, explain: bool = True
    ) -> list[Assessment]:
        """Assessments for an already extracted matrix (batch extracts and scores apart)."""
        prediction = self.inference.predict(info.name, matrix.values, version=info.version)
        attributions = (
            self.inference.explain(info.name, matrix.values, version=info.version).attributions
            if explain
            else None
        )
        card = info.card
        banded = banded_output(card)
        thresholds = self.settings.risk_bands.get(info.name, (np.inf, np.inf))
        out = []
        for i, patient in enumerate(matrix.patients):
            outputs = {name: float(values[i]) for name, values in prediction.outputs.items()}
            options = _options(card, outputs)
            score = outputs[card["primary_output"]]
            band = band_for(outputs[banded], thresholds)
            factors = (
                self._factors(info, matrix.columns, patient, attributions[i])
                if attributions is not None
                else ()
            )
            missing = tuple(
                f.name for f, v in zip(info.spec.features, patient.values, strict=True) if v is None
            )
            title = card.get("title", info.name)
            out.append(
                Assessment(
                    patient_id=patient.patient_id,
                    model=info.name,
                    version=info.version,
                    title=title,
                    task=card["task"],
                    score=score,
                    band=band,
                    outputs=outputs,
                    factors=factors,
                    options=options,
                    missing=missing,
                    intended_use=card.get("intended_use", ""),
                    summary=wording.summary(title, card["task"], score, band, outputs, options),
                    detail=wording.detail(
                        info.name,
                        info.version,
                        card["task"],
                        factors,
                        options,
                        [_label(f) for f in info.spec.features if f.name in missing],
                        card.get("intended_use", ""),
                    ),
                )
            )
        return out

    def _factors(
        self,
        info: ModelInfo,
        columns: list[str],
        patient: PatientFeatures,
        attributions: np.ndarray,
    ) -> tuple[Factor, ...]:
        """Per feature (its missing indicator folded in), the largest contributions first.

        Only the top features become :class:`Factor` objects with provenance: a model
        may have a hundred features, a card names five.
        """
        value_cols, missing_cols = self._attribution_columns(info, columns)
        combined = attributions.astype(np.float64)[value_cols]
        has_missing = missing_cols >= 0
        combined[has_missing] += attributions[missing_cols[has_missing]]
        # Stable, so equal contributions keep the spec's order.
        top = np.argsort(-np.abs(combined), kind="stable")[: self.settings.top_factors]
        features = info.spec.features
        return tuple(
            Factor(
                feature=features[i].name,
                label=_label(features[i]),
                value=patient.values[i],
                unit=features[i].unit if features[i].numeric_value else None,
                attribution=float(combined[i]),
                provenance=patient.provenance_of(i),
            )
            for i in top.tolist()
        )

    def _attribution_columns(
        self, info: ModelInfo, columns: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per feature, its value column and its missing-indicator column (-1: none)."""
        key = (info.name, info.version)
        found = self._columns.get(key)
        if found is None:
            position = {name: i for i, name in enumerate(columns)}
            names = [f.name for f in info.spec.features]
            found = self._columns[key] = (
                np.array([position[n] for n in names], dtype=np.intp),
                np.array([position.get(n + MISSING_SUFFIX, -1) for n in names], dtype=np.intp),
            )
        return found


def _label(feature: Feature) -> str:
    """A person's name for a feature: its description, else its name in words."""
    return feature.description or feature.name.replace("_", " ").capitalize()


def _options(card: dict, outputs: dict[str, float]) -> tuple[OptionRisk, ...]:
    return tuple(
        OptionRisk(
            output=opt["output"],
            label=opt["label"],
            risk=outputs[opt["output"]],
            order=opt.get("order"),
        )
        for opt in card.get("treatment_options", ())
    )
