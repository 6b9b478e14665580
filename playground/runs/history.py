"""The history page's filters: read from the query string, applied by `RunQuerySet.in_history`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import QueryDict

from playground.accounts.models import User
from playground.prompts.models import PrefixTemplate
from playground.providers.catalog import providers

from .models import Run, RunColumn, RunQuerySet


@dataclass
class HistoryFilters:
    template: str = ""
    provider: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> HistoryFilters:
        """Return the filters in the page's query string (an unreadable day is no filter)."""

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(query.get(name, ""))
            except ValueError:
                return None

        return cls(query.get("template", ""), query.get("provider", ""), day("since"), day("until"))

    def apply(self, runs: RunQuerySet) -> RunQuerySet:
        """Return the runs these filters select."""
        return runs.in_history(
            template=self.template, provider=self.provider, since=self.since, until=self.until
        )


def history_choices(user: User) -> dict[str, Any]:
    """Return the templates and providers the user's history can be filtered by."""
    runs = Run.objects.for_user(user)
    template_ids = runs.exclude(template=None).values("template")
    # A blind run the user has not judged names no provider, not even in this list.
    named = runs.naming_targets_to(user)
    provider_ids = set(
        RunColumn.objects.filter(run__in=named).values_list("provider", flat=True).distinct()
    )
    return {
        "template_choices": PrefixTemplate.objects.filter(pk__in=template_ids).only("code", "name"),
        "provider_choices": [p for p in providers() if p.id in provider_ids],
    }
