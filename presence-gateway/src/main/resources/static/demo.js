// The demo page's live view: the demo application's updates about the visitor, and the receipts
// of its notifications, as server-sent events from /demo/events; and "Send me a notification"
// posted with fetch, so that the page (and its live log) stays. Same-origin only (the page's policy
// allows nothing else). Every value is written with textContent, never as HTML.
(function () {
  'use strict';
  var status = document.getElementById('presence-status');
  var message = document.getElementById('presence-message');
  var seq = document.getElementById('presence-seq');
  var log = document.getElementById('presence-log');
  var form = document.getElementById('demo-notify-form');
  var notice = document.getElementById('demo-sent');
  if (!status) {
    return;
  }
  if (!window.EventSource) {
    status.textContent = 'this browser cannot follow the stream (no EventSource)';
    return;
  }
  status.textContent = 'connecting…';
  // The notification this page sent last, to say so when its receipts come. While a send is in
  // flight its id is not known yet, and its first receipt can come over the event stream before
  // the answer to the post: receipts wait in `held` until the answer is in.
  var lastSent = null;
  var sending = false;
  var held = [];

  // An update number (16 digits) in groups of three, as 1 795 304 911 923 417.
  function readable(number) {
    return String(number).replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  }

  function show(state, text, number) {
    status.textContent = state;
    status.className = 'presence-' + state;
    message.textContent = text ? '“' + text + '”' : '';
    if (number !== undefined) {
      seq.textContent = readable(number);
    }
  }

  // A line of the live log: the time, what happened and, set apart, the update number if any.
  function record(line, number, at) {
    var item = document.createElement('li');
    var when = at ? new Date(at) : new Date();
    item.appendChild(document.createTextNode(when.toLocaleTimeString() + ' ' + line));
    if (number !== undefined) {
      var small = document.createElement('small');
      small.className = 'demo-seq';
      small.textContent = ' (update ' + readable(number) + ')';
      item.appendChild(small);
    }
    log.insertBefore(item, log.firstChild);
    while (log.childNodes.length > 20) {
      log.removeChild(log.lastChild);
    }
  }

  var RECEIPTS = {
    delivered: 'delivered to your device',
    acted: 'acted on (ack)',
    dismissed: 'dismissed',
    missed: 'missed: it expired before a device of yours answered it'
  };

  function receipt(r) {
    var what = RECEIPTS[r.state] || r.state;
    var mine = lastSent !== null && r.id === lastSent;
    record('Notification ' + (mine ? 'you just sent ' : r.id + ' ') + what, undefined, r.at);
    if (mine && notice) {
      notice.textContent = 'Notification ' + what + '.';
    }
  }

  var events = new EventSource('/demo/events');
  events.onmessage = function (e) {
    var frame = JSON.parse(e.data);
    if (Array.isArray(frame)) {
      frame.forEach(function (u) {
        show(u.status, u.message, u.seq);
        record(u.status + (u.message ? ' “' + u.message + '”' : ''), u.seq);
      });
    } else if (frame.snapshot) {
      if (frame.snapshot.length > 0) {
        var s = frame.snapshot[0];
        show(s.status, s.message, frame.seq);
      } else if (frame.done) {
        show('offline', '', frame.seq);
      }
      record('snapshot', frame.seq);
    } else if (frame.receipts) {
      if (sending) {
        held = held.concat(frame.receipts);
      } else {
        frame.receipts.forEach(receipt);
      }
    }
  };
  events.onerror = function () {
    status.textContent = 'reconnecting…';
  };

  if (form && window.fetch && window.URLSearchParams && window.FormData) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var button = form.querySelector('button');
      button.disabled = true;
      sending = true;
      notice.textContent = 'Sending…';
      fetch(form.action, {
        method: 'POST',
        headers: { Accept: 'application/json' },
        body: new URLSearchParams(new FormData(form)),
        credentials: 'same-origin'
      })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, status: response.status, body: body };
          });
        })
        .then(function (answer) {
          if (answer.ok) {
            lastSent = answer.body.id;
            notice.textContent = answer.body.notice;
            record('Notification sent: ' + answer.body.notice);
          } else {
            var reason = answer.body.message || answer.body.reason || 'HTTP ' + answer.status;
            notice.textContent = 'Not sent: ' + reason;
            record('Notification not sent: ' + reason);
          }
        })
        .catch(function () {
          notice.textContent = 'Not sent: the node did not answer; try again.';
          record('Notification not sent: the node did not answer');
        })
        .then(function () {
          sending = false;
          var waiting = held;
          held = [];
          waiting.forEach(receipt);
          button.disabled = false;
        });
    });
  }
}());
