// The live dashboard in a real headless browser (Debian's chromium driven
// by playwright-core; never a downloaded browser).
// usage: node dashboard.cjs BASE_URL SCREENSHOT
// Prints READY once the page is open and live, waits for WRITTEN on stdin
// (the test's CLI writes are done), then checks they appear without reload.
const { chromium } = require('playwright-core');
const readline = require('readline');

const [base, screenshot] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));

function check(condition, what) {
  if (!condition) {
    console.log(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok ${what}`);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.STATEBOX_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 760 } });
    const external = [];
    page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
    await page.goto(`${base}/`);
    const cell = (release, task) => page.locator(`.cell[data-release="${release}"][data-task="${task}"]`);
    const status = (release, task) => cell(release, task).getAttribute('data-status');

    const rows = await page.locator('#heatmap tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.release));
    check(JSON.stringify(rows) === JSON.stringify(['4.21.0-rc.1', '4.20.7', '4.19.40', '4.18.12']), `rows newest first: ${rows}`);
    check(await page.locator('#heatmap th.task').count() === 13, 'one column per catalog task');
    check(await status('4.18.12', 'take-ownership') === 'Pass', '4.18.12 take-ownership Pass');
    check((await cell('4.18.12', 'take-ownership').innerText()).startsWith('✓'), 'Pass shows ✓');
    check(await status('4.19.40', 'image-consistency-check') === 'Fail', '4.19.40 image-consistency-check Fail');
    check((await cell('4.19.40', 'image-consistency-check').innerText()).startsWith('✗'), 'Fail shows ✗');
    check(await cell('4.19.40', 'image-consistency-check').getAttribute('data-blocked') === 'true', 'blocker mark');
    check(await status('4.19.40', 'stage-testing') === 'In Progress', 'stage-testing In Progress');
    check((await cell('4.19.40', 'stage-testing').innerText()).startsWith('▶'), 'In Progress shows ▶');
    check(await status('4.20.7', 'take-ownership') === 'Not Started', '4.20.7 take-ownership Not Started');
    check((await cell('4.20.7', 'take-ownership').innerText()).startsWith('○'), 'Not Started shows ○');
    await cell('4.19.40', 'take-ownership').hover();
    const tip = cell('4.19.40', 'take-ownership').locator('.tip');
    check(await tip.isVisible(), 'hover shows details');
    const details = await tip.innerText();
    check(details.includes('started') && details.includes('completed') && details.includes('duration'), `hover details: ${details.replace(/\n/g, ' | ')}`);
    await page.waitForSelector('#live.on', { timeout: 5000 });
    console.log('READY');

    await nextLine();
    const written = Date.now();
    await page.waitForFunction(() => {
      const c = document.querySelector('.cell[data-release="4.20.7"][data-task="take-ownership"]');
      return c && c.dataset.status === 'Pass';
    }, null, { timeout: 2000 });
    console.log(`ok the CLI write appeared without reload after ${Date.now() - written} ms`);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`ok screenshot ${screenshot}`);

    await page.goto(`${base}/release/4.19.40`);
    const result = await page.locator('details[data-task="image-signed-check"] pre').textContent();
    check(result.includes('<script>window.__pwned = 1</script>'), 'a <script> in a task result is shown as text');
    check(await page.evaluate(() => window.__pwned === undefined), 'and never runs');
    check(external.length === 0, `no external request (${external.join(', ')})`);
    console.log('ALL CHECKS PASSED');
  } finally {
    await browser.close();
    lines.close();
  }
})().catch((e) => { console.log(`FAIL: ${e.stack || e}`); process.exit(1); });
