// Front-desk scanner: a field USB/Bluetooth scanners type into (Enter submits), the camera
// through BarcodeDetector where the browser has it, or frames decoded by the server elsewhere.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  var input = document.getElementById("code");
  var result = document.getElementById("result");
  var title = document.getElementById("result-title");
  var detail = document.getElementById("result-detail");
  var labels = document.getElementById("labels").dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var busy = false;
  var lastCode = "";
  var lastAt = 0;

  function yuan(fen) {
    var parts = (Math.abs(fen) / 100).toFixed(2).split(".");
    return (fen < 0 ? "-" : "") + "¥" + parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + parts[1];
  }

  function beep(ok) {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = ok ? 880 : 220;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + (ok ? 0.15 : 0.4));
    } catch (e) { /* sound is a nicety */ }
    if (navigator.vibrate) { navigator.vibrate(ok ? 80 : [200, 100, 200]); }
  }

  function show(body) {
    result.className = "result result-" + body.result;
    // The label is the headline; the message explains it (and says it only once).
    title.textContent = labels[body.result] || body.message;
    var lines = [body.message];
    var b = body.booking;
    if (b) {
      lines.push(b.creator.display_name + " · " + b.resource.name);
      lines.push(b.start.slice(11, 16) + "–" + b.end.slice(11, 16));
      lines.push(labels.voucher + " " + yuan(b.price.voucher_fen) + " · " + labels.quota + " " +
                 yuan(b.price.quota_fen) + " · " + labels.self + " " + yuan(b.price.self_pay_fen));
      if (b.payment && b.payment.outstanding_fen > 0) {
        lines.push(labels.due + " " + yuan(b.payment.outstanding_fen));
      }
      var row = document.querySelector('tr[data-booking="' + b.id + '"]');
      if (row && (body.result === "ok" || body.result === "already_checked_in")) {
        row.querySelector(".status-cell").textContent = labels.ok;
        var button = row.querySelector("button.manual");
        if (button) { button.remove(); }
      }
    }
    if (body.checkin && body.result === "already_checked_in") {
      lines.push(labels.first + ": " + body.checkin.at.slice(11, 16) + " " + (body.checkin.operator || ""));
    }
    detail.textContent = lines.join("\n");
    beep(body.result === "ok");
  }

  var offline = window.deskOffline || null;  // desk-offline.js: answers when the network is gone

  function answerOffline(payload) {
    return offline.answer(payload).then(function (decision) {
      if (decision) { beep(decision.result === "ok"); }
    });
  }

  function send(payload) {
    if (busy) { return Promise.resolve(); }
    busy = true;
    if (offline) { payload.device = offline.deviceId; }
    if (offline && !navigator.onLine) {
      return answerOffline(payload).then(function () { busy = false; input.value = ""; input.focus(); });
    }
    return fetch("/api/v1/checkins", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(payload)
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.error) {
        result.className = "result result-invalid";
        title.textContent = body.error.message;
        detail.textContent = "";
      } else {
        show(body);
        if (offline) { offline.noteOnline(body); }
      }
    }).catch(function () {
      if (offline) { return answerOffline(payload); }  // the network failed mid-request
      result.className = "result result-invalid";
      title.textContent = labels.network;
    }).then(function () { busy = false; input.value = ""; input.focus(); });
  }

  function submitCode(code, device) {
    code = (code || "").trim();
    var now = Date.now();
    if (!code || (code === lastCode && now - lastAt < 3000)) { return; }  // camera sees a code many times a second
    lastCode = code; lastAt = now;
    send({code: code, device: device});
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitCode(input.value, input.dataset.device);
  });

  document.querySelectorAll("button.manual").forEach(function (button) {
    button.addEventListener("click", function () {
      send({booking_id: parseInt(button.dataset.booking, 10), device: "manual"});
    });
  });

  var video = document.getElementById("camera");
  var canvas = document.getElementById("frame");
  var status = document.getElementById("camera-status");
  document.getElementById("camera-button").addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = labels.noCamera; return;
    }
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (stream) {
      video.srcObject = stream; video.hidden = false; video.play();
      var detector = ("BarcodeDetector" in window) ? new window.BarcodeDetector({formats: ["qr_code"]}) : null;
      var tick = function () {
        if (video.readyState < 2) { return setTimeout(tick, 200); }
        if (detector) {
          detector.detect(video).then(function (codes) {
            if (codes.length) { submitCode(codes[0].rawValue, "camera"); }
            setTimeout(tick, 250);
          }).catch(function () { setTimeout(tick, 500); });
        } else {
          canvas.width = video.videoWidth; canvas.height = video.videoHeight;
          canvas.getContext("2d").drawImage(video, 0, 0);
          canvas.toBlob(function (blob) {
            fetch("/api/v1/checkins/decode", {method: "POST", credentials: "same-origin",
              headers: {"Content-Type": "image/jpeg", "X-CSRFToken": csrf}, body: blob})
              .then(function (r) { return r.json(); })
              .then(function (body) { if (body.code) { submitCode(body.code, "camera"); } })
              .catch(function () {})
              .then(function () { setTimeout(tick, 600); });
          }, "image/jpeg", 0.7);
        }
      };
      tick();
    }).catch(function () { status.textContent = labels.noCamera; });
  });
})();
