// The drawing page: pointer events (mouse, pen and touch alike) draw on #pad; while
// drawing, the pad is sent as a PNG data URL to POST /v1/predict with return_input,
// at most one request in flight and at most one every THROTTLE ms, and the answer
// fills the bar chart and the 28×28 view of what the network saw.
//
// <body data-version> counts changes to the drawing and <body data-predicted> is the
// version the shown prediction belongs to; they are equal once the page is up to date
// (the browser test waits on that).
"use strict";

const THROTTLE = 80;  // ms between requests while drawing
const SEND = 160;     // side of the image sent: enough detail, small to decode

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const pen = document.getElementById("pen");
const penValue = document.getElementById("pen-value");
const hint = document.getElementById("hint");
const digitEl = document.getElementById("digit");
const confEl = document.getElementById("confidence");
const barsEl = document.getElementById("bars");
const topEl = document.getElementById("top3");
let classNames = []; // the model's class names, from /v1/model
const seen = document.getElementById("seen");
const seenCtx = seen.getContext("2d");
const statusEl = document.getElementById("status");
const modelEl = document.getElementById("model");
const body = document.body;

let version = 0;      // bumped on every change of the drawing
let shown = 0;        // version of the prediction on screen
let cleared = 0;      // version of the last clear: older answers are stale
let inked = false;    // anything drawn since the last clear
let active = null;    // the pointer drawing now
let last = null;      // its previous position
let timer = 0;
let inflight = false;
let dirty = false;

// --- pad ---------------------------------------------------------------------------

function setupPad() {
  const dpr = window.devicePixelRatio || 1;
  pad.width = Math.round(pad.clientWidth * dpr);
  pad.height = Math.round(pad.clientHeight * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  paper();
}

function paper() {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.restore();
}

function pos(e) {
  const r = pad.getBoundingClientRect();
  return { x: e.clientX - r.left - pad.clientLeft, y: e.clientY - r.top - pad.clientTop };
}

function ink() {
  ctx.strokeStyle = ctx.fillStyle = "#111";
  ctx.lineWidth = Number(pen.value);
  ctx.lineCap = ctx.lineJoin = "round";
}

function dot(p) {
  ink();
  ctx.beginPath();
  ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
  ctx.fill();
}

function segment(a, b) {
  ink();
  ctx.beginPath();
  ctx.moveTo(a.x, a.y);
  ctx.lineTo(b.x, b.y);
  ctx.stroke();
}

pad.addEventListener("pointerdown", (e) => {
  if (active !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
  e.preventDefault();
  active = e.pointerId;
  pad.setPointerCapture(e.pointerId);
  last = pos(e);
  dot(last);
  changed(false);
});

pad.addEventListener("pointermove", (e) => {
  if (e.pointerId !== active) return;
  const events = (e.getCoalescedEvents && e.getCoalescedEvents().length) ? e.getCoalescedEvents() : [e];
  for (const ev of events) {
    const p = pos(ev);
    segment(last, p);
    last = p;
  }
  changed(false);
});

function endStroke(e) {
  if (e.pointerId !== active) return;
  active = null;
  changed(true);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
pad.addEventListener("lostpointercapture", endStroke);

document.getElementById("clear").addEventListener("click", clear);
document.addEventListener("keydown", (e) => { if (e.key === "Escape") clear(); });
pen.addEventListener("input", () => { penValue.textContent = pen.value; });

function clear() {
  paper();
  inked = false;
  version++;
  cleared = shown = version;
  dirty = false;
  body.dataset.version = body.dataset.predicted = String(version);
  hint.hidden = false;
  pad.classList.remove("inked");
  showEmpty("draw to start");
}

// --- requests ----------------------------------------------------------------------

function changed(now) {
  inked = true;
  version++;
  body.dataset.version = String(version);
  hint.hidden = true;
  pad.classList.add("inked");
  dirty = true;
  schedule(now ? 0 : THROTTLE);
}

function schedule(ms) {
  if (inflight) return;          // send() reschedules when the answer is in
  if (timer) {
    if (ms > 0) return;          // already due soon
    clearTimeout(timer);
  }
  timer = setTimeout(send, ms);
}

function snapshot() {
  const c = document.createElement("canvas");
  c.width = c.height = SEND;
  const g = c.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, SEND, SEND);
  g.imageSmoothingQuality = "high";
  g.drawImage(pad, 0, 0, SEND, SEND);
  return c.toDataURL("image/png");
}

async function send() {
  timer = 0;
  if (!dirty || !inked) return;
  dirty = false;
  inflight = true;
  const v = version;
  const started = performance.now();
  try {
    const res = await fetch("/v1/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ image: snapshot(), return_input: true }),
    });
    const answer = await res.json();
    const ms = performance.now() - started;
    if (v > cleared && v > shown) {
      if (res.ok) {
        show(answer, v);
        status(`answered in ${ms.toFixed(0)} ms`, false);
      } else {
        showEmpty(answer.error || `error ${res.status}`, true);
        shown = v;
        body.dataset.predicted = String(v);
        status(`HTTP ${res.status}`, true);
      }
    }
  } catch (err) {
    status("cannot reach the server: " + err.message, true);
    dirty = true; // try again on the next change
  } finally {
    inflight = false;
  }
  if (dirty) schedule(active !== null ? THROTTLE : 0);
}

// --- display -----------------------------------------------------------------------

function makeBars(n) {
  barsEl.textContent = "";
  for (let k = 0; k < n; k++) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="k">${k}</span><span class="track"><span class="fill"></span></span><span class="p">–</span>`;
    barsEl.appendChild(li);
  }
}

// show displays an answer: the digit, or "not sure" with the reason when the model
// withholds it ("digit": null), the three likeliest classes, every class's bar, and
// the 28×28 input the network saw.
function show(a, v) {
  shown = v;
  body.dataset.predicted = String(v);
  if (!a.probabilities) { // nothing to classify: a blank pad
    showEmpty(a.reason || "no ink", false);
    body.dataset.reason = a.reason || "";
    return;
  }
  const probs = a.probabilities;
  if (barsEl.children.length !== probs.length) makeBars(probs.length);
  const sure = a.digit !== null && a.digit !== undefined;
  const best = sure ? a.digit : a.guess;
  if (sure) {
    body.dataset.digit = String(a.digit);
    delete body.dataset.reason;
    digitEl.textContent = a.class && a.class.length > 2 ? String(a.digit) : (a.class || String(a.digit));
    confEl.textContent = `${pct(probs[a.digit])} sure` + (a.class && a.class.length > 2 ? ` · ${a.class}` : "");
  } else {
    delete body.dataset.digit;
    body.dataset.reason = a.reason;
    digitEl.textContent = "?";
    confEl.textContent = "not sure";
    const why = document.createElement("small");
    why.className = "reason";
    why.textContent = a.reason;
    confEl.appendChild(why);
  }
  digitEl.classList.remove("empty");
  digitEl.classList.toggle("unsure", !sure);
  confEl.classList.remove("error");
  probs.forEach((p, k) => {
    const li = barsEl.children[k];
    li.classList.toggle("top", k === best);
    li.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector(".p").textContent = pct(p);
  });
  showTop(probs);
  if (a.input) drawSeen(a.input);
}

// showTop lists the three likeliest classes with their probabilities.
function showTop(probs) {
  const order = probs.map((p, k) => k).sort((i, j) => probs[j] - probs[i] || i - j).slice(0, 3);
  topEl.textContent = "";
  for (const k of order) {
    const li = document.createElement("li");
    li.dataset.class = String(k);
    li.textContent = `${classNames[k] ?? k} · ${pct(probs[k])}`;
    topEl.appendChild(li);
  }
}

function showEmpty(message, isError) {
  delete body.dataset.digit;
  delete body.dataset.reason;
  topEl.textContent = "";
  digitEl.classList.remove("unsure");
  digitEl.textContent = "–";
  digitEl.classList.add("empty");
  confEl.textContent = message;
  confEl.classList.toggle("error", !!isError);
  for (const li of barsEl.children) {
    li.classList.remove("top");
    li.querySelector(".fill").style.width = "0";
    li.querySelector(".p").textContent = "–";
  }
  seenCtx.fillStyle = "#000";
  seenCtx.fillRect(0, 0, 28, 28);
}

function drawSeen(pixels) {
  const img = seenCtx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = pixels[i];
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  seenCtx.putImageData(img, 0, 0);
}

function pct(p) {
  const x = 100 * p;
  return (x >= 99.95 || x < 0.05 ? x.toFixed(0) : x.toFixed(1)) + "%";
}

function status(text, isError) {
  statusEl.textContent = text;
  statusEl.classList.toggle("error", isError);
}

async function loadModel() {
  try {
    const m = await (await fetch("/v1/model")).json();
    const acc = m.training && m.training.test_accuracy ? ` · test accuracy ${(100 * m.training.test_accuracy).toFixed(2)}%` : "";
    modelEl.textContent = `${m.file} · ${m.summary}${acc}`;
    if (m.classes) classNames = m.classes;
    if (m.classes && barsEl.children.length !== m.classes.length) makeBars(m.classes.length);
  } catch (err) {
    modelEl.textContent = "model info unavailable";
  }
}

setupPad();
makeBars(10);
showEmpty("draw to start");
loadModel();
