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

  // An abstract that fits in its three lines has nothing to open: no "more" to offer.
  function markShortTeasers() {
    document.querySelectorAll("details.teaser").forEach(function (teaser) {
      var clamp = teaser.querySelector(".clamp");
      if (clamp && !teaser.open && clamp.scrollHeight <= clamp.clientHeight + 1) {
        teaser.classList.add("fits");
        teaser.querySelector("summary").tabIndex = -1;
      }
    });
  }

  var SHORTCUTS = [
    ["/", "Search"],
    ["j", "Next paper"],
    ["k", "Previous paper"],
    ["o", "Open the paper (Enter works too)"],
    ["u", "Upvote the paper (again: withdraw the vote)"],
    ["?", "Show these shortcuts"],
    ["Esc", "Close this"],
  ];

  function shortcutsDialog() {
    var dialog = document.querySelector("dialog.shortcuts");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "shortcuts";
    dialog.setAttribute("aria-labelledby", "shortcuts-h");
    var heading = document.createElement("h2");
    heading.id = "shortcuts-h";
    heading.textContent = "Keyboard shortcuts";
    var list = document.createElement("dl");
    SHORTCUTS.forEach(function (pair) {
      var key = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = pair[0];
      key.appendChild(kbd);
      var what = document.createElement("dd");
      what.textContent = pair[1];
      list.appendChild(key);
      list.appendChild(what);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", function () { dialog.close(); });
    dialog.appendChild(heading);
    dialog.appendChild(list);
    dialog.appendChild(close);
    document.body.appendChild(dialog);
    return dialog;
  }

  function showShortcuts() {
    var dialog = shortcutsDialog();
    if (!dialog.open) dialog.showModal();
  }

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("article.card"));
  }

  function selectCard(card) {
    cards().forEach(function (other) { other.classList.remove("selected"); });
    card.classList.add("selected");
    var link = card.querySelector("h3 a");
    if (link) link.focus({preventScroll: true});
    card.scrollIntoView({block: "nearest"});
  }

  function currentCard() {
    var focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("article.card") : null;
    return focused || document.querySelector("article.card.selected");
  }

  function move(step) {
    var all = cards();
    if (!all.length) return;
    var index = all.indexOf(currentCard());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1)
      : Math.min(all.length - 1, Math.max(0, index + step));
    selectCard(all[next]);
  }

  function typing(target) {
    return target && (target.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // j/k move between papers, o opens one, u upvotes it, / searches, ? lists these.
  function enhanceKeyboard() {
    var hint = document.querySelector(".shortcuts-hint");
    if (hint) {
      hint.hidden = false;
      hint.querySelector("button").addEventListener("click", showShortcuts);
    }
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target) || document.querySelector("dialog[open]")) return;
      var card = currentCard();
      switch (event.key) {
        case "/":
          event.preventDefault();
          var box = document.querySelector('input[type="search"]');
          if (box) { box.focus(); box.select(); } else { window.location.href = "/search"; }
          break;
        case "j": move(1); break;
        case "k": move(-1); break;
        case "o":
          if (card) { var link = card.querySelector("h3 a"); if (link) link.click(); }
          break;
        case "u":
          if (card) { var vote = card.querySelector(".vote"); if (vote) vote.click(); }
          break;
        case "?": event.preventDefault(); showShortcuts(); break;
        default: return;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    markShortTeasers();
    enhanceKeyboard();
    enhanceVotes();
    enhanceTheme();
    enhanceCopy();
    enhanceDeleteLinks();
    renderMath();
  });
})();

// -- Library: "Add to collection" opens a menu of the reader's collections in place ----------
// Without this, the button opens /collect (a page of boxes); every change here goes through
// the JSON API with the CSRF header, and a failed one falls back to that page.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function api(method, path, body) {
    var headers = {"X-CSRF-Token": csrfToken()};
    if (body) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.status === 204 ? null : response.json();
    });
  }

  function itemPath(collectionId, paperId) {
    return "/api/v1/collections/" + collectionId + "/items/" + encodeURI(paperId);
  }

  function closeMenus(except) {
    document.querySelectorAll(".collect-menu").forEach(function (menu) {
      if (menu === except) return;
      var button = menu.previousElementSibling && menu.previousElementSibling.querySelector("button.collect");
      if (button) button.setAttribute("aria-expanded", "false");
      menu.remove();
    });
  }

  function checkbox(menu, paperId, collection) {
    var label = document.createElement("label");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = !!collection.has_paper;
    box.addEventListener("change", function () {
      var request = box.checked
        ? api("POST", "/api/v1/collections/" + collection.id + "/items", {paper_id: paperId})
        : api("DELETE", itemPath(collection.id, paperId));
      box.disabled = true;
      request.then(function () {
        menu.querySelector(".collect-status").textContent =
          (box.checked ? "Added to " : "Removed from ") + collection.name;
      }).catch(function () {
        box.checked = !box.checked;
        menu.querySelector(".collect-status").textContent = "Could not change " + collection.name;
      }).then(function () { box.disabled = false; });
    });
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + collection.name));
    return label;
  }

  function newCollectionForm(menu, paperId, list) {
    var form = document.createElement("form");
    form.className = "collect-new";
    var input = document.createElement("input");
    input.name = "name";
    input.maxLength = 100;
    input.required = true;
    input.placeholder = "New collection";
    input.setAttribute("aria-label", "New collection");
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Create and add";
    form.appendChild(input);
    form.appendChild(button);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      api("POST", "/api/v1/collections", {name: input.value}).then(function (made) {
        return api("POST", "/api/v1/collections/" + made.id + "/items", {paper_id: paperId})
          .then(function () {
            made.has_paper = true;
            list.appendChild(checkbox(menu, paperId, made));
            input.value = "";
            menu.querySelector(".collect-status").textContent = "Added to " + made.name;
          });
      }).catch(function () {
        menu.querySelector(".collect-status").textContent = "Could not make that collection (is the name in use?)";
      });
    });
    return form;
  }

  function openMenu(form) {
    var paperId = form.getAttribute("data-paper");
    var button = form.querySelector("button.collect");
    var open = form.nextElementSibling;
    if (open && open.classList.contains("collect-menu")) {
      closeMenus();
      return;
    }
    closeMenus();
    api("GET", "/api/v1/collections?paper_id=" + encodeURIComponent(paperId)).then(function (page) {
      var menu = document.createElement("div");
      menu.className = "collect-menu";
      menu.setAttribute("role", "group");
      menu.setAttribute("aria-label", "Collections for this paper");
      var list = document.createElement("div");
      list.className = "collect-list";
      page.collections.forEach(function (collection) {
        list.appendChild(checkbox(menu, paperId, collection));
      });
      menu.appendChild(list);
      menu.appendChild(newCollectionForm(menu, paperId, list));
      var status = document.createElement("p");
      status.className = "collect-status small";
      status.setAttribute("role", "status");
      menu.appendChild(status);
      var all = document.createElement("a");
      all.href = "/collections";
      all.className = "small";
      all.textContent = "Your collections";
      menu.appendChild(all);
      form.insertAdjacentElement("afterend", menu);
      button.setAttribute("aria-expanded", "true");
      var first = menu.querySelector("input");
      if (first) first.focus();
    }).catch(function () { form.submit(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.collect-form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        openMenu(form);
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeMenus();
    });
  });
})();
// -- end of Library ---------------------------------------------------------------------------
