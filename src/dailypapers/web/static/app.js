// Progressive enhancement only: every feature works without this file.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("dp-theme"); } catch (e) { /* storage off */ }
  if (saved) root.setAttribute("data-theme", saved);

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function enhanceVotes() {
    document.querySelectorAll("form.vote-form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = form.querySelector("button");
        var action = form.querySelector('input[name="action"]');
        var paperId = form.querySelector('input[name="paper_id"]').value;
        var up = action.value === "up";
        var request = up
          ? fetch("/api/v1/votes", {
              method: "POST",
              headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
              body: JSON.stringify({paper_id: paperId}),
              credentials: "same-origin",
            })
          : fetch("/api/v1/votes/" + paperId, {
              method: "DELETE",
              headers: {"X-CSRF-Token": csrfToken()},
              credentials: "same-origin",
            });
        request.then(function (response) {
          if (!response.ok) { form.submit(); return null; }
          return response.json();
        }).then(function (vote) {
          if (!vote) return;
          var count = form.parentNode.querySelector(".count");
          if (count) count.textContent = vote.score;
          action.value = vote.voted ? "down" : "up";
          button.classList.toggle("voted", vote.voted);
          button.setAttribute("aria-pressed", vote.voted ? "true" : "false");
        }).catch(function () { form.submit(); });
      });
    });
  }

  function enhanceTheme() {
    var toggle = document.querySelector(".theme-toggle");
    if (!toggle) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var dark = root.getAttribute("data-theme") === "dark" ||
        (!root.getAttribute("data-theme") && matchMedia("(prefers-color-scheme: dark)").matches);
      var next = dark ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("dp-theme", next); } catch (e) { /* storage off */ }
    });
  }

  function enhanceCopy() {
    document.querySelectorAll(".copy-link").forEach(function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
          button.textContent = "Link copied";
        });
      });
    });
  }

  // Without JavaScript the Delete link opens a page that asks; with it, a dialog asks here.
  function enhanceDeleteLinks() {
    document.querySelectorAll("a.delete-comment").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        if (!window.confirm(link.getAttribute("data-confirm") || "Delete?")) return;
        var form = document.createElement("form");
        form.method = "post";
        form.action = link.getAttribute("href");
        var token = document.createElement("input");
        token.type = "hidden";
        token.name = "csrf_token";
        token.value = csrfToken();
        form.appendChild(token);
        document.body.appendChild(form);
        form.submit();
      });
    });
  }

  // Authors' own macros ($\Q$, $\ours$) are unknown to KaTeX, which shows them as typed, in
  // red: each becomes its name in upright letters instead. Found by asking KaTeX once per
  // name on the page.
  function unknownMacros(elements) {
    var macros = {};
    var seen = {};
    elements.forEach(function (element) {
      (element.textContent.match(/\\[A-Za-z]+/g) || []).forEach(function (name) {
        if (seen[name]) return;
        seen[name] = true;
        try {
          katex.renderToString(name, {throwOnError: true});
        } catch (error) {
          if (error instanceof katex.ParseError && /Undefined control sequence/.test(error.message)) {
            macros[name] = "\\mathrm{" + name.slice(1) + "}";
          }
        }
      });
    });
    return macros;
  }

  function renderMath() {
    if (typeof renderMathInElement !== "function") return;
    var elements = document.querySelectorAll(".math");
    var macros = unknownMacros(elements);
    elements.forEach(function (element) {
      renderMathInElement(element, {
        delimiters: [
          {left: "$$", right: "$$", display: true},
          {left: "$", right: "$", display: false},
          {left: "\\(", right: "\\)", display: false},
          {left: "\\[", right: "\\]", display: true},
        ],
        ignoredClasses: ["nomath"],  // a literal dollar sign from the text (\$)
        macros: macros,
        throwOnError: false,
        errorColor: "inherit",  // a formula KaTeX cannot read shows as typed, not in red
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhanceVotes();
    enhanceTheme();
    enhanceCopy();
    enhanceDeleteLinks();
    renderMath();
  });
})();
