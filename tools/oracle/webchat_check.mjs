// Drives the web chat page of `jlora serve` in headless Chromium (Debian's /usr/bin/chromium,
// or $CHROMIUM) through playwright-core: two turns at phone width, watching the reply grow
// while it streams, then Stop on an endless reply. Usage:
//   node webchat_check.mjs URL SCREENSHOT_PATH FIRST_MESSAGE SECOND_MESSAGE STOP_MESSAGE
// Prints one JSON object with what the page showed; ServeWebChatTest checks it.
import { chromium } from "playwright-core";

const [url, shot, first, second, endless] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const out = { errors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 390, height: 780 }, deviceScaleFactor: 2 });
  page.on("pageerror", e => out.errors.push(String(e)));
  page.on("console", m => { if (m.type() === "error") out.errors.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("model").textContent !== "…");
  out.model = await page.textContent("#model");
  out.lang = await page.evaluate(() => document.documentElement.lang);
  await page.click("details summary");
  await page.fill("#system", "친절하게 답하세요.");

  async function turn(text) {
    const before = await page.locator(".msg.assistant").count();
    await page.fill("#input", text);
    await page.press("#input", "Enter");
    const bubble = page.locator(".msg.assistant").nth(before);
    await bubble.waitFor();
    const seen = new Set();
    for (let i = 0; i < 2000; i++) {
      const state = await bubble.getAttribute("data-state");
      seen.add(await bubble.textContent());
      if (state === "done") break;
      await page.waitForTimeout(10);
    }
    return { reply: await bubble.textContent(), partials: seen.size };
  }
  out.first = await turn(first);
  out.second = await turn(second);
  out.overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  out.fontOk = await page.evaluate(() => document.fonts.check("16px NanumGothic") || document.fonts.check("16px 'Noto Sans CJK KR'"));
  await page.screenshot({ path: shot });

  await page.fill("#input", endless);
  await page.press("#input", "Enter");
  const last = page.locator(".msg.assistant").last();
  await page.waitForFunction(() => { const b = [...document.querySelectorAll(".msg.assistant")].pop(); return b && b.textContent.length > 3; });
  await page.click("#stop");
  await page.waitForFunction(() => { const b = [...document.querySelectorAll(".msg.assistant")].pop(); return b.dataset.state === "done"; });
  out.stopped = await last.textContent();
  out.sendEnabled = await page.isEnabled("#send");
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
