// Copy buttons on the developer portal (issue 19). Each <button class="copy" data-copy="ID"> copies
// the text of the element with that id. Without script the buttons stay hidden and the text can be
// selected by hand. The text is always selected first, so that where the clipboard is not allowed
// (no permission, an older browser) Ctrl+C, or the phone's Copy, finishes the job; the button's
// status line says which happened.
(function () {
  'use strict';

  function select(el) {
    if (typeof el.select === 'function') {
      el.focus();
      el.select();
      el.setSelectionRange(0, el.value.length);
      return el.value;
    }
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return el.textContent;
  }

  function say(button, text) {
    var status = document.getElementById(button.id + '-status');
    if (status) {
      status.textContent = text;
    }
  }

  function selectedOnly(button) {
    var copied = false;
    try {
      copied = document.execCommand('copy');
    } catch (e) {
      copied = false;
    }
    say(button, copied ? 'Copied.' : 'Selected: press Ctrl+C (\u2318C on a Mac) to copy.');
  }

  function copy(button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target) {
      return;
    }
    var text = select(target);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { button.focus(); say(button, 'Copied.'); },
        function () { selectedOnly(button); });
    } else {
      selectedOnly(button);
    }
  }

  var buttons = document.querySelectorAll('button.copy[data-copy]');
  for (var i = 0; i < buttons.length; i++) {
    var button = buttons[i];
    button.hidden = false;
    button.addEventListener('click', function (event) { copy(event.currentTarget); });
  }
})();
