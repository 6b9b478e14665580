"""The provider layer: pure Python + httpx, no Django, no settings.

Data in (Target, CompletionRequest), events out (TextDelta, ReasoningDelta, Usage, then one
Finish or ProviderError). docs/providers.md describes the
dialects it speaks; docs/architecture.md, where it sits.
"""

from __future__ import annotations

from playground.providers.base import (
    CompletionRequest,
    Deadlines,
    Event,
    Finish,
    PreparedCall,
    ReasoningDelta,
    Target,
    TextDelta,
    Turn,
    Usage,
)
from playground.providers.catalog import (
    ModelInfo,
    Provider,
    get_provider,
    model_info,
    provider_choices,
    providers,
    simulator_base_url,
)
from playground.providers.client import Completion, complete, stream_completion
from playground.providers.errors import ErrorKind, ProviderError
from playground.providers.export import to_curl, to_python
from playground.providers.probe import ProbeResult, probe
from playground.providers.recorder import Recorder
from playground.providers.registry import prepare
from playground.providers.urlpolicy import UnsafeBaseURL, check_base_url, resolve_and_check

__all__ = [
    "Completion",
    "CompletionRequest",
    "Deadlines",
    "ErrorKind",
    "Event",
    "Finish",
    "ModelInfo",
    "PreparedCall",
    "ProbeResult",
    "Provider",
    "ProviderError",
    "ReasoningDelta",
    "Recorder",
    "Target",
    "TextDelta",
    "Turn",
    "UnsafeBaseURL",
    "Usage",
    "check_base_url",
    "complete",
    "get_provider",
    "model_info",
    "prepare",
    "probe",
    "provider_choices",
    "providers",
    "resolve_and_check",
    "simulator_base_url",
    "stream_completion",
    "to_curl",
    "to_python",
]
