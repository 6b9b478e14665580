"""The compare form's htmx fragments: a new turn row, a new target row, the variables area."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from playground.htmx import AuthedRequest
from playground.keys.models import Credential
from playground.prompts.budget import small_int
from playground.prompts.forms import TURN_PREFIX, TurnRows
from playground.prompts.variables import find_names, noted
from playground.providers.prompt import Variable

from .forms import TargetForm

MAX_ROW_INDEX = 999
PROMPT_TEXTS = ("system", "prefix", "reasoning_prefix", "suffix", "stop")


def _next_index(request: AuthedRequest) -> int:
    return min(small_int(request.GET.get("index"), 0), MAX_ROW_INDEX)


def new_turn_row(request: AuthedRequest) -> dict[str, Any]:
    """Return the context of the turn row "+ Add a turn" appends (the other role than the last)."""
    index = _next_index(request)
    role = "assistant" if request.GET.get("after") == "user" else "user"
    return {"form": TurnRows.new_row(index, role), "index": index}


def new_target_row(request: AuthedRequest) -> dict[str, Any]:
    """Return the context of the target row "+ Add a target" appends."""
    index = _next_index(request)
    form = TargetForm(prefix=f"t{index}", user=request.user)
    return {
        "form": form,
        "index": index,
        "credentials": list(Credential.objects.usable_by(request.user)),
    }


def variables_context(data: QueryDict) -> dict[str, Any]:
    """Return the variables the posted prompt texts use, keeping any values already typed."""
    texts = [str(data.get(name, "")) for name in PROMPT_TEXTS]
    texts += [str(value) for key, value in data.items() if key.startswith(TURN_PREFIX)]
    values = {key.removeprefix("var-"): v for key, v in data.items() if key.startswith("var-")}
    known = [
        Variable(key.removeprefix("default-"), str(default))
        for key, default in data.items()
        if key.startswith("default-")
    ]
    variables = noted(find_names(texts), known)
    return {"variables": [(v, values.get(v.name, "")) for v in variables]}
