"""The paper's published figures, printed beside ours and never used as targets.

These numbers are the paper's claims (PAPER_NOTES.md, "Claimed results"); the paper's own
figure script typed them in by hand. Nothing in the framework reads them except the table
writers, which print them in a column of their own.
"""

import math

#: metric -> controller -> claimed value (None: the paper gives none).
MAIN_RESULTS = {
    "catastrophic_pct": {"hybrid": 0.0, "rl": 4.2, "rules": 0.0, "human": 0.0},
    "safety_violation_pct": {"hybrid": 0.0, "rl": 12.7, "rules": 0.5, "human": 1.8},
    "risk_containment_pct": {"hybrid": 100.0, "rl": 78.3, "rules": 100.0, "human": 95.7},
    "mttr_min": {"hybrid": 2.1, "rl": 1.8, "rules": 3.4, "human": 45.0},
    "cost_savings_pct": {"hybrid": 38.7, "rl": 42.1, "rules": 0.0, "human": 0.0},
    "sla_compliance_pct": {"hybrid": 99.1, "rl": 98.7, "rules": 99.5, "human": 98.3},
}

#: Learning results (PAPER_NOTES.md, "Claimed results"): metric -> controller -> claim.
#: ``math.inf`` stands for the paper's "never". The paper's regret is on an unknown scale
#: (ours is dollars over the outcome window): printed beside ours, never rescaled.
LEARNING_RESULTS = {
    "episodes_to_95": {"hybrid": 18.2, "rl": 42.7, "rules": math.inf, "human": math.inf},
    "final_regret": {"hybrid": 0.78, "rl": 0.65, "rules": 2.47},
    "final_regret_std": {"hybrid": 0.15, "rl": 0.31},
    "regret_variance": {"hybrid": 0.18, "rl": 0.31, "rules": 0.0},
}
