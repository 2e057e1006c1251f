// Forms with data-confirm ask before they are sent (cancel, suspend, resume a training).
// A file, not an inline handler: the Content-Security-Policy allows scripts from 'self' only.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
