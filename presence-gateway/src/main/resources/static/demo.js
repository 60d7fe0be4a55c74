// The demo page's live view: the demo application's updates about the visitor, as server-sent
// events from /demo/events (same-origin; the page's policy allows nothing else). Every value is
// written with textContent, never as HTML.
(function () {
  'use strict';
  var status = document.getElementById('presence-status');
  var message = document.getElementById('presence-message');
  var seq = document.getElementById('presence-seq');
  var log = document.getElementById('presence-log');
  if (!status || !window.EventSource) {
    return;
  }

  function show(state, text, number) {
    status.textContent = state;
    status.className = 'presence-' + state;
    message.textContent = text ? '“' + text + '”' : '';
    if (number !== undefined) {
      seq.textContent = String(number);
    }
  }

  function record(line) {
    var item = document.createElement('li');
    item.textContent = new Date().toLocaleTimeString() + ' ' + line;
    log.insertBefore(item, log.firstChild);
    while (log.childNodes.length > 20) {
      log.removeChild(log.lastChild);
    }
  }

  var events = new EventSource('/demo/events');
  events.onmessage = function (e) {
    var frame = JSON.parse(e.data);
    if (Array.isArray(frame)) {
      frame.forEach(function (u) {
        show(u.status, u.message, u.seq);
        record('#' + u.seq + ' ' + u.status + (u.message ? ' “' + u.message + '”' : ''));
      });
    } else if (frame.snapshot) {
      if (frame.snapshot.length > 0) {
        var s = frame.snapshot[0];
        show(s.status, s.message, frame.seq);
      } else if (frame.done) {
        show('offline', '', frame.seq);
      }
      record('snapshot at #' + frame.seq);
    } else if (frame.receipts) {
      frame.receipts.forEach(function (r) {
        record('notification ' + r.id + ': ' + r.state);
      });
    }
  };
  events.onerror = function () {
    status.textContent = 'reconnecting…';
  };
}());
