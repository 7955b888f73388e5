// Kettle admin: small progressive enhancements, no framework. Every page works without it.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // --- navigation drawer on narrow screens -------------------------------------------------
  function setupNav() {
    var toggle = document.querySelector(".nav-toggle");
    var sidebar = document.getElementById("sidebar");
    if (!toggle || !sidebar) return;
    function setOpen(open) {
      document.body.classList.toggle("nav-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        var first = sidebar.querySelector("a");
        if (first) first.focus();
      }
    }
    toggle.addEventListener("click", function () {
      setOpen(!document.body.classList.contains("nav-open"));
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && document.body.classList.contains("nav-open")) {
        setOpen(false);
        toggle.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (!document.body.classList.contains("nav-open")) return;
      if (!sidebar.contains(event.target) && !toggle.contains(event.target)) setOpen(false);
    });
  }

  // --- filters start closed on narrow screens --------------------------------------------------
  function setupFilters() {
    var panels = document.querySelectorAll("details[data-collapse-below]");
    panels.forEach(function (panel) {
      var width = parseInt(panel.getAttribute("data-collapse-below"), 10);
      if (window.innerWidth < width && !panel.querySelector("li:not(:first-child) a.selected")) {
        panel.open = false;
      }
    });
  }

  // --- row selection for bulk actions -------------------------------------------------------------
  function setupSelection() {
    var form = document.getElementById("changelist-form");
    if (!form) return;
    var all = form.querySelector("#select-all");
    var boxes = Array.prototype.slice.call(form.querySelectorAll(".row-select"));
    var counter = form.querySelector(".selection-count");
    function update() {
      var chosen = boxes.filter(function (box) { return box.checked; }).length;
      boxes.forEach(function (box) {
        var row = box.closest("tr");
        if (row) row.classList.toggle("selected", box.checked);
      });
      if (counter) {
        // The page gives the sentence in its language: "{chosen} of {total} selected".
        var template = counter.getAttribute("data-template") || "{chosen} of {total} selected";
        counter.textContent = template.replace("{chosen}", chosen).replace("{total}", boxes.length);
      }
      if (all) {
        all.checked = chosen > 0 && chosen === boxes.length;
        all.indeterminate = chosen > 0 && chosen < boxes.length;
      }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }

  // --- inline rows: "Add another" ------------------------------------------------------------------
  function setupInlines() {
    document.querySelectorAll(".inline-group").forEach(function (group) {
      var button = group.querySelector(".add-row");
      var template = group.querySelector("template.empty-row");
      var total = group.querySelector(".total-forms");
      var body = group.querySelector("tbody");
      if (!button || !template || !total || !body) return;
      button.addEventListener("click", function () {
        var index = parseInt(total.value, 10) || 0;
        var html = template.innerHTML.replace(/__prefix__/g, String(index));
        body.insertAdjacentHTML("beforeend", html);
        total.value = String(index + 1);
        var row = body.lastElementChild;
        enhanceAutocompletes(row);
        var field = row && row.querySelector("input:not([type=hidden]), select, textarea");
        if (field) field.focus();
      });
    });
  }

  // --- foreign-key autocomplete ----------------------------------------------------------------------
  var counter = 0;
  function enhanceAutocompletes(scope) {
    (scope || document).querySelectorAll(".autocomplete:not([data-ready])").forEach(setupAutocomplete);
  }

  function setupAutocomplete(box) {
    box.setAttribute("data-ready", "1");
    var idInput = box.querySelector(".ac-id");
    var current = box.querySelector(".ac-current");
    if (!idInput) return;
    counter += 1;
    var listId = "ac-list-" + counter;
    var search = document.createElement("input");
    search.type = "text";
    search.id = idInput.id;
    search.setAttribute("role", "combobox");
    search.setAttribute("aria-autocomplete", "list");
    search.setAttribute("aria-expanded", "false");
    search.setAttribute("aria-controls", listId);
    search.setAttribute("autocomplete", "off");
    search.placeholder = "Type to search…";
    search.value = box.getAttribute("data-label") || "";
    ["aria-describedby", "aria-invalid", "aria-required"].forEach(function (name) {
      if (idInput.hasAttribute(name)) search.setAttribute(name, idInput.getAttribute(name));
    });
    idInput.id = idInput.id + "-value";
    idInput.type = "hidden";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "ac-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var clear = document.createElement("button");
    clear.type = "button";
    clear.className = "button small ghost";
    clear.textContent = "Clear";
    clear.setAttribute("aria-label", "Clear the choice");
    var row = document.createElement("div");
    row.className = "ac-row";
    row.appendChild(search);
    row.appendChild(clear);
    box.insertBefore(row, idInput);
    box.appendChild(list);
    if (current) current.hidden = true;

    var options = [];
    var active = -1;
    var timer = null;
    var latest = 0;

    function close() {
      list.hidden = true;
      search.setAttribute("aria-expanded", "false");
      search.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function choose(option) {
      idInput.value = option.id;
      search.value = option.text;
      box.setAttribute("data-label", option.text);
      close();
    }
    function highlight(index) {
      var items = list.querySelectorAll("li[role=option]");
      items.forEach(function (item, i) { item.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (items[index]) {
        search.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      }
    }
    function render(results) {
      options = results;
      list.innerHTML = "";
      if (!results.length) {
        var empty = document.createElement("li");
        empty.className = "ac-empty";
        empty.textContent = "No matches";
        list.appendChild(empty);
      }
      results.forEach(function (option, i) {
        var item = document.createElement("li");
        item.id = listId + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = option.text;
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(option);
        });
        list.appendChild(item);
      });
      list.hidden = false;
      search.setAttribute("aria-expanded", "true");
      active = -1;
    }
    function lookup() {
      var url = box.getAttribute("data-url");
      var ticket = ++latest;
      var query = "term=" + encodeURIComponent(search.value.trim());
      fetch(url + (url.indexOf("?") === -1 ? "?" : "&") + query, {
        headers: { Accept: "application/json" },
        credentials: "same-origin"
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (ticket === latest) render(data.results || []); })
        .catch(function () { if (ticket === latest) render([]); });
    }
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 180);
    });
    search.addEventListener("focus", function () {
      if (!search.value) lookup();
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { lookup(); return; }
        highlight(Math.min(active + 1, options.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0 && options[active]) {
          event.preventDefault();
          choose(options[active]);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
      }
    });
    search.addEventListener("blur", function () {
      setTimeout(function () {
        close();
        // Text that is not a chosen row puts the last choice back.
        search.value = idInput.value ? box.getAttribute("data-label") || search.value : "";
      }, 120);
    });
    clear.addEventListener("click", function () {
      idInput.value = "";
      search.value = "";
      box.setAttribute("data-label", "");
      search.focus();
    });
  }

  // --- after a failed save, take the keyboard to the summary of the errors --------------------------------
  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  ready(function () {
    setupNav();
    setupFilters();
    setupSelection();
    setupInlines();
    enhanceAutocompletes(document);
    focusErrors();
  });
})();
