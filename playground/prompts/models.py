"""Prefix templates and their revisions. Who may see, edit and delete a template lives here.

Access rules, written once as the PrefixTemplateQuerySet filters (`visible_to`, `editable_by`,
`deletable_by`); the views select through them and the model's `can_*` methods ask them:
- a private template is seen, edited and deleted by its owner only;
- a team template is seen by every member of its team, edited by the team's owners and editors
  and deleted by the template's owner or a team owner (an editor edits but does not delete
  a colleague's work);
- a public template is seen by every signed-in user; when it belongs to a team, that team's
  owners and editors edit it as they would a team template;
- the starter library (no owner, public, no team) is read-only on the site: it is managed by
  `manage.py load_starter_library`;
- whoever can see a template can run, fork and export it.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse

from playground.accounts.models import Membership, Role, Team, User
from playground.providers.prompt import (
    Parameters,
    Prompt,
    Variable,
    choice_from_json,
    choice_to_json,
    tool_from_json,
    tool_to_json,
    turn_from_json,
    turn_to_json,
)

from . import schema
from .variables import detect, render

Someone = User | AnonymousUser


class Category(models.TextChoices):
    CODE_FENCE = "code_fence", "Code fence"
    STORY = "story", "Story opener"
    JSON = "json", "JSON"
    ROLEPLAY = "roleplay", "Role-play"
    FIM = "fim", "Fill in the middle"
    OTHER = "other", "Other"


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    TEAM = "team", "Team"
    PUBLIC = "public", "Public"


class Sort(models.TextChoices):
    UPDATED = "updated", "Recently updated"
    NEWEST = "newest", "Newest"
    NAME = "name", "Name (A–Z)"


SORT_ORDER = {
    Sort.UPDATED: ("-updated_at", "-id"),
    Sort.NEWEST: ("-created_at", "-id"),
    Sort.NAME: ("name", "id"),
}
EDITOR_ROLES = (Role.OWNER, Role.EDITOR)


def _team_ids(user: User, roles: tuple[str, ...] | None = None) -> models.QuerySet[Membership, Any]:
    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return memberships.values("team_id")


class PrefixTemplateQuerySet(models.QuerySet["PrefixTemplate"]):
    def visible_to(self, user: Someone) -> PrefixTemplateQuerySet:
        """Return the templates `user` may see: own, their teams' and public ones."""
        if not isinstance(user, User):
            return self.none()
        return self.filter(
            Q(owner=user)
            | Q(visibility=Visibility.PUBLIC)
            | Q(visibility=Visibility.TEAM, team__in=_team_ids(user))
        )

    def editable_by(self, user: Someone) -> PrefixTemplateQuerySet:
        """Return the templates `user` may edit (see the module docstring)."""
        if not isinstance(user, User):
            return self.none()
        shared = ~Q(visibility=Visibility.PRIVATE) & Q(team__in=_team_ids(user, EDITOR_ROLES))
        return self.filter(Q(owner=user) | shared)

    def deletable_by(self, user: Someone) -> PrefixTemplateQuerySet:
        """Return the templates `user` may delete: own ones and their owned teams' shared ones."""
        if not isinstance(user, User):
            return self.none()
        shared = ~Q(visibility=Visibility.PRIVATE) & Q(team__in=_team_ids(user, (Role.OWNER,)))
        return self.filter(Q(owner=user) | shared)

    def search(self, query: str) -> PrefixTemplateQuerySet:
        """Return the templates whose name, description, tags or prefix hold every word."""
        result = self
        for word in query.lower().split()[:8]:
            # search_text is stored lower-cased, so a plain LIKE matches case-insensitively
            # and PostgreSQL can answer it from the trigram index (migration 0002).
            result = result.filter(search_text__contains=word)
        return result

    def tagged(self, tag: str) -> PrefixTemplateQuerySet:
        """Return the templates carrying `tag` exactly."""
        return self.filter(tag_index__contains=f"|{schema.normalise_tag(tag)}|")

    def sorted_by(self, sort: str) -> PrefixTemplateQuerySet:
        """Return the templates in the order named by `sort` (a Sort value)."""
        return self.order_by(*SORT_ORDER[Sort(sort) if sort in Sort.values else Sort.UPDATED])

    def filtered(
        self,
        *,
        query: str = "",
        category: str = "",
        visibility: str = "",
        team: Team | None = None,
        tag: str = "",
        sort: str = Sort.UPDATED,
    ) -> PrefixTemplateQuerySet:
        """Return the library page's selection: every given filter applied, then sorted."""
        result = self.search(query) if query else self
        if category:
            result = result.filter(category=category)
        if visibility:
            result = result.filter(visibility=visibility)
        if team is not None:
            result = result.filter(team=team)
        if tag:
            result = result.tagged(tag)
        return result.sorted_by(sort)


def default_tool_choice() -> str:
    """Return the tool choice of a prompt that says nothing about it."""
    return "auto"


class PrefixTemplate(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Stable id of a starter-library template, so reloading the library updates in place.
    key = models.CharField(max_length=80, blank=True, editable=False)
    name = models.CharField(max_length=schema.MAX_NAME)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    tags = models.JSONField(default=list, blank=True)
    system = models.TextField(blank=True)
    turns = models.JSONField(default=list, blank=True)
    prefix = models.TextField(blank=True)
    reasoning_prefix = models.TextField(blank=True)
    # Who speaks the prefix, for dialects that take a name on it (Moonshot's role-play `name`).
    speaker_name = models.CharField(max_length=schema.MAX_SPEAKER, blank=True)
    suffix = models.TextField(blank=True)
    stop = models.JSONField(default=list, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    # The functions the model may call, in the exchange format (Prompt.to_json's `tools`), and
    # the choice among them ("auto", "none", "required" or {"type": "function", "name"}).
    tools = models.JSONField(default=list, blank=True)
    tool_choice = models.JSONField(default=default_tool_choice, blank=True)
    # [{"name", "default", "description"}] for the variables the texts use.
    variable_notes = models.JSONField(default=list, blank=True)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="prefix_templates"
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="prefix_templates"
    )
    forked_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Derived on save, for the library's search and tag filter (see PrefixTemplateQuerySet).
    search_text = models.TextField(blank=True, editable=False)
    tag_index = models.TextField(blank=True, editable=False)

    objects = PrefixTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~Q(key=""), name="unique_key"),
            models.CheckConstraint(
                condition=Q(visibility=Visibility.TEAM, team__isnull=False)
                | Q(visibility=Visibility.PUBLIC)
                | Q(visibility=Visibility.PRIVATE, team__isnull=True),
                name="team_matches_visibility",
            ),
        ]
        # One index per sort order: the library reads them backwards and filters as it goes,
        # which bench/templates_search.py showed beats per-filter indexes (BENCHMARKS.md).
        indexes = [
            models.Index(fields=["updated_at", "id"], name="prompts_updated_idx"),
            models.Index(fields=["created_at", "id"], name="prompts_created_idx"),
            models.Index(fields=["name", "id"], name="prompts_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, author: User | None = None, note: str = "", **kwargs: Any) -> None:
        """Save, and keep a revision whenever the contents differ from the latest one."""
        self.refresh_index()
        with transaction.atomic():
            super().save(*args, **kwargs)
            self._record_revision(author, note)

    def get_absolute_url(self) -> str:
        return reverse("prompts:detail", args=[self.code])

    # ----- access (the rules are the querysets'; these ask them about this template) -----

    def is_owned_by(self, user: Someone) -> bool:
        """Return whether `user` is this template's owner."""
        return isinstance(user, User) and self.owner_id == user.pk

    def can_view(self, user: Someone) -> bool:
        """Return whether `user` may see (and so run, fork and export) this template."""
        return PrefixTemplate.objects.visible_to(user).filter(pk=self.pk).exists()

    def can_edit(self, user: Someone) -> bool:
        """Return whether `user` may change this template."""
        return PrefixTemplate.objects.editable_by(user).filter(pk=self.pk).exists()

    def can_delete(self, user: Someone) -> bool:
        """Return whether `user` may delete this template: its owner or a team owner."""
        return PrefixTemplate.objects.deletable_by(user).filter(pk=self.pk).exists()

    # ----- content -----

    @property
    def prompt(self) -> Prompt:
        """Return the template's prompt as written, `{{variables}}` still in place.

        The one place the prompt columns are read; its `variables` are those the texts use,
        each with the default and description noted for it.
        """
        written = Prompt(
            system=self.system,
            turns=tuple(turn_from_json(turn) for turn in self.turns),
            prefix=self.prefix,
            reasoning_prefix=self.reasoning_prefix,
            suffix=self.suffix,
            stop=tuple(self.stop),
            parameters=Parameters(self.temperature, self.max_tokens, self.top_p),
            speaker_name=self.speaker_name,
            variables=tuple(Variable.from_json(note) for note in self.variable_notes),
            tools=tuple(tool_from_json(tool) for tool in self.tools),
            tool_choice=choice_from_json(self.tool_choice),
        )
        return replace(written, variables=tuple(detect(written)))

    @prompt.setter
    def prompt(self, prompt: Prompt) -> None:
        """Set the prompt columns from `prompt`: the one place they are written."""
        self.system = prompt.system
        self.turns = [turn_to_json(turn) for turn in prompt.turns]
        self.prefix = prompt.prefix
        self.reasoning_prefix = prompt.reasoning_prefix
        self.suffix = prompt.suffix
        self.stop = list(prompt.stop)
        self.temperature = prompt.parameters.temperature
        self.max_tokens = prompt.parameters.max_tokens
        self.top_p = prompt.parameters.top_p
        self.speaker_name = prompt.speaker_name
        self.variable_notes = [variable.to_json() for variable in prompt.variables]
        self.tools = [tool_to_json(tool) for tool in prompt.tools]
        self.tool_choice = choice_to_json(prompt.tool_choice)

    def variables(self) -> list[Variable]:
        """Return the variables used in the texts, with their stored defaults and notes."""
        return list(self.prompt.variables)

    def render(self, values: dict[str, str]) -> Prompt:
        """Return the prompt with variables filled in; raise MissingVariables if any lacks one."""
        prompt = self.prompt
        return render(prompt, prompt.variables, values)

    def content(self) -> dict[str, Any]:
        """Return the template's contents in the exchange schema's canonical form."""
        return {
            "name": self.name,
            "description": self.description,
            "category": str(self.category),
            "tags": list(self.tags),
            **self.prompt.to_json(),
        }

    def apply_content(self, content: dict[str, Any]) -> None:
        """Set every content field from `content` (canonical form, as schema.read_template)."""
        self.name = content["name"]
        self.description = content["description"]
        self.category = content["category"]
        self.tags = list(content["tags"])
        self.prompt = Prompt.from_json(content)

    def refresh_index(self) -> None:
        """Recompute the derived search fields from the current contents."""
        self.search_text = "\n".join(
            [self.name, self.description, " ".join(self.tags), self.prefix]
        ).lower()
        self.tag_index = "|" + "|".join(self.tags) + "|" if self.tags else ""

    # ----- revisions and forks -----

    def _record_revision(self, author: User | None, note: str) -> None:
        content = self.content()
        latest = self.revisions.order_by("-number").first()
        if latest is not None and latest.content == content:
            return
        TemplateRevision.objects.create(
            template=self,
            number=latest.number + 1 if latest else 1,
            content=content,
            author=author,
            note=note[:200],
        )

    def fork(self, user: User) -> PrefixTemplate:
        """Return a private copy of this template owned by `user`, linked back to it."""
        copy = PrefixTemplate(owner=user, visibility=Visibility.PRIVATE, forked_from=self)
        copy.apply_content(self.content())
        suffix = " (fork)"
        copy.name = self.name[: schema.MAX_NAME - len(suffix)] + suffix
        copy.save(author=user, note=f"Forked from “{self.name}”")
        return copy

    def restore(self, revision: TemplateRevision, author: User) -> None:
        """Bring back the contents of `revision`; the restore itself becomes a new revision."""
        self.apply_content(revision.content)
        self.save(author=author, note=f"Restored revision {revision.number}")


class TemplateRevision(models.Model):
    """A snapshot of a template's contents (schema form) taken when a save changed them."""

    template = models.ForeignKey(PrefixTemplate, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="one_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.template} r{self.number}"
