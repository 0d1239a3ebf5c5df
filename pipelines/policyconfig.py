"""One :class:`~crawler.policy.config.PolicyConfig` per crawler, for the pipelines too.

The gate enforces the policy and the provenance log records its hash; both must see the
same value, and loading it reads the AI-token list and every registry file. The memoising
function lives in :mod:`crawler.config` (the gate and the network guard import it from
there); it is re-exported here so the pipelines use the very same function and cache, never
a second copy of the policy.
"""

from __future__ import annotations

from crawler.config import get_policy_config

__all__ = ["get_policy_config"]
