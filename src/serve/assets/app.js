// vidx serve: the dashboard's script (no build step, no library). Every value
// from the catalog goes into the page as text (textContent), never as HTML.
'use strict';

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

async function api(path) {
  const r = await fetch(path, {credentials: 'same-origin', cache: 'no-store'});
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function fmtDuration(s) {
  if (s === null || s === undefined || !isFinite(s)) return '-';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + sec + 's';
}

function fmtTime(t) { return t ? new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '-'; }

function card(key, n, id, bad) {
  return el('div', {class: 'card' + (bad ? ' bad' : '')}, el('div', {class: 'n', id, text: String(n)}), el('div', {class: 'k', text: key}));
}

function chart(svg, points, bucket, since, now) {
  svg.replaceChildren();
  const W = +svg.getAttribute('width'), H = +svg.getAttribute('height');
  const start = Math.floor(since / bucket) * bucket; // the server's buckets are multiples of bucket
  const n = Math.max(1, Math.ceil((now - start) / bucket));
  const max = Math.max(1, ...points.map(p => p.videos));
  const bw = W / n;
  for (const p of points) {
    const i = Math.round((p.t - start) / bucket);
    if (i < 0 || i >= n) continue;
    const h = (H - 20) * p.videos / max;
    const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    r.setAttribute('x', (i * bw).toFixed(1)); r.setAttribute('width', Math.max(1, bw - 1).toFixed(1));
    r.setAttribute('y', (H - h).toFixed(1)); r.setAttribute('height', h.toFixed(1));
    const tip = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    tip.textContent = p.videos + ' videos, ' + p.frames + ' frames from ' + fmtTime(p.t);
    r.append(tip); svg.append(r);
  }
  const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
  label.setAttribute('x', 4); label.setAttribute('y', 14); label.setAttribute('font-size', 11);
  label.textContent = 'max ' + max + ' videos per ' + bucket + ' s';
  svg.append(label);
}

async function overview() {
  const o = await api('/api/overview');
  document.getElementById('out').textContent = o.out + ' (' + o.catalog + ')';
  const cards = document.getElementById('cards');
  const kids = [card('videos', o.videos, 'total-videos'), card('frames', o.frames, 'total-frames')];
  for (const [k, n] of Object.entries(o.counts)) kids.push(card(k, n, 'count-' + k, k !== 'ok'));
  cards.replaceChildren(...kids);
  const run = document.getElementById('run');
  if (o.run) {
    const r = o.run;
    run.className = '';
    run.replaceChildren(el('table', {}, el('tbody', {},
      el('tr', {}, el('th', {text: 'state'}), el('td', {id: 'run-state', text: r.state})),
      el('tr', {}, el('th', {text: 'started'}), el('td', {text: fmtTime(r.started)})),
      el('tr', {}, el('th', {text: 'done'}), el('td', {id: 'run-done', text: r.done + ' of ' + r.todo})),
      el('tr', {}, el('th', {text: 'rate'}), el('td', {id: 'run-rate', text: (r.videos_per_second * 60).toFixed(1) + ' videos/min'})),
      el('tr', {}, el('th', {text: 'ETA'}), el('td', {id: 'eta', text: r.state === 'running' ? fmtDuration(r.eta_seconds) : '-'})))));
  }
  document.getElementById('bucket').textContent = '(videos finished per ' + o.timeline.bucket + ' s since ' + fmtTime(o.timeline.since) + ')';
  chart(document.getElementById('chart'), o.timeline.points, o.timeline.bucket, o.timeline.since, o.now);
  const cl = document.getElementById('cluster');
  if (o.queue) {
    const q = o.queue;
    const rows = q.workers.map(w => el('tr', {}, ...[w.id, w.host, w.pid, w.state, w.running, w.done, w.failed, w.videos_per_minute.toFixed(1)].map(v => el('td', {text: String(v)}))));
    cl.replaceChildren(el('h2', {text: 'Cluster'}),
      el('p', {id: 'queue', text: Object.entries(q.counts).map(([k, n]) => k + ' ' + n).join(', ') + '; ETA ' + fmtDuration(q.eta_seconds)}),
      el('table', {id: 'workers'}, el('thead', {}, el('tr', {}, ...['worker', 'host', 'pid', 'state', 'running', 'done', 'failed', 'videos/min'].map(h => el('th', {text: h})))), el('tbody', {}, ...rows)));
  }
  document.getElementById('updated').textContent = 'updated ' + fmtTime(o.now) + ', every 2 s';
}

let after = 0;
async function failures(reset) {
  const f = new FormData(document.getElementById('filters'));
  const p = new URLSearchParams();
  for (const k of ['status', 'class', 'q']) if (f.get(k)) p.set(k, f.get(k));
  if (reset) after = 0;
  if (after) p.set('after', after);
  const page = await api('/api/videos?' + p);
  const tbody = document.querySelector('#videos tbody');
  if (reset) tbody.replaceChildren();
  for (const v of page.videos) {
    const tr = el('tr', {class: 'click', 'data-id': v.id},
      el('td', {}, el('a', {href: '/video?id=' + v.id, text: v.path})), el('td', {class: 'bad', text: v.status}),
      el('td', {text: v.error_class || '-'}), el('td', {class: 'reason', text: v.error || '-'}), el('td', {text: String(v.attempts)}));
    tbody.append(tr);
  }
  document.getElementById('matching').textContent = page.matching + ' videos match';
  const more = document.getElementById('more');
  more.hidden = page.next === null || page.next === undefined;
  after = page.next || 0;
}

async function failuresPage() {
  const f = await api('/api/failures');
  const tbody = document.querySelector('#classes tbody');
  tbody.replaceChildren(...f.classes.map(c => {
    const tr = el('tr', {class: 'click'}, el('td', {text: c.status}), el('td', {text: c.error_class || '-'}), el('td', {text: String(c.videos)}));
    tr.addEventListener('click', () => {
      const form = document.getElementById('filters');
      form.status.value = c.status; form.class.value = c.error_class || ''; failures(true);
    });
    return tr;
  }));
  document.getElementById('retry').textContent = f.retry;
  const form = document.getElementById('filters');
  const q = new URLSearchParams(location.search);
  for (const k of ['status', 'class', 'q']) if (q.has(k)) form[k].value = q.get(k);
  form.addEventListener('submit', e => { e.preventDefault(); failures(true); });
  document.getElementById('more').addEventListener('click', () => failures(false));
  await failures(true);
}

function probeRows(p) {
  const rows = [];
  const add = (k, v) => { if (v !== undefined && v !== null && typeof v !== 'object') rows.push([k, String(v)]); };
  if (p && typeof p === 'object') {
    const video = (p.streams || []).find((st) => st.selected) || (p.streams || [])[0];
    if (video) for (const k of ['codec', 'display_width', 'display_height', 'rotation', 'avg_frame_rate', 'pix_fmt', 'color_space']) add('video ' + k, video[k]);
    for (const [k, v] of Object.entries(p)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k2, v2] of Object.entries(v)) add(k + '.' + k2, v2);
      else add(k, v);
    }
  }
  return rows;
}

async function videoPage() {
  const id = new URLSearchParams(location.search).get('id');
  const v = await api('/api/videos/' + encodeURIComponent(id));
  document.title = 'vidx: ' + v.path;
  document.getElementById('path').textContent = v.path;
  document.getElementById('status').textContent = v.status;
  document.getElementById('class').textContent = v.error_class ? '(' + v.error_class + ')' : '';
  if (v.status !== 'ok') {
    document.getElementById('failure').hidden = false;
    document.getElementById('error').textContent = v.error || '';
    document.getElementById('retry').textContent = v.retry || '';
  }
  const facts = [['size', v.size], ['frames', v.frames], ['attempts', v.attempts], ['seconds', v.seconds], ['started', fmtTime(v.started_at)]]
    .concat(probeRows(v.probe));
  document.querySelector('#probe tbody').replaceChildren(...facts.map(([k, x]) => el('tr', {}, el('th', {text: k}), el('td', {text: String(x)}))));
  const sheet = document.getElementById('sheet');
  const labels = new Map((v.labels || []).map(l => [l.seq, l]));
  sheet.replaceChildren(...v.frame_rows.map(f => {
    const cap = el('figcaption', {text: '#' + f.seq + ' ' + (+f.time).toFixed(3) + ' s' + (f.keyframe ? ' key' : '')});
    const l = labels.get(f.seq);
    if (l && l.error !== null) cap.append(el('div', {class: 'label label-error', text: 'no label: ' + l.error}));
    else if (l) {
      cap.append(el('div', {class: 'label', text: l.caption || ''}));
      if (Array.isArray(l.tags) && l.tags.length) cap.append(el('div', {class: 'tags', text: l.tags.join(', ')}));
    }
    if (f.location === null) return el('figure', {class: 'frame'}, el('div', {class: 'dup', text: 'duplicate of #' + f.dup_of}), cap);
    return el('figure', {class: 'frame'}, el('img', {src: '/api/videos/' + v.id + '/frames/' + f.seq, loading: 'lazy', alt: l && l.caption ? l.caption : 'frame ' + f.seq}), cap);
  }));
  document.getElementById('frames-note').textContent = v.frame_rows.length + ' of ' + v.frames + (v.frames_capped ? ' (capped)' : '');
  if (v.shots.length) {
    const total = v.shots[v.shots.length - 1].end || 1;
    const strip = el('div', {class: 'strip', id: 'strip'});
    for (const s of v.shots) {
      const d = el('div', {class: s.cause, title: s.cause + ' at ' + s.start.toFixed(2) + ' s (score ' + s.score.toFixed(2) + ')', text: s.start.toFixed(1)});
      d.style.width = (100 * (s.end - s.start) / total).toFixed(3) + '%';
      strip.append(d);
    }
    const shots = document.getElementById('shots');
    shots.className = ''; shots.replaceChildren(strip, el('p', {class: 'muted', text: v.shots.length + ' shots'}));
  }
  if (v.segments.length) {
    document.getElementById('no-segments').hidden = true;
    document.querySelector('#segments tbody').replaceChildren(...v.segments.map(s =>
      el('tr', {}, el('td', {text: s.start.toFixed(2) + '-' + s.end.toFixed(2)}), el('td', {text: s.text}))));
  }
  if (v.audio_file) {
    const a = v.audio_file;
    document.getElementById('audio').textContent = a.path + ': ' + a.rate + ' Hz, ' + a.channels + ' ch, ' + (+a.duration).toFixed(2) + ' s';
  }
}

function fail(e) {
  const p = el('p', {class: 'bad', id: 'load-error', text: 'could not load: ' + e.message});
  document.querySelector('main').prepend(p);
}

const page = document.body.dataset.page;
if (page === 'overview') {
  const tick = () => overview().catch(fail);
  tick(); setInterval(tick, 2000);
} else if (page === 'failures') failuresPage().catch(fail);
else if (page === 'video') videoPage().catch(fail);
