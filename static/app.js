// Progressive enhancements only: every page works without this file.
"use strict";

// "Copy citation" buttons: shown only when the clipboard can be written.
function setUpCopyButtons() {
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
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
      } catch (error) {
        button.textContent = "Copy failed: select the text";
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
}

// Compare: at most two passages can be ticked; the button is enabled once two are.
function setUpCompare() {
  const form = document.getElementById("compare-form");
  if (!form) {
    return;
  }
  const boxes = Array.from(form.querySelectorAll("input[type=checkbox][name=p]"));
  const button = form.querySelector("button[type=submit]");
  const update = () => {
    const ticked = boxes.filter((box) => box.checked);
    for (const box of boxes) {
      box.disabled = !box.checked && ticked.length >= 2;
    }
    if (button) {
      button.disabled = ticked.length !== 2;
    }
  };
  for (const box of boxes) {
    box.addEventListener("change", update);
  }
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCopyButtons();
  setUpCompare();
});
