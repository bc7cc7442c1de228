/* Kundenportal: solves the proof-of-work check of the login and registration pages
   off the page's thread (ALTCHA's algorithm: the number n in 0..maxNumber with
   SHA-256(salt + n) = challenge). Self-hosted; asks nothing of anyone.
   In:  {algorithm, challenge, maxNumber, salt, from?, to?} (several workers split 0..maxNumber)
   Out: {number, took} when found, {number: null} when not, {error} when it cannot run. */
"use strict";

var BATCH = 1000;  // digests in flight at once: crypto.subtle is fastest with many pending

function hexToBytes(hex) {
  var bytes = new Uint8Array(hex.length / 2);
  for (var i = 0; i < bytes.length; i++) { bytes[i] = parseInt(hex.substr(i * 2, 2), 16); }
  return bytes;
}

function equal(buffer, expected) {
  var got = new Uint8Array(buffer);
  if (got.length !== expected.length) { return false; }
  for (var i = 0; i < got.length; i++) { if (got[i] !== expected[i]) { return false; } }
  return true;
}

async function solve(task) {
  var encoder = new TextEncoder();
  var expected = hexToBytes(String(task.challenge).toLowerCase());
  var salt = String(task.salt);
  var max = Math.max(0, Math.min(Number(task.maxNumber) || 0, 1e9));
  var to = Math.min(task.to === undefined ? max : Number(task.to), max);
  var started = Date.now();
  for (var start = Math.max(0, Number(task.from) || 0); start <= to; start += BATCH) {
    var end = Math.min(start + BATCH - 1, to);
    var pending = [];
    for (var n = start; n <= end; n++) {
      pending.push(crypto.subtle.digest("SHA-256", encoder.encode(salt + n)));
    }
    var digests = await Promise.all(pending);
    for (var i = 0; i < digests.length; i++) {
      if (equal(digests[i], expected)) { return { number: start + i, took: Date.now() - started }; }
    }
  }
  return { number: null };
}

self.onmessage = function (event) {
  var task = event.data || {};
  if (task.algorithm !== "SHA-256" || !self.crypto || !crypto.subtle) {
    self.postMessage({ error: "unsupported" });
    return;
  }
  solve(task).then(function (result) { self.postMessage(result); },
                   function () { self.postMessage({ error: "failed" }); });
};
