// Colour theme. The page follows the system's colour scheme (prefers-color-scheme) unless the
// user picks Light or Dark with the toggle in the top bar; the choice is kept in localStorage
// and set as data-theme on <html>, which static/css/app.css reads.
// Loaded in <head> without defer, so a stored choice applies before the first paint (no flash).
(function () {
  "use strict";
  var KEY = "prefix-playground-theme";
  var ORDER = ["auto", "light", "dark"];
  var NAMES = { auto: "Auto", light: "Light", dark: "Dark" };
  var root = document.documentElement;

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : "auto";
    } catch (error) {
      return "auto"; // storage blocked: follow the system
    }
  }

  function apply(choice) {
    if (choice === "auto") {
      root.removeAttribute("data-theme");
    } else {
      root.setAttribute("data-theme", choice);
    }
  }

  function remember(choice) {
    try {
      if (choice === "auto") {
        window.localStorage.removeItem(KEY);
      } else {
        window.localStorage.setItem(KEY, choice);
      }
    } catch (error) {
      // Not remembered, but still applied to this page.
    }
  }

  function show(button, choice) {
    var label = button.querySelector("[data-theme-label]");
    if (label) {
      label.textContent = NAMES[choice];
    }
    button.setAttribute("data-theme-choice", choice);
    button.setAttribute(
      "aria-label",
      "Colour theme: " + NAMES[choice] + (choice === "auto" ? " (follows the system)" : "") +
        ". Change theme"
    );
  }

  function showAll(choice) {
    var buttons = document.querySelectorAll("[data-theme-toggle]");
    for (var i = 0; i < buttons.length; i++) {
      show(buttons[i], choice);
    }
  }

  apply(stored());

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("[data-theme-toggle]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false; // without this script the toggle could do nothing
      buttons[i].addEventListener("click", function () {
        var next = ORDER[(ORDER.indexOf(stored()) + 1) % ORDER.length];
        remember(next);
        apply(next);
        showAll(next);
      });
    }
    showAll(stored());
  });

  // Another tab changed the theme: follow it.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY) {
      apply(stored());
      showAll(stored());
    }
  });
})();
