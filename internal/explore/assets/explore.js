// @ts-check
// The qkv attention explorer. Everything it shows was computed by qkv and
// inlined in the page as JSON (the script element #qkv-data); this script
// only draws it. It loads nothing: the page works from a file, offline.
//
// Views: the head view and model view (after BertViz), the Q·K view (one
// query's arithmetic), a summary per head, and a training slider over the
// probe set's recorded weights. Each drawing view exports as SVG or PNG.
'use strict';

/**
 * @typedef {object} Example
 * @property {string} label
 * @property {string[]} tokens
 * @property {string[]} [target]
 * @property {string[]} predicted
 * @property {boolean} [correct]
 * @property {number} probe index into history.examples, or -1
 * @property {string} weights base64 float32 [layer][head][query][key]
 * @property {string} [q] base64 float32 [layer][head][position][d_k]
 * @property {string} [k]
 */

/**
 * @typedef {object} TrainingHistory
 * @property {number[]} steps
 * @property {number[]} loss
 * @property {number[]} token_accuracy
 * @property {number[]} sequence_accuracy
 * @property {string[]} examples
 * @property {string} weights base64 bytes, record after record
 */

/**
 * @typedef {object} Page
 * @property {string} title
 * @property {string} checkpoint
 * @property {number} step
 * @property {string} task
 * @property {string} kind "attention" or "saliency"
 * @property {number} layers
 * @property {number} heads
 * @property {number} dk
 * @property {Example[]} examples
 * @property {{split: string, scores: number[][], chance: number, positions: number}} [alignment]
 * @property {TrainingHistory} [history]
 */

/**
 * @typedef {object} State
 * @property {number} ex example index
 * @property {number} layer
 * @property {Set<number>} heads heads drawn in the head view
 * @property {number} head the head of the Q·K view
 * @property {number} query the query position of the Q·K view
 * @property {number} step slider position: a record of the history, or its length for the checkpoint
 * @property {{side: string, index: number} | null} hover
 */

(function () {
  const dataElement = /** @type {HTMLElement} */ (document.getElementById('qkv-data'));
  /** @type {Page} */
  const page = JSON.parse(dataElement.textContent || '{}');
  const saliency = page.kind === 'saliency';
  const history = page.history;
  const records = history ? history.steps.length : 0;

  // BertViz's colours, one per head (d3's category10), repeated past ten.
  const colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  /** @param {number} h */
  const colour = (h) => colours[h % colours.length];

  /** @param {string} b64 @returns {Uint8Array} */
  function bytes(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  /** @param {string | undefined} b64 @returns {Float32Array} */
  function floats(b64) {
    if (!b64) return new Float32Array(0);
    const b = bytes(b64);
    const out = new Float32Array(b.length / 4);
    const view = new DataView(b.buffer);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }

  const historyBytes = history ? bytes(history.weights) : new Uint8Array(0);
  // Where each probe example's weights start inside a record, and the size
  // of a record's weights (the file's layout, train.ProbesFile).
  /** @type {number[]} */
  const probeOffset = [];
  let recordSize = 0;
  if (history) {
    for (const ex of history.examples) {
      const t = ex.split(' ').length;
      probeOffset.push(recordSize);
      recordSize += page.layers * page.heads * t * t;
    }
  }

  /** @type {Map<string, Float32Array>} */
  const cache = new Map();
  /** @type {Map<string, Float32Array>} */
  const decodedCache = new Map();
  /** floats(b64), decoded once. @param {string | undefined} b64 @returns {Float32Array} */
  function decoded(b64) {
    if (!b64) return new Float32Array(0);
    let v = decodedCache.get(b64);
    if (!v) {
      v = floats(b64);
      decodedCache.set(b64, v);
    }
    return v;
  }
  /**
   * The weights of example ex at slider position step, [layer][head][query][key]
   * flattened: the checkpoint's, or a record's bytes as b/255.
   * @param {number} ex @param {number} step @returns {Float32Array}
   */
  function weightsAt(ex, step) {
    const e = page.examples[ex];
    const key = ex + ':' + (e.probe >= 0 && step < records ? step : 'ck');
    let w = cache.get(key);
    if (w) return w;
    if (e.probe >= 0 && step < records) {
      const t = e.tokens.length;
      const n = page.layers * page.heads * t * t;
      const start = step * recordSize + probeOffset[e.probe];
      w = new Float32Array(n);
      for (let i = 0; i < n; i++) w[i] = historyBytes[start + i] / 255;
    } else {
      w = floats(e.weights);
    }
    cache.set(key, w);
    return w;
  }

  /** @type {State} */
  const state = { ex: 0, layer: 0, heads: new Set(), head: 0, query: 0, step: records, hover: null };

  /**
   * @param {string} tag @param {Record<string, string | number>} [attrs] @param {string} [text]
   * @returns {HTMLElement}
   */
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const svgNS = 'http://www.w3.org/2000/svg';
  /**
   * @param {string} tag @param {Record<string, string | number>} [attrs] @param {string} [text]
   * @returns {SVGElement}
   */
  function svgEl(tag, attrs, text) {
    const e = /** @type {SVGElement} */ (document.createElementNS(svgNS, tag));
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  /** @param {number} x @param {number} [d] */
  const fmt = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');

  // ---- Layout -------------------------------------------------------------

  const body = document.body;
  body.appendChild(el('h1', {}, page.title));
  body.appendChild(el('div', { class: 'info' },
    `checkpoint ${page.checkpoint} · step ${page.step} · ${page.layers} layer(s) × ${page.heads} head(s)` +
    (saliency ? ' · no attention (a recurrent model): gradient saliency ‖∂L_j/∂x_i‖, each row scaled to sum to 1, in its place' : ` · d_k ${page.dk}`)));

  const controls = el('div', { class: 'controls' });
  body.appendChild(controls);
  const exampleSelect = /** @type {HTMLSelectElement} */ (el('select', { id: 'example' }));
  page.examples.forEach((e, i) => {
    const mark = e.correct === undefined ? '' : e.correct ? ' ✓' : ' ✗ wrong';
    exampleSelect.appendChild(el('option', { value: i }, `${e.label}${mark}: ${e.tokens.join(' ')}`));
  });
  const exLabel = el('label', {}, 'example ');
  exLabel.appendChild(exampleSelect);
  controls.appendChild(exLabel);
  const layerSelect = /** @type {HTMLSelectElement} */ (el('select', { id: 'layer' }));
  for (let l = 0; l < page.layers; l++) layerSelect.appendChild(el('option', { value: l }, String(l)));
  const layerLabel = el('label', {}, 'layer ');
  layerLabel.appendChild(layerSelect);
  controls.appendChild(layerLabel);
  const chips = el('div', { class: 'chips', id: 'heads' });
  for (let h = 0; h < page.heads; h++) {
    const c = el('button', { class: 'chip', 'data-head': h, title: `head ${h}: click for this head alone, shift-click to add or remove` }, String(h));
    c.style.background = colour(h);
    chips.appendChild(c);
  }
  const headsLabel = el('label', {}, 'heads ');
  headsLabel.appendChild(chips);
  controls.appendChild(headsLabel);

  const sliderBox = el('div', { class: 'slider' });
  const slider = /** @type {HTMLInputElement} */ (el('input', { type: 'range', id: 'step', min: 0, max: records, value: records }));
  const sliderText = el('span', { class: 'metrics', id: 'step-label' });
  if (history) {
    sliderBox.appendChild(el('span', {}, 'training'));
    sliderBox.appendChild(slider);
    sliderBox.appendChild(sliderText);
  } else {
    sliderBox.appendChild(el('span', { class: 'note' }, 'This run recorded no training history (made before runs recorded one): no slider.'));
  }
  body.appendChild(sliderBox);

  const exampleBox = el('div', { class: 'example', id: 'example-box' });
  body.appendChild(exampleBox);

  /**
   * A view's section: a heading with its export buttons, then its content.
   * @param {string} id @param {string} title @param {string} note @param {HTMLElement} [parent]
   */
  function section(id, title, note, parent = body) {
    const wrap = el('div', { class: 'section' });
    parent.appendChild(wrap);
    const h = el('h2', {}, title);
    for (const format of ['svg', 'png']) {
      const b = el('button', { 'data-export': id, 'data-format': format }, format.toUpperCase());
      b.addEventListener('click', () => { download(id, format); });
      h.appendChild(b);
    }
    wrap.appendChild(h);
    wrap.appendChild(el('div', { class: 'note' }, note));
    const box = el('div', { class: 'views', id: id + '-box' });
    wrap.appendChild(box);
    return box;
  }

  const what = saliency ? 'saliency' : 'attention';
  const row = el('div', { class: 'row' });
  body.appendChild(row);
  const headBox = section('head-view', 'Head view',
    saliency ? 'Lines from each output position (left) to the inputs (right) its loss draws gradient from; opacity is the saliency. Hover a token to isolate its lines.'
      : 'Lines from each query token (left) to the keys it attends to (right), a colour per head; opacity is the weight. Hover a token to isolate its lines; click a left token to pick the Q·K view’s query.', row);
  const modelBox = section('model-view', 'Model view', `Every layer (rows) and head (columns) of the ${what}. Click one to show it in the head view.`, row);
  const qkBox = saliency ? null : section('qk-view', 'Q·K view',
    'For the chosen layer, head (the single selected head, else the first) and query position i: q_i, each key k_j, their element-wise product, the score q_i·k_j/√d_k and qkv’s softmax weight. At the checkpoint.');
  body.appendChild(el('h2', {}, 'Per head'));
  body.appendChild(el('div', { class: 'note' },
    (page.alignment ? `Alignment: mean weight on the position the answer comes from, over the ${page.alignment.split} split (${page.alignment.positions} positions, chance ${fmt(page.alignment.chance, 2)}), at the checkpoint. ` : '') +
    'Entropy: mean over query rows of −Σ w ln w (nats) for this example at this step; ln T is uniform, 0 is one key.'));
  const summaryBox = el('div', { id: 'summary-box' });
  body.appendChild(summaryBox);

  // ---- Head view ----------------------------------------------------------

  const rowH = 18;
  const colGap = 160;
  let headKey = '';
  /** @type {SVGElement | null} */
  let headSvg = null;

  /** @param {string[]} tokens */
  function tokenWidth(tokens) {
    return Math.max(40, ...tokens.map((t) => t.length * 8 + 12));
  }

  /** @param {string} s @returns {string} s with the characters markup gives meaning to escaped */
  function esc(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  /** Whether the hover hides line i→j. @param {number} i @param {number} j */
  function hidden(i, j) {
    const hv = state.hover;
    return !!hv && (hv.side === 'left' ? hv.index !== i : hv.index !== j);
  }

  // What the head view's lines show now, so that an update that changes
  // nothing redraws nothing.
  let headShown = '';

  /**
   * The markup of the head view's lines: for each selected head, one path
   * per opacity level b/255 (a display shows no finer step), holding every
   * line i→j whose weight rounds to it. A few hundred paths draw thousands
   * of lines far faster than an element each.
   * @param {number} tw the width of the token column
   */
  function linesMarkup(tw) {
    const t = page.examples[state.ex].tokens.length;
    const w = weightsAt(state.ex, state.step);
    const out = [];
    for (let h = 0; h < page.heads; h++) {
      out.push(`<g data-head="${h}" stroke="${colour(h)}" stroke-width="2" fill="none">`);
      if (state.heads.has(h)) {
        const base = (state.layer * page.heads + h) * t * t;
        /** @type {string[][]} */
        const levels = Array.from({ length: 256 }, () => []);
        for (let i = 0; i < t; i++) {
          for (let j = 0; j < t; j++) {
            const b = hidden(i, j) ? 0 : Math.round(255 * Math.min(1, Math.max(0, w[base + i * t + j])));
            if (b > 0) levels[b].push(`M${tw} ${(i + 1) * rowH + 5}L${tw + colGap} ${(j + 1) * rowH + 5}`);
          }
        }
        levels.forEach((segs, b) => {
          if (segs.length > 0) out.push(`<path stroke-opacity="${b / 255}" d="${segs.join('')}"/>`);
        });
      }
      out.push('</g>');
    }
    return out.join('');
  }

  /** Rebuilds the head view for the example, layer and heads. */
  function buildHeadView() {
    const tokens = page.examples[state.ex].tokens;
    const t = tokens.length;
    const tw = tokenWidth(tokens);
    const width = 2 * tw + colGap;
    const height = (t + 1) * rowH + 10;
    const out = [`<svg xmlns="${svgNS}" id="head-view" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-token-width="${tw}">`,
      `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
      `<text x="${tw - 4}" y="12" text-anchor="end" fill="#777">${saliency ? 'output' : 'query'}</text>`,
      `<text x="${tw + colGap + 4}" y="12" fill="#777">${saliency ? 'input' : 'key'}</text>`,
      `<g class="lines">${linesMarkup(tw)}</g>`];
    for (const [side, x, anchor] of /** @type {[string, number, string][]} */ ([['left', tw - 4, 'end'], ['right', tw + colGap + 4, 'start']])) {
      tokens.forEach((tok, i) => {
        out.push(`<text class="token" x="${x}" y="${(i + 1) * rowH + 9}" text-anchor="${anchor}" data-side="${side}" data-index="${i}">${esc(tok)}</text>`);
      });
    }
    out.push('</svg>');
    headBox.innerHTML = out.join('');
    headSvg = /** @type {SVGElement} */ (headBox.firstElementChild);
    headShown = shownKey();
  }

  /** The state the head view's lines depend on, beyond what a rebuild does. */
  function shownKey() {
    const hv = state.hover;
    return `${state.step}/${hv ? hv.side + hv.index : ''}`;
  }

  // One listener each for the tokens of whatever head view is drawn.
  headBox.addEventListener('mouseover', (ev) => {
    const txt = /** @type {Element} */ (ev.target);
    if (!txt.classList || !txt.classList.contains('token')) return;
    state.hover = { side: txt.getAttribute('data-side') || '', index: Number(txt.getAttribute('data-index')) };
    updateHeadView();
  });
  headBox.addEventListener('mouseout', (ev) => {
    const txt = /** @type {Element} */ (ev.target);
    if (!txt.classList || !txt.classList.contains('token')) return;
    state.hover = null;
    updateHeadView();
  });
  headBox.addEventListener('click', (ev) => {
    const txt = /** @type {Element} */ (ev.target);
    if (saliency || !txt.classList || !txt.classList.contains('token') || txt.getAttribute('data-side') !== 'left') return;
    state.query = Number(txt.getAttribute('data-index'));
    render();
  });

  /** Redraws the lines if the step or hover changed, and marks the active tokens. */
  function updateHeadView() {
    if (!headSvg) return;
    const key = shownKey();
    if (key !== headShown) {
      const g = headSvg.querySelector('g.lines');
      if (g) g.innerHTML = linesMarkup(Number(headSvg.getAttribute('data-token-width')));
      headShown = key;
    }
    const hv = state.hover;
    for (const txt of headSvg.querySelectorAll('text.token')) {
      const side = txt.getAttribute('data-side');
      const i = Number(txt.getAttribute('data-index'));
      const active = (hv && hv.side === side && hv.index === i) || (!saliency && side === 'left' && i === state.query);
      txt.classList.toggle('active', !!active);
    }
  }

  // ---- Model view ---------------------------------------------------------

  const thumb = 96;
  /** @type {HTMLCanvasElement[]} */
  let thumbs = [];
  let modelKey = '';

  function buildModelView() {
    const grid = el('div', { class: 'model-grid', id: 'model-view' });
    grid.style.gridTemplateColumns = `auto repeat(${page.heads}, ${thumb + 2}px)`;
    grid.appendChild(el('div'));
    for (let h = 0; h < page.heads; h++) grid.appendChild(el('div', { class: 'axis' }, `head ${h}`));
    thumbs = [];
    for (let l = 0; l < page.layers; l++) {
      grid.appendChild(el('div', { class: 'axis' }, `layer ${l}`));
      for (let h = 0; h < page.heads; h++) {
        const c = /** @type {HTMLCanvasElement} */ (el('canvas', { width: thumb, height: thumb, 'data-layer': l, 'data-head': h, title: `layer ${l} head ${h}` }));
        c.addEventListener('click', () => {
          state.layer = l;
          state.heads = new Set([h]);
          state.head = h;
          render();
          headBox.scrollIntoView({ block: 'nearest' });
        });
        grid.appendChild(c);
        thumbs.push(c);
      }
    }
    modelBox.replaceChildren(grid);
  }

  /**
   * Draws one head's lines into a 2-D context of size s×s, grouped into
   * sixteen opacity levels so that a head is sixteen strokes, not T².
   * @param {CanvasRenderingContext2D} ctx @param {Float32Array} w @param {number} base @param {number} t @param {number} s @param {string} stroke
   */
  function drawThumb(ctx, w, base, t, s, stroke) {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, s, s);
    const y = (/** @type {number} */ i) => ((i + 0.5) * (s - 8)) / t + 4;
    const x0 = s * 0.2;
    const x1 = s * 0.8;
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 1;
    const levels = 16;
    /** @type {number[][]} */
    const buckets = Array.from({ length: levels }, () => []);
    for (let n = 0; n < t * t; n++) {
      const v = w[base + n];
      if (v > 0) buckets[Math.min(levels - 1, Math.floor(v * levels))].push(n);
    }
    buckets.forEach((ns, b) => {
      if (ns.length === 0) return;
      ctx.globalAlpha = (b + 0.5) / levels;
      ctx.beginPath();
      for (const n of ns) {
        ctx.moveTo(x0, y(Math.floor(n / t)));
        ctx.lineTo(x1, y(n % t));
      }
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
  }

  // The example and step the thumbnails show, and the drawing under way.
  let thumbsShown = '';
  let thumbJob = 0;

  /**
   * Redraws the thumbnails when the example or step changed, a budget of
   * lines per frame: a small model at once, a large one over a few frames
   * so that no frame is long. A newer redraw supersedes one under way.
   */
  function updateModelView() {
    thumbs.forEach((c, n) => {
      c.classList.toggle('selected', Math.floor(n / page.heads) === state.layer && state.heads.has(n % page.heads));
    });
    const key = `${state.ex}/${state.step}`;
    if (key === thumbsShown) return;
    thumbsShown = key;
    const t = page.examples[state.ex].tokens.length;
    const w = weightsAt(state.ex, state.step);
    const job = ++thumbJob;
    const perFrame = Math.max(1, Math.floor(5000 / (t * t)));
    let n = 0;
    const draw = () => {
      if (job !== thumbJob) return;
      for (const stop = Math.min(thumbs.length, n + perFrame); n < stop; n++) {
        const ctx = thumbs[n].getContext('2d');
        if (ctx) drawThumb(ctx, w, n * t * t, t, thumb, colour(n % page.heads));
      }
      if (n < thumbs.length) requestAnimationFrame(draw);
    };
    draw();
  }

  // ---- Q·K view -------------------------------------------------------------

  let qkKey = '';
  const cell = 12;

  /** @param {number} v @param {number} scale @returns {string} a blue (−) to orange (+) colour */
  function diverging(v, scale) {
    const a = Math.min(1, Math.abs(v) / (scale || 1));
    const [r, g, b] = v >= 0 ? [255, 127, 14] : [31, 119, 180];
    const mix = (/** @type {number} */ c) => Math.round(255 + (c - 255) * a);
    return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
  }

  /** The Q·K view's head: the one selected head, else the first selected. */
  function qkHead() {
    return state.heads.size === 1 ? [...state.heads][0] : state.head;
  }

  /**
   * Draws the Q·K view as one piece of markup. Each cell carries its value
   * in data-v; hovering a cell shows it in the readout line.
   */
  function buildQKView() {
    if (!qkBox) return;
    const e = page.examples[state.ex];
    const t = e.tokens.length;
    const dk = page.dk;
    const h = qkHead();
    const l = state.layer;
    const i = Math.min(state.query, t - 1);
    const q = decoded(e.q);
    const k = decoded(e.k);
    const w = weightsAt(state.ex, records);
    const at = (/** @type {Float32Array} */ v, /** @type {number} */ pos) => v.subarray(((l * page.heads + h) * t + pos) * dk, ((l * page.heads + h) * t + pos + 1) * dk);
    const qi = at(q, i);
    let scale = 0;
    let pscale = 0;
    for (let j = 0; j < t; j++) {
      const kj = at(k, j);
      for (let d = 0; d < dk; d++) {
        scale = Math.max(scale, Math.abs(qi[d]), Math.abs(kj[d]));
        pscale = Math.max(pscale, Math.abs(qi[d] * kj[d]));
      }
    }
    const tw = tokenWidth(e.tokens);
    const block = dk * cell + 16;
    const x0 = tw + 8;
    const xScore = x0 + 2 * block;
    const width = Math.max(xScore + 240, 420);
    const rowY = (/** @type {number} */ r) => 32 + r * (cell + 4);
    const height = rowY(t + 3) + 4;
    /** @param {number} x @param {number} y @param {string} fill @param {string} label */
    const rect = (x, y, fill, label) => `<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell}" fill="${fill}" data-v="${esc(label)}"/>`;
    const out = [`<svg xmlns="${svgNS}" id="qk-view" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-layer="${l}" data-head="${h}" data-query="${i}">`,
      `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
      `<text x="4" y="12">layer ${l}, head ${h}, query ${i} “${esc(e.tokens[i])}”</text>`,
      `<text x="4" y="26" fill="#777" class="readout">hover a cell for its value</text>`,
      `<text x="${tw}" y="${rowY(1) + 10}" text-anchor="end">q_i</text>`];
    for (let d = 0; d < dk; d++) out.push(rect(x0 + d * cell, rowY(1), diverging(qi[d], scale), `q_${i}[${d}] = ${qi[d]}`));
    out.push(`<text x="${x0}" y="${rowY(2) + 10}" fill="#777">k_j</text>`,
      `<text x="${x0 + block}" y="${rowY(2) + 10}" fill="#777">q_i ⊙ k_j</text>`,
      `<text x="${xScore}" y="${rowY(2) + 10}" fill="#777">q·k/√d_k</text>`,
      `<text x="${xScore + 80}" y="${rowY(2) + 10}" fill="#777">weight</text>`);
    for (let j = 0; j < t; j++) {
      const y = rowY(j + 3);
      const kj = at(k, j);
      out.push(`<text x="${tw}" y="${y + 10}" text-anchor="end">${esc(e.tokens[j])}</text>`);
      let dot = 0;
      for (let d = 0; d < dk; d++) {
        const p = qi[d] * kj[d];
        dot += p;
        out.push(rect(x0 + d * cell, y, diverging(kj[d], scale), `k_${j}[${d}] = ${kj[d]}`),
          rect(x0 + block + d * cell, y, diverging(p, pscale), `q_${i}[${d}]·k_${j}[${d}] = ${p}`));
      }
      const score = dot / Math.sqrt(dk);
      const wt = w[((l * page.heads + h) * t + i) * t + j];
      out.push(`<text x="${xScore}" y="${y + 10}" class="score" data-j="${j}">${fmt(score)}</text>`,
        `<rect x="${xScore + 80}" y="${y}" width="${Math.max(0.5, wt * 100)}" height="${cell}" fill="${colour(h)}" class="weight" data-j="${j}" data-weight="${wt}"/>`,
        `<text x="${xScore + 186}" y="${y + 10}">${fmt(wt)}</text>`);
    }
    out.push('</svg>');
    qkBox.innerHTML = out.join('');
  }

  if (qkBox) {
    qkBox.addEventListener('mouseover', (ev) => {
      const cellEl = /** @type {Element} */ (ev.target);
      const v = cellEl.getAttribute && cellEl.getAttribute('data-v');
      const readout = qkBox.querySelector('.readout');
      if (v && readout) readout.textContent = v;
    });
  }

  // ---- Summary ----------------------------------------------------------------

  let summaryShown = '';

  /** Rebuilds the summary table when the example or step changed. */
  function updateSummary() {
    const key = `${state.ex}/${state.step}`;
    if (key === summaryShown) return;
    summaryShown = key;
    const t = page.examples[state.ex].tokens.length;
    const w = weightsAt(state.ex, state.step);
    const al = page.alignment;
    let best = [-1, -1];
    if (al) {
      let top = -Infinity;
      al.scores.forEach((row, l) => row.forEach((s, h) => { if (s > top) { top = s; best = [l, h]; } }));
    }
    const table = el('table', { class: 'summary', id: 'summary' });
    const head = el('tr');
    head.appendChild(el('th'));
    for (let h = 0; h < page.heads; h++) head.appendChild(el('th', {}, `head ${h}`));
    table.appendChild(head);
    for (let l = 0; l < page.layers; l++) {
      const tr = el('tr');
      tr.appendChild(el('th', {}, `layer ${l}`));
      for (let h = 0; h < page.heads; h++) {
        let ent = 0;
        const base = (l * page.heads + h) * t * t;
        for (let i = 0; i < t; i++) {
          for (let j = 0; j < t; j++) {
            const v = w[base + i * t + j];
            if (v > 0) ent -= v * Math.log(v);
          }
        }
        ent /= t;
        const parts = [];
        if (al) parts.push(`align ${fmt(al.scores[l][h], 2)}`);
        parts.push(`H ${fmt(ent, 2)}`);
        const td = el('td', { 'data-layer': l, 'data-head': h, 'data-entropy': ent }, parts.join(' · '));
        if (l === best[0] && h === best[1]) td.classList.add('best');
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    summaryBox.replaceChildren(table);
  }

  // ---- Example and slider text ----------------------------------------------

  let exampleShown = -1;

  /** Shows the example's tokens, expected and predicted, when it changed. */
  function updateExample() {
    if (exampleShown === state.ex) return;
    exampleShown = state.ex;
    const e = page.examples[state.ex];
    const parts = [el('div', {}, `input:     ${e.tokens.join(' ')}`)];
    const pred = el('div', {}, 'predicted: ');
    e.predicted.forEach((p, j) => {
      const wrong = e.target && e.target[j] !== undefined && e.target[j] !== '_' && e.target[j] !== p;
      pred.appendChild(el('span', wrong ? { class: 'wrong', title: `expected ${e.target ? e.target[j] : ''}` } : {}, p));
      pred.appendChild(document.createTextNode(' '));
    });
    if (e.target) parts.push(el('div', {}, `expected:  ${e.target.join(' ')}`));
    parts.push(pred);
    if (e.correct !== undefined) {
      parts.push(el('span', { class: 'tag ' + (e.correct ? 'ok' : 'bad') }, e.correct ? 'right' : 'wrong: the marked tokens differ from the expected ones'));
    }
    exampleBox.replaceChildren(...parts);
  }

  function updateSlider() {
    if (!history) return;
    const probe = page.examples[state.ex].probe >= 0;
    slider.disabled = !probe;
    if (!probe) {
      sliderText.textContent = `history is recorded for the ${history.examples.length} probe examples only: choose one to move through training`;
      return;
    }
    const s = state.step;
    const r = s < records ? s : history.steps.indexOf(page.step);
    const stepText = s < records ? `step ${history.steps[s]} of ${history.steps[records - 1]}` : `the checkpoint, step ${page.step} (exact weights)`;
    const m = r >= 0 ? ` · validation loss ${fmt(history.loss[r], 4)} · token accuracy ${fmt(100 * history.token_accuracy[r], 1)}% · sequence accuracy ${fmt(100 * history.sequence_accuracy[r], 1)}%` : '';
    sliderText.textContent = stepText + m;
  }

  // ---- Rendering --------------------------------------------------------------

  function render() {
    const e = page.examples[state.ex];
    if (page.examples[state.ex].probe < 0) state.step = records;
    slider.value = String(state.step);
    state.query = Math.min(state.query, e.tokens.length - 1);
    for (const c of chips.querySelectorAll('.chip')) {
      c.classList.toggle('off', !state.heads.has(Number(c.getAttribute('data-head'))));
    }
    layerSelect.value = String(state.layer);
    exampleSelect.value = String(state.ex);
    const hk = `${state.ex}/${state.layer}/${[...state.heads].join(',')}`;
    if (hk !== headKey) {
      buildHeadView();
      headKey = hk;
    }
    updateHeadView();
    const mk = `${state.ex}`;
    if (mk !== modelKey) {
      buildModelView();
      modelKey = mk;
      thumbsShown = '';
    }
    updateModelView();
    const qk = `${state.ex}/${state.layer}/${qkHead()}/${state.query}`;
    if (qk !== qkKey) {
      buildQKView();
      qkKey = qk;
    }
    updateSummary();
    updateExample();
    updateSlider();
  }

  /** The heads drawn by default: all, unless that would be too many lines. */
  function defaultHeads() {
    const t = page.examples[state.ex].tokens.length;
    const n = page.heads * t * t <= 20000 ? page.heads : 1;
    return new Set(Array.from({ length: n }, (_, h) => h));
  }

  exampleSelect.addEventListener('change', () => {
    state.ex = Number(exampleSelect.value);
    state.heads = defaultHeads();
    render();
  });
  layerSelect.addEventListener('change', () => { state.layer = Number(layerSelect.value); render(); });
  chips.addEventListener('click', (ev) => {
    const target = /** @type {HTMLElement} */ (ev.target);
    const h = Number(target.getAttribute('data-head'));
    if (!target.classList.contains('chip')) return;
    if (/** @type {MouseEvent} */ (ev).shiftKey) {
      if (state.heads.has(h) && state.heads.size > 1) state.heads.delete(h);
      else state.heads.add(h);
    } else {
      state.heads = new Set([h]);
    }
    state.head = h;
    render();
  });
  slider.addEventListener('input', () => { state.step = Number(slider.value); render(); });

  // ---- Export -----------------------------------------------------------------

  /** An SVG document of a view. @param {string} view @returns {string} */
  function svgOf(view) {
    if (view === 'model-view') return modelSVG();
    const node = document.getElementById(view);
    if (!node) throw new Error(`no view ${view}`);
    const clone = /** @type {SVGElement} */ (node.cloneNode(true));
    const style = svgEl('style', {}, 'text { font: 12px monospace; fill: #222; } .token.active { font-weight: bold; }');
    clone.insertBefore(style, clone.firstChild);
    return new XMLSerializer().serializeToString(clone);
  }

  /** The model view as SVG: the same lines as the canvases, at their exact opacities. */
  function modelSVG() {
    const t = page.examples[state.ex].tokens.length;
    const w = weightsAt(state.ex, state.step);
    const s = thumb;
    const pad = 6;
    const width = 60 + page.heads * (s + pad);
    const height = 20 + page.layers * (s + pad);
    const out = [`<svg xmlns="${svgNS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="${width}" height="${height}" fill="#fff"/><style>text { font: 11px sans-serif; fill: #555; }</style>`];
    for (let h = 0; h < page.heads; h++) out.push(`<text x="${60 + h * (s + pad)}" y="12">head ${h}</text>`);
    for (let l = 0; l < page.layers; l++) {
      const oy = 20 + l * (s + pad);
      out.push(`<text x="0" y="${oy + s / 2}">layer ${l}</text>`);
      for (let h = 0; h < page.heads; h++) {
        const ox = 60 + h * (s + pad);
        out.push(`<g stroke="${colour(h)}" stroke-width="1"><rect x="${ox}" y="${oy}" width="${s}" height="${s}" fill="none" stroke="#ddd"/>`);
        const base = (l * page.heads + h) * t * t;
        for (let n = 0; n < t * t; n++) {
          const v = w[base + n];
          if (!(v > 0)) continue;
          const y1 = oy + ((Math.floor(n / t) + 0.5) * (s - 8)) / t + 4;
          const y2 = oy + (((n % t) + 0.5) * (s - 8)) / t + 4;
          out.push(`<line x1="${ox + s * 0.2}" y1="${y1.toFixed(1)}" x2="${ox + s * 0.8}" y2="${y2.toFixed(1)}" stroke-opacity="${v}"/>`);
        }
        out.push('</g>');
      }
    }
    out.push('</svg>');
    return out.join('');
  }

  /**
   * A view exported as a data URL: SVG text, or a PNG drawn from it at
   * twice its size.
   * @param {string} view @param {string} format @returns {Promise<string>}
   */
  function exportView(view, format) {
    const svg = svgOf(view);
    const utf8 = new TextEncoder().encode(svg);
    let binary = '';
    for (let i = 0; i < utf8.length; i += 0x8000) binary += String.fromCharCode(...utf8.subarray(i, i + 0x8000));
    const svgURL = 'data:image/svg+xml;base64,' + btoa(binary);
    if (format === 'svg') return Promise.resolve(svgURL);
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => {
        const c = document.createElement('canvas');
        c.width = 2 * img.width;
        c.height = 2 * img.height;
        const ctx = c.getContext('2d');
        if (!ctx) { reject(new Error('no 2-D canvas')); return; }
        ctx.fillStyle = '#fff';
        ctx.fillRect(0, 0, c.width, c.height);
        ctx.drawImage(img, 0, 0, c.width, c.height);
        resolve(c.toDataURL('image/png'));
      };
      img.onerror = () => reject(new Error('the SVG did not draw'));
      img.src = svgURL;
    });
  }

  /** Saves a view as a file. @param {string} view @param {string} format */
  function download(view, format) {
    exportView(view, format).then((url) => {
      const a = document.createElement('a');
      a.href = url;
      a.download = `qkv-${view}-${state.ex}.${format}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
    }, (err) => { console.warn('export failed:', err); });
  }

  // What tests and curious readers can reach from the console.
  /** @type {any} */ (window).qkvExplorer = { page, state, render, weightsAt, exportView, records };

  state.heads = defaultHeads();
  render();
})();
