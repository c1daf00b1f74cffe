// The little the pages need beyond HTML: drag and drop onto the upload form, and a busy label
// while an upload is checked. Everything works without it (a plain file input and a button).
(function () {
  document.querySelectorAll("form[data-dropzone]").forEach(function (form) {
    var zone = form.querySelector(".dropzone"), input = form.querySelector("input[type=file]"),
        text = form.querySelector(".droptext");
    function show() { if (input.files.length) { text.textContent = "已选择：" + input.files[0].name; } }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
    });
  });
  document.querySelectorAll("button[data-busy]").forEach(function (button) {
    button.form.addEventListener("submit", function () {
      button.textContent = button.getAttribute("data-busy");
      setTimeout(function () { button.disabled = true; }, 0);
    });
  });
})();
