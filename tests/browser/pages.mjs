// pages.mjs - drives Debian's chromium (headless, through playwright-core) over
// the pages of a running `vidx serve`, and prints what it saw as one JSON line.
// tests/cli/test_browser.py runs it and checks the answers; scripts/screenshots.sh
// uses the "screenshots" scenario.
//
//   node tests/browser/pages.mjs SCENARIO BASE_URL [ARG...]
//     overview              the overview's cards once loaded
//     failures CLASS        the failures table, then filtered by clicking CLASS's row
//     video ID              a video page: its texts, and every frame image loaded with
//                           its pixels measured (drawn onto a canvas)
//     live SECONDS          the overview polled every 100 ms for up to SECONDS, until
//                           the run reads "finished": the values it showed
//     screenshots DIR ID    a PNG of each page (overview, failures, video ID) into DIR
import { chromium } from 'playwright-core';

const [scenario, base, ...args] = process.argv.slice(2);
const executablePath = process.env.VIDX_CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({ executablePath, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
const problems = [];
page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
page.on('pageerror', (e) => problems.push('page error: ' + e.message));

async function text(sel) {
  const e = await page.$(sel);
  return e ? (await e.textContent()).trim() : null;
}

async function cards() {
  return page.$$eval('#cards .card', (cs) => Object.fromEntries(cs.map((c) =>
    [c.querySelector('.k').textContent, Number(c.querySelector('.n').textContent)])));
}

// Every image of the contact sheet, once loaded, drawn onto a canvas: size and pixel spread.
async function measureImages() {
  await page.waitForFunction(() => [...document.querySelectorAll('#sheet img')].every((i) => i.complete),
    null, { timeout: 20000 });
  return page.$$eval('#sheet img', (imgs) => imgs.map((img) => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    if (!c.width || !c.height) return { src: img.getAttribute('src'), width: 0, height: 0 };
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0, sum = 0, sum2 = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4 * 7) {
      const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      n++; sum += y; sum2 += y * y;
      colours.add((d[i] >> 4) << 8 | (d[i + 1] >> 4) << 4 | (d[i + 2] >> 4));
    }
    const mean = sum / n;
    return { src: img.getAttribute('src'), width: c.width, height: c.height, mean,
      stddev: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), colours: colours.size };
  }));
}

const out = { scenario };
try {
  if (scenario === 'overview') {
    await page.goto(base);
    await page.waitForSelector('#total-videos', { timeout: 15000 });
    out.cards = await cards();
    out.run_state = await text('#run-state');
    out.bars = await page.$$eval('#chart rect', (r) => r.length);
  } else if (scenario === 'failures') {
    await page.goto(base + 'failures');
    await page.waitForSelector('#videos tbody tr', { timeout: 15000 });
    const rows = () => page.$$eval('#videos tbody tr', (trs) => trs.map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    out.rows = await rows();
    out.matching = await text('#matching');
    out.retry = await text('#retry');
    out.classes = await page.$$eval('#classes tbody tr', (trs) => trs.map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const row = page.locator('#classes tbody tr', { hasText: args[0] });
    await row.first().click();
    await page.waitForFunction((cls) => [...document.querySelectorAll('#videos tbody tr')]
      .every((tr) => tr.children[2].textContent === cls), args[0], { timeout: 10000 });
    out.filtered = await rows();
    // open the first failed video's page from the table: its reason is shown there
    await page.locator('#videos tbody tr a').first().click();
    await page.waitForSelector('#error', { state: 'visible', timeout: 15000 });
    out.opened = { path: await text('#path'), status: await text('#status'), error: await text('#error'),
      retry: await text('#retry') };
  } else if (scenario === 'video') {
    await page.goto(base + 'video?id=' + args[0]);
    await page.waitForFunction(() => document.querySelector('#status').textContent !== '', null, { timeout: 15000 });
    out.path = await text('#path');
    out.status = await text('#status');
    out.error = await text('#error');
    out.failure_shown = await page.isVisible('#failure');
    out.images = await measureImages();
    out.shots = await page.$$eval('#strip div', (d) => d.length);
    out.probe_rows = await page.$$eval('#probe tr', (r) => r.length);
  } else if (scenario === 'live') {
    await page.goto(base);
    await page.waitForSelector('#total-videos', { timeout: 15000 });
    console.log(JSON.stringify({ ready: true })); // the caller starts its run now
    const seen = [];
    const deadline = Date.now() + Number(args[0]) * 1000;
    const read = () => page.evaluate(() => ['#total-videos', '#run-state', '#run-done', '#eta'].map((s) => {
      const e = document.querySelector(s);
      return e ? e.textContent.trim() : null;
    })); // one read of the page between two of its updates
    let started = false;
    while (Date.now() < deadline) {
      const v = await read();
      v[0] = Number(v[0]);
      const last = seen[seen.length - 1];
      if (!last || last.join() !== v.join()) seen.push(v);
      started = started || v[1] === 'running';
      if (started && v[1] === 'finished') break;
      await page.waitForTimeout(100);
    }
    out.seen = seen;
  } else if (scenario === 'screenshots') {
    const [dir, id] = args;
    await page.goto(base);
    await page.waitForSelector('#total-videos');
    await page.waitForTimeout(300);
    await page.screenshot({ path: dir + '/overview.png', fullPage: true });
    await page.goto(base + 'failures');
    await page.waitForSelector('#videos tbody tr');
    await page.screenshot({ path: dir + '/failures.png', fullPage: true });
    await page.goto(base + 'video?id=' + id);
    await page.waitForFunction(() => document.querySelector('#status').textContent !== '');
    await measureImages();
    await page.screenshot({ path: dir + '/video.png', fullPage: true });
    out.written = ['overview.png', 'failures.png', 'video.png'];
  } else {
    throw new Error('unknown scenario ' + scenario);
  }
} catch (e) {
  out.error_thrown = String(e && e.stack || e);
}
out.problems = problems;
await browser.close();
console.log(JSON.stringify(out));
