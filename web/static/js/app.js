/*
 * Tawasul staff UI behaviour. Loaded as an external file (the CSP forbids
 * inline script); no dependencies, no build step.
 *
 *   <form method="post" data-confirm="هل أنت متأكد؟">   asks before submitting
 *   <select name="status" data-autosubmit>               submits its form on change
 *
 * Listeners are delegated on document, so elements swapped in later by htmx
 * work without re-binding.
 */
(function () {
  'use strict';

  document.addEventListener('DOMContentLoaded', function () {
    // (a) Confirm before submitting any form[data-confirm].
    // Capture phase so this runs before htmx's own submit handler; cancelling
    // here stops both normal and hx-post submissions.
    document.addEventListener('submit', function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-confirm')) return;
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }, true);

    // (b) Submit the owning form when a [data-autosubmit] control changes.
    // requestSubmit() fires the submit event, so (a) and htmx still apply.
    document.addEventListener('change', function (event) {
      var el = event.target;
      if (!(el instanceof Element) || !el.hasAttribute('data-autosubmit')) return;
      var form = el.form || el.closest('form');
      if (form) form.requestSubmit();
    });
  });
})();
