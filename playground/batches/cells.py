"""Build one cell's Run: (template revision, variables row, target) -> a normal Run.

The one place a batch turns a row into a prompt. Everything else (the worker, the grid)
treats the result as an ordinary run, so Inspect, View code, Continue and Diff work on it.
Kept small on purpose: when the prompt model changes, this is the function to adapt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.prompts.budget import Budget, too_long
from playground.prompts.models import PrefixTemplate
from playground.prompts.variables import (
    MissingVariables,
    find_names,
    rendered_size,
    texts_of,
)
from playground.runs.models import Run

if TYPE_CHECKING:
    from playground.accounts.models import User

    from .models import BatchTarget


def _template_of(content: dict[str, Any]) -> PrefixTemplate:
    """Return an unsaved template holding `content` (schema form), to read its prompt."""
    template = PrefixTemplate()
    template.apply_content(content)
    return template


def row_problem(content: dict[str, Any], values: dict[str, str], budget: Budget) -> str:
    """Return why this row cannot run with these contents ("" when it can), without rendering."""
    template = _template_of(content)
    raw, known = template.prompt, template.variables()
    missing = [v.name for v in known if v.default is None and not values.get(v.name)]
    if missing:
        return f"No value for {', '.join(missing)} (the template has no default)."
    size = rendered_size(raw, known, values)
    if size > budget.prompt_chars:
        return too_long(
            "With this row filled in, the prompt", size, budget.prompt_chars, "MAX_PROMPT_CHARS"
        )
    return ""


def build_cell_run(
    *,
    user: User,
    template: PrefixTemplate | None,
    content: dict[str, Any],
    values: dict[str, str],
    target: BatchTarget,
) -> Run:
    """Return a new Run of `user`: `content` with `values` filled in, sent to `target`.

    `target` is a BatchTarget (credential, model, overrides). The run is not counted against
    the interactive run cap: batches have their own concurrency limits (models.py).
    Raise MissingVariables when a variable without a default has no value.
    """
    source = _template_of(content)
    prompt = source.render(values)
    used = set(find_names(texts_of(source.prompt)))
    return Run.objects.start(
        user=user,
        prompt=prompt,
        targets=[
            {"credential": target.credential, "model": target.model, "overrides": target.overrides}
        ],
        template=template,
        variables={k: v for k, v in values.items() if v and k in used},
        capped=False,
    )


__all__ = ["MissingVariables", "build_cell_run", "row_problem"]
