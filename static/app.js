// Progressive enhancements only: every page works without this file.
"use strict";

// "Copy citation" buttons: shown only when the clipboard can be written. The result is said aloud too
// (a live region), not only shown on the button.
function setUpCopyButtons() {
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
  const status = document.getElementById("copy-status");
  const say = (text) => {
    if (status) {
      status.textContent = "";
      setTimeout(() => { status.textContent = text; }, 50);
    }
  };
  for (const button of document.querySelectorAll("button.copy-citation")) {
    const source = document.getElementById(button.dataset.copyTarget);
    if (!source) {
      continue;
    }
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = "Copy citation";
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
        say("Copied: " + (button.dataset.copyWhat || "the citation"));
      } catch (error) {
        button.textContent = "Copy failed: select the text";
        say("Copy failed: select the citation's text and copy it");
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
}

// Compare: two passages, ticked on one page of results or on two. The ticks are kept in sessionStorage
// (this tab only), so they survive paging and a new search; the bar at the top of the results says how
// many are ticked and which, and its button compares them once there are two.
const COMPARE_KEY = "imr-kb.compare";

function loadPicked() {
  try {
    const value = JSON.parse(sessionStorage.getItem(COMPARE_KEY) || "[]");
    return Array.isArray(value) ? value.filter((p) => p && typeof p.id === "string").slice(0, 2) : [];
  } catch (error) {
    return [];
  }
}

function savePicked(picked) {
  try {
    sessionStorage.setItem(COMPARE_KEY, JSON.stringify(picked));
  } catch (error) {
    // storage refused (private mode): the ticks on this page still work
  }
}

function setUpCompare() {
  const form = document.getElementById("compare-form");
  const bar = document.getElementById("compare-bar");
  if (!form || !bar) {
    return;
  }
  const boxes = Array.from(form.querySelectorAll("input[type=checkbox][name=p]"));
  const button = bar.querySelector("button.compare-submit");
  const clear = bar.querySelector("button.compare-clear");
  const status = document.getElementById("compare-status");
  const list = document.getElementById("compare-picked");
  let picked = loadPicked();

  const render = () => {
    const ids = picked.map((p) => p.id);
    for (const box of boxes) {
      box.checked = ids.includes(box.value);
      box.disabled = !box.checked && ids.length >= 2;
      box.closest("li.hit")?.classList.toggle("picked", box.checked);
    }
    button.disabled = ids.length !== 2;
    button.textContent = ids.length === 2 ? "Compare the two selected passages" : `Compare (${ids.length} of 2)`;
    clear.hidden = ids.length === 0;
    status.textContent = ids.length === 0 ? "Tick two results to compare them side by side."
      : ids.length === 1 ? "Compare (1 of 2): tick one more result, on this page or another."
        : "Compare (2 of 2): ready.";
    list.replaceChildren();
    list.hidden = ids.length === 0;
    for (const p of picked) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = p.label + " ";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link-button";
      remove.textContent = "remove";
      remove.setAttribute("aria-label", "Remove " + p.label + " from the comparison");
      remove.addEventListener("click", () => {
        picked = picked.filter((q) => q.id !== p.id);
        savePicked(picked);
        render();
      });
      chip.append(remove);
      list.append(chip);
    }
  };

  for (const box of boxes) {
    box.addEventListener("change", () => {
      if (box.checked && !picked.some((p) => p.id === box.value) && picked.length < 2) {
        picked.push({ id: box.value, label: box.dataset.label || box.value });
      } else if (!box.checked) {
        picked = picked.filter((p) => p.id !== box.value);
      }
      savePicked(picked);
      render();
    });
  }
  clear.addEventListener("click", () => {
    picked = [];
    savePicked(picked);
    render();
  });
  form.addEventListener("submit", (event) => {
    if (picked.length !== 2) {
      event.preventDefault();
      return;
    }
    // the two may come from different pages: compare what is kept, not only this page's ticks
    event.preventDefault();
    const params = new URLSearchParams(picked.map((p) => ["p", p.id]));
    window.location.assign(form.getAttribute("action") + "?" + params.toString());
  });
  // a page restored from the back-forward cache shows what another page changed since
  window.addEventListener("pageshow", () => { picked = loadPicked(); render(); });
  render();
}

// Filters: a wide screen shows them beside the results; where CSS cannot show a closed <details>' content
// (no ::details-content), open it there.
function setUpFilters() {
  const toggle = document.querySelector("details.filters-toggle");
  if (!toggle || !window.matchMedia) {
    return;
  }
  const supported = window.CSS && CSS.supports && CSS.supports("selector(::details-content)");
  if (!supported && window.matchMedia("(min-width: 801px)").matches) {
    toggle.open = true;
  }
}

// Suggestions: a field with data-suggest lists the index's values in its <datalist> (rendered with the
// page, so the browser suggests without JavaScript); as one types, the list is refilled from /api/suggest
// with the values matching what is typed, beyond the most common ones the page carried.
function setUpSuggestions() {
  for (const input of document.querySelectorAll("input[data-suggest][list]")) {
    const list = document.getElementById(input.getAttribute("list"));
    if (!list) {
      continue;
    }
    let timer = null;
    let asked = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const typed = input.value.trim();
        if (!typed) {
          return;
        }
        const ask = ++asked;
        try {
          const response = await fetch(`${input.dataset.suggest}&limit=20&q=${encodeURIComponent(typed)}`);
          if (!response.ok || ask !== asked) {
            return;
          }
          const data = await response.json();
          list.replaceChildren(...data.suggestions.map((s) => {
            const option = document.createElement("option");
            option.value = s.value;
            option.textContent = `${s.label} (${s.count.toLocaleString()})`;
            return option;
          }));
        } catch (error) {
          // offline or refused: the list the page carried still suggests
        }
      }, 150);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCopyButtons();
  setUpCompare();
  setUpFilters();
  setUpSuggestions();
});
