// Forms with data-confirm ask before they are sent: every destructive action of the portal
// (cancel, deny, suspend, revoke, deprecate, retire, delete; a training's cancel and suspend).
// Loaded once by base.html; one listener on the document also covers forms added later.
// A file, not an inline handler: the Content-Security-Policy allows scripts from 'self' only.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
