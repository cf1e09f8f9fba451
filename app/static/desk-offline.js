// The front desk without the network.
//
// While online the page keeps a signed manifest (today's and tomorrow's bookings at this desk's
// venues, the verification keys and their status) in IndexedDB. When the network is gone, a
// scanned or typed code is verified here — Ed25519 through Web Crypto, or the vendored
// @noble/ed25519 where the browser has no Ed25519 — checked against the manifest, answered at
// once in the desk's usual words and marked 待同步, and queued. When the network returns the
// queue is sent to /api/v1/checkins/sync with this device's id; the server's answers (duplicate,
// conflict) are shown, and a resend never checks anything in twice.
(function () {
  "use strict";
  var labels = document.getElementById("labels").dataset;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
  var CODE = /^VB1\.([A-Za-z0-9_-]{1,16})\.(\d{1,12})\.(\d{1,12})\.([A-Za-z0-9_-]{86})$/;
  var SYNC_EVERY_MS = 30000;
  var MANIFEST_EVERY_MS = 5 * 60000;
  var syncing = false;

  // ---- this device ------------------------------------------------------------------------

  function randomHex(bytes) {
    var data = new Uint8Array(bytes);
    crypto.getRandomValues(data);
    return Array.prototype.map.call(data, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var deviceId = localStorage.getItem("desk-device-id");
  if (!deviceId) {
    deviceId = "desk-" + randomHex(8);
    localStorage.setItem("desk-device-id", deviceId);
  }

  // ---- IndexedDB --------------------------------------------------------------------------

  var dbReady = new Promise(function (resolve, reject) {
    var request = indexedDB.open("venuebook-desk", 1);
    request.onupgradeneeded = function () {
      request.result.createObjectStore("meta");
      request.result.createObjectStore("scans", {keyPath: "scan_id"});
    };
    request.onsuccess = function () { resolve(request.result); };
    request.onerror = function () { reject(request.error); };
  });

  function store(name, mode, work) {
    return dbReady.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var result = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function getMeta(key) { return store("meta", "readonly", function (s) { return s.get(key); }); }
  function putMeta(key, value) { return store("meta", "readwrite", function (s) { s.put(value, key); }); }
  function allScans() { return store("scans", "readonly", function (s) { return s.getAll(); }); }
  function putScans(scans) {
    return store("scans", "readwrite", function (s) { scans.forEach(function (scan) { s.put(scan); }); });
  }

  // ---- Ed25519 ----------------------------------------------------------------------------

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  var library = null;
  function viaLibrary(publicKey, signature, message) {
    // only browsers without Ed25519 in Web Crypto load the vendored library
    library = library || import("/static/vendor/noble-ed25519/index.js");
    return library.then(function (ed) { return ed.verifyAsync(signature, message, publicKey); })
      .catch(function () { return false; });
  }

  function verifySignature(publicKey, signature, message) {
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle) { return viaLibrary(publicKey, signature, message); }
    return subtle.importKey("raw", publicKey, {name: "Ed25519"}, false, ["verify"]).then(
      function (key) { return subtle.verify({name: "Ed25519"}, key, signature, message); },
      function () { return viaLibrary(publicKey, signature, message); });
  }

  // The server signs JSON with its keys sorted and no spaces (Python's json.dumps with
  // sort_keys and compact separators); the same text is rebuilt here to check the signature.
  function canonical(value) {
    if (Array.isArray(value)) { return "[" + value.map(canonical).join(",") + "]"; }
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (k) {
        return JSON.stringify(k) + ":" + canonical(value[k]);
      }).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  function verifyManifest(manifest) {
    var sig = manifest.signature || {};
    var key = (manifest.keys || []).filter(function (k) {
      return k.key_id === sig.key_id && k.status !== "retired";
    })[0];
    if (!key || !sig.value) { return Promise.resolve(false); }
    var body = {};
    Object.keys(manifest).forEach(function (k) { if (k !== "signature") { body[k] = manifest[k]; } });
    return verifySignature(fromB64url(key.public_key), fromB64url(sig.value),
                           new TextEncoder().encode(canonical(body)));
  }

  // ---- the manifest -----------------------------------------------------------------------

  function refreshManifest() {
    if (!navigator.onLine) { return Promise.resolve(); }
    return fetch("/api/v1/checkin/manifest", {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error("manifest " + r.status); } return r.json(); })
      .then(function (manifest) {
        return verifyManifest(manifest).then(function (ok) {
          if (!ok) { throw new Error("manifest signature"); }
          return putMeta("manifest", manifest);
        });
      })
      .then(function () { return putMeta("manifestAt", new Date().toISOString()); })
      .catch(function () { /* keep the copy we have */ })
      .then(render);
  }

  // ---- answering offline ------------------------------------------------------------------

  function normaliseShort(text) {
    var code = (text || "").replace(/[\s-]+/g, "").toUpperCase();
    if (code.length !== 8) { return null; }
    for (var i = 0; i < code.length; i++) { if (ALPHABET.indexOf(code[i]) === -1) { return null; } }
    return code;
  }

  function byId(manifest, id) {
    return manifest.bookings.filter(function (b) { return b.id === id; })[0] || null;
  }

  function decide(code, manifest, scans, nowMs) {
    var found = function (booking) {
      if (!booking) { return {result: "wrong_venue", booking: null, reason: "not_listed"}; }
      var mine = scans.some(function (s) {
        return s.booking_id === booking.id &&
          (s.local_result === "ok" || s.server_result === "ok" || s.state === "online");
      });
      if (mine || booking.status === "checked_in" || booking.status === "completed") {
        return {result: "already_checked_in", booking: booking};
      }
      if (booking.status === "cancelled" || booking.status === "no_show") {
        return {result: "cancelled", booking: booking};
      }
      if (nowMs < Date.parse(booking.checkin_opens)) { return {result: "too_early", booking: booking}; }
      if (nowMs >= Date.parse(booking.checkin_closes)) { return {result: "too_late", booking: booking}; }
      return {result: "ok", booking: booking};
    };
    var short = normaliseShort(code);
    if (short) {
      var listed = manifest.bookings.filter(function (b) { return b.short_code === short; })[0];
      return Promise.resolve(listed ? found(listed) : {result: "invalid", booking: null, reason: "unknown_short_code"});
    }
    var match = CODE.exec((code || "").trim());
    if (!match) { return Promise.resolve({result: "invalid", booking: null, reason: "format"}); }
    var key = manifest.keys.filter(function (k) { return k.key_id === match[1]; })[0];
    if (!key || key.status === "retired") {
      return Promise.resolve({result: "invalid", booking: null, reason: key ? "retired_key" : "unknown_key"});
    }
    var text = code.trim();
    var body = text.slice(0, text.lastIndexOf("."));
    return verifySignature(fromB64url(key.public_key), fromB64url(match[4]),
                           new TextEncoder().encode(body)).then(function (ok) {
      if (!ok) { return {result: "invalid", booking: null, reason: "signature"}; }
      if (parseInt(match[3], 10) * 1000 < nowMs) { return {result: "invalid", booking: null, reason: "expired"}; }
      return found(byId(manifest, parseInt(match[2], 10)));
    });
  }

  var resultBox = document.getElementById("result");
  var title = document.getElementById("result-title");
  var detail = document.getElementById("result-detail");

  function hhmm(iso) { return iso ? iso.slice(11, 16) : ""; }

  function showLocal(decision) {
    resultBox.className = "result result-" + decision.result + " result-pending";
    title.textContent = (labels[decision.result] || decision.result) + " · " + labels.pending;
    var lines = [labels.offlineAnswer];
    if (decision.reason === "not_listed") { lines.push(labels.notListed); }
    if (decision.reason === "retired_key") { lines.push(labels.retiredKey); }
    if (decision.reason === "expired") { lines.push(labels.expired); }
    var b = decision.booking;
    if (b) {
      lines.push(b.name + " · " + b.resource.name);
      lines.push(hhmm(b.start) + "–" + hhmm(b.end) + " · " + b.short_code);
    }
    detail.textContent = lines.join("\n");
  }

  function answer(payload) {
    return Promise.all([getMeta("manifest"), allScans()]).then(function (found) {
      var manifest = found[0];
      var scans = found[1] || [];
      if (!manifest) {
        resultBox.className = "result result-invalid";
        title.textContent = labels.noManifest;
        detail.textContent = "";
        return null;
      }
      var code = payload.code;
      if (!code && payload.booking_id) {
        var listed = byId(manifest, payload.booking_id);
        code = listed ? listed.short_code : "";
      }
      var nowMs = Date.now();
      return decide(code, manifest, scans, nowMs).then(function (decision) {
        showLocal(decision);
        var scan = {scan_id: nowMs.toString(36) + "-" + randomHex(4), code: code,
                    scanned_at: new Date(nowMs).toISOString(), state: "pending",
                    local_result: decision.result,
                    booking_id: decision.booking ? decision.booking.id : null};
        return putScans([scan]).then(render).then(function () { return decision; });
      });
    });
  }

  // an online check-in of this device: a later offline scan of it says "already checked in"
  function noteOnline(body) {
    if (!body || body.result !== "ok" || !body.booking) { return Promise.resolve(); }
    return putScans([{scan_id: "online-" + body.booking.id, state: "online", code: "",
                      booking_id: body.booking.id, scanned_at: new Date().toISOString()}]);
  }

  // ---- sync -------------------------------------------------------------------------------

  function freshCsrf() {
    // the cached page may carry an old token: the page itself, fetched now, has a fresh one
    return fetch("/operator/scan", {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var m = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
        return m ? m[1] : csrfMeta.content;
      }).catch(function () { return csrfMeta.content; });
  }

  // today's table on this page shows the booking's status as the server now has it
  function markRow(booking) {
    var row = booking && document.querySelector('tr[data-booking="' + booking.id + '"]');
    if (!row || booking.status !== "checked_in") { return; }
    row.querySelector(".status-cell").textContent = labels.ok;
    var button = row.querySelector("button.manual");
    if (button) { button.remove(); }
  }

  function sync() {
    if (syncing || !navigator.onLine) { return Promise.resolve(); }
    syncing = true;
    return allScans().then(function (scans) {
      // oldest first, in batches the server accepts (it takes up to 500); the rest go next time
      var pending = scans.filter(function (s) { return s.state === "pending"; })
        .sort(function (a, b) { return a.scanned_at < b.scanned_at ? -1 : 1; }).slice(0, 200);
      return freshCsrf().then(function (token) {
        return fetch("/api/v1/checkins/sync", {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": token},
          body: JSON.stringify({device_id: deviceId, scans: pending.map(function (s) {
            return {scan_id: s.scan_id, code: s.code || "-", scanned_at: s.scanned_at};
          })})
        });
      }).then(function (r) { if (!r.ok) { throw new Error("sync " + r.status); } return r.json(); })
        .then(function (body) {
          var byScan = {};
          body.results.forEach(function (res) {
            byScan[res.scan_id] = res;
            markRow(res.booking);
          });
          var done = pending.filter(function (s) { return byScan[s.scan_id]; }).map(function (s) {
            var res = byScan[s.scan_id];
            s.state = "synced";
            s.server_result = res.result;
            s.message = res.message;
            s.booking = res.booking || null;
            s.booking_id = res.booking ? res.booking.id : s.booking_id;
            return s;
          });
          return putScans(done)
            .then(function () { return putMeta("duplicates", body.duplicates || []); })
            .then(function () { return putMeta("lastSync", body.synced_at); });
        });
    }).catch(function () { /* try again later */ })
      .then(function () { syncing = false; })
      .then(refreshManifest);
  }

  // ---- what the desk sees: waiting scans, last sync, duplicates and conflicts -------------

  var pendingOut = document.getElementById("sync-pending");
  var lastOut = document.getElementById("sync-last");
  var notices = document.getElementById("sync-notices");
  var bar = document.getElementById("offline-bar");

  function notice(kind, text) {
    var li = document.createElement("li");
    li.className = "notice-" + kind;
    li.textContent = text;
    notices.appendChild(li);
  }

  function describe(b) {
    return b ? b.name + " · " + b.resource.name + " " + hhmm(b.start) + "–" + hhmm(b.end) + " · " + b.short_code : "";
  }

  function render() {
    return Promise.all([allScans(), getMeta("lastSync"), getMeta("duplicates"), getMeta("manifestAt")])
      .then(function (found) {
        var scans = found[0] || [];
        var waiting = scans.filter(function (s) { return s.state === "pending"; }).length;
        pendingOut.textContent = labels.waiting.replace("%(count)s", waiting);
        pendingOut.dataset.count = waiting;
        lastOut.textContent = found[1] ? labels.lastSync.replace("%(time)s", hhmm(found[1])) : labels.neverSynced;
        bar.classList.toggle("offline", !navigator.onLine);
        bar.dataset.ready = found[3] ? "1" : "";
        notices.textContent = "";
        scans.filter(function (s) {
          return s.state === "synced" && (s.server_result === "duplicate" || s.server_result === "conflict");
        }).sort(function (a, b) { return a.scanned_at < b.scanned_at ? 1 : -1; }).forEach(function (s) {
          notice(s.server_result, (labels[s.server_result] || s.server_result) + ": " +
                 describe(s.booking) + " — " + s.message);
        });
        (found[2] || []).forEach(function (d) {
          notice("duplicate", labels.duplicateElsewhere + ": " + describe(d.booking) + " (" + d.device_id +
                 " " + hhmm(d.scanned_at) + ")");
        });
      });
  }

  window.addEventListener("online", function () { render(); sync(); });
  window.addEventListener("offline", render);
  setInterval(function () { if (navigator.onLine) { sync(); } }, SYNC_EVERY_MS);
  setInterval(refreshManifest, MANIFEST_EVERY_MS);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/operator/scan-sw.js", {scope: "/operator/"}).catch(function () {});
  }

  window.deskOffline = {
    deviceId: deviceId, answer: answer, noteOnline: noteOnline, sync: sync,
    ready: render().then(refreshManifest).then(sync)
  };
})();
