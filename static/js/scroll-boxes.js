// Wide tables (and the lineage graph) scroll sideways in their own box on a narrow screen. A
// box that does scroll joins the tab order as a named region, so that a keyboard can scroll it
// too (WCAG 2.1.1; axe-core's scrollable-region-focusable); a box that fits stays out of the
// way. Loaded once by base.html; checked again when the window is resized or a <details> opens.
"use strict";
(function () {
  var BOXES = ".table-scroll, .graph-scroll";

  function nameOf(box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) {
      return caption.textContent.trim();
    }
    var section = box.closest("[aria-labelledby]");
    var heading = section && document.getElementById(section.getAttribute("aria-labelledby"));
    return heading ? heading.textContent.trim() : "Scrolling table";
  }

  function update() {
    document.querySelectorAll(BOXES).forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth;
      if (scrolls && !box.hasAttribute("data-scrolls")) {
        box.setAttribute("data-scrolls", "");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", nameOf(box));
      } else if (!scrolls && box.hasAttribute("data-scrolls")) {
        ["data-scrolls", "tabindex", "role", "aria-label"].forEach(function (name) {
          box.removeAttribute(name);
        });
      }
    });
  }

  update();
  window.addEventListener("resize", update);
  document.addEventListener("toggle", update, true); // toggle does not bubble: capture it
})();
