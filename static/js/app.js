// Prefix Playground's one script. Templates hold no JavaScript: they mark elements with data-*
// attributes and this file gives them behaviour, so the Content-Security-Policy can forbid
// inline scripts, handlers and eval (settings.CONTENT_SECURITY_POLICY). htmx runs with
// allowEval off (templates/base.html). Every handler is delegated from `document`, so content
// htmx swaps in later works without re-binding.
(() => {
  "use strict";

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

  const isEditable = (el) =>
    el instanceof HTMLElement &&
    (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  // ---------- clipboard ----------
  function copyText(text, button) {
    // The async clipboard API needs a secure context; execCommand covers plain-http sites.
    const fallback = () => {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    };
    const done = navigator.clipboard ? navigator.clipboard.writeText(text).catch(fallback) : Promise.resolve(fallback());
    done.then(() => flash(button, "Copied"));
  }

  function flash(button, label) {
    if (!button) return;
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.textContent = label;
    clearTimeout(button._flash);
    button._flash = setTimeout(() => { button.textContent = button.dataset.label; }, 1500);
  }

  // A column's text exactly as generated: the prefix spans keep their real whitespace (the
  // visible markers are drawn by CSS), so textContent is the text that was sent and received.
  function columnText(column, which) {
    const parts = which === "full"
      ? ".output .prefix-text, .output .continuation, .output .suffix-text"
      : ".output .continuation";
    return $$(parts, column).map((node) => node.textContent).join("");
  }

  // ---------- override chips (compare page, one target row) ----------
  const chipLabels = {
    temperature: (v) => `temp ${v}`,
    max_tokens: (v) => `max ${v} tokens`,
    thinking: (v) => `thinking ${v}`,
    stop: (v) => {
      const n = v.split("\n").filter((line) => line !== "").length;
      return n === 1 ? "1 stop" : `${n} stops`;
    },
    json_mode: () => "JSON mode",
  };

  function overrideValue(row, name) {
    const field = $(`[name$="-${name}"]`, row);
    if (!field) return "";
    if (field.type === "checkbox") return field.checked ? "on" : "";
    return field.value.trim() === "" ? "" : field.value;
  }

  function renderChips(row) {
    const box = $("[data-override-chips]", row);
    if (!box) return;
    const list = $(".chip-list", box);
    const chips = Object.keys(chipLabels)
      .map((name) => [name, overrideValue(row, name)])
      .filter(([, value]) => value)
      .map(([name, value]) => [name, chipLabels[name](value)]);
    // Rebuild only on a real change: a field's `change` fires on blur, at the mousedown of a
    // click on a chip's ✕, and replacing that button then would swallow the click.
    const signature = JSON.stringify(chips);
    const current = JSON.stringify($$(".chip", list).map((chip) => [chip.dataset.override, chip.firstChild.textContent]));
    if (signature !== current) {
      list.replaceChildren(...chips.map(([name, label]) => makeChip(name, label)));
    }
    box.hidden = chips.length === 0;
  }

  function makeChip(name, label) {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.dataset.override = name;
    chip.append(label);
    const clear = document.createElement("button");
    clear.type = "button";
    clear.className = "chip-clear";
    clear.dataset.clearOverride = name;
    clear.setAttribute("aria-label", `Clear ${label}`);
    clear.textContent = "✕";
    chip.append(clear);
    return chip;
  }

  function clearOverride(row, name) {
    const field = $(`[name$="-${name}"]`, row);
    if (!field) return;
    if (field.type === "checkbox") field.checked = false;
    else field.value = "";
  }

  // ---------- row counters ----------
  function updateCounts() {
    for (const counter of $$("[data-count-of]")) {
      counter.textContent = String($$(counter.dataset.countOf).length);
    }
  }

  // ---------- growing textareas ----------
  // CSS `field-sizing: content` does it where supported (workbench.css); elsewhere the rows
  // attribute grows with the lines - never an inline style, which the policy would refuse.
  const sizesItself = window.CSS && CSS.supports("field-sizing", "content");
  function grow(area) {
    if (sizesItself) return;
    if (!area.dataset.minRows) area.dataset.minRows = String(area.rows || 1);
    const lines = area.value.split("\n").length;
    area.rows = Math.min(Math.max(lines, Number(area.dataset.minRows)), 24);
  }

  // ---------- Raw / Rendered ----------
  function showView(button) {
    const column = button.closest(".column");
    const rendered = $(".column-rendered", column);
    const body = $(".column-body", column);
    const wantRendered = button.dataset.view === "rendered";
    for (const other of $$("[data-view]", column)) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    if (wantRendered && !rendered.dataset.loaded) {
      rendered.dataset.loaded = "loading";
      htmx.ajax("GET", button.dataset.renderedUrl, { target: rendered, swap: "innerHTML" });
    }
    rendered.hidden = !wantRendered;
    body.hidden = wantRendered;
  }

  // ---------- clicks ----------
  document.addEventListener("click", (event) => {
    const target = event.target;
    if (!(target instanceof Element)) return;

    const opener = target.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog) {
        event.preventDefault();
        dialog.showModal();
      }
      return;
    }
    const closer = target.closest("dialog [data-dialog-close]");
    if (closer) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    const copier = target.closest("[data-copy]");
    if (copier) {
      const input = document.getElementById(copier.dataset.copy);
      if (input) {
        if (input.select) input.select();
        copyText(input.value ?? input.textContent, copier);
      }
      return;
    }
    const preCopier = target.closest("[data-copy-pre-in]");
    if (preCopier) {
      const pre = $("pre", preCopier.closest(preCopier.dataset.copyPreIn));
      if (pre) copyText(pre.textContent, preCopier);
      return;
    }
    const columnCopier = target.closest("[data-copy-column]");
    if (columnCopier) {
      copyText(columnText(columnCopier.closest(".column"), columnCopier.dataset.copyColumn), columnCopier);
      return;
    }
    const viewButton = target.closest("[data-view]");
    if (viewButton) {
      showView(viewButton);
      return;
    }
    const remover = target.closest("[data-remove-closest]");
    if (remover) {
      const row = remover.closest(remover.dataset.removeClosest);
      if (row) row.remove();
      updateCounts();
      return;
    }
    const chipClear = target.closest("[data-clear-override]");
    if (chipClear) {
      event.preventDefault();
      const row = chipClear.closest(".target-row");
      clearOverride(row, chipClear.dataset.clearOverride);
      renderChips(row);
      return;
    }
    const clearAll = target.closest("[data-clear-all-overrides]");
    if (clearAll) {
      for (const row of $$(".target-row")) {
        for (const name of Object.keys(chipLabels)) clearOverride(row, name);
        renderChips(row);
      }
      const note = clearAll.closest("[data-override-note]");
      if (note) note.textContent = "Overrides cleared: every target uses the prompt's settings.";
    }
  });

  // ---------- changes and typing ----------
  document.addEventListener("change", (event) => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    if (target.matches("[data-autosubmit]") && target.form) {
      target.form.requestSubmit();
      return;
    }
    if (target.matches("[data-key-select]")) {
      const option = target.selectedOptions[0];
      const model = $(".model-input", target.closest(".target-row"));
      if (option && model) {
        model.setAttribute("list", `models-${option.dataset.provider || ""}`);
        if (!model.value && option.dataset.model) model.value = option.dataset.model;
      }
    }
    const row = target.closest(".target-row");
    if (row) renderChips(row);
  });

  document.addEventListener("input", (event) => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    if (target.matches("textarea[data-autogrow]")) grow(target);
    const row = target.closest(".target-row");
    if (row) renderChips(row);
    // Live previews: the form says which fields count; htmx listens for `live-input`.
    const form = target.closest("form[data-live-input]");
    if (!form) return;
    const rule = form.dataset.liveInput;
    const name = target.getAttribute("name") || "";
    const counts = rule === "marked" ? target.hasAttribute("data-live") : !(rule.startsWith("skip:") && name.startsWith(rule.slice(5)));
    if (counts) form.dispatchEvent(new CustomEvent("live-input", { bubbles: true }));
  });

  document.addEventListener("focusin", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) target.select();
  });

  // ---------- keyboard ----------
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const run = $("#run-button");
      if (run && run.form && !run.disabled) {
        event.preventDefault();
        run.form.requestSubmit(run);
      }
      return;
    }
    if (event.key === "Escape") {
      if ($("dialog[open]")) return; // Esc closes the dialog first
      const stop = $("[data-stop-all]");
      if (stop) {
        event.preventDefault();
        stop.click();
      }
      return;
    }
    if (event.key === "?" && !event.ctrlKey && !event.metaKey && !event.altKey && !isEditable(event.target)) {
      const help = $("#shortcuts");
      if (help && !help.open) {
        event.preventDefault();
        help.showModal();
      }
    }
  });

  // ---------- htmx ----------
  document.addEventListener("htmx:configRequest", (event) => {
    const elt = event.detail.elt;
    if (!(elt instanceof Element)) return;
    if (elt.dataset.nextIndexOf) {
      const indexes = $$(elt.dataset.nextIndexOf).map((row) => Number(row.dataset.index) || 0);
      event.detail.parameters.index = indexes.length ? Math.max(...indexes) + 1 : 0;
    }
    if (elt.dataset.afterRoleOf) {
      const last = $(elt.dataset.afterRoleOf);
      event.detail.parameters.after = last ? last.value : "";
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (!(target instanceof Element)) return;
    if (target.id === "modal-body") {
      const modal = $("#modal");
      if (modal && !modal.open) modal.showModal();
    }
    if (target.id === "run-area") {
      // Stacked layout (narrow screens): bring the new run into view. Side by side it already is.
      const top = target.getBoundingClientRect().top;
      if (top > window.innerHeight * 0.6) target.scrollIntoView({ behavior: "smooth", block: "start" });
    }
    if (target.classList.contains("column-rendered")) target.dataset.loaded = "yes";
    updateCounts();
  });

  document.addEventListener("htmx:responseError", (event) => {
    const target = event.detail.target;
    if (target instanceof Element && target.classList.contains("column-rendered")) {
      target.dataset.loaded = "";
      target.textContent = "The rendered view could not be loaded; Raw still shows the text.";
    }
  });

  // New content (the page, or a fragment htmx swapped in): size textareas, draw chips.
  document.addEventListener("htmx:load", (event) => {
    const root = event.detail.elt;
    if (!(root instanceof Element)) return;
    for (const area of $$("textarea[data-autogrow]", root)) grow(area);
    if (root.matches(".target-row")) renderChips(root);
  });

  // Narrow screens scroll the main navigation sideways: keep the current section in view.
  const current = $(".nav [aria-current='page']");
  if (current) {
    const nav = current.parentElement;
    if (nav && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = current.offsetLeft - nav.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
    }
  }
})();
