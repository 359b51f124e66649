// Screenshots an HTML report in headless Chromium: node scripts/screenshot.mjs report.html out.png [width]
import { chromium } from 'playwright-core';
import * as path from 'node:path';

const [file, out, width = '1440'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const page = await browser.newPage({ viewport: { width: Number(width), height: 1000 } });
await page.goto(`file://${path.resolve(file)}`);
await page.waitForSelector('.main-svg', { timeout: 30000 });
await page.waitForTimeout(500);
await page.screenshot({ path: out, fullPage: true });
await browser.close();
