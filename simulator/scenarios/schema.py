"""Strict pydantic schema of a scenario file (DESIGN 3.4, 7).

A scenario is data only: one YAML mapping, validated here with ``extra="forbid"`` at every
level, so that an unknown key, a wrong type or an impossible value is refused with the
field's path. Nothing in a scenario names or instantiates code.
"""

from __future__ import annotations

import typing
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from simulator.layout import ACTION_NAMES, FAULT_KINDS, N_FEATURES

Family = Literal[
    "data_drift", "model_degradation", "infrastructure", "anomaly_patterns", "extended"
]
Subtype = Literal[FAULT_KINDS + ("compound",)]  # fault kinds of simulator.layout
ActionName = Literal[ACTION_NAMES]  # the action names of simulator.layout
Shape = Literal["sudden", "gradual", "incremental", "recurring", "flapping"]

#: The paper's taxonomy (Sec. 5): family of each sub-type.
FAMILY_OF_SUBTYPE = {
    "covariate_shift": "data_drift",
    "concept_drift": "data_drift",
    "feature_corruption": "data_drift",
    "accuracy_decay": "model_degradation",
    "latency_increase": "model_degradation",
    "memory_leak": "model_degradation",
    "resource_exhaustion": "infrastructure",
    "network_latency": "infrastructure",
    "dependency_failure": "infrastructure",
    "adversarial_inputs": "anomaly_patterns",
    "outlier_cluster": "anomaly_patterns",
    "temporal_anomaly": "anomaly_patterns",
}


class FieldError(ValueError):
    """A cross-field check failed; ``field`` is the dotted path of the offending field."""

    def __init__(self, field: str, message: str, got: object = None):
        super().__init__(message)
        self.field = field
        self.got = got


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# ----------------------------------------------------------------------------------------
# Faults: one model per kind, discriminated by ``kind``.
# ----------------------------------------------------------------------------------------
class _FaultBase(_Strict):
    onset: int = Field(ge=0, description="Minute of the fault's onset.")
    duration: int | None = Field(
        default=None, ge=1, description="Minutes the fault lasts; omitted = until the horizon."
    )
    shape: Shape = Field(
        default="sudden",
        description="Onset shape: sudden, gradual / incremental (ramp), recurring (every "
        "period, active_minutes on), flapping (blocks of period minutes, each bad with "
        "probability active_minutes / period, drawn per episode).",
    )
    ramp: int = Field(
        default=0, ge=0, description="Minutes to full magnitude (gradual, incremental)."
    )
    period: int = Field(
        default=0, ge=0,
        description="Minutes between recurrences (recurring); minutes per block (flapping).",
    )
    active_minutes: int = Field(
        default=0, ge=0,
        description="Minutes active in each period (recurring; flapping: on average).",
    )

    @model_validator(mode="after")
    def _shape_fields(self):
        if self.shape in ("gradual", "incremental") and self.ramp < 1:
            raise ValueError(f"shape '{self.shape}' needs ramp >= 1 (minutes to full magnitude)")
        if self.shape in ("recurring", "flapping"):
            if self.period < 2 or not (1 <= self.active_minutes < self.period):
                raise ValueError(
                    f"shape '{self.shape}' needs period >= 2 and 1 <= active_minutes < period"
                    f" (got period {self.period}, active_minutes {self.active_minutes})"
                )
        elif self.period or self.active_minutes:
            raise ValueError(
                f"period and active_minutes apply to shapes 'recurring' and 'flapping' only "
                f"(shape is '{self.shape}')"
            )
        if self.ramp and self.shape not in ("gradual", "incremental"):
            raise ValueError(
                f"ramp applies to shapes 'gradual' and 'incremental' only (shape is "
                f"'{self.shape}')"
            )
        return self


class _FeatureFault(_FaultBase):
    feature: int = Field(default=0, ge=0, lt=N_FEATURES, description="First affected feature.")
    n_features: int = Field(default=1, ge=1, le=N_FEATURES, description="Features affected.")

    @model_validator(mode="after")
    def _feature_range(self):
        if self.feature + self.n_features > N_FEATURES:
            raise ValueError(
                f"feature + n_features must be <= {N_FEATURES} (the monitored features)"
            )
        return self


class CovariateShift(_FeatureFault):
    """Shift of the input distribution: location by ``magnitude`` standard deviations."""

    kind: Literal["covariate_shift"]
    magnitude: float = Field(gt=0, le=10, description="Location shift in reference std units.")
    scale: float = Field(default=1.0, gt=0, le=10, description="Multiplier of the input std.")


class ConceptDrift(_FaultBase):
    """Change of the input-to-label relation; invisible to the KS statistic."""

    kind: Literal["concept_drift"]
    magnitude: float = Field(
        gt=0, le=1, description="Concept change: share of rows whose clean label flips "
                                "(the labelling direction rotates by pi x magnitude).")


class FeatureCorruption(_FeatureFault):
    """A share of rows of some features corrupted upstream."""

    kind: Literal["feature_corruption"]
    variant: Literal["missing_values", "outliers", "schema_change", "unit_change", "skew"]
    magnitude: float = Field(gt=0, le=1, description="Share of rows corrupted.")
    scale: float = Field(default=100.0, gt=0, le=1e6, description="Unit-change factor.")
    migrate: bool = Field(
        default=False,
        description="schema_change only: the live schema moves on for good at onset "
        "(the serving model is migrated with it; older versions become incompatible).",
    )


class AccuracyDecay(_FaultBase):
    """Accuracy loss of the model version serving at onset (e.g. a stale feature it uses)."""

    kind: Literal["accuracy_decay"]
    magnitude: float = Field(gt=0, le=1, description="Accuracy lost at full magnitude.")


class LatencyIncrease(_FaultBase):
    """Inference latency of the model version serving at onset grows."""

    kind: Literal["latency_increase"]
    magnitude: float = Field(gt=0, le=50, description="Added multiple of the base latency.")


class MemoryLeak(_FaultBase):
    """The version serving at onset leaks memory; at 100% a pod crashes and restarts."""

    kind: Literal["memory_leak"]
    magnitude: float = Field(gt=0, le=1, description="Share of memory leaked per minute.")


class ResourceExhaustion(_FaultBase):
    """Capacity lost to CPU, memory, disk or connection-pool exhaustion."""

    kind: Literal["resource_exhaustion"]
    variant: Literal["cpu", "memory", "disk", "pool"]
    magnitude: float = Field(gt=0, lt=1, description="Share of capacity (disk: of writes) lost.")


class NetworkLatency(_FaultBase):
    """Added network latency and timeouts between the service and its clients."""

    kind: Literal["network_latency"]
    magnitude: float = Field(gt=0, le=10000, description="Added milliseconds.")


class DependencyFailure(_FaultBase):
    """A dependency (database, cache, upstream service) fails a share of lookups."""

    kind: Literal["dependency_failure"]
    variant: Literal["database", "cache", "service"]
    magnitude: float = Field(gt=0, le=1, description="Share of requests whose lookup fails.")


class AdversarialInputs(_FaultBase):
    """Crafted inputs that look normal but are mislabelled by the model (feedback poisoning)."""

    kind: Literal["adversarial_inputs"]
    magnitude: float = Field(gt=0, le=1, description="Share of adversarial rows.")


class OutlierCluster(_FeatureFault):
    """A cluster of far-out rows (new segment, bot traffic)."""

    kind: Literal["outlier_cluster"]
    magnitude: float = Field(gt=0, le=1, description="Share of rows in the cluster.")
    scale: float = Field(default=6.0, gt=0, le=100, description="Cluster distance in std units.")


class TemporalAnomaly(_FeatureFault):
    """Seasonal swing of traffic and inputs, expected by the business."""

    kind: Literal["temporal_anomaly"]
    magnitude: float = Field(gt=0, le=10, description="Input shift (std) at the peak.")
    scale: float = Field(default=1.5, gt=0, le=20, description="Traffic multiplier at the peak.")


class TrafficSurge(_FaultBase):
    """Traffic multiplied by ``magnitude`` (launch, sale day)."""

    kind: Literal["traffic_surge"]
    magnitude: float = Field(gt=1, le=100, description="Traffic multiplier.")


class CostShock(_FaultBase):
    """Compute price multiplied by ``magnitude`` (spot price spike, runaway spend)."""

    kind: Literal["cost_shock"]
    magnitude: float = Field(gt=1, le=100, description="Compute price multiplier.")


class BadDeploy(_FaultBase):
    """At onset a bad model version is pushed to all traffic (the old one becomes previous)."""

    kind: Literal["bad_deploy"]
    magnitude: float = Field(gt=0, le=1, description="Accuracy the bad version loses.")
    previous_magnitude: float = Field(
        default=0.0, ge=0, le=1,
        description="Accuracy the version left as previous loses: > 0 when the push follows "
        "an earlier bad one, so a rollback returns to a bad version (0: the good one).",
    )

    @model_validator(mode="after")
    def _one_push(self):
        if self.shape != "sudden" or self.duration is not None:
            raise ValueError(
                "bad_deploy is one push: shape 'sudden' and no duration (the pushed version "
                "stays bad until it is replaced)"
            )
        return self


class LabelShift(_FaultBase):
    """Prior shift: the class balance moves while the inputs do not (only labels show it)."""

    kind: Literal["label_shift"]
    magnitude: float = Field(
        ge=-3, le=3,
        description="Shift of the clean score's intercept, in its std: class 1's share "
        "moves from about 1/2 to about Phi(magnitude) (0: no shift).",
    )


class TrafficDrop(_FaultBase):
    """Traffic falls to 1 - ``magnitude`` of its level (an upstream outage, a lost client)."""

    kind: Literal["traffic_drop"]
    magnitude: float = Field(gt=0, lt=1, description="Share of traffic lost.")


class RunawayUsage(_FaultBase):
    """Runaway work (a recursive job, a retry storm) bills compute; ``restart`` kills it."""

    kind: Literal["runaway_usage"]
    magnitude: float = Field(
        gt=0, le=1000, description="Replica-minutes per minute billed at full level."
    )


class BadArtifact(_FeatureFault):
    """A bad artefact (feature file, normalisation config) the pipeline keeps regenerating.

    The serving release and every build made while it lasts read the affected features
    through it; a version built before onset does not.
    """

    kind: Literal["bad_artifact"]
    magnitude: float = Field(
        gt=0, le=1e6,
        description="Factor by which the bad artefact scales the affected features as the "
        "models read them (a wrong unit or normalisation; 1: a good artefact).",
    )


class StaleFeatures(_FeatureFault):
    """The feature store serves old values: no model version can read them right."""

    kind: Literal["stale_features"]
    magnitude: float = Field(gt=0, le=1, description="Share of rows served stale values.")


Fault = Annotated[
    CovariateShift
    | ConceptDrift
    | FeatureCorruption
    | AccuracyDecay
    | LatencyIncrease
    | MemoryLeak
    | ResourceExhaustion
    | NetworkLatency
    | DependencyFailure
    | AdversarialInputs
    | OutlierCluster
    | TemporalAnomaly
    | TrafficSurge
    | CostShock
    | BadDeploy
    | LabelShift
    | TrafficDrop
    | RunawayUsage
    | StaleFeatures
    | BadArtifact,
    Field(discriminator="kind"),
]
#: The fault model of each ``kind``.
FAULT_MODELS = {typing.get_args(m.model_fields["kind"].annotation)[0]: m
                for m in typing.get_args(typing.get_args(Fault)[0])}


# ----------------------------------------------------------------------------------------
# Settings with defaults (all optional in a file).
# ----------------------------------------------------------------------------------------
class Pipeline(_Strict):
    """Serving system: traffic and capacity."""

    base_rps: float = Field(default=50.0, gt=0, le=1e6, description="Mean requests per second.")
    diurnal_amplitude: float = Field(default=0.2, ge=0, lt=1, description="Daily swing share.")
    diurnal_phase: float = Field(
        default=0.0, ge=0, lt=1440,
        description="Minute of the day at episode minute 0 (0: traffic at its mean, rising).",
    )
    replicas: int = Field(default=4, ge=1, le=1000)
    replica_rps: float = Field(default=25.0, gt=0, description="Requests/s one replica serves.")
    base_latency_ms: float = Field(default=40.0, gt=0, description="p99 latency at zero load.")
    timeout_ms: float = Field(default=1000.0, gt=0, description="Client timeout.")


class Modelling(_Strict):
    """The labelling concept and the served classifiers (DESIGN 3.5, ``simulator.classifier``).

    Every served model is an LDA classifier fit on labelled rows. Rows are labelled by a
    concept that is linear within ``support_z`` standard deviations of the baseline and
    curves beyond it (``covariate_sensitivity``), with label noise ``label_noise``.
    """

    baseline_accuracy: float = Field(
        default=0.92, gt=0.5, le=1,
        description="Nominal (validated) accuracy of the serving model: the reference of the "
                    "measured accuracy drop and of the SLA score's accuracy term. The "
                    "realised accuracy is what the fitted classifier scores.")
    previous_accuracy: float = Field(
        default=0.91, gt=0.5, le=1,
        description="How stale the previous version is: it was fit on the concept "
                    "-(baseline - previous) / (1 - 2 label_noise), which costs it about "
                    "baseline - previous accuracy points on today's rows.")
    fallback_accuracy: float = Field(
        default=0.86, gt=0.5, le=1,
        description="How stale the fallback is, as previous_accuracy.")
    label_noise: float = Field(
        default=0.06, ge=0, lt=0.5,
        description="Probability that a row's label is flipped (the Bayes error). The default "
                    "makes the fault-free v1 score about baseline_accuracy.")
    covariate_sensitivity: float = Field(
        default=0.5, ge=0, le=10,
        description="Curvature kappa of the concept beyond its support: the clean score loses "
                    "kappa (|z| - support_z)^2 per feature outside the support, so a model "
                    "fit on baseline rows is wrong where covariate shift takes the rows.")
    support_z: float = Field(
        default=1.5, ge=0, le=10,
        description="Standard deviations from the baseline mean within which the concept "
                    "is linear.")
    fallback_concept: float | None = Field(
        default=None, ge=-1, le=1,
        description="Concept the fallback was fit on (share of flipped labels, as a concept "
                    "drift's magnitude), when it is not merely stale: e.g. a simple model on "
                    "another signal that already reflects a drifted relation. Default: derived "
                    "from fallback_accuracy.")
    fallback_guard_z: float = Field(
        default=3.0, gt=0, le=100,
        description="The fallback reads an input beyond its training mean +- this many "
                    "standard deviations as missing and imputes that mean (robust to "
                    "out-of-range corrupted values by construction).")
    fallback_cost: float = Field(default=0.5, gt=0, le=1, description="Resource cost ratio.")

    @model_validator(mode="after")
    def _order(self):
        if self.fallback_accuracy > self.baseline_accuracy:
            raise ValueError("fallback_accuracy must be <= baseline_accuracy")
        if self.previous_accuracy > self.baseline_accuracy:
            raise ValueError("previous_accuracy must be <= baseline_accuracy (the previous "
                             "version is older, not better)")
        return self


class Monitoring(_Strict):
    """What is measured and how (DESIGN 3.3)."""

    label_delay: int = Field(default=20, ge=0, le=100000, description="Minutes.")
    label_volume: int = Field(default=60, ge=1, le=10000, description="Labels per minute.")
    labels_follow_traffic: bool = Field(
        default=False,
        description="Labels are a fixed share of requests: label_volume per minute at "
        "base traffic, proportionally fewer or more at other traffic (default: a fixed "
        "label_volume per minute).",
    )
    label_window: int = Field(default=10, ge=1, le=1440, description="Minutes averaged.")
    samples_per_minute: int = Field(default=100, ge=10, le=2000)
    ks_window: int = Field(default=3, ge=1, le=60, description="Minutes in the KS window.")
    reference_size: int = Field(default=1000, ge=50, le=10000)
    anomaly_z: float = Field(default=3.0, gt=0, le=10)


class Deployment(_Strict):
    """Retraining, rollout, fallback and canary mechanics (DESIGN 3.5)."""

    train_window: int = Field(default=120, ge=10, le=100000, description="Minutes of data.")
    retrain_minutes: int = Field(default=30, ge=1, le=10000)
    rollout_minutes: int = Field(default=2, ge=0, le=60)
    fallback_ttl: int = Field(default=120, ge=1, le=100000)
    canary_share: float = Field(default=0.01, gt=0, lt=0.5)
    canary_minutes: int = Field(default=30, ge=1, le=10000)
    canary_delta_sla: float = Field(default=0.05, gt=0, lt=1)
    canary_alpha: float = Field(
        default=0.05, gt=0, lt=1,
        description="Level of the canary's one-sided Mann-Whitney test (canary_judge "
                    "mann_whitney).")
    restart_minutes: int = Field(default=3, ge=1, le=60)
    scale_step: int = Field(default=2, ge=1, le=100)
    quarantine_ttl: int = Field(default=120, ge=1, le=100000)
    escalation_delay: int = Field(default=45, ge=0, le=100000)
    escalation_engineer_minutes: float = Field(default=90.0, ge=0)
    escalation_accuracy: float = Field(
        default=0.88, ge=0, le=1,
        description="Probability that the engineer paged by `escalate` applies the scenario's "
                    "annotated action (paper Sec. 5's human baseline: 88%); otherwise a "
                    "uniformly drawn other action.")


class SLO(_Strict):
    """Service-level objectives (DESIGN 3.6)."""

    availability: float = Field(default=0.99, gt=0, lt=1)
    p99_latency_ms: float = Field(default=300.0, gt=0)
    accuracy: float = Field(default=0.84, gt=0, le=1)


class Catastrophe(_Strict):
    """Thresholds of a catastrophic failure (DESIGN 3.6 defaults)."""

    availability_below: float = Field(default=0.5, gt=0, lt=1)
    availability_minutes: int = Field(default=5, ge=1)
    accuracy_floor: float = Field(default=0.6, gt=0, lt=1)
    accuracy_minutes: int = Field(default=15, ge=1)
    traffic_share: float = Field(default=0.5, gt=0, le=1)
    restore_minutes: int | None = Field(
        default=None, ge=1, le=20160,
        description="Minutes from a catastrophic failure until a human restores the last good "
                    "version (default: annotations.historical_resolution_minutes).",
    )
    outage_engineers: float = Field(
        default=1.0, ge=0, le=100,
        description="Engineers working the outage until the restore (charged per minute).",
    )


class Economics(_Strict):
    """Dollar prices (DESIGN 3.6 cost breakdown)."""

    usd_per_replica_minute: float = Field(default=0.05, ge=0)
    usd_per_retrain_minute: float = Field(default=2.0, ge=0)
    usd_per_wrong_prediction: float = Field(default=0.002, ge=0)
    usd_per_failed_request: float = Field(default=0.005, ge=0)
    usd_sla_penalty_per_minute: float = Field(default=2.0, ge=0)
    usd_per_engineer_hour: float = Field(default=100.0, ge=0)


class ActionCost(_Strict):
    """The three normalised components of the paper's C(a) for one action (Sec. 3.1)."""

    compute: float = Field(ge=0, le=1)
    risk: float = Field(ge=0, le=1)
    downtime: float = Field(ge=0, le=1)


def default_action_costs() -> dict[str, ActionCost]:
    """Return the default C(a) components of every action (our choice; the paper gives none)."""
    table = {
        "no_op": (0.0, 0.0, 0.0),
        "fallback": (0.1, 0.2, 0.1),
        "rollback": (0.2, 0.4, 0.3),
        "retrain": (0.8, 0.5, 0.2),
        "scale_out": (0.4, 0.1, 0.0),
        "restart": (0.1, 0.3, 0.5),
        "quarantine_inputs": (0.1, 0.2, 0.1),
        "escalate": (0.3, 0.0, 0.1),
    }
    return {k: ActionCost(compute=c, risk=r, downtime=d) for k, (c, r, d) in table.items()}


class CostWeights(_Strict):
    """Weights of C(a) = alpha compute + beta risk + gamma downtime (paper Sec. 3.1)."""

    compute: float = Field(default=0.5, ge=0, le=1)
    risk: float = Field(default=0.3, ge=0, le=1)
    downtime: float = Field(default=0.2, ge=0, le=1)


class Annotations(_Strict):
    """The paper's per-scenario annotations (Sec. 5)."""

    optimal_action: ActionName
    business_impact: int = Field(ge=1, le=10)
    recovery_complexity: Literal["easy", "medium", "hard"]
    historical_resolution_minutes: float = Field(gt=0)
    urgent: bool = Field(
        default=False,
        description="The incident harms past a hard floor (a catastrophic failure) within "
        "about 15 minutes of onset if nothing is done: a remedy slower than that, such as a "
        "30-minute canary, is too late (the extended set's urgent class; evaluation only).",
    )


class Dynamics(_Strict):
    """Constants of the serving system's dynamics (DESIGN 3.2-3.4), overridable per scenario.

    The defaults are judgement calls for a generic model-serving fleet; each field's
    description gives its unit and reason.
    """

    deploy_capacity: float = Field(
        default=0.75, gt=0, le=1,
        description="Share of capacity serving during a direct rollout (a rolling update "
                    "takes about a quarter of the pods out at a time).")
    restart_capacity: float = Field(
        default=0.5, gt=0, le=1,
        description="Share of capacity serving while pods restart (half restart at once).")
    oom_capacity: float = Field(
        default=0.25, gt=0, le=1,
        description="Share of capacity serving after an out-of-memory kill, until the "
                    "pods are back (most pods crash together under the same leak).")
    fallback_latency_factor: float = Field(
        default=0.6, gt=0, le=10,
        description="Latency multiplier of the lighter fallback model (fewer features).")
    leak_gc_latency: float = Field(
        default=4.0, ge=0, le=100,
        description="p99 multiplier 1 + k * leak^2 from garbage-collection pressure as "
                    "leaked memory fills the heap (k; leak in [0, 1]).")
    utilisation_cap: float = Field(
        default=0.95, gt=0, lt=1,
        description="Utilisation at which the M/M/1-like 1 / (1 - util) latency growth "
                    "stops (overload then shows as errors, not infinite latency).")
    p99_noise: float = Field(
        default=0.05, ge=0, le=1,
        description="Relative standard deviation of the measured p99 latency.")
    outlier_value_z: float = Field(
        default=12.0, gt=0, le=1000,
        description="Distance, in standard deviations from the feature's mean, of a value "
                    "corrupted into an outlier.")
    schema_sentinel: float = Field(
        default=-999.0, ge=-1e9, le=1e9,
        description="Value a migrated column takes when read with the old schema (a "
                    "typical missing-value sentinel).")


class Scenario(_Strict):
    """One failure scenario: metadata, annotations, faults and optional settings.

    A file whose numeric fields are distributions (:mod:`simulator.scenarios.randomise`)
    loads as its nominal incident with the file's document in ``_template``;
    :func:`simulator.scenarios.draw_incident` draws an episode's incident from it.
    """

    _template: dict | None = PrivateAttr(default=None)
    _path: str = PrivateAttr(default="<memory>")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=80)
    family: Family
    subtype: Subtype
    description: str = Field(min_length=1, max_length=300)
    source: str = Field(min_length=1, max_length=500)
    horizon: int = Field(ge=30, le=20160, description="Episode length in minutes.")
    extended_actions: bool = Field(default=False, description="Uses the extended action set.")
    annotations: Annotations
    faults: list[Fault] = Field(min_length=1)
    pipeline: Pipeline = Pipeline()
    modelling: Modelling = Modelling()
    monitoring: Monitoring = Monitoring()
    deployment: Deployment = Deployment()
    slo: SLO = SLO()
    catastrophe: Catastrophe = Catastrophe()
    economics: Economics = Economics()
    dynamics: Dynamics = Dynamics()
    cost_weights: CostWeights = CostWeights()
    action_costs: dict[ActionName, ActionCost] = Field(
        default_factory=dict, description="Overrides of the default C(a) components by action."
    )
    outcome_window: int = Field(default=60, ge=5, le=1440, description="Minutes.")
    recovery_minutes: int = Field(default=10, ge=1, le=1440)

    @model_validator(mode="after")
    def _consistency(self):
        for i, f in enumerate(self.faults):
            if f.onset >= self.horizon:
                raise FieldError(
                    f"faults.{i}.onset",
                    f"must be before the horizon ({self.horizon} minutes)",
                    f.onset,
                )
        if self.family != "extended":
            expected = FAMILY_OF_SUBTYPE.get(self.subtype)
            if expected != self.family:
                raise FieldError(
                    "subtype",
                    f"belongs to family '{expected or 'extended'}', not '{self.family}'",
                    self.subtype,
                )
        self._check_modelling()
        extended = {"scale_out", "restart", "quarantine_inputs", "escalate"}
        if self.annotations.optimal_action in extended and not self.extended_actions:
            raise FieldError(
                "annotations.optimal_action",
                "is an extended action: set extended_actions: true",
                self.annotations.optimal_action,
            )
        return self

    def _check_modelling(self):
        """Refuse label noise, accuracies and stale concepts the classifiers cannot honour."""
        mo = self.modelling
        best = 1.0 - mo.label_noise  # no model agrees with noisy labels more than this
        floor = self.catastrophe.accuracy_floor
        if best <= floor:
            raise FieldError(
                "modelling.label_noise",
                f"leaves at most {best:.4g} accuracy (1 - label_noise), not above "
                f"catastrophe.accuracy_floor {floor:.4g}: every episode would fail "
                f"(label_noise must be < {1.0 - floor:.4g})",
                mo.label_noise,
            )
        if mo.baseline_accuracy > best:
            raise FieldError(
                "modelling.baseline_accuracy",
                f"must be <= 1 - modelling.label_noise = {best:.4g} (no model scores more)",
                mo.baseline_accuracy,
            )
        # With accuracies > 0.5 and baseline <= 1 - label_noise, a stale model's concept
        # offset (baseline - x) / (1 - 2 label_noise) stays below 1/2: a rotation by pi c
        # then costs a linear model about c (1 - 2 label_noise) accuracy, as compile assumes.
