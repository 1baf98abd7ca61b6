// The send button of the SMS login page counts down the minute before another code may be sent.
(function () {
  var button = document.getElementById("sms-send");
  var seconds = button ? parseInt(button.dataset.waitSeconds, 10) || 0 : 0;
  if (seconds <= 0) return;
  var label = button.textContent;
  function tick() {
    if (seconds <= 0) {
      button.disabled = false;
      button.classList.remove("is-disabled");
      button.textContent = label;
      return;
    }
    button.disabled = true;
    button.classList.add("is-disabled");
    button.textContent = button.dataset.waitLabel.replace("{seconds}", seconds);
    seconds -= 1;
    setTimeout(tick, 1000);
  }
  tick();
})();
