// The number pad: write a row of digits on #npad; while writing, the pad is sent as a
// PNG data URL to POST /v1/read (one request in flight, at most one every THROTTLE
// ms), and the answer's text is shown with each digit's box drawn over the strokes on
// #nboxes. <body data-nversion> counts changes to the number pad, <body data-nread>
// is the version the shown reading belongs to, <body data-ntext> its text.
"use strict";

(() => {
  const npad = document.getElementById("npad");
  const nctx = npad.getContext("2d");
  const boxes = document.getElementById("nboxes");
  const bctx = boxes.getContext("2d");
  const textEl = document.getElementById("ntext");
  const confEl = document.getElementById("nconf");
  const penEl = document.getElementById("pen");
  let version = 0, cleared = 0, shown = 0;
  let active = null, last = null, timer = 0, inflight = false, dirty = false;

  function setup() {
    const dpr = window.devicePixelRatio || 1;
    for (const c of [npad, boxes]) {
      c.width = Math.round(npad.clientWidth * dpr);
      c.height = Math.round(npad.clientHeight * dpr);
    }
    nctx.setTransform(1, 0, 0, 1, 0, 0);
    nctx.fillStyle = "#fff";
    nctx.fillRect(0, 0, npad.width, npad.height);
    nctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    bctx.clearRect(0, 0, boxes.width, boxes.height);
  }

  function at(e) {
    const r = npad.getBoundingClientRect();
    return { x: e.clientX - r.left - npad.clientLeft, y: e.clientY - r.top - npad.clientTop };
  }

  function line(a, b) {
    // A pen a little thinner than the digit pad's: digits here are smaller.
    nctx.strokeStyle = nctx.fillStyle = "#111";
    nctx.lineWidth = Math.max(4, Number(penEl.value) * 0.6);
    nctx.lineCap = nctx.lineJoin = "round";
    nctx.beginPath();
    nctx.moveTo(a.x, a.y);
    nctx.lineTo(b.x + 0.01, b.y);
    nctx.stroke();
  }

  npad.addEventListener("pointerdown", (e) => {
    if (active !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    active = e.pointerId;
    npad.setPointerCapture(e.pointerId);
    last = at(e);
    line(last, last);
    changed(false);
  });
  npad.addEventListener("pointermove", (e) => {
    if (e.pointerId !== active) return;
    const evs = (e.getCoalescedEvents && e.getCoalescedEvents().length) ? e.getCoalescedEvents() : [e];
    for (const ev of evs) {
      const p = at(ev);
      line(last, p);
      last = p;
    }
    changed(false);
  });
  const end = (e) => {
    if (e.pointerId !== active) return;
    active = null;
    changed(true);
  };
  npad.addEventListener("pointerup", end);
  npad.addEventListener("pointercancel", end);
  npad.addEventListener("lostpointercapture", end);
  document.getElementById("nclear").addEventListener("click", () => {
    setup();
    version++;
    cleared = shown = version;
    dirty = false;
    document.body.dataset.nversion = document.body.dataset.nread = String(version);
    delete document.body.dataset.ntext;
    textEl.textContent = "–";
    confEl.textContent = "";
  });

  function changed(now) {
    version++;
    document.body.dataset.nversion = String(version);
    dirty = true;
    if (inflight) return;
    if (timer) {
      if (!now) return;
      clearTimeout(timer);
    }
    timer = setTimeout(send, now ? 0 : 80);
  }

  async function send() {
    timer = 0;
    if (!dirty) return;
    dirty = false;
    inflight = true;
    const v = version;
    try {
      const res = await fetch("/v1/read", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ image: npad.toDataURL("image/png") }),
      });
      const a = await res.json();
      if (v > cleared && v > shown) {
        shown = v;
        show(res.ok ? a : { error: a.error || `error ${res.status}` });
        document.body.dataset.nread = String(v);
      }
    } catch (err) {
      confEl.textContent = "cannot reach the server: " + err.message;
      dirty = true;
    } finally {
      inflight = false;
    }
    if (dirty) changed(active === null);
  }

  function show(a) {
    bctx.clearRect(0, 0, boxes.width, boxes.height);
    if (a.error) {
      textEl.textContent = "–";
      confEl.textContent = a.error;
      delete document.body.dataset.ntext;
      return;
    }
    if (a.text === null) {
      textEl.textContent = "–";
      confEl.textContent = a.reason;
      document.body.dataset.ntext = "";
      return;
    }
    textEl.textContent = a.text;
    document.body.dataset.ntext = a.text;
    const unsure = a.digits.filter((d) => d.unsure).length;
    confEl.textContent = `${(100 * a.confidence).toFixed(0)}% sure of all ${a.digits.length}` + (unsure ? ` · ${unsure} unsure (?)` : "");
    // Boxes are in the sent image's pixels, which are the canvas's.
    bctx.lineWidth = 2 * (window.devicePixelRatio || 1);
    bctx.font = `${14 * (window.devicePixelRatio || 1)}px system-ui, sans-serif`;
    for (const d of a.digits) {
      const [x, y, w, h] = d.box;
      bctx.strokeStyle = bctx.fillStyle = d.unsure ? "#b26b00" : "#1f9d55";
      bctx.strokeRect(x - 3, y - 3, w + 6, h + 6);
      bctx.fillText(d.unsure ? `${d.digit}?` : String(d.digit), x, Math.max(14, y - 6));
    }
  }

  setup();
  window.addEventListener("resize", () => { if (version === cleared) setup(); });
})();
