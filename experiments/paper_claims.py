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

#: Action mix (PAPER_NOTES.md): controller -> action -> share of decisions in %, no_op
#: included (ours counts actions taken, no_op excluded: see the table's caption).
ACTION_MIX = {
    "hybrid": {"fallback": 62.0, "rollback": 18.0, "retrain": 15.0, "no_op": 5.0},
    "rl": {"fallback": 45.0, "rollback": 25.0, "retrain": 27.0, "no_op": 3.0},
    "rules": {"fallback": 85.0, "rollback": 10.0, "retrain": 5.0, "no_op": 0.0},
}

#: Sensitivity (paper Sec. 5.6, its hybrid): study -> value label -> metric -> claim.
SENSITIVITY = {
    "alpha": {"0.01": {"catastrophic_pct": 0.0, "cost_savings_pct": 32.1},
              "0.05": {"catastrophic_pct": 0.0, "cost_savings_pct": 38.7},
              "0.1": {"catastrophic_pct": 0.8, "cost_savings_pct": 41.2}},
    "beta": {"0.1": {"catastrophic_pct": 1.2, "cost_savings_pct": 43.5},
             "0.3": {"catastrophic_pct": 0.0, "cost_savings_pct": 38.7},
             "0.5": {"catastrophic_pct": 0.0, "cost_savings_pct": 35.2}},
    "exploration": {"0.05": {"episodes_to_95": 28.4, "final_regret": 0.92},
                    "0.1": {"episodes_to_95": 18.2, "final_regret": 0.78},
                    "0.2": {"episodes_to_95": 12.7, "final_regret": 0.71}},
}

#: The introduction's (and Sec. 5's) headline figures: key -> (claim text, value in %).
HEADLINE = {
    "pct_of_optimal": ("96.3% of optimal adaptive performance (introduction)", 96.3),
    "share_of_rl_savings": ("91.9% of RL-only's cost savings (Sec. 5: 38.7 / 42.1)", 91.9),
    "risk_reduction": ("82.5% operational-risk reduction (introduction)", 82.5),
    "engineer_time": ("91.2% less engineer time (introduction, case study)", 91.2),
    "cost_savings": ("38.7% cost savings (introduction, Sec. 5.3)", 38.7),
    "sla": ("99.1% SLA compliance (introduction, Sec. 5.3)", 99.1),
    "catastrophic_hybrid": ("0% catastrophic failures, hybrid (introduction)", 0.0),
    "catastrophic_rl": ("4.2% catastrophic failures, RL-only (introduction)", 4.2),
}
