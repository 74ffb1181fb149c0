"""Index layout of the simulator's arrays and the integer codes of actions, faults and shapes.

The Numba kernels take plain float64 arrays; this module names every slot so that kernels,
the Gymnasium environment and the scenario compiler agree. Module-level integers are
compile-time constants for Numba.
"""

# --------------------------------------------------------------------------------------
# Actions (DESIGN 3.5). The paper's set is the first four; the extended set is opt-in.
# --------------------------------------------------------------------------------------
NO_OP = 0
FALLBACK = 1
ROLLBACK = 2
RETRAIN = 3
SCALE_OUT = 4
RESTART = 5
QUARANTINE_INPUTS = 6
ESCALATE = 7
ACTION_NAMES = (
    "no_op",
    "fallback",
    "rollback",
    "retrain",
    "scale_out",
    "restart",
    "quarantine_inputs",
    "escalate",
)
N_PAPER_ACTIONS = 4
N_EXTENDED_ACTIONS = 8

# --------------------------------------------------------------------------------------
# Fault kinds (DESIGN 3.4) and shapes.
# --------------------------------------------------------------------------------------
FAULT_KINDS = (
    "covariate_shift",
    "concept_drift",
    "feature_corruption",
    "accuracy_decay",
    "latency_increase",
    "memory_leak",
    "resource_exhaustion",
    "network_latency",
    "dependency_failure",
    "adversarial_inputs",
    "outlier_cluster",
    "temporal_anomaly",
    "traffic_surge",
    "cost_shock",
    "bad_deploy",
    "label_shift",
    "traffic_drop",
    "runaway_usage",
    "stale_features",
    "bad_artifact",
)
K_COVARIATE, K_CONCEPT, K_CORRUPTION, K_ACC_DECAY, K_LATENCY, K_LEAK = 0, 1, 2, 3, 4, 5
K_RESOURCE, K_NETWORK, K_DEPENDENCY, K_ADVERSARIAL, K_OUTLIER, K_TEMPORAL = 6, 7, 8, 9, 10, 11
K_SURGE, K_COST_SHOCK, K_BAD_DEPLOY = 12, 13, 14
K_LABEL_SHIFT, K_TRAFFIC_DROP, K_RUNAWAY, K_STALE, K_BAD_ARTIFACT = 15, 16, 17, 18, 19

SHAPES = ("sudden", "gradual", "incremental", "recurring", "flapping")
SH_SUDDEN, SH_GRADUAL, SH_INCREMENTAL, SH_RECURRING, SH_FLAPPING = 0, 1, 2, 3, 4

# Sub-kinds, per fault kind; code = index in the tuple.
CORRUPTION_KINDS = ("missing_values", "outliers", "schema_change", "unit_change", "skew")
C_MISSING, C_OUTLIERS, C_SCHEMA, C_UNIT, C_SKEW = 0, 1, 2, 3, 4
RESOURCE_KINDS = ("cpu", "memory", "disk", "pool")
R_CPU, R_MEMORY, R_DISK, R_POOL = 0, 1, 2, 3
DEPENDENCY_KINDS = ("database", "cache", "service")

# --------------------------------------------------------------------------------------
# Fault table: one row per fault, float64.
# --------------------------------------------------------------------------------------
F_KIND = 0
F_SUBKIND = 1
F_SHAPE = 2
F_ONSET = 3  # minutes
F_END = 4  # minutes (exclusive); horizon when the fault is permanent
F_RAMP = 5  # minutes to full magnitude (gradual / incremental)
F_PERIOD = 6  # minutes (recurring)
F_ACTIVE = 7  # minutes active per period (recurring)
F_MAGNITUDE = 8
F_FEATURE = 9  # first affected feature
F_NFEAT = 10  # number of affected features
F_SCALE = 11  # kind-specific: scale factor (covariate shift, unit change); bad deploy: the
# accuracy the version it leaves behind as previous loses (0: that version is the good one)
F_MIGRATE = 12  # schema change: 1 if the live schema moves on at onset
N_FAULT_FIELDS = 13

# Runtime per fault (float64 rows): model version the fault attached to at onset.
FR_VERSION = 0
FR_STARTED = 1
FR_STOPPED = 2  # runaway usage: 1 once a restart has killed the runaway work
FR_PREV_VERSION = 3  # bad deploy with a bad previous version: that version's number
N_FAULT_RT = 4

# --------------------------------------------------------------------------------------
# Number of monitored input features (fixed so that arrays have static shape).
# --------------------------------------------------------------------------------------
N_FEATURES = 4

# --------------------------------------------------------------------------------------
# Model slots and fields.
# --------------------------------------------------------------------------------------
M_SERVING = 0
M_PREVIOUS = 1
M_CANDIDATE = 2
M_FALLBACK = 3
N_MODEL_SLOTS = 4

MF_VALID = 0
MF_VERSION = 1
MF_CONCEPT = 2  # mean concept of its training rows (diagnostic)
MF_CORRUPT = 3  # share of corrupted rows in its training data (diagnostic)
MF_SCHEMA = 4
MF_FIT_STATUS = 5  # classifier.FIT_* status of its fit (0 = ok; else a majority-class model)
MF_COST = 6  # resource cost per request (primary = 1)
MF_TRAINED_AT = 7
MF_IS_FALLBACK = 8
MF_LOC = 9  # N_FEATURES fields: training location per feature (mean of its training rows)
MF_SCALE = MF_LOC + N_FEATURES  # N_FEATURES fields: training scale per feature (their std)
MF_RMEAN = MF_SCALE + N_FEATURES  # N_FEATURES fields: mean of the reference sample
MF_RSTD = MF_RMEAN + N_FEATURES  # N_FEATURES fields: std of the reference sample
MF_REF_ID = MF_RSTD + N_FEATURES  # 0, 1, 2: initial serving / previous / fallback reference;
# -1: drawn by a retrain (identifies the reference sample for the KS cache)
MF_W = MF_REF_ID + 1  # N_FEATURES fields: the classifier's weights w (simulator.classifier)
MF_B = MF_W + N_FEATURES  # its intercept b: predicts class 1 iff w . x + b > 0
MF_GUARD = MF_B + 1  # > 0: an input beyond MF_LOC +- MF_GUARD * MF_SCALE reads as MF_LOC (fallback)
MF_ARTIFACT = MF_GUARD + 1  # 1: the version loads the pipeline's regenerated artefact
N_MODEL_FIELDS = MF_ARTIFACT + 1

# --------------------------------------------------------------------------------------
# Units and numerical constants used by the kernels.
# --------------------------------------------------------------------------------------
SECONDS_PER_MINUTE = 60.0
MINUTES_PER_HOUR = 60.0
MINUTES_PER_DAY = 1440.0
BYTES_PER_MIB = 1048576.0
BYTES_PER_FLOAT64 = 8.0
#: Guard against division by zero (a capacity, a p99, a cost in dollars).
TINY = 1e-9

#: Length of a training set's sufficient statistics (simulator.classifier): per class, the
#: row count, the feature sums and the sums of products.
N_TRAIN_STATS = 2 * (1 + N_FEATURES + N_FEATURES * N_FEATURES)

#: Location of each monitored feature before any fault (std 1 each).
BASE_LOC = (1.0, 2.0, -1.0, 0.5)

# --------------------------------------------------------------------------------------
# Scenario parameters (float64 vector), compiled from the YAML by simulator.scenarios.
# --------------------------------------------------------------------------------------
P_HORIZON = 0
P_BASE_RPS = 1
P_DIURNAL_AMP = 2
P_REPLICAS = 3
P_REPLICA_RPS = 4
P_BASE_LATENCY_MS = 5
P_TIMEOUT_MS = 6
P_BASE_ACC = 7
P_PREV_ACC = 8
P_FALLBACK_ACC = 9
P_CURVATURE = 10  # kappa: the concept's curvature beyond its support (classifier.label_rows)
P_LABEL_NOISE = 11  # eta: probability that a row's label is flipped
P_SUPPORT_Z = 12  # z0: std from the baseline mean within which the concept is linear
P_FB_GUARD_Z = 13  # the fallback treats inputs beyond its training mean +- this many std as missing
P_PREV_CONCEPT = 14  # concept (share of flipped labels) the previous version was fit on
P_FB_CONCEPT = 15  # concept the fallback was fit on
P_FB_COST = 16
P_LABEL_DELAY = 17  # minutes
P_LABEL_VOLUME = 18  # labels per minute
P_LABEL_WINDOW = 19  # minutes of labels averaged for the measured accuracy
P_SAMPLES_PER_MIN = 20  # feature samples per minute
P_KS_WINDOW = 21  # minutes of live samples in the KS window
P_REF_SIZE = 22  # reference sample size m
P_ANOMALY_Z = 23
P_TRAIN_WINDOW = 24  # minutes of labelled data a retrain uses
P_RETRAIN_MIN = 25  # minutes a retrain takes
P_DEPLOY_MIN = 26  # minutes of reduced capacity during a direct rollout
P_FALLBACK_TTL = 27
P_CANARY_SHARE = 28
P_CANARY_MIN = 29
P_CANARY_DELTA = 30  # delta-SLA rule of the paper's canary judge
P_SLO_AVAIL = 31
P_SLO_LATENCY_MS = 32
P_SLO_ACC = 33
P_ACC_FLOOR = 34  # catastrophic accuracy floor
P_CAT_AVAIL = 35  # catastrophic availability threshold
P_CAT_AVAIL_MIN = 36
P_CAT_ACC_MIN = 37
P_CAT_SHARE = 38  # traffic share that makes a bad model catastrophic
P_USD_REPLICA_MIN = 39
P_USD_RETRAIN_MIN = 40
P_USD_WRONG = 41  # dollars per wrong prediction
P_USD_FAILED = 42  # dollars per failed request
P_USD_SLA_MIN = 43  # SLA penalty dollars per minute out of SLO
P_USD_ENGINEER_H = 44
P_W_COMPUTE = 45  # C(a) weights (paper: 0.5 / 0.3 / 0.2)
P_W_RISK = 46
P_W_DOWNTIME = 47
P_OUTCOME_WINDOW = 48  # minutes over which an action is judged
P_RECOVERY_MIN = 49  # minutes with all SLOs met that count as recovered
P_LEAK_RESTART_MIN = 50  # minutes a pod is down after an out-of-memory crash
P_SCALE_STEP = 51  # replicas added by scale_out
P_ESCALATE_DELAY = 52
P_ENGINEER_MIN_ESCALATE = 53
P_OPTIMAL_ACTION = 54  # scenario annotation (used by escalate and the human model only)
P_DEPLOY_CANARY = 55  # 1: deployments go through the canary; 0: direct
P_N_ACTIONS = 56
P_RESTART_MIN = 57
P_QUARANTINE_TTL = 58
P_CANARY_JUDGE = 59  # canary judge: 0 = the paper's delta-SLA rule, 1 = Mann-Whitney U test
P_DIURNAL_PHASE = 60  # minute of the day at episode minute 0 (shifts the daily sine)
P_RESTORE_MIN = 61  # minutes from a catastrophe until a human restores the last good version
P_OUTAGE_ENGINEERS = 62  # engineers working the outage until the restore
# Dynamics (scenario section ``dynamics``; defaults and rationale in its schema).
P_DEPLOY_CAPACITY = 63  # share of capacity serving during a direct rollout
P_RESTART_CAPACITY = 64  # share of capacity serving while pods restart
P_OOM_CAPACITY = 65  # share of capacity serving after an out-of-memory kill
P_FB_LATENCY = 66  # latency multiplier of the lighter fallback model
P_LEAK_GC = 67  # p99 multiplier 1 + k * leak**2 from garbage-collection pressure
P_UTIL_CAP = 68  # utilisation cap of the 1 / (1 - util) queueing growth
P_P99_NOISE = 69  # relative standard deviation of the measured p99
P_OUTLIER_Z = 70  # distance (std) from the mean of an outlier-corrupted value
P_SCHEMA_SENTINEL = 71  # value a migrated column takes in the old schema
P_CANARY_ALPHA = 72  # level of the canary's Mann-Whitney test
P_ESCALATE_ACC = 73  # probability the paged engineer applies the right fix
P_LABELS_FOLLOW_TRAFFIC = 74  # 1: labels per minute scale with traffic / P_BASE_RPS
N_PARAMS = 75

# Per-action cost components of the paper's C(a) (rows: action, cols: compute, risk, downtime)
# live in a separate (N_EXTENDED_ACTIONS, 3) array.
AC_COMPUTE, AC_RISK, AC_DOWNTIME = 0, 1, 2

# --------------------------------------------------------------------------------------
# Dynamic state (float64 vector).
# --------------------------------------------------------------------------------------
S_T = 0  # minutes elapsed
S_FALLBACK_ACTIVE = 1
S_FALLBACK_UNTIL = 2
S_JOB_ACTIVE = 3  # retrain in progress
S_JOB_DONE_AT = 4
S_JOB_CONCEPT = 5
S_JOB_CORRUPT = 6
S_CANARY_ACTIVE = 7
S_CANARY_END = 8
S_CANARY_KIND = 9  # action that produced the candidate (rollback or retrain)
S_LIVE_SCHEMA = 10
S_NEXT_VERSION = 11
S_LEAK = 12  # leak level in [0, 1]; 1 = out of memory
S_OOM_UNTIL = 13
S_DEPLOY_UNTIL = 14  # rollout in progress (reduced capacity)
S_REPLICAS = 15
S_LOW_AVAIL_RUN = 16  # consecutive minutes below the catastrophic availability
S_LOW_ACC_RUN = 17
S_CATASTROPHIC = 18  # 0 none, else a CAT_* code
S_RESTART_UNTIL = 19
S_QUARANTINE_UNTIL = 20
S_ESCALATE_AT = 21  # minute when an escalated engineer acts (-1 none)
S_USD_TOTAL = 22
S_ENGINEER_MIN = 23
S_N_CONFLICTS = 24  # actions that could not start (became no-ops)
S_N_CANARY_ABORTS = 25
S_N_PROMOTIONS = 26
S_SLO_MET_RUN = 27  # consecutive minutes with every SLO met
S_JOB_STATS = 28  # N_TRAIN_STATS: sufficient statistics of the retrain job's training rows
S_INIT_STATS = S_JOB_STATS + N_TRAIN_STATS  # N_TRAIN_STATS: those of the initial training set
S_SEED = S_INIT_STATS + N_TRAIN_STATS  # episode seed (exact in float64 below 2**53)
S_OPEN_LOOP = S_SEED + 1  # 1 on an assessment fork: measurements are not computed
S_CAT_MINUTE = S_OPEN_LOOP + 1  # minute of the first catastrophe (-1 none)
S_OUTAGE_UNTIL = S_CAT_MINUTE + 1  # after a catastrophe: down until this minute (restore)
S_CAT_CAUSE = S_OUTAGE_UNTIL + 1  # CAUSE_*: where the model serving at the catastrophe came from
S_CAT_BUILT_AT = S_CAT_CAUSE + 1  # minute that model was built (retrain; -1 otherwise)
S_CAT_CONTAMINATION = S_CAT_BUILT_AT + 1  # corrupted share of that model's training data
N_STATE = S_CAT_CONTAMINATION + 1

CAT_NONE = 0
CAT_AVAILABILITY = 1
CAT_ACCURACY = 2
CATASTROPHE_NAMES = ("none", "availability", "accuracy_floor")
#: Where the model serving the bulk of traffic at a catastrophe came from (S_CAT_CAUSE).
CAUSE_NONE, CAUSE_INITIAL, CAUSE_ROLLBACK, CAUSE_RETRAIN, CAUSE_FALLBACK = 0, 1, 2, 3, 4
CAUSE_NAMES = ("none", "initial_version", "rollback", "retrain", "fallback")

# --------------------------------------------------------------------------------------
# Per-minute record (float64 vector): ground truth, measurements and money of one step.
# The env copies it into `info`; the history array keeps one row per minute.
# --------------------------------------------------------------------------------------
R_TRAFFIC = 0  # requests per second
R_UTIL = 1
R_P99_MS = 2
R_ERROR_RATE = 3
R_AVAILABILITY = 4
R_ACC_SERVED = 5  # true accuracy of served predictions (traffic-weighted)
R_ACC_PRIMARY = 6  # true accuracy on the majority (>= 50%) traffic slice
R_SLA_SCORE = 7
R_SLO_AVAIL_OK = 8
R_SLO_LAT_OK = 9
R_SLO_ACC_OK = 10
R_SLO_ALL_OK = 11
R_D = 12  # measured KS statistic (max over features)
R_A = 13  # measured accuracy drop
R_RHO = 14  # measured anomaly rate
R_P99_OBS = 15
R_ERR_OBS = 16
R_VALIDATION_FAIL = 17
R_COST_RATE = 18  # dollars this minute
R_USD_COMPUTE = 19
R_USD_RETRAIN = 20
R_USD_REVENUE = 21
R_USD_SLA = 22
R_USD_ENGINEER = 23
R_CANARY_SHARE = 24
R_CORRUPT_SHARE = 25  # true share of corrupted or adversarial rows
R_CONCEPT = 26
R_BAD_MODEL_SHARE = 27  # traffic share served by schema-incompatible models (diagnostic)
R_APPLIED = 28  # 1 if the action took effect, 0 if it became a no-op
R_CONFLICT = 29
R_LABELS_CORRECT = 30  # labels drawn for this minute's predictions
R_LOC = 31  # N_FEATURES: underlying input location this minute
R_SCALE = R_LOC + N_FEATURES
# Share of rows included in R_CORRUPT_SHARE that validation can flag (0 while quarantined).
R_CORRUPT_DETECTABLE = R_SCALE + N_FEATURES
# Dollars this minute an operator is billed (compute, retraining, engineer time): the
# observable part of R_COST_RATE (lost revenue and SLA penalties follow true accuracy).
R_COST_BILLED = R_CORRUPT_DETECTABLE + 1
R_LABELS_DRAWN = R_COST_BILLED + 1  # delayed labels drawn for this minute's predictions
N_RECORD = R_LABELS_DRAWN + 1
