"""Views of the template library: list, detail, editor, fork, delete, revisions, import/export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.htmx import AuthedRequest

from . import schema
from .budget import small_int
from .diff import MAX_ROWS, diff_contents
from .editor import Editor, apply_turn_action, blank_draft, draft_from_data, draft_from_template
from .forms import ImportForm, LibraryFilterForm, budget
from .models import PrefixTemplate, TemplateRevision, Visibility

PAGE_SIZE = 25
MAX_PAGE = 10_000


@dataclass(frozen=True)
class LibraryPage:
    """One page of the library, fetched with one row more than fits to learn if more follow.

    Counting every match instead would cost a scan of all of them (over 100 ms for a broad
    query at 100,000 templates; see BENCHMARKS.md), so the total is known on the last page only.
    """

    rows: list[PrefixTemplate]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """Return whether a page comes before this one."""
        return self.number > 1

    @property
    def start(self) -> int:
        """Return the position of this page's first row among all matches (from 1)."""
        return (self.number - 1) * PAGE_SIZE + 1

    @property
    def end(self) -> int:
        """Return the position of this page's last row among all matches."""
        return self.start + len(self.rows) - 1

    @property
    def total(self) -> int | None:
        """Return the number of matches when this page shows the last of them, else None."""
        return None if self.has_next else self.end


def _library_page(templates: QuerySet[PrefixTemplate], page: str) -> LibraryPage:
    number = min(small_int(page, 1) or 1, MAX_PAGE)
    offset = (number - 1) * PAGE_SIZE
    rows = list(templates[offset : offset + PAGE_SIZE + 1])
    return LibraryPage(rows[:PAGE_SIZE], number, has_next=len(rows) > PAGE_SIZE)


def _get_template(request: AuthedRequest, code: UUID, action: str = "view") -> PrefixTemplate:
    """Return the template `code` if the user may perform `action` on it; else raise 404."""
    allowed = {
        "view": PrefixTemplate.objects.visible_to,
        "edit": PrefixTemplate.objects.editable_by,
        "delete": PrefixTemplate.objects.deletable_by,
    }[action](request.user)
    return get_object_or_404(allowed.select_related("owner", "team"), code=code)


def _json_download(data: dict[str, Any], filename: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2) + "\n",
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export(templates: list[PrefixTemplate]) -> dict[str, Any]:
    contents = [dict(t.content(), key=t.key) for t in templates]
    return schema.document(contents, exported_at=timezone.now().isoformat(timespec="seconds"))


# ----- library and detail -----


@require_GET
def library(request: AuthedRequest) -> HttpResponse:
    """Return the library page, or only its results for htmx."""
    filters = LibraryFilterForm(request.GET, user=request.user)
    templates = (
        PrefixTemplate.objects.visible_to(request.user)
        .filtered(**filters.filters())
        .select_related("owner", "team")
        .defer("search_text", "system", "turns", "reasoning_prefix", "suffix")
    )
    page = _library_page(templates, request.GET.get("page", ""))
    context = {
        "filters": filters,
        "page": page,
        "querystring": _without_page(request),
        # Detail links are built from this, not with one reverse() per row (see BENCHMARKS.md).
        "list_url": reverse("prompts:list"),
    }
    name = "prompts/list.html#library-results" if request.htmx else "prompts/list.html"
    return render(request, name, context)


def _without_page(request: AuthedRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
def detail(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the template's page."""
    template = _get_template(request, code)
    source = template.forked_from
    context = {
        "template": template,
        "content": template.content(),
        "forked_from": source if source and source.can_view(request.user) else None,
        "can_edit": template.can_edit(request.user),
        "can_delete": template.can_delete(request.user),
        "latest": template.revisions.first(),
    }
    return render(request, "prompts/detail.html", context)


# ----- editor -----


def _editor_response(request: AuthedRequest, editor: Editor, status: int = 200) -> HttpResponse:
    name = "prompts/editor.html#editor-form" if request.htmx else "prompts/editor.html"
    return render(request, name, {"editor": editor, "template": editor.template}, status=status)


def _editor_post(request: AuthedRequest, template: PrefixTemplate | None) -> HttpResponse:
    action = request.POST.get("turn_action")
    if action:
        draft = draft_from_data(request.POST)
        draft["turns"] = apply_turn_action(draft["turns"], action)
        return _editor_response(request, Editor(request.user, template, draft=draft))
    editor = Editor(request.user, template, data=request.POST)
    if not editor.is_valid():
        return _editor_response(request, editor, status=422)
    created = template is None
    template = template or PrefixTemplate(owner=request.user)
    template.apply_content(editor.content)
    template.visibility, template.team = editor.access()
    template.save(author=request.user, note="Created" if created else "")
    messages.success(request, f"Saved “{template.name}”.")
    return redirect(template)


@require_http_methods(["GET", "POST"])
def new(request: AuthedRequest) -> HttpResponse:
    """Return the editor for a new template; save it on a valid POST."""
    if request.method == "POST":
        return _editor_post(request, None)
    return _editor_response(request, Editor(request.user, draft=blank_draft()))


@require_http_methods(["GET", "POST"])
def edit(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the editor for this template; save it on a valid POST."""
    template = _get_template(request, code, "edit")
    if request.method == "POST":
        return _editor_post(request, template)
    draft = draft_from_template(template)
    return _editor_response(request, Editor(request.user, template, draft=draft))


@require_POST
def preview(request: AuthedRequest) -> HttpResponse:
    """Return the editor's live preview (prefix with whitespace shown, variables) for htmx."""
    editor = Editor(request.user, draft=draft_from_data(request.POST))
    return render(request, "prompts/editor.html#editor-preview", {"editor": editor})


@require_POST
def fork(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Copy the template into the user's private templates; redirect to the copy."""
    template = _get_template(request, code)
    copy = template.fork(request.user)
    messages.success(request, f"Forked into your private templates as “{copy.name}”.")
    return redirect(copy)


@require_http_methods(["GET", "POST"])
def delete(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the confirmation page; delete the template on POST."""
    template = _get_template(request, code, "delete")
    if request.method == "POST":
        template.delete()
        messages.success(request, f"Deleted “{template.name}”.")
        return redirect("prompts:list")
    return render(request, "prompts/delete.html", {"template": template})


# ----- revisions -----


def _get_revision(template: PrefixTemplate, number: int) -> TemplateRevision:
    return get_object_or_404(template.revisions.select_related("author"), number=number)


@require_GET
def revisions(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the list of the template's revisions."""
    template = _get_template(request, code)
    context = {
        "template": template,
        "revisions": template.revisions.select_related("author"),
        "can_edit": template.can_edit(request.user),
    }
    return render(request, "prompts/revisions.html", context)


@require_GET
def revision(request: AuthedRequest, code: UUID, number: int) -> HttpResponse:
    """Return one revision's contents."""
    template = _get_template(request, code)
    shown = _get_revision(template, number)
    context = {
        "template": template,
        "revision": shown,
        "content": shown.content,
        "can_edit": template.can_edit(request.user),
    }
    return render(request, "prompts/revision.html", context)


@require_GET
def diff(request: AuthedRequest, code: UUID, number: int) -> HttpResponse:
    """Return the changes between a revision and the one before it (or ?against=N)."""
    template = _get_template(request, code)
    new_revision = _get_revision(template, number)
    old_number = small_int(request.GET.get("against"), number - 1)
    old_revision = _get_revision(template, old_number) if old_number >= 1 else None
    context = {
        "template": template,
        "revision": new_revision,
        "old": old_revision,
        "fields": diff_contents(old_revision.content if old_revision else {}, new_revision.content),
        "numbers": template.revisions.values_list("number", flat=True),
        "max_rows": MAX_ROWS,
    }
    return render(request, "prompts/diff.html", context)


@require_POST
def restore(request: AuthedRequest, code: UUID, number: int) -> HttpResponse:
    """Bring back a revision's contents as a new revision; redirect to the template."""
    template = _get_template(request, code, "edit")
    template.restore(_get_revision(template, number), author=request.user)
    messages.success(request, f"Restored revision {number}; it is now the latest revision.")
    return redirect(template)


# ----- import and export -----


@require_GET
def export_one(request: AuthedRequest, code: UUID) -> HttpResponse:
    """Return the template as a JSON download."""
    template = _get_template(request, code)
    return _json_download(_export([template]), f"{slugify(template.name) or 'template'}.json")


@require_GET
def export_library(request: AuthedRequest) -> HttpResponse:
    """Return the templates matching the library's filters as a JSON download."""
    filters = LibraryFilterForm(request.GET, user=request.user)
    templates = PrefixTemplate.objects.visible_to(request.user).filtered(**filters.filters())
    chosen = list(templates[: schema.MAX_TEMPLATES])
    return _json_download(_export(chosen), "prefix-templates.json")


@require_http_methods(["GET", "POST"])
def import_templates(request: AuthedRequest) -> HttpResponse:
    """Return the import page; create the templates from a valid file."""
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[schema.Problem] = []
    if request.method == "POST" and form.is_valid():
        contents, problems = schema.parse(form.cleaned_data["json"], budget())
        if not problems:
            with transaction.atomic():
                for content in contents:
                    template = PrefixTemplate(owner=request.user, visibility=Visibility.PRIVATE)
                    template.apply_content(content)
                    template.save(author=request.user, note="Imported")
            messages.success(request, f"Imported {len(contents)} template(s) as private.")
            return redirect("prompts:list")
    refused = request.method == "POST"  # a valid import redirected above
    context = {"form": form, "problems": problems}
    return render(request, "prompts/import.html", context, status=422 if refused else 200)
