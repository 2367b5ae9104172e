// Page behaviour without inline script (the Content-Security-Policy allows scripts from /static
// only, see conference/web/headers.py). Data comes from data-* attributes set by the templates.
"use strict";

// <form data-confirm="..."> asks before submitting (what onsubmit="return confirm(...)" did).
document.addEventListener("submit", (event) => {
  const form = event.target;
  // A submit button's own data-confirm (a second action of a form) is asked instead of the form's.
  const button = event.submitter;
  const text = button instanceof HTMLElement && button.dataset.confirm ? button.dataset.confirm
    : (form instanceof HTMLFormElement ? form.dataset.confirm : undefined);
  if (text && !window.confirm(text)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// <a data-back> goes back a page when there is one (its href is the fallback).
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-back]") : null;
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

// <input data-select-on-focus>: the whole value is selected, ready to copy.
document.addEventListener("focusin", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.hasAttribute("data-select-on-focus")) {
    event.target.select();
  }
});

// <table data-min-width="840">: a width computed by the server, set through the CSSOM.
function applyMinWidths() {
  for (const element of document.querySelectorAll("[data-min-width]")) {
    element.style.minWidth = `${Number(element.dataset.minWidth) || 0}px`;
  }
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", applyMinWidths);
} else {
  applyMinWidths();
}

// Main navigation (templates/_nav.html): one drop-down open at a time; a click elsewhere or Escape
// closes it (a <details> alone stays open until its own summary is clicked again).
function closeNavGroups(except) {
  for (const group of document.querySelectorAll(".mainnav details[open]")) {
    if (group !== except && !(except && group.contains(except))) {
      group.removeAttribute("open");
    }
  }
}
document.addEventListener("toggle", (event) => {
  const target = event.target;
  if (target instanceof HTMLDetailsElement && target.classList.contains("nav-group") && target.open) {
    closeNavGroups(target);
  }
}, true);
document.addEventListener("click", (event) => {
  if (!(event.target instanceof Element) || !event.target.closest(".mainnav")) {
    closeNavGroups(null);
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && document.querySelector(".mainnav details[open]")) {
    const open = [...document.querySelectorAll(".mainnav details[open]")].pop();
    closeNavGroups(null);
    open?.querySelector("summary")?.focus();
  }
});

// A checkbox list with a filter box (<input data-picker-filter="fieldset id">): typing hides the
// options whose label does not contain the text (ticked ones stay visible, so a choice never hides).
document.addEventListener("input", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.pickerFilter) {
    return;
  }
  const picker = document.getElementById(box.dataset.pickerFilter);
  const text = box.value.trim().toLowerCase();
  for (const option of picker ? picker.querySelectorAll(".picker-option") : []) {
    const checkbox = option.querySelector("input");
    option.hidden = Boolean(text) && !option.textContent.toLowerCase().includes(text) && !checkbox?.checked;
  }
});

// <input type="file" data-max-bytes data-too-large="message">: a file over the limit is named beside
// the field at once and the form is not sent (the server refuses it too, with the same message).
function oversizeMessage(input) {
  const limit = Number(input.dataset.maxBytes);
  const big = [...(input.files || [])].find((file) => file.size > limit);
  return big ? `${input.files.length > 1 ? `${big.name}：` : ""}${input.dataset.tooLarge}` : "";
}
function showFileError(input) {
  const message = oversizeMessage(input);
  const error = document.getElementById(`e-${input.name}`);
  if (error) {
    error.textContent = message;
    error.hidden = !message;
  }
  input.closest(".field")?.classList.toggle("has-error", Boolean(message));
  if (message) {
    input.setAttribute("aria-invalid", "true");
  } else {
    input.removeAttribute("aria-invalid");
  }
  return message;
}
document.addEventListener("change", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.dataset.maxBytes) {
    showFileError(event.target);
  }
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) {
    return;
  }
  const bad = [...form.querySelectorAll("input[type=file][data-max-bytes]")].filter((input) => showFileError(input));
  if (bad.length) {
    event.preventDefault();
    bad[0].focus();
  }
});
