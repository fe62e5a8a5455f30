// Drives the real VS Code workbench (code-server) in headless Chromium against sql-lsp through the
// packaged extension, and records what the user sees.
//
//   node e2e.js plan.json        (plan written by tests/editors/test_vscode.py)
//
// Every step waits on a condition in the page (Problems rows matching the expectation, a changed
// editor text, a notification) with a time limit, records what it saw either way, and goes on; the
// Python test asserts on the record (plan.result). Screenshots go to plan.out.
'use strict';
const fs = require('fs');
const path = require('path');

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = require(plan.playwright);
const TIMEOUT = plan.timeout_ms || 30000;
const rec = { errors: [], steps: [], files: {}, screenshots: [] };

function note(msg) {
  rec.steps.push(msg);
  console.log(msg);
}

async function shot(page, name) {
  const file = path.join(plan.out, `${name}.png`);
  await page.screenshot({ path: file });
  rec.screenshots.push(file);
}

// Wait for a page condition; false (and a note) on timeout.
async function until(page, what, fn, arg, timeout = TIMEOUT) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
    return true;
  } catch (e) {
    note(`timed out waiting for ${what}`);
    return false;
  }
}

// ---- what the page shows ----------------------------------------------------------------------

// Problems panel rows: [{file, severity, message, source, code, line, col}] (line, col 1-based as shown).
function problemsInPage() {
  const out = [];
  let file = null;
  for (const row of document.querySelectorAll('.markers-panel .monaco-list-row')) {
    const aria = row.getAttribute('aria-label') || '';
    const m = /problems? in file (.+?) of folder/.exec(aria);
    if (m) {
      file = m[1];
      continue;
    }
    const text = (sel) => (row.querySelector(sel)?.textContent ?? '').replace(/\u00a0/g, ' ');
    const icon = row.querySelector('.marker-icon');
    const pos = /\[Ln (\d+), Col (\d+)\]/.exec(text('.marker-line'));
    out.push({
      file,
      severity: icon ? ['error', 'warning', 'info'].find((s) => icon.classList.contains(s)) ?? null : null,
      message: text('.marker-message'),
      source: text('.marker-source'),
      code: text('.marker-code'),
      line: pos ? Number(pos[1]) : null,
      col: pos ? Number(pos[2]) : null,
    });
  }
  return out;
}

// "file line:code" keys of the sql-lsp rows, sorted: what the waits compare with the expectation.
function problemKeysInPage(problems) {
  return problems
    .filter((p) => p.source === 'sql-lsp')
    .map((p) => `${p.file} ${p.line - 1}:${p.col - 1}:${p.code}`)
    .sort()
    .join('|');
}

function expectedKeys(file, pairs) {
  return pairs.map(([line, col, code]) => `${file} ${line}:${col}:${code}`).sort().join('|');
}

// The active editor's squiggles: [{kind, line}] (line 0-based).
function squigglesInPage() {
  const editor = document.querySelector('.editor-group-container.active .editor-instance .monaco-editor');
  if (!editor) return [];
  const out = [];
  for (const el of editor.querySelectorAll('.view-overlays [class*="squiggly-"]')) {
    const kind = /squiggly-(\w+)/.exec(el.className)[1];
    const parent = el.parentElement;
    const top = parseFloat(parent.style.top);
    const height = parseFloat(parent.style.height);
    out.push({ kind, line: Math.round(top / height) });
  }
  return out.sort((a, b) => a.line - b.line || a.kind.localeCompare(b.kind));
}

// The active editor's text, line by line (Monaco renders spaces as U+00A0).
function editorTextInPage() {
  const editor = document.querySelector('.editor-group-container.active .editor-instance .monaco-editor');
  if (!editor) return null;
  const lines = [...editor.querySelectorAll('.view-lines .view-line')]
    .map((el) => ({ top: parseFloat(el.style.top), text: el.textContent.replace(/\u00a0/g, ' ') }))
    .sort((a, b) => a.top - b.top);
  return lines.map((l) => l.text);
}

// Screen rectangle of characters [col, col + len) of a line of the active editor.
function charRectInPage([line, col, len]) {
  const editor = document.querySelector('.editor-group-container.active .editor-instance .monaco-editor');
  const rows = [...editor.querySelectorAll('.view-lines .view-line')].sort(
    (a, b) => parseFloat(a.style.top) - parseFloat(b.style.top),
  );
  const row = rows[line];
  const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
  let offset = 0;
  const range = document.createRange();
  let startSet = false;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const n = node.textContent.length;
    if (!startSet && col < offset + n) {
      range.setStart(node, col - offset);
      startSet = true;
    }
    if (startSet && col + len <= offset + n) {
      range.setEnd(node, col + len - offset);
      const r = range.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }
    offset += n;
  }
  return null;
}

// The texts of the extension's status-bar items (codicons are not text).
function statusInPage(name) {
  return [...document.querySelectorAll('.statusbar-item')]
    .map((el) => el.textContent.replace(/\u00a0/g, ' ').trim())
    .filter((t) => t.startsWith(name));
}

function toastsInPage() {
  return [...document.querySelectorAll('.notifications-toasts .notification-list-item')].map((el) => ({
    message: (el.querySelector('.notification-list-item-message')?.textContent ?? '').replace(/\u00a0/g, ' '),
    source: el.querySelector('.notification-list-item-source')?.textContent ?? '',
    buttons: [...el.querySelectorAll('.monaco-button')].map((b) => b.textContent),
  }));
}

// ---- workbench actions --------------------------------------------------------------------------

// Pick the quick-input row showing `text`. Headless, the list is sometimes laid out with its
// rows attached but never reported visible, so a click waits in vain; the first match is then
// the focused row, and Enter picks it.
async function pickRow(page, text) {
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ timeout: TIMEOUT });
  try {
    await row.click({ timeout: 5000 });
  } catch (e) {
    const focused = page.locator('.quick-input-list .monaco-list-row.focused', { hasText: text });
    if ((await focused.count()) === 0) throw e;
    await page.keyboard.press('Enter');
  }
}

async function quickOpen(page, file) {
  await page.keyboard.press('Control+P');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: TIMEOUT });
  await page.keyboard.type(file);
  await pickRow(page, file);
  await page.locator('.editor-group-container.active .tab.active', { hasText: file }).waitFor({ timeout: TIMEOUT });
  await page.waitForSelector('.editor-group-container.active .editor-instance .view-lines', { timeout: TIMEOUT });
}

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: TIMEOUT });
  await page.keyboard.type(title);
  await pickRow(page, title);
}

async function showProblems(page) {
  if (!(await page.locator('.markers-panel').isVisible().catch(() => false))) {
    await page.keyboard.press('Control+Shift+M');
    await page.waitForSelector('.markers-panel', { state: 'visible', timeout: TIMEOUT });
  }
}

async function waitProblems(page, file, pairs, timeout = TIMEOUT) {
  const want = expectedKeys(file, pairs);
  await until(
    page,
    `Problems [${want}]`,
    ([want, file, src1, src2]) => {
      const problems = new Function(`return (${src1})`)()();
      const keys = new Function(`return (${src2})`)()(problems.filter((p) => p.file === file));
      return keys === want;
    },
    [want, file, problemsInPage.toString(), problemKeysInPage.toString()],
    timeout,
  );
  const all = await page.evaluate(problemsInPage);
  return all.filter((p) => p.file === file);
}

// Server processes started by the extension: pids of `sql-lsp ... --stdio` in code-server's session.
function serverPids() {
  const out = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
      if (session === plan.session && cmd.includes('--stdio') && cmd.some((a) => /sql[-_]lsp/.test(a))) {
        out.push(Number(pid));
      }
    } catch {
      // gone
    }
  }
  return out.sort((a, b) => a - b);
}

async function waitFor(what, fn) {
  const end = Date.now() + TIMEOUT;
  while (Date.now() < end) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  note(`timed out waiting for ${what}`);
  return null;
}

// ---- the scenario ---------------------------------------------------------------------------------

async function scenario(page) {
  await page.goto(`${plan.url}/?folder=${encodeURIComponent(plan.folder)}`);
  await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 90000 });
  note('workbench loaded');

  // 1. diagnostics: Problems rows and squiggles of each file. Opening the first SQL file
  // activates the extension, which sets up its environment first (a progress notification)
  await showProblems(page);
  rec.status = {};
  let first = true;
  for (const f of plan.files) {
    await quickOpen(page, f.name);
    if (first) {
      rec.setup_progress = await until(page, 'the set-up progress', () =>
        [...document.querySelectorAll('.notifications-toasts .notification-list-item-message')].some((e) =>
          e.textContent.includes('setting up the language server'),
        ),
      );
      await shot(page, '0-setting-up');
    }
    const problems = await waitProblems(page, f.name, f.expect, first ? 300000 : TIMEOUT);
    if (first) {
      rec.status.start = await page.evaluate(statusInPage, plan.status_bar);
      first = false;
    }
    const squiggles = await page.evaluate(squigglesInPage);
    rec.files[f.name] = { problems, squiggles, text: await page.evaluate(editorTextInPage) };
    note(`${f.name}: ${problems.length} problems, ${squiggles.length} squiggles`);
    // nothing to tell the user so far (e.g. no complaint of the server about the settings)
    rec.files[f.name].toasts = await page.evaluate(toastsInPage);
    await shot(page, `1-problems-${f.name.replace(/\W/g, '_')}`);
  }

  // 2. hover: the rendered markdown
  const h = plan.hover;
  await quickOpen(page, h.file);
  await page.keyboard.press('Escape');
  const rect = await page.evaluate(charRectInPage, [h.line, h.col, h.length]);
  if (!rect) throw new Error(`no text at ${h.file}:${h.line}:${h.col}`);
  await page.mouse.move(rect.x + 1, rect.y + rect.height / 2);
  await page.mouse.move(rect.x + rect.width / 2, rect.y + rect.height / 2);
  const shown = await until(page, 'the hover', () => {
    const hover = document.querySelector('.monaco-hover');
    // shown once the fade-in is over
    return !!hover?.querySelector('.rendered-markdown') && getComputedStyle(hover.closest('.monaco-hover') ?? hover).opacity === '1';
  });
  rec.hover = shown
    ? await page.evaluate(() => {
        const parts = [...document.querySelectorAll('.monaco-hover .hover-contents .rendered-markdown')];
        return {
          text: parts.map((p) => p.innerText.replace(/\u00a0/g, ' ').trim()),
          strong: [...document.querySelectorAll('.monaco-hover .rendered-markdown strong')].map((e) => e.textContent),
          code: [...document.querySelectorAll('.monaco-hover .rendered-markdown code')].map((e) => e.textContent),
          tables: [...document.querySelectorAll('.monaco-hover .rendered-markdown table')].map((t) =>
            [...t.rows].map((r) => [...r.cells].map((c) => c.textContent.trim())),
          ),
        };
      })
    : null;
  await shot(page, '2-hover');
  await page.mouse.move(5, 5);
  await page.keyboard.press('Escape');

  // 3. quick fix: cursor on the finding, Ctrl+. opens the menu, pick the action, the editor changes
  const f = plan.fix;
  await quickOpen(page, f.file);
  const before = await page.evaluate(editorTextInPage);
  const at = await page.evaluate(charRectInPage, [f.line, f.col, 1]);
  await page.mouse.click(at.x + 1, at.y + at.height / 2);
  await page.keyboard.press('Control+.');
  const menuShown = await until(page, 'the quick-fix menu', () => !!document.querySelector('.action-widget .monaco-list-row'));
  rec.fix = {
    menu: menuShown
      ? await page.evaluate(() =>
          [...document.querySelectorAll('.action-widget .monaco-list-row.action')].map((r) =>
            r.textContent.replace(/\u00a0/g, ' ').trim(),
          ),
        )
      : null,
  };
  await shot(page, '3-quick-fix-menu');
  const item = page.locator('.action-widget .monaco-list-row.action', { hasText: f.title }).first();
  if (menuShown && (await item.count()) > 0) {
    await item.click();
    await until(page, 'the edit', ([src, before]) => {
      const now = new Function(`return (${src})`)()();
      return now && now.join('\n') !== before.join('\n');
    }, [editorTextInPage.toString(), before]);
  } else {
    await page.keyboard.press('Escape');
  }
  rec.fix.text = await page.evaluate(editorTextInPage);
  rec.fix.problems = await waitProblems(page, f.file, f.expect_after);
  rec.fix.squiggles = await page.evaluate(squigglesInPage);
  await shot(page, '4-after-fix');

  // 4. the extension's commands: refresh the catalog; show the logs
  await runCommand(page, 'SQL LSP: Refresh Catalog');
  await until(page, 'the refresh message', () =>
    [...document.querySelectorAll('.notifications-toasts .notification-list-item-message')].some((e) =>
      e.textContent.startsWith('SQL LSP:'),
    ),
  );
  rec.refresh = await page.evaluate(toastsInPage);
  await page.keyboard.press('Escape');
  await runCommand(page, 'SQL LSP: Show Logs');
  rec.logs_shown = await until(page, 'the SQL LSP output', () =>
    [...document.querySelectorAll('.panel .view-line')].some((e) =>
      e.textContent.replace(/\u00a0/g, ' ').startsWith('Server running'),
    ),
  );
  await shot(page, '5-logs');

  // 5. the server crashes: the extension starts a new one and the diagnostics come back
  const pids = serverPids();
  rec.crash = { before: pids.length };
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  const fresh = await waitFor('a new server process', () => {
    const now = serverPids().filter((p) => !pids.includes(p));
    return now.length ? now : null;
  });
  rec.crash.restarted = !!fresh;
  // the new server answers: refresh the catalog again
  await runCommand(page, 'Notifications: Clear All Notifications');
  await runCommand(page, 'SQL LSP: Refresh Catalog');
  await until(page, 'the refresh message', () =>
    [...document.querySelectorAll('.notifications-toasts .notification-list-item-message')].some((e) =>
      e.textContent.startsWith('SQL LSP:'),
    ),
  );
  rec.crash.toasts = await page.evaluate(toastsInPage);
  await showProblems(page);
  rec.crash.problems = await waitProblems(page, f.file, f.expect_after);

  // 6. a settings change reaches the running server: turning a rule off removes its findings
  fs.writeFileSync(plan.settings_change.file, JSON.stringify(plan.settings_change.settings, null, 2));
  rec.settings_change = { problems: await waitProblems(page, f.file, plan.settings_change.expect) };
  // the other file's rows are still there: the panel shows problems, just not those
  rec.settings_change.schema = (await page.evaluate(problemsInPage)).filter((p) => p.file === 'schema.sql');

  // 8. a database: the status bar says it is connected; "Explain Statement" opens the plan view
  fs.writeFileSync(plan.plan.settings_file, JSON.stringify(plan.plan.settings, null, 2));
  await until(page, 'the database state', ([name, want]) =>
    [...document.querySelectorAll('.statusbar-item')].some((el) => el.textContent.replace(/\u00a0/g, ' ').trim() === want),
    [plan.status_bar, plan.plan.connected], 60000,
  );
  rec.status.connected = await page.evaluate(statusInPage, plan.status_bar);
  fs.writeFileSync(plan.plan.path, plan.plan.text);
  // a new file: Quick Open's file list may lag behind; the Explorer shows it once VS Code sees it
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: plan.plan.file }).first();
  await row.waitFor({ timeout: 60000 });
  await row.click();
  await page.locator('.editor-group-container.active .tab.active', { hasText: plan.plan.file }).waitFor({ timeout: TIMEOUT });
  await page.waitForSelector('.editor-group-container.active .editor-instance .view-lines', { timeout: TIMEOUT });
  // the server plans a file when it is opened: wait for its index finding (priced by HypoPG)
  await until(page, 'the plan-based finding', ([src, file]) =>
    new Function(`return (${src})`)()().some((p) => p.file === file && p.code === 'seq-scan-on-large-table'),
    [problemsInPage.toString(), plan.plan.file], 60000,
  );
  rec.plan_problems = (await page.evaluate(problemsInPage)).filter((p) => p.file === plan.plan.file);
  const start = await page.evaluate(charRectInPage, [0, 0, 1]);
  await page.mouse.click(start.x + 1, start.y + start.height / 2);
  await runCommand(page, 'SQL LSP: Explain Statement');
  rec.plan = null;
  try {
    const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await frame.locator('.node').first().waitFor({ timeout: 60000 });
    rec.plan = await frame.locator('body').evaluate((body) => {
      const texts = (sel, root = body) => [...root.querySelectorAll(sel)].map((e) => e.textContent.trim());
      const sections = [...body.querySelectorAll('section.plan')].map((s) => ({
        heading: s.querySelector('h2')?.textContent.trim() ?? null,
        labels: texts('.node .label', s),
        costliest: texts('.node.costliest .label', s),
        bars: s.querySelectorAll('.bar.cost span').length,
      }));
      const whatif = body.querySelector('section.whatif');
      return {
        headings: texts('h1'),
        statement: texts('pre.statement'),
        sections,
        whatif: whatif ? { title: whatif.querySelector('h2').textContent.trim() } : null,
      };
    });
  } catch (e) {
    note(`no plan view: ${e}`);
  }
  // the plan view alone, full window, for the picture
  const layout = async (title) => {
    try {
      await runCommand(page, title);
    } catch (e) {
      note(`${title}: ${e}`);
      await page.keyboard.press('Escape');
    }
  };
  await layout('View: Hide Panel');
  await layout('View: Close Editors in Other Groups'); // the plan view has the focus
  await page.waitForTimeout(500); // the layout settles (a picture only; nothing is asserted on it)
  await shot(page, '7-plan-view');

  // 9. completion: each case's line typed into a new file of the workspace, Ctrl+Space at the
  // cursor; the suggest widget's first rows as shown, then Enter accepts the first
  if (plan.completion) {
    const c = plan.completion;
    fs.writeFileSync(c.path, '');
    const entry = page.locator('.explorer-folders-view .monaco-list-row', { hasText: c.file }).first();
    await entry.waitFor({ timeout: 60000 });
    await entry.click();
    await page.locator('.editor-group-container.active .tab.active', { hasText: c.file }).waitFor({ timeout: TIMEOUT });
    await page.waitForSelector('.editor-group-container.active .editor-instance .view-lines', { timeout: TIMEOUT });
    const suggestions = () =>
      [...document.querySelectorAll('.suggest-widget.visible .monaco-list-row')]
        .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
        .map((r) => (r.querySelector('.label-name')?.textContent ?? '').replace(/\u00a0/g, ' '));
    rec.completion = [];
    for (const [n, cs] of c.cases.entries()) {
      await page.locator('.editor-group-container.active .editor-instance .view-lines').click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.insertText(cs.text);
      await page.keyboard.press('Escape');
      await page.keyboard.press('Home');
      for (let i = 0; i < cs.col; i++) await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Control+Space');
      await until(page, `the suggestions [${cs.top}]`, ([src, top]) => {
        const shown = new Function(`return (${src})`)()();
        return top.every((label, i) => shown[i] === label);
      }, [suggestions.toString(), cs.top]);
      const shown = await page.evaluate(suggestions);
      await shot(page, `8-completion-${n + 1}`);
      const before = await page.evaluate(editorTextInPage);
      await page.keyboard.press('Enter');
      await until(page, 'the accepted suggestion', ([src, before]) => {
        const now = new Function(`return (${src})`)()();
        return now && now.join('\n') !== before.join('\n');
      }, [editorTextInPage.toString(), before]);
      const text = await page.evaluate(editorTextInPage);
      rec.completion.push({ text: cs.text, labels: shown.slice(0, cs.top.length), applied: text ? text[0] : null });
    }
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.press('Control+S');
  }

  // 10. references and rename in a new file of the workspace: Shift+F12 on `email` of `u.email`
  // opens the references peek (its file rows and their counts as shown); F2 on the CTE, the new
  // name typed into the rename box, Enter: the editor's text once the rename edit is applied
  if (plan.references) {
    const r = plan.references;
    fs.writeFileSync(r.path, r.lines.join('\n') + '\n');
    const entry = page.locator('.explorer-folders-view .monaco-list-row', { hasText: r.file }).first();
    await entry.waitFor({ timeout: 60000 });
    await entry.click();
    await page.locator('.editor-group-container.active .tab.active', { hasText: r.file }).waitFor({ timeout: TIMEOUT });
    await page.waitForSelector('.editor-group-container.active .editor-instance .view-lines', { timeout: TIMEOUT });
    const cursorAt = async (line, col) => {
      await page.locator('.editor-group-container.active .editor-instance .view-lines').click();
      await page.keyboard.press('Control+Home');
      for (let i = 0; i < line; i++) await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Home');
      for (let i = 0; i < col; i++) await page.keyboard.press('ArrowRight');
    };
    const peekFiles = () =>
      [...document.querySelectorAll('.peekview-widget .ref-tree .monaco-list-row')]
        .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
        .map((row) => {
          const file = row.querySelector('.reference-file');
          if (!file) return null;
          const name = (file.querySelector('.label-name')?.textContent ?? '').trim();
          const count = Number((file.querySelector('.count')?.textContent ?? '').trim() || NaN);
          return [name, count];
        })
        .filter((x) => x !== null);
    const want = JSON.stringify([...r.files].sort());
    let files = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      await cursorAt(r.line, r.col);
      await page.keyboard.press('Shift+F12');
      const ok = await until(page, 'the references peek', ([src, want]) => {
        const shown = new Function(`return (${src})`)()();
        return JSON.stringify([...shown].sort()) === want;
      }, [peekFiles.toString(), want], 5000);
      files = await page.evaluate(peekFiles);
      if (ok) break;
      await page.keyboard.press('Escape');
    }
    rec.references = { files };
    await shot(page, '9-references');
    await page.keyboard.press('Escape');
    const before = await page.evaluate(editorTextInPage);
    await cursorAt(r.rename.line, r.rename.col);
    await page.keyboard.press('F2');
    const box = page.locator('.rename-box input, .rename-box .rename-input').first();
    await box.waitFor({ timeout: TIMEOUT });
    await box.fill(r.rename.new_name);
    await shot(page, '10-rename');
    await page.keyboard.press('Enter');
    await until(page, 'the renamed text', ([src, before]) => {
      const now = new Function(`return (${src})`)()();
      return now && now.join('\n') !== before.join('\n');
    }, [editorTextInPage.toString(), before]);
    rec.rename = await page.evaluate(editorTextInPage);
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.press('Control+S');
  }

  // 7. a server command that cannot start: the user edits the settings; the extension restarts
  // the server with the new command and says once that it cannot start it
  await runCommand(page, 'Notifications: Clear All Notifications');
  // code-server is a remote window: machine-scoped settings live in the Remote settings
  await runCommand(page, 'Preferences: Open Remote Settings (JSON)');
  // (a tab, or a modal editor in recent VS Code versions)
  const settingsEditor = page.locator('.monaco-editor .view-lines', { hasText: plan.bad_command.marker }).first();
  await settingsEditor.waitFor({ timeout: TIMEOUT });
  await settingsEditor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete'); // typing over a selection would surround it with the {
  await page.keyboard.insertText(JSON.stringify(plan.bad_command.settings, null, 2));
  await page.keyboard.press('Control+S');
  await until(page, 'the start failure message', () =>
    [...document.querySelectorAll('.notifications-toasts .notification-list-item-message')].some((e) =>
      e.textContent.includes('could not start'),
    ),
  );
  rec.bad_command = await page.evaluate(toastsInPage);
  // screenshots once the toast has faded in
  await page.waitForSelector('.notifications-toasts .notification-toast.notification-fade-in-done', { timeout: TIMEOUT }).catch(() => {});
  await page.locator('.notifications-toasts .notification-toast').first().screenshot({ path: path.join(plan.out, '6-cannot-start-message.png') }).catch((e) => note(`no message screenshot: ${e}`));
  rec.bad_command_file = JSON.parse(fs.readFileSync(plan.bad_command.settings_file, 'utf8'));
  rec.status.stopped = await page.evaluate(statusInPage, plan.status_bar);
  await shot(page, '6-cannot-start');
}

(async () => {
  const profile = fs.mkdtempSync(path.join(plan.out, 'chromium-profile-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: plan.chromium,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 720 },
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.on('pageerror', (e) => note(`page error: ${e.message}`));
  try {
    await scenario(page);
  } catch (e) {
    rec.errors.push(String((e && e.stack) || e));
    note(`ERROR ${e && e.stack}`);
    await shot(page, 'error').catch(() => {});
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  fs.writeFileSync(plan.result, JSON.stringify(rec, null, 2));
  process.exit(rec.errors.length ? 1 : 0);
})();
