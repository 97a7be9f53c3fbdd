"""Peak GPU memory of a run, predicted before anything loads (``loralab-estimate``).

    from loralab.memory import estimate, fits, suggest_fallback
    est = estimate(cfg)             # MemoryEstimate: .total_gb, .components, .summary_line()
    fits(cfg, capacity_gb=6)        # False -> suggest_fallback(cfg, 6) names the cheapest change that fits
"""

from .estimator import (GiB, Checkpointing, Component, MemoryEstimate, estimate, fits, gradient_checkpointing,
                        refuse_far_beyond_memory, summary_for_run, target_hardware)
from .fallback import Fallback, fallback_ladder, suggest_fallback

__all__ = ["GiB", "Checkpointing", "Component", "MemoryEstimate", "estimate", "fits", "gradient_checkpointing",
           "refuse_far_beyond_memory", "summary_for_run", "target_hardware",
           "Fallback", "fallback_ladder", "suggest_fallback"]
