// Service worker of the front-desk scanner (scope /operator/): keeps the scanner page, its
// scripts and the last signed manifest so the desk opens and answers without the network.
// Scans themselves are queued by the page (IndexedDB), not here.
"use strict";
var CACHE = "desk-v1";
var SHELL = [
  "/operator/scan",
  "/static/app.css",
  "/static/scanner.js",
  "/static/desk-offline.js",
  "/static/vendor/noble-ed25519/index.js",
  "/operator/scan.webmanifest"
];
var NETWORK_FIRST = ["/operator/scan", "/api/v1/checkin/manifest", "/api/v1/checkin/keys"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(SHELL);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function networkFirst(request, key) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }  // scans and syncs always go to the server
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (NETWORK_FIRST.indexOf(url.pathname) !== -1) {
    // the page is cached without its query (one venue or all): offline, any copy will do
    event.respondWith(networkFirst(request, url.pathname));
  } else if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/operator/scan.webmanifest") {
    event.respondWith(caches.match(url.pathname).then(function (hit) {
      return hit || networkFirst(request, url.pathname);
    }));
  }
});
