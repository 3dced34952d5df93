#!/usr/bin/env node
// Drives JupyterLab 4 (or Notebook 7, --app notebook) in Debian's headless
// Chromium the way a user does (test/e2e/test_browser.py): opens a notebook
// with the Go (mpigo) kernel and runs checks against what the page shows,
// in this order (--checks picks some):
//
//   cells      the first code cell and the first `%mpirun -n 4` cell run
//              (click, Ctrl+Enter): the plain cell's output, a `[rank N] `
//              line per rank, the progress line updated in place (one output
//              whose text changes and ends "done: ..."), the HTML summary
//              table; screenshot of the %mpirun cell (and --picture)
//   highlight  the editors are in Go mode: `func` is drawn in the theme's
//              keyword colour, a string literal in its string colour
//   complete   in a new cell, `strings.ToUp` typed + Tab lists ToUpper; Enter
//              takes it
//   complete_type  ... with a type icon: the kernel's
//              _jupyter_types_experimental says "function"
//   inspect    Shift+Tab on `strings.ToUpper` shows its signature and doc in
//              a tooltip, and so does Help > Show Contextual Help
//   interrupt  the toolbar's Interrupt stops a running `%mpirun -n 4` cell:
//              the cell shows the interruption and no rank process is left
//   restart    the toolbar's Restart (confirmed in its dialog) gives a new
//              kernel process, idle, without the old state; cells run again
//   console    File > New > Console with Go (mpigo), Settings > Console Run
//              Keystroke > Execute with Enter: Enter inserts a newline while
//              the code is incomplete and runs it once it is complete (each
//              Enter is an is_complete_request, answered within the console's
//              250 ms)
//   debugger   the notebook toolbar's bug button enables the debugger; a cell
//              declares square(), a second one loops calling it; a click in
//              the gutter of the loop's body line sets a breakpoint, the cell
//              runs and stops there: the Call Stack panel lists the frame,
//              the editor highlights the line, the Variables panel shows i
//              (screenshot, and --debugger-picture); the breakpoint removed
//              from the gutter, the Call Stack's Continue lets the cell finish
//              with its lines in order; the bug button disables the debugger
//
// A check that fails is reported and the next one still runs. Prints one
// JSON object on stdout: {app, kernel, checks: {NAME: {ok, error?, ...}},
// console_errors, timings}. Exits 0 when every check passed, 1 when one
// failed (the JSON and stderr say which), 2 on bad usage or when the page
// could not be driven at all (no JSON then).
//
//   node test/browser/lab.js --url http://127.0.0.1:8888 --token TOKEN \
//        --notebook 00-introduction.ipynb --artifacts out/test-artifacts
//
// Options:
//   --url URL            the Jupyter server (required)
//   --token TOKEN        its token (required)
//   --notebook PATH      the notebook, relative to the server's root (required)
//   --app lab|notebook   JupyterLab (/lab/tree/...) or Notebook 7 (/notebooks/...) (default lab)
//   --checks LIST        comma-separated checks (default: all of the above)
//   --artifacts DIR      where screenshots go, named APP-*.png (default: none taken)
//   --picture FILE       the %mpirun cell again at device pixels (--scale), for the README
//   --debugger-picture FILE  the page stopped at the breakpoint at device pixels, for the README
//   --scale N            device scale factor (default 1; 2 for a sharp --picture)
//   --user-data-dir DIR  Chromium profile (default: a new temporary one, removed after)
//   --chromium PATH      the browser (default $CHROMIUM or /usr/bin/chromium)
//   --timeout SECONDS    for the kernel to start and for each cell to run (default 120)
//
// The server must run with expose_app_in_browser (window.jupyterapp): the
// script reads the notebook's model through it (cell sources, output types,
// the kernel's id). What it checks is what the page renders, the kernel
// messages on the page's websocket, and processes (/proc: the kernel's, the
// ranks'); it must run on the server's machine.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const { usageExit, parseOptions, launchBrowser } = require('./common');

const ALL_CHECKS = ['cells', 'highlight', 'complete', 'complete_type', 'inspect', 'interrupt', 'restart', 'console', 'debugger'];
// what JupyterLab's console allows the kernel for an is_complete_reply
// before it gives up and treats the input as complete (CodeConsole)
const IS_COMPLETE_TIMEOUT_MS = 250;
const STDOUT_SEL = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]';
const ERROR_SEL = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';

const USAGE =
	'node lab.js --url URL --token TOKEN --notebook PATH [--app lab|notebook] [--checks LIST] ' +
	'[--artifacts DIR] [--picture FILE] [--debugger-picture FILE] [--scale N] [--user-data-dir DIR] [--chromium PATH] [--timeout SECONDS]';
const usage = (msg) => usageExit('lab.js', USAGE, msg);

function parseArgs(argv) {
	const opts = parseOptions(
		argv,
		{
			url: { required: true },
			token: { required: true },
			notebook: { required: true },
			app: { default: 'lab' },
			checks: { default: ALL_CHECKS.join(',') },
			artifacts: {},
			picture: {},
			debuggerPicture: {},
			scale: { default: 1, number: true },
			userDataDir: {},
			chromium: { default: process.env.CHROMIUM || '/usr/bin/chromium' },
			timeout: { default: 120, number: true },
		},
		usage,
	);
	if (!['lab', 'notebook'].includes(opts.app)) usage(`--app must be lab or notebook, not ${opts.app}`);
	opts.checks = opts.checks.split(',').filter(Boolean);
	for (const c of opts.checks) if (!ALL_CHECKS.includes(c)) usage(`unknown check ${c} (known: ${ALL_CHECKS.join(', ')})`);
	opts.url = opts.url.replace(/\/+$/, '');
	return opts;
}

// A failed check: message says what the page showed instead; details go
// into the check's JSON result.
class CheckError extends Error {
	constructor(message, details) {
		super(message);
		this.details = details || {};
	}
}

const firstLine = (e) => String((e && e.message) || e).split('\n')[0];

// ---------------------------------------------------------------------------
// Processes (Linux /proc): the kernel the page talks to and what it starts

function cmdline(pid) {
	try {
		return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
	} catch {
		return [];
	}
}

function procStat(pid) {
	try {
		const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
		const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
		return { state: f[0], ppid: Number(f[1]) };
	} catch {
		return null;
	}
}

// alive and not a zombie
function alive(pid) {
	const st = procStat(pid);
	return st !== null && st.state !== 'Z';
}

function allPids() {
	return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
}

// The kernel process of kernel id (the server names its connection file
// kernel-ID.json), or null.
function kernelPid(kernelId) {
	const pids = allPids().filter((p) => alive(p) && cmdline(p).some((a) => a.endsWith(`kernel-${kernelId}.json`)));
	return pids.length ? Math.min(...pids) : null;
}

function descendants(pid) {
	const children = new Map();
	for (const p of allPids()) {
		const st = procStat(p);
		if (!st || st.state === 'Z') continue;
		if (!children.has(st.ppid)) children.set(st.ppid, []);
		children.get(st.ppid).push(p);
	}
	const out = [];
	const todo = [pid];
	while (todo.length) {
		for (const c of children.get(todo.pop()) || []) {
			out.push(c);
			todo.push(c);
		}
	}
	return out;
}

// ---------------------------------------------------------------------------
// Kernel messages as they cross the page's websocket (jupyter_server's
// v1.kernel.websocket.jupyter.org binary frames, or the older JSON text)

function decodeFrame(payload) {
	try {
		if (typeof payload === 'string') {
			const m = JSON.parse(payload);
			return { channel: m.channel, header: m.header, parent: m.parent_header, content: m.content };
		}
		const buf = Buffer.from(payload);
		const n = Number(buf.readBigUInt64LE(0));
		const offs = [];
		for (let i = 1; i <= n; i++) offs.push(Number(buf.readBigUInt64LE(8 * i)));
		const part = (i) => buf.subarray(offs[i], i + 1 < offs.length ? offs[i + 1] : buf.length).toString('utf8');
		return {
			channel: part(0),
			header: JSON.parse(part(1)),
			parent: JSON.parse(part(2) || '{}'),
			content: JSON.parse(part(4) || '{}'),
		};
	} catch {
		return null;
	}
}

// Records requests of the given types sent by the page, the replies to them
// (and how long each took, as the page saw it), and how many iopub messages
// of each type each request caused.
function recordMessages(page, types) {
	const sent = new Map(); // msg_id -> {type, t, content}
	const log = [];
	page.on('websocket', (ws) => {
		ws.on('framesent', (f) => {
			const m = decodeFrame(f.payload);
			if (m && m.header && types.includes(m.header.msg_type)) {
				const r = { type: m.header.msg_type, id: m.header.msg_id, t: Date.now(), content: m.content, reply: null, iopub: {} };
				sent.set(r.id, r);
				log.push(r);
			}
		});
		ws.on('framereceived', (f) => {
			const m = decodeFrame(f.payload);
			const r = m && m.parent && sent.get(m.parent.msg_id);
			if (!r) return;
			if (m.header.msg_type === r.type.replace(/_request$/, '_reply')) {
				r.reply = m.content;
				r.ms = Date.now() - r.t;
			} else if (m.channel === 'iopub') {
				r.iopub[m.header.msg_type] = (r.iopub[m.header.msg_type] || 0) + 1;
			}
		});
	});
	return log;
}

// ---------------------------------------------------------------------------

const consoleErrors = []; // everything the page says that may explain a failure

async function main() {
	const opts = parseArgs(process.argv.slice(2));
	if (opts.artifacts) fs.mkdirSync(opts.artifacts, { recursive: true });

	const t0 = Date.now();
	const timings = {};
	const mark = (name) => (timings[name] = (Date.now() - t0) / 1000);
	const ownProfile = !opts.userDataDir;
	const userDataDir = opts.userDataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'mpigo-chromium-'));

	// a fresh profile (--user-data-dir), so that the caller can find this
	// browser's processes by it
	let context;
	try {
		let page;
		({ context, page } = await launchBrowser({
			executable: opts.chromium,
			userDataDir,
			viewport: { width: 1280, height: 900 },
			scale: opts.scale,
			consoleErrors,
		}));
		mark('browser');
		const messages = recordMessages(page, ['execute_request', 'complete_request', 'inspect_request', 'is_complete_request', 'debug_request']);
		const kernel = await openNotebook(page, opts);
		mark('kernel_idle');
		const ctx = { page, opts, kernel, messages, mark };
		const checks = {};
		for (const name of ALL_CHECKS) {
			if (opts.checks.includes(name)) checks[name] = await runCheck(ctx, name);
		}
		return { app: opts.app, url: opts.url, notebook: opts.notebook, kernel, checks, console_errors: consoleErrors, timings };
	} finally {
		if (context) await context.close().catch(() => {});
		if (ownProfile) fs.rmSync(userDataDir, { recursive: true, force: true });
	}
}

// Runs one check: its result, or {ok: false, error} with a screenshot of the
// page as it was; then puts the page back in a neutral state (no completer,
// tooltip or dialog open) for the next check.
async function runCheck(ctx, name) {
	const t = Date.now();
	let res;
	try {
		res = { ok: true, ...(await CHECKS[name](ctx)) };
	} catch (e) {
		res = { ok: false, error: e instanceof CheckError ? e.message : e.stack || String(e), ...(e.details || {}) };
		const shot = await screenshot(ctx, ctx.page, `failed-${name}`).catch(() => null);
		if (shot) res.failure_screenshot = shot;
		process.stderr.write(`lab.js: FAIL ${name}: ${res.error}\n`);
	}
	res.seconds = (Date.now() - t) / 1000;
	ctx.mark(name);
	const page = ctx.page;
	for (let i = 0; i < 2; i++) await page.keyboard.press('Escape').catch(() => {});
	// a dialog left open (restart, kernel choice) would block every later click
	const reject = page.locator('.jp-Dialog .jp-mod-reject');
	if (await reject.count().catch(() => 0)) await reject.first().click({ timeout: 5000 }).catch(() => {});
	return res;
}

async function screenshot(ctx, target, name, extra = {}) {
	if (!ctx.opts.artifacts) return null;
	const file = path.resolve(ctx.opts.artifacts, `${ctx.opts.app}-${name}.png`);
	await target.screenshot({ path: file, scale: 'css', animations: 'disabled', caret: 'hide', timeout: 30000, ...extra });
	return file;
}

// Opens the notebook and waits for its kernel to be idle. Returns what the
// kernel said of itself; window.__mpigoPanel is the notebook's panel.
async function openNotebook(page, opts) {
	const rel = opts.notebook.split('/').map(encodeURIComponent).join('/');
	const nbUrl = `${opts.url}/${opts.app === 'lab' ? 'lab/tree' : 'notebooks'}/${rel}`;
	const resp = await page.goto(`${nbUrl}?token=${encodeURIComponent(opts.token)}`, {
		waitUntil: 'domcontentloaded',
		timeout: 60000,
	});
	if (!resp || !resp.ok()) throw new Error(`GET ${nbUrl}: ${resp ? resp.status() + ' ' + resp.statusText() : 'no response'}`);
	if (/\/login$/.test(new URL(page.url()).pathname)) {
		throw new Error(`the server refused the token: GET ${nbUrl} led to its login page ${page.url()}`);
	}
	const handle = await page
		.waitForFunction(
			(nbPath) => {
				const dialog = document.querySelector('.jp-Dialog');
				if (dialog) return { dialog: dialog.innerText };
				const app = window.jupyterapp;
				if (!app || !app.shell) return false;
				const panel = [...app.shell.widgets('main')].find((w) => w.context && w.context.path === nbPath);
				const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
				if (!kernel || kernel.status !== 'idle' || !panel.content.widgets.length) return false;
				window.__mpigoPanel = panel;
				return { panelId: panel.id, id: kernel.id, name: kernel.name };
			},
			decodeURIComponent(rel),
			{ timeout: opts.timeout * 1000, polling: 100 },
		)
		.catch((e) => {
			throw new Error(
				`the notebook did not get an idle kernel within ${opts.timeout} s` +
					` (is the server running with expose_app_in_browser?): ${firstLine(e)}`,
			);
		});
	const ready = await handle.jsonValue();
	if (ready.dialog) throw new Error(`the page shows a dialog instead of an idle kernel: ${ready.dialog}`);
	panelId = ready.panelId;
	const info = await page.evaluate(async () => {
		const i = await window.__mpigoPanel.sessionContext.session.kernel.info;
		return { implementation: i.implementation, language: i.language_info && i.language_info.name, protocol: i.protocol_version };
	});
	if (opts.app === 'lab') {
		// more room for the notebook (and the README picture): no file browser
		await page.evaluate(() => window.jupyterapp.shell.collapseLeft());
	}
	return { ...ready, ...info, pid: kernelPid(ready.id) };
}

// ---------------------------------------------------------------------------
// The notebook

// the notebook panel's DOM id (openNotebook sets it): the page may show
// other panels (a console, Contextual Help) next to it
let panelId = null;
const cellsOf = (page) => page.locator('#' + panelId + ' .jp-Notebook .jp-Cell');

// Cell sources and types from the model.
async function cellList(page) {
	return page.evaluate(() =>
		window.__mpigoPanel.content.widgets.map((w, index) => ({
			index,
			type: w.model.type,
			source: w.model.sharedModel.getSource(),
		})),
	);
}

// Appends a code cell at the end of the notebook and types source into it
// (inserted whole, as a paste: the editor's auto-indent does not apply).
// Returns its index; the cell is in edit mode.
async function appendCell(ctx, source) {
	const page = ctx.page;
	const cells = cellsOf(page);
	const n = await cells.count();
	await cells.nth(n - 1).locator('.jp-InputPrompt').click();
	await page.keyboard.press('Escape');
	await page.keyboard.press('b'); // command mode: insert a cell below
	const cell = cells.nth(n);
	await cell.waitFor({ timeout: 10000 });
	await cell.locator('.cm-content').click();
	if (source) await page.keyboard.insertText(source);
	const got = await cell.locator('.cm-content').innerText();
	if (got.replace(/\s+/g, '') !== source.replace(/\s+/g, '')) {
		throw new CheckError(`typed ${JSON.stringify(source)} into a new cell, which shows ${JSON.stringify(got)}`);
	}
	return n;
}

// Runs cell i the way a user does (select it, Ctrl+Enter: run in place) and
// waits for the notebook to say it finished: the prompt shows the
// execution count, which JupyterLab sets once the kernel's reply and its
// idle status have come. Returns what the cell's output area shows.
async function runCell(ctx, i, timeoutS = ctx.opts.timeout) {
	const page = ctx.page;
	const cell = cellsOf(page).nth(i);
	const prompt = cell.locator('.jp-InputArea-prompt');
	const before = (await prompt.textContent()).trim();
	// a cell that ran already shows a count: waiting for one would not wait
	if (!/^\[ ?\]:$/.test(before)) throw new Error(`cell ${i} ran before (prompt ${before}); run fresh cells only`);
	await cell.locator('.jp-InputPrompt').click();
	await page.keyboard.press('Control+Enter');
	await cell
		.locator('.jp-InputArea-prompt')
		.filter({ hasText: /^\[\d+\]:$/ })
		.waitFor({ timeout: timeoutS * 1000 })
		.catch(async (e) => {
			const state = await cellOutput(page, i).catch(() => ({}));
			throw new CheckError(
				`cell ${i} did not finish within ${timeoutS} s (prompt ${JSON.stringify(state.prompt)}); ` +
					`its output so far:\n${String(state.text || '').slice(-2000)}\n(${firstLine(e)})`,
			);
		});
	return cellOutput(page, i);
}

// What cell i shows: its prompt, the rendered text of every output, the
// stdout text, errors, the %mpirun progress line(s) and summary table, and
// the output types of the model (display_data, stream:stdout, error...).
async function cellOutput(page, i) {
	return page.evaluate(
		({ i, STDOUT_SEL }) => {
			const w = window.__mpigoPanel.content.widgets[i];
			const node = w.node;
			const area = node.querySelector('.jp-OutputArea');
			const children = area ? [...area.querySelectorAll('.jp-OutputArea-child')] : [];
			// textContent, not innerText: a cell out of view (content-visibility:
			// auto) is not laid out and has no innerText
			const textOf = (e) => e.textContent.replace(/\n$/, '');
			let summary = null;
			for (const table of area ? area.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/html"] table') : []) {
				const heads = [...table.querySelectorAll('th')].map((th) => th.textContent.trim());
				if (!heads.includes('ranks')) continue;
				const box = table.closest('.mpigo-mpirun-summary') || table.parentElement;
				const title = box.querySelector('p');
				summary = {
					class: box.className,
					title: title ? title.textContent : '',
					headers: heads,
					rows: [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())),
				};
				break;
			}
			const outputs = w.model.outputs ? w.model.outputs.toJSON() : [];
			return {
				prompt: node.querySelector('.jp-InputArea-prompt').textContent.trim(),
				executionCount: w.model.executionCount,
				text: children.map(textOf).join('\n'),
				streamText: area ? [...area.querySelectorAll(STDOUT_SEL)].map(textOf).join('\n') : '',
				progress: children.map(textOf).filter((t) => t.startsWith('%mpirun:')),
				errors: outputs.filter((o) => o.output_type === 'error').map((o) => ({ ename: o.ename, evalue: o.evalue })),
				outputTypes: outputs.map((o) => o.output_type + (o.name ? ':' + o.name : '')),
				result: outputs
					.filter((o) => o.output_type === 'execute_result')
					.map((o) => [].concat(o.data['text/plain']).join(''))
					.join('\n'),
				summary,
			};
		},
		{ i, STDOUT_SEL },
	);
}

function rankLinesOf(text) {
	return text.split('\n').filter((l) => /^\[rank \d+\] /.test(l));
}

function ranksIn(lines) {
	return [...new Set(lines.map((l) => Number(/^\[rank (\d+)\]/.exec(l)[1])))].sort((a, b) => a - b);
}

// Puts the page at rest before a picture: command mode, no cursor, the
// selection on another cell than the pictured one.
async function atRest(ctx, selectIndex) {
	const page = ctx.page;
	await cellsOf(page).nth(selectIndex).locator('.jp-InputPrompt').click();
	await page.keyboard.press('Escape');
	await page.evaluate(() => document.activeElement && document.activeElement.blur());
}

// ---------------------------------------------------------------------------
// The checks

const CHECKS = {
	async cells(ctx) {
		const { page, opts } = ctx;
		const list = await cellList(page);
		const code = list.filter((c) => c.type === 'code');
		const plain = code[0];
		const mpirun = code.find((c) => /^%%?mpirun\s+-n\s*4(\s|$)/.test(c.source.trimStart()));
		if (!plain) throw new CheckError(`${opts.notebook} has no code cell`);
		if (!mpirun) throw new CheckError(`${opts.notebook} has no cell starting with \`%mpirun -n 4\``);
		if (plain.index === mpirun.index) throw new CheckError(`the first code cell of ${opts.notebook} is the %mpirun cell`);

		const plainOut = await runCell(ctx, plain.index);
		const res = {
			plain: { index: plain.index, source: plain.source, execution_count: plainOut.executionCount, output: plainOut.text, errors: plainOut.errors },
		};
		if (plainOut.errors.length) throw new CheckError(`the first code cell failed: ${JSON.stringify(plainOut.errors)}`, res);
		if (!plainOut.text.trim()) throw new CheckError('the first code cell shows no output', res);

		// Every state the progress line goes through, as the page shows it:
		// the text of each progress output after each change, and the texts
		// replaced (removed nodes keep theirs), so that no state is missed
		// however fast the updates come.
		await page.evaluate((i) => {
			const area = window.__mpigoPanel.content.widgets[i].node.querySelector('.jp-OutputArea');
			const seen = (window.__mpigoProgress = { states: [], maxShown: 0 });
			const note = (t) => {
				t = (t || '').trim();
				if (t.startsWith('%mpirun:') && seen.states[seen.states.length - 1] !== t) seen.states.push(t);
			};
			new MutationObserver((records) => {
				for (const r of records) for (const n of r.removedNodes) note(n.textContent);
				const shown = [...area.querySelectorAll('.jp-OutputArea-child')].filter((c) => c.textContent.trim().startsWith('%mpirun:'));
				seen.maxShown = Math.max(seen.maxShown, shown.length);
				for (const c of shown) note(c.textContent);
			}).observe(area, { childList: true, subtree: true, characterData: true });
		}, mpirun.index);
		const out = await runCell(ctx, mpirun.index);
		const progress = await page.evaluate(() => window.__mpigoProgress);
		const rankLines = rankLinesOf(out.streamText);
		res.mpirun = {
			index: mpirun.index,
			source: mpirun.source,
			execution_count: out.executionCount,
			rank_lines: rankLines,
			ranks_seen: ranksIn(rankLines),
			stream_text: out.streamText,
			summary: out.summary,
			output_types: out.outputTypes,
			errors: out.errors,
			progress_shown: out.progress, // at the end
			progress_states: progress.states, // every text it had, in order
			progress_max_shown: progress.maxShown, // the most progress outputs at once
			// what the kernel sent: display_data, update_display_data, stream...
			iopub: (ctx.messages.find((m) => m.type === 'execute_request' && m.content.code === mpirun.source) || {}).iopub,
		};
		if (out.errors.length) throw new CheckError(`the %mpirun cell failed: ${JSON.stringify(out.errors)}`, res);

		await atRest(ctx, plain.index);
		const cellLoc = cellsOf(page).nth(mpirun.index);
		await cellLoc.scrollIntoViewIfNeeded();
		// the pointer off the cell: hovering its outputs shows the collapse bar
		await page.mouse.move(1, 1);
		res.screenshot = await screenshot(ctx, cellLoc, 'mpirun-cell');
		if (opts.picture) {
			fs.mkdirSync(path.dirname(path.resolve(opts.picture)), { recursive: true });
			await cellLoc.screenshot({ path: opts.picture, scale: 'device', animations: 'disabled', caret: 'hide' });
			res.picture = path.resolve(opts.picture);
		}
		return res;
	},

	async highlight(ctx) {
		const { page } = ctx;
		const list = await cellList(page);
		const withFunc = list.find((c) => c.type === 'code' && /^func /m.test(c.source));
		const withString = list.find((c) => c.type === 'code' && /"[^"\n]+"/.test(c.source) && !c.source.startsWith('%'));
		if (!withFunc || !withString) throw new CheckError('the notebook has no code cell with `func` and a string literal to look at');
		const tokens = async (i) => {
			const cell = cellsOf(page).nth(i);
			await cell.scrollIntoViewIfNeeded();
			return cell.locator('.cm-content').evaluate((content) => {
				// the colour a theme variable stands for, resolved where the editor resolves it
				const resolve = (v) => {
					const probe = document.createElement('span');
					probe.style.color = `var(${v})`;
					content.appendChild(probe);
					const c = getComputedStyle(probe).color;
					probe.remove();
					return c;
				};
				return {
					language: content.getAttribute('data-language'),
					keywordColor: resolve('--jp-mirror-editor-keyword-color'),
					stringColor: resolve('--jp-mirror-editor-string-color'),
					plainColor: getComputedStyle(content).color,
					spans: [...content.querySelectorAll('.cm-line span')].map((s) => ({
						text: s.textContent,
						class: s.className,
						color: getComputedStyle(s).color,
					})),
				};
			});
		};
		const a = await tokens(withFunc.index);
		const b = await tokens(withString.index);
		const func = a.spans.find((s) => s.text === 'func');
		const str = b.spans.find((s) => /^"[^"]*"$/.test(s.text));
		const res = {
			language: a.language,
			keyword_color: a.keywordColor,
			string_color: a.stringColor,
			plain_color: a.plainColor,
			func_token: func || null,
			string_token: str || null,
			cells: [withFunc.index, withString.index],
		};
		if (a.language !== 'go') throw new CheckError(`the editor's language is ${JSON.stringify(a.language)}, not "go"`, res);
		if (!func) throw new CheckError(`\`func\` in cell ${withFunc.index} is not a highlighted token (plain text?): ${JSON.stringify(a.spans)}`, res);
		if (func.color !== a.keywordColor) throw new CheckError(`\`func\` is drawn in ${func.color}, not the keyword colour ${a.keywordColor}`, res);
		if (!str) throw new CheckError(`no string literal token in cell ${withString.index}: ${JSON.stringify(b.spans)}`, res);
		if (str.color !== b.stringColor) throw new CheckError(`${str.text} is drawn in ${str.color}, not the string colour ${b.stringColor}`, res);
		return res;
	},

	async complete(ctx) {
		const { page } = ctx;
		// a new cell, typed key by key as a user does, then Tab
		const i = await appendCell(ctx, '');
		ctx.completeCell = i;
		await page.keyboard.type('strings.ToUp');
		const n0 = ctx.messages.length;
		await page.keyboard.press('Tab');
		const item = page.locator('.jp-Completer .jp-Completer-item[data-value="ToUpper"]');
		await item.waitFor({ timeout: 30000 }).catch((e) => {
			const req = ctx.messages.slice(n0).find((m) => m.type === 'complete_request');
			throw new CheckError(`Tab after \`strings.ToUp\` showed no ToUpper in the completer: ${firstLine(e)}`, {
				complete_reply: req ? req.reply : null,
			});
		});
		const items = await page.locator('.jp-Completer .jp-Completer-item').evaluateAll((lis) =>
			lis.map((li) => {
				const icon = li.querySelector('.jp-Completer-type');
				const ext = li.querySelector('.jp-Completer-typeExtended');
				return {
					value: li.getAttribute('data-value'),
					title: li.title, // the type, when there is one
					icon: icon ? { class: icon.className, text: icon.textContent, svg: !!icon.querySelector('svg') || icon.tagName === 'svg' } : null,
					type_text: ext ? ext.textContent : '',
				};
			}),
		);
		const req = ctx.messages.slice(n0).find((m) => m.type === 'complete_request');
		ctx.completion = { items, complete_reply: req ? req.reply : null };
		const shot = await screenshot(ctx, page, 'completer', {
			clip: await clipAround([page.locator('.jp-Completer'), cellsOf(page).nth(i)]),
		}).catch(() => null);
		ctx.completion.screenshot = shot;
		// accept it: Enter takes the selected item (ToUpper, the first)
		await page.keyboard.press('Enter');
		const text = await cellsOf(page).nth(i).locator('.cm-content').innerText();
		ctx.completion.accepted = text;
		if (text.trim() !== 'strings.ToUpper') {
			throw new CheckError(`Enter in the completer left ${JSON.stringify(text)} in the cell, not strings.ToUpper`, ctx.completion);
		}
		return ctx.completion;
	},

	async complete_type(ctx) {
		if (!ctx.completion) {
			// run on its own: the completer again
			await CHECKS.complete(ctx);
		}
		const c = ctx.completion;
		const res = { ...c, metadata: c.complete_reply ? c.complete_reply.metadata : null };
		const item = c.items.find((it) => it.value === 'ToUpper');
		res.item = item;
		if (!item.icon) {
			throw new CheckError(
				'ToUpper is listed without a type icon (the complete_reply has no _jupyter_types_experimental ' +
					`type for it; its metadata: ${JSON.stringify(res.metadata)})`,
				res,
			);
		}
		if (item.title !== 'function') throw new CheckError(`ToUpper's type is ${JSON.stringify(item.title)}, not "function"`, res);
		return res;
	},

	async inspect(ctx) {
		const { page } = ctx;
		let i = ctx.completeCell;
		const cells = cellsOf(page);
		if (i === undefined || (await cells.nth(i).locator('.cm-content').innerText()).trim() !== 'strings.ToUpper') {
			i = await appendCell(ctx, 'strings.ToUpper');
		}
		// the cursor at the end of the name, in edit mode
		await cells.nth(i).locator('.cm-content').click();
		await page.keyboard.press('End');
		const res = {};
		await page.keyboard.press('Shift+Tab');
		const tooltip = page.locator('.jp-Tooltip');
		await tooltip.filter({ hasText: 'ToUpper' }).waitFor({ timeout: 30000 }).catch((e) => {
			throw new CheckError(`Shift+Tab on strings.ToUpper showed no tooltip: ${firstLine(e)}`, {
				inspect_replies: ctx.messages.filter((m) => m.type === 'inspect_request').map((m) => m.reply),
			});
		});
		res.tooltip = await tooltip.innerText();
		res.tooltip_screenshot = await screenshot(ctx, page, 'tooltip', {
			clip: await clipAround([page.locator('.jp-Tooltip'), cells.nth(i)]),
		}).catch(() => null);
		await page.keyboard.press('Escape');
		await tooltip.waitFor({ state: 'detached', timeout: 10000 }).catch(() => {});

		// Help > Show Contextual Help (not its Ctrl+I, which CodeMirror takes
		// in an editor: select the parent syntax node); the panel follows the
		// cursor and shows the kernel's inspect_reply for the name under it.
		// The menu item toggles the panel: used only when it is not open.
		if (!(await page.locator('.jp-Inspector').isVisible())) {
			await page.locator('.lm-MenuBar-item', { hasText: /^Help$/ }).click();
			await page.locator('.lm-Menu-item[data-command="inspector:toggle"]').click();
			await page.locator('.jp-Inspector').waitFor({ timeout: 10000 });
		}
		await cells.nth(i).locator('.cm-content').click();
		await page.keyboard.press('End');
		const help = page.locator('.jp-Inspector .jp-Inspector-content');
		await help.filter({ hasText: 'ToUpper' }).waitFor({ timeout: 30000 }).then(
			async () => (res.contextual_help = await help.innerText()),
			(e) => (res.contextual_help_error = `the Contextual Help panel did not show ToUpper: ${firstLine(e)}`),
		);
		if (res.contextual_help !== undefined) res.contextual_help_screenshot = await screenshot(ctx, page, 'contextual-help').catch(() => null);
		// close the panel: the notebook gets its room back
		const tab = page.locator('.lm-TabBar-tab', { hasText: 'Contextual Help' });
		if (await tab.count()) await tab.locator('.lm-TabBar-tabCloseIcon').click().catch(() => {});

		for (const [what, text] of [['the tooltip', res.tooltip], ['the Contextual Help panel', res.contextual_help]]) {
			if (text === undefined) throw new CheckError(res.contextual_help_error, res);
			if (!/func ToUpper\(s string\) string/.test(text)) throw new CheckError(`${what} shows no signature of ToUpper: ${JSON.stringify(text)}`, res);
			if (!/ToUpper returns/.test(text)) throw new CheckError(`${what} shows no documentation of ToUpper: ${JSON.stringify(text)}`, res);
		}
		return res;
	},

	async interrupt(ctx) {
		const { page, opts } = ctx;
		// every rank prints and sleeps forever: only the interrupt ends it
		const src = '%mpirun -n 4\nfor i := 0; ; i++ {\n\tfmt.Println("interrupt me", i)\n\ttime.Sleep(100 * time.Millisecond)\n}';
		const i = await appendCell(ctx, src);
		const cell = cellsOf(page).nth(i);
		await cell.locator('.jp-InputPrompt').click();
		await page.keyboard.press('Control+Enter');
		// running: every rank has printed
		for (let r = 0; r < 4; r++) {
			await cell
				.locator(STDOUT_SEL)
				.filter({ hasText: `[rank ${r}] interrupt me` })
				.waitFor({ timeout: opts.timeout * 1000 })
				.catch(async (e) => {
					const out = await cellOutput(page, i).catch(() => ({}));
					throw new CheckError(`rank ${r} of the endless %mpirun cell printed nothing: ${firstLine(e)}\n${out.text || ''}`);
				});
		}
		// what runs now for the kernel besides its worker: launcher, rank wrappers, ranks
		const kpid = kernelPid(ctx.kernel.id);
		const launched = kpid
			? descendants(kpid)
					.map((pid) => ({ pid, argv: cmdline(pid) }))
					.filter((p) => !(p.argv[1] === 'worker' && p.argv[0].endsWith('mpigo')))
			: [];
		const res = { kernel_pid: kpid, running: launched.map((p) => `${p.pid} ${p.argv.join(' ')}`) };
		if (!kpid) throw new CheckError(`no process runs the kernel ${ctx.kernel.id}`, res);
		const ranks = launched.filter((p) => p.argv[0].includes('/mpigo/build/'));
		if (ranks.length < 4) throw new CheckError(`the %mpirun cell prints, but only ${ranks.length} processes of its program run`, res);

		const t = Date.now();
		await page.locator(`#${panelId} .jp-Toolbar-item[data-jp-item-name="interrupt"] button`).click();
		await cell
			.locator('.jp-InputArea-prompt')
			.filter({ hasText: /^\[\d+\]:$/ })
			.waitFor({ timeout: 30000 })
			.catch((e) => {
				throw new CheckError(`the cell still runs 30 s after the toolbar's Interrupt: ${firstLine(e)}`, res);
			});
		res.stopped_after_s = (Date.now() - t) / 1000;
		const out = await cellOutput(page, i);
		res.errors = out.errors;
		res.progress = out.progress;
		res.output_types = out.outputTypes;
		res.rendered_error = await cell
			.locator(ERROR_SEL)
			.allInnerTexts()
			.then((a) => a.join('\n'));
		// every process of the run is gone, within the kernel's grace period
		const deadline = Date.now() + 10000;
		let left = launched.filter((p) => alive(p.pid));
		while (left.length && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 100));
			left = left.filter((p) => alive(p.pid));
		}
		res.left = left.map((p) => `${p.pid} ${p.argv.join(' ')}`);
		res.screenshot = await screenshot(ctx, cell, 'interrupted-cell').catch(() => null);
		if (!out.errors.some((e) => e.ename === 'Interrupted')) throw new CheckError(`the cell shows no Interrupted error: ${out.text}`, res);
		if (!/Interrupted/.test(res.rendered_error)) throw new CheckError(`the page renders no Interrupted error: ${out.text}`, res);
		if (res.left.length) throw new CheckError(`processes of the interrupted cell still run 10 s later: ${res.left.join('; ')}`, res);
		// the kernel lives on
		const j = await appendCell(ctx, '6 * 7');
		const after = await runCell(ctx, j);
		res.after = after.result;
		if (after.result !== '42') throw new CheckError(`after the interrupt, \`6 * 7\` gave ${JSON.stringify(after.text)}`, res);
		return res;
	},

	async restart(ctx) {
		const { page } = ctx;
		const marker = 'restartMarker';
		const res = {};
		const i = await appendCell(ctx, `${marker} := "set before the restart"\n${marker}`);
		const before = await runCell(ctx, i);
		res.before = before.result;
		if (!before.result.includes('set before the restart')) throw new CheckError(`the cell that sets ${marker} shows ${before.text}`, res);
		res.old_pid = kernelPid(ctx.kernel.id);

		await page.locator(`#${panelId} .jp-Toolbar-item[data-jp-item-name="restart"] button`).click();
		const dialog = page.locator('.jp-Dialog');
		await dialog.waitFor({ timeout: 10000 });
		res.dialog = await dialog.innerText();
		await dialog.locator('.jp-mod-accept').click();
		// a new kernel process (the server stops the old one first), then the
		// page says the kernel is idle again
		res.new_pid = await waitFor(() => {
			const p = kernelPid(ctx.kernel.id);
			return p && p !== res.old_pid ? p : null;
		}, 60000);
		res.old_pid_alive = alive(res.old_pid);
		if (!res.new_pid) throw new CheckError(`no new kernel process 60 s after Restart (the old one: ${res.old_pid})`, res);
		await page
			.waitForFunction(
				() => {
					const k = window.__mpigoPanel.sessionContext.session.kernel;
					return k && k.status === 'idle' && k.connectionStatus === 'connected';
				},
				null,
				{ timeout: 60000, polling: 100 },
			)
			.catch(() => {});
		res.status = await page.evaluate(() => window.__mpigoPanel.sessionContext.session.kernel.status);
		if (res.status !== 'idle') throw new CheckError(`the kernel is ${res.status}, not idle, 60 s after its restart`, res);

		// state is gone, and cells run (the count starts again at 1)
		const j = await appendCell(ctx, marker);
		const gone = await runCell(ctx, j);
		res.marker_after = { prompt: gone.prompt, errors: gone.errors, text: gone.text };
		const k = await appendCell(ctx, '6 * 7');
		const after = await runCell(ctx, k);
		res.after = { prompt: after.prompt, result: after.result };
		if (!gone.errors.length) throw new CheckError(`${marker} is still defined after the restart: ${gone.text}`, res);
		if (gone.prompt !== '[1]:') throw new CheckError(`the first cell after the restart shows ${gone.prompt}, not [1]:`, res);
		if (after.result !== '42') throw new CheckError(`after the restart, \`6 * 7\` gave ${JSON.stringify(after.text)}`, res);
		return res;
	},

	async console(ctx) {
		const { page, opts } = ctx;
		// File > New > Console
		await page.locator('.lm-MenuBar-item', { hasText: /^File$/ }).click();
		await page.locator('.lm-Menu-item', { hasText: /^New$/ }).first().hover();
		await page.locator('.lm-Menu-item[data-command="console:create"]').click();
		const dialog = page.locator('.jp-Dialog');
		await dialog.waitFor({ timeout: 10000 });
		await dialog.locator('select').selectOption({ label: 'Go (mpigo)' });
		await dialog.locator('.jp-mod-accept').click();
		const consoleId = await page
			.waitForFunction(
				() => {
					const w = window.jupyterapp.shell.currentWidget;
					const k = w && w.console && w.sessionContext.session && w.sessionContext.session.kernel;
					return k && k.name === 'mpigo' && k.status === 'idle' ? w.id : false;
				},
				null,
				{ timeout: opts.timeout * 1000, polling: 100 },
			)
			.then((h) => h.jsonValue());
		const panel = page.locator('#' + consoleId);
		// Enter asks is_complete in the "terminal" interaction mode (Settings >
		// Console Run Keystroke > Execute with Enter); the default, "notebook",
		// runs with Shift+Enter and never asks
		await page.locator('.lm-MenuBar-item', { hasText: /^Settings$/ }).click();
		await page.locator('.lm-Menu-item', { hasText: 'Console Run Keystroke' }).hover();
		await page.locator('.lm-Menu-item[data-command="console:interaction-mode"]', { hasText: /^Execute with Enter/ }).click();
		await page.locator(`#${consoleId} .jp-CodeConsole[data-jp-interaction-mode="terminal"]`).waitFor({ timeout: 10000 });
		const prompt = panel.locator('.jp-CodeConsole-promptCell .cm-content');
		const ran = panel.locator('.jp-CodeConsole-content .jp-CodeCell');
		await prompt.click();

		const res = { steps: [] };
		// Each line then Enter: the console asks the kernel is_complete and
		// inserts a newline ("incomplete") or runs the input ("complete").
		const steps = [
			{ type: 'func add(a, b int) int {', expect: 'incomplete' },
			{ type: 'return a + b', expect: 'incomplete' },
			{ type: '}', expect: 'complete' },
			{ type: 'add(2, 3)', expect: 'complete' },
		];
		for (const step of steps) {
			const nRan = await ran.count();
			const nMsg = ctx.messages.length;
			await page.keyboard.type(step.type);
			await page.keyboard.press('Enter');
			const reply = await waitFor(() => {
				const m = ctx.messages.slice(nMsg).find((x) => x.type === 'is_complete_request' && x.reply);
				return m || null;
			}, 10000);
			const s = { typed: step.type, status: reply ? reply.reply.status : null, ms: reply ? reply.ms : null, code: reply ? reply.content.code : null };
			res.steps.push(s);
			if (!reply) throw new CheckError(`Enter after ${JSON.stringify(step.type)} sent no is_complete_request answered within 10 s`, res);
			if (step.expect === 'incomplete') {
				// still in the prompt, one line more
				await page.waitForFunction(
					({ sel, lines }) => document.querySelectorAll(sel).length === lines,
					{ sel: `#${consoleId} .jp-CodeConsole-promptCell .cm-line`, lines: res.steps.length + 1 },
					{ timeout: 10000 },
				).catch(() => {});
				s.prompt = await prompt.innerText();
				s.ran = (await ran.count()) - nRan;
			} else {
				// the input moves up into the console's history and runs
				const cell = ran.nth(nRan);
				const started = await cell.waitFor({ timeout: 10000 }).then(() => true, () => false);
				if (started) {
					await cell
						.locator('.jp-InputArea-prompt')
						.filter({ hasText: /^\[\d+\]:$/ })
						.waitFor({ timeout: opts.timeout * 1000 })
						.catch(() => {});
				}
				s.ran = (await ran.count()) - nRan;
				if (s.ran) {
					s.source = await cell.locator('.cm-content').innerText();
					s.output = (await cell.locator('.jp-OutputArea-output').allInnerTexts()).join('\n');
					s.prompt_after = await prompt.innerText();
				}
			}
			if (s.status !== step.expect) throw new CheckError(`the kernel called ${JSON.stringify(s.code)} ${s.status}, not ${step.expect}`, res);
			if (step.expect === 'incomplete' && s.ran) throw new CheckError(`Enter ran the incomplete ${JSON.stringify(s.code)}`, res);
			if (step.expect === 'complete' && !s.ran) throw new CheckError(`Enter did not run the complete ${JSON.stringify(s.code)}`, res);
		}
		res.max_ms = Math.max(...res.steps.map((s) => s.ms));
		res.screenshot = await screenshot(ctx, panel, 'console').catch(() => null);
		const def = res.steps[2];
		const call = res.steps[3];
		if (!/func add\(a, b int\) int \{\s*\n\s*return a \+ b\s*\n\s*\}/.test(def.source || '')) {
			throw new CheckError(`the console ran ${JSON.stringify(def.source)}, not the three lines typed`, res);
		}
		if (/error/i.test(def.output || '')) throw new CheckError(`the function did not compile: ${def.output}`, res);
		if ((call.output || '').trim() !== '5') throw new CheckError(`add(2, 3) shows ${JSON.stringify(call.output)}, not 5`, res);
		const slow = res.steps.filter((s) => !(s.ms < IS_COMPLETE_TIMEOUT_MS));
		if (slow.length) throw new CheckError(`is_complete answered after the console's ${IS_COMPLETE_TIMEOUT_MS} ms: ${JSON.stringify(slow)}`, res);
		return res;
	},
	async debugger(ctx) {
		const { page, opts } = ctx;
		const res = {};
		// the debug requests the page sent that the kernel refused
		const failed = () =>
			ctx.messages
				.filter((m) => m.type === 'debug_request' && m.reply && m.reply.success === false)
				.map((m) => ({ command: m.content.command, message: m.reply.message }));
		const fail = (msg) => {
			res.failed_debug_requests = failed();
			res.debug_commands = ctx.messages.filter((m) => m.type === 'debug_request').map((m) => m.content.command);
			return new CheckError(msg, res);
		};
		// the notebook in front again (the console check opened its own panel)
		await page.evaluate((id) => window.jupyterapp.shell.activateById(id), panelId);
		const bug = page.locator(`#${panelId} .jp-Toolbar-item button.jp-DebuggerBugButton, #${panelId} .jp-DebuggerBugButton button`).first();
		await bug.waitFor({ timeout: 30000 }).catch((e) => {
			throw fail(`the notebook toolbar shows no debugger button: ${firstLine(e)}`);
		});
		// enabled once JupyterLab read the kernel's debugger flag
		await page
			.waitForFunction((el) => !el.disabled && el.getAttribute('aria-disabled') !== 'true', await bug.elementHandle(), { timeout: 30000 })
			.catch((e) => {
				throw fail(`the debugger button stays disabled (the kernel does not announce a debugger?): ${firstLine(e)}`);
			});
		await bug.click();
		await page
			.waitForFunction((el) => el.getAttribute('aria-pressed') === 'true', await bug.elementHandle(), { timeout: 30000 })
			.catch((e) => {
				throw fail(`the debugger button is not pressed 30 s after a click: ${firstLine(e)}`);
			});
		// the debugger's sidebar (the right area's bug tab) open: activated
		// through the shell, which only opens it (a click on its tab toggles
		// it, and JupyterLab may be opening it itself at that moment)
		const sidebar = page.locator('#jp-debugger-sidebar');
		await page.waitForFunction(() => {
			if (!document.querySelector('#jp-debugger-sidebar')) return false;
			window.jupyterapp.shell.activateById('jp-debugger-sidebar');
			const el = document.querySelector('#jp-debugger-sidebar');
			return !el.classList.contains('lm-mod-hidden') && el.offsetParent !== null;
		}, null, { timeout: 30000, polling: 250 }).catch((e) => {
			throw fail(`the debugger's sidebar does not open: ${firstLine(e)}`);
		});
		await sidebar.waitFor({ state: 'visible', timeout: 10000 });

		const fn = 'func square(x int) int {\n\treturn x * x\n}';
		const i1 = await appendCell(ctx, fn);
		const out1 = await runCell(ctx, i1);
		if (out1.errors.length) throw fail(`the cell declaring square failed: ${JSON.stringify(out1.errors)}`);
		const loop = 'for i := 0; i < 3; i++ {\n\tfmt.Println("step", i, square(i))\n}';
		const bpLine = 2; // the loop's body
		const i2 = await appendCell(ctx, loop);
		const cell = cellsOf(page).nth(i2);
		await page.keyboard.press('Escape');
		// a click in the breakpoint gutter at the height of the line
		const toggleBreakpoint = async () => {
			const gutter = cell.locator('.cm-gutter.cm-breakpoint-gutter');
			const line = cell.locator('.cm-line').nth(bpLine - 1);
			await line.scrollIntoViewIfNeeded();
			const g = await gutter.boundingBox();
			const l = await line.boundingBox();
			if (!g || !l) throw fail('the cell shows no breakpoint gutter');
			await page.mouse.click(g.x + g.width / 2, l.y + l.height / 2);
		};
		const breakpoints = page.locator('#jp-debugger-sidebar .jp-DebuggerBreakpoint');
		await cell.locator('.cm-gutter.cm-breakpoint-gutter').waitFor({ timeout: 10000 }).catch((e) => {
			throw fail(`the cell shows no breakpoint gutter with the debugger on: ${firstLine(e)}`);
		});
		await toggleBreakpoint();
		await breakpoints.first().waitFor({ timeout: 10000 }).catch((e) => {
			throw fail(`a click in the gutter of line ${bpLine} set no breakpoint (the Breakpoints panel lists none): ${firstLine(e)}`);
		});
		res.breakpoints = await breakpoints.allInnerTexts();

		// run: the cell stops at the breakpoint
		await cell.locator('.jp-InputPrompt').click();
		await page.keyboard.press('Control+Enter');
		const frames = page.locator('#jp-debugger-sidebar .jp-DebuggerCallstackFrame');
		await frames.first().waitFor({ timeout: opts.timeout * 1000 }).catch(async (e) => {
			const out = await cellOutput(page, i2).catch(() => ({}));
			throw fail(`the cell did not stop at its breakpoint (the Call Stack lists no frame): ${firstLine(e)}; its output: ${out.text || ''}`);
		});
		res.frames = await frames.evaluateAll((els) =>
			els.map((e) => ({
				name: e.querySelector('.jp-DebuggerCallstackFrame-name').textContent,
				location: e.querySelector('.jp-DebuggerCallstackFrame-location').textContent,
			})),
		);
		// the editor highlights the line it stopped at
		res.highlighted_line = await page
			.waitForFunction(
				(i) => {
					const lines = [...window.__mpigoPanel.content.widgets[i].node.querySelectorAll('.cm-line')];
					const n = lines.findIndex((l) => l.classList.contains('jp-DebuggerEditor-highlight'));
					return n >= 0 ? n + 1 : false;
				},
				i2,
				{ timeout: 30000, polling: 100 },
			)
			.then((h) => h.jsonValue())
			.catch(() => null);
		// the Variables panel shows the loop variable
		const vars = page.locator('#jp-debugger-sidebar .jp-DebuggerVariables-body');
		res.variable_i = await page
			.waitForFunction(
				() => {
					for (const n of document.querySelectorAll('#jp-debugger-sidebar .jp-DebuggerVariables-body .jp-DebuggerVariables-name')) {
						if (n.textContent.replace(/:\s*$/, '').trim() !== 'i') continue;
						const d = n.parentElement.querySelector('.jp-DebuggerVariables-detail');
						return d ? d.textContent.trim() : '';
					}
					return false;
				},
				null,
				{ timeout: 30000, polling: 100 },
			)
			.then((h) => h.jsonValue())
			.catch(() => null);
		res.variables = await vars.allInnerTexts().catch(() => []);
		res.cell_running = (await cell.locator('.jp-InputArea-prompt').textContent()).trim();
		await page.mouse.move(1, 1);
		res.screenshot = await screenshot(ctx, page, 'debugger-stopped').catch(() => null);
		if (opts.debuggerPicture) {
			fs.mkdirSync(path.dirname(path.resolve(opts.debuggerPicture)), { recursive: true });
			await page.screenshot({ path: opts.debuggerPicture, scale: 'device', animations: 'disabled', caret: 'hide' });
			res.picture = path.resolve(opts.debuggerPicture);
		}
		if (res.highlighted_line !== bpLine) throw fail(`the editor highlights line ${res.highlighted_line}, not the breakpoint's line ${bpLine}`);
		if (res.variable_i === null) throw fail(`the Variables panel shows no i: ${JSON.stringify(res.variables)}`);

		// the breakpoint off, Continue: the cell runs to its end
		await toggleBreakpoint();
		await breakpoints.first().waitFor({ state: 'detached', timeout: 10000 }).catch((e) => {
			throw fail(`a second click in the gutter did not remove the breakpoint: ${firstLine(e)}`);
		});
		// the Call Stack's Continue (the side panel puts each panel's toolbar
		// in its title). yaegi's debugger may stop once more although the
		// breakpoint is gone (it is applied to a running cell when the engine
		// next looks, and yaegi can report a loop's breakpoint again): Continue
		// again while the cell stops, a few times at most.
		const continueButton = page.locator('#jp-debugger-sidebar [data-command="debugger:continue"]').first();
		const done = cell.locator('.jp-InputArea-prompt').filter({ hasText: /^\[\d+\]:$/ });
		res.continues = 0;
		for (;;) {
			await continueButton.click();
			res.continues++;
			// the continued event clears the Call Stack (a stop again may
			// come before this sees it: then the wait below ends at once)
			await frames.first().waitFor({ state: 'detached', timeout: 10000 }).catch(() => {});
			// (each wait settles on its own: the one that loses times out later, caught)
			const next = await Promise.race([
				done.waitFor({ timeout: opts.timeout * 1000 }).then(() => 'done', () => 'timeout'),
				frames.first().waitFor({ timeout: opts.timeout * 1000 }).then(() => 'stopped', () => 'timeout'),
			]);
			if (next === 'done') break;
			if (next === 'stopped' && res.continues < 5) continue;
			const out = await cellOutput(page, i2).catch(() => ({}));
			throw fail(
				`the cell did not finish after ${res.continues} Continue (${next === 'stopped' ? 'stopped again' : 'timed out'}); its output: ${out.text || ''}`,
			);
		}
		const out2 = await cellOutput(page, i2);
		res.output = out2.text;
		res.errors = out2.errors;
		res.frames_after = await frames.count();
		// the debugger off again
		await bug.click();
		await page
			.waitForFunction((el) => el.getAttribute('aria-pressed') !== 'true', await bug.elementHandle(), { timeout: 10000 })
			.catch(() => {});
		res.failed_debug_requests = failed();
		if (out2.errors.length) throw fail(`the cell failed after Continue: ${JSON.stringify(out2.errors)}`);
		if (out2.text.trim() !== 'step 0 0\nstep 1 1\nstep 2 4') throw fail(`after Continue the cell shows ${JSON.stringify(out2.text)}`);
		return res;
	},
};

// Polls fn (synchronous) until it returns something truthy or ms pass.
async function waitFor(fn, ms) {
	const deadline = Date.now() + ms;
	for (;;) {
		const v = fn();
		if (v || Date.now() > deadline) return v;
		await new Promise((r) => setTimeout(r, 20));
	}
}

// The page region (a screenshot clip) around what the locators show.
async function clipAround(locators) {
	const boxes = (await Promise.all(locators.map((l) => l.first().boundingBox()))).filter(Boolean);
	const x = Math.max(0, Math.min(...boxes.map((b) => b.x)) - 8);
	const y = Math.max(0, Math.min(...boxes.map((b) => b.y)) - 8);
	const x2 = Math.max(...boxes.map((b) => b.x + b.width)) + 8;
	const y2 = Math.max(...boxes.map((b) => b.y + b.height)) + 8;
	return { x, y, width: x2 - x, height: y2 - y };
}

main().then(
	(result) => {
		process.stdout.write(JSON.stringify(result, null, 2) + '\n');
		const failed = Object.entries(result.checks).filter(([, r]) => !r.ok);
		if (failed.length) {
			process.stderr.write(`lab.js: ${failed.length} check(s) failed: ${failed.map(([n]) => n).join(', ')}\n`);
			if (consoleErrors.length) process.stderr.write(`page console errors:\n  ${consoleErrors.join('\n  ')}\n`);
			process.exitCode = 1;
		}
	},
	(err) => {
		process.stderr.write(`lab.js: ${err.stack || err}\n`);
		if (consoleErrors.length) process.stderr.write(`page console errors:\n  ${consoleErrors.join('\n  ')}\n`);
		process.exitCode = 2;
	},
);
