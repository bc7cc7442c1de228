/* Kundenportal: small enhancements on top of pages that work without JavaScript.
   - show/hide toggle for password fields
   - password rules ticked off while typing (server check, debounced)
   - FAQ results while typing
   - activation and reset tokens removed from the address bar
   - a notice when cookies are switched off
   - the check after several failed logins or registrations (proof of work, solved here)
   No framework, no third-party requests, no inline code (strict CSP). */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // Tokens in mailed links are spent by a POST; keep them out of history and bookmarks.
  // The tab keeps the token (sessionStorage, this tab only): reloading the page, whose
  // address no longer carries it, still offers a form that works.
  var tokenForm = document.querySelector("[data-strip-token]");
  if (tokenForm) {
    var tokenField = tokenForm.querySelector("input[name=token]");
    var tokenKey = "portal-token:" + location.pathname;
    try {
      if (/[?&]token=/.test(location.search)) {
        if (tokenField && tokenField.value) { sessionStorage.setItem(tokenKey, tokenField.value); }
        history.replaceState(null, "", location.pathname);
      } else if (tokenField && !tokenField.value) {
        tokenField.value = sessionStorage.getItem(tokenKey) || "";
      }
    } catch (e) {
      // Storage switched off: stripping the address still protects the token.
      if (/[?&]token=/.test(location.search)) { history.replaceState(null, "", location.pathname); }
    }
  }

  if (!navigator.cookieEnabled) {
    document.querySelectorAll("[data-cookie-warning]").forEach(function (el) { el.hidden = false; });
  }

  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }

  // Show / hide password (GOV.UK password input pattern).
  document.querySelectorAll("input[type=password][data-show-text]").forEach(function (input) {
    var button = document.createElement("button");
    var word = document.createElement("span");
    var which = document.createElement("span");
    var status = document.createElement("span");
    button.type = "button";
    button.className = "toggle-button";
    button.setAttribute("aria-controls", input.id);
    word.textContent = input.dataset.showText;
    // Several password fields on one page: a screen reader hears which one it shows.
    which.className = "visually-hidden";
    which.textContent = input.labels[0] ? " (" + input.labels[0].textContent.trim() + ")" : "";
    button.appendChild(word);
    button.appendChild(which);
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      word.textContent = show ? input.dataset.hideText : input.dataset.showText;
      status.textContent = show ? input.dataset.shownText : input.dataset.hiddenText;
    });
    // Never submit a visible password: browsers may store text fields.
    if (input.form) {
      input.form.addEventListener("submit", function () { input.type = "password"; });
    }
    input.parentNode.appendChild(button);
    input.parentNode.appendChild(status);
  });

  // Live password rules: ask the portal (which asks auth) which rules are broken.
  document.querySelectorAll("input[data-live-rules]").forEach(function (input) {
    var box = document.getElementById(input.dataset.liveRules);
    var form = input.form;
    if (!box || !form) { return; }
    var csrf = form.querySelector("input[name=csrf_token]");
    var meterBox = box.querySelector("[data-strength]");
    var meter = box.querySelector("[data-strength-meter]");
    var meterText = box.querySelector("[data-strength-text]");
    var status = box.querySelector("[data-rules-status]");
    var levels = (box.dataset.strengthTexts || "").split("|");
    var sequence = 0;
    // The meter's room is kept from the start, invisible until the first answer: when
    // it appeared it pushed the fields and the button below it down, under the pointer
    // of someone about to click (without script it stays hidden and takes no room).
    meterBox.classList.add("strength-waiting");
    meterBox.hidden = false;

    function field(name) {
      var el = form.querySelector("[name=" + name + "]");
      return el ? el.value : "";
    }

    function show(result) {
      var rules = box.querySelectorAll("[data-rule]");
      var met = 0;
      rules.forEach(function (li) {
        var broken = result.violations.indexOf(li.dataset.rule) !== -1;
        li.classList.remove("rule-unknown", "rule-met", "rule-unmet");
        li.classList.add(broken ? "rule-unmet" : "rule-met");
        li.querySelector(".rule-state").textContent = " – " + (broken ? box.dataset.unmetText : box.dataset.metText);
        if (!broken) { met += 1; }
      });
      meterBox.classList.remove("strength-waiting");
      meter.value = result.strength;
      meterText.textContent = levels[result.strength] || "";
      status.textContent = box.dataset.summaryText.replace("{met}", met).replace("{total}", rules.length);
    }

    var check = debounce(function () {
      var password = input.value;
      if (!password) { return; }
      var mine = ++sequence;
      var body = new URLSearchParams();
      body.set("password", password);
      ["email", "last_name", "customer_number"].forEach(function (name) {
        if (field(name)) { body.set(name, field(name)); }
      });
      fetch(box.dataset.checkUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf ? csrf.value : "" },
        body: body
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (result) {
        if (result && result.available && mine === sequence) { show(result); }
      }).catch(function () { /* the server checks again on submit */ });
    }, 300);
    input.addEventListener("input", check);
  });

  // After several failed attempts auth wants a solved challenge with the next one: fetch
  // it through the portal, find n with SHA-256(salt + n) = challenge in Web Workers (the
  // page stays responsive), put the ALTCHA payload into the form. A form sent before
  // the check is done waits for it and then goes.
  function solveChallenge(challenge, workerUrl) {
    return new Promise(function (resolve, reject) {
      if (!window.Worker || !window.crypto || !crypto.subtle) { reject(new Error("unsupported")); return; }
      var count = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
      var size = Math.ceil((challenge.maxNumber + 1) / count);
      var workers = [];
      var open = count;
      function stop() { workers.forEach(function (worker) { worker.terminate(); }); }
      function fail() {
        open -= 1;
        if (open === 0) { stop(); reject(new Error("not found")); }
      }
      for (var i = 0; i < count; i++) {
        var worker = new Worker(workerUrl);
        workers.push(worker);
        worker.onmessage = function (event) {
          var result = event.data || {};
          if (typeof result.number === "number") { stop(); resolve(result.number); } else { fail(); }
        };
        worker.onerror = fail;
        worker.postMessage({
          algorithm: challenge.algorithm, challenge: challenge.challenge, salt: challenge.salt,
          maxNumber: challenge.maxNumber, from: i * size, to: Math.min((i + 1) * size - 1, challenge.maxNumber)
        });
      }
    });
  }

  document.querySelectorAll("[data-challenge]").forEach(function (box) {
    var form = box.closest("form");
    var field = box.querySelector("input[name=altcha]");
    var status = box.querySelector("[data-challenge-status]");
    if (!form || !field || !status) { return; }
    var state = "working";
    var sendWhenDone = false;
    status.textContent = box.dataset.workingText;

    fetch(box.dataset.challengeUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(new Error("no challenge")); })
      .then(function (challenge) {
        return solveChallenge(challenge, box.dataset.workerUrl).then(function (number) {
          field.value = btoa(JSON.stringify({
            algorithm: challenge.algorithm, challenge: challenge.challenge, number: number,
            salt: challenge.salt, signature: challenge.signature
          }));
        });
      })
      .then(function () {
        state = "done";
        status.textContent = box.dataset.doneText;
        if (sendWhenDone) {
          if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
        }
      })
      .catch(function () {
        state = "failed";
        sendWhenDone = false;
        status.textContent = box.dataset.failedText;
      });

    form.addEventListener("submit", function (event) {
      if (state !== "working") { return; }
      event.preventDefault();
      sendWhenDone = true;
      status.textContent = box.dataset.waitingText;
    });
  });

  // FAQ: results while typing, the same list the search page shows.
  document.querySelectorAll("input[data-instant-search]").forEach(function (input) {
    var target = document.getElementById(input.dataset.instantSearch);
    if (!target) { return; }
    var sequence = 0;
    var search = debounce(function () {
      var query = input.value.trim();
      var mine = ++sequence;
      if (query.length < 2) {
        if (target.dataset.live) { target.hidden = true; target.textContent = ""; }
        return;
      }
      fetch("/faq/suche?fragment=1&q=" + encodeURIComponent(query), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null || mine !== sequence) { return; }
          target.innerHTML = html;  // server-rendered, escaped; only <mark> inside
          target.hidden = false;
          target.dataset.live = "1";
        })
        .catch(function () { /* the search button still works */ });
    }, 250);
    input.addEventListener("input", search);
  });
})();
