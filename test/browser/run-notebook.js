#!/usr/bin/env node
// Opens a notebook in Jupyter Notebook (classic UI) in Debian's headless
// Chromium, runs its first code cell and its first `%mpirun -n 4` cell the way
// a user does (click the cell, Shift+Enter), and checks what the page renders:
// the first cell's output, one `[rank N] ` line for each of ranks 0-3, and the
// %mpirun summary as an HTML table. Saves a screenshot of the %mpirun cell and
// prints one JSON object (the result) on stdout; exits 1 with a message on
// stderr (and the page's console errors) when a check fails, 2 on bad usage.
//
//   node test/browser/run-notebook.js --url http://127.0.0.1:8888 --token TOKEN \
//        --notebook 00-introduction.ipynb --screenshot out/test-artifacts/mpirun-cell.png
//
// Options:
//   --url URL            the notebook server (required)
//   --token TOKEN        its token (required)
//   --notebook PATH      the notebook, relative to the server's notebook dir (required)
//   --screenshot FILE    element screenshot of the %mpirun cell, at CSS pixels
//   --picture FILE       the same at device pixels (--scale), for the README
//   --scale N            device scale factor (default 1; 2 for a sharp --picture)
//   --user-data-dir DIR  Chromium profile (default: a new temporary one, removed after)
//   --chromium PATH      the browser (default $CHROMIUM or /usr/bin/chromium)
//   --timeout SECONDS    for the kernel to start and for each cell (default 120)
//   --ranks N            the %mpirun cell to look for: `%mpirun -n N` (default 4)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function usage(msg) {
	if (msg) process.stderr.write(`run-notebook.js: ${msg}\n`);
	process.stderr.write(
		'usage: node run-notebook.js --url URL --token TOKEN --notebook PATH ' +
			'[--screenshot FILE] [--picture FILE] [--scale N] [--user-data-dir DIR] ' +
			'[--chromium PATH] [--timeout SECONDS] [--ranks N]\n',
	);
	process.exit(2);
}

function parseArgs(argv) {
	const opts = {
		chromium: process.env.CHROMIUM || '/usr/bin/chromium',
		timeout: 120,
		scale: 1,
		ranks: 4,
	};
	const names = {
		'--url': 'url',
		'--token': 'token',
		'--notebook': 'notebook',
		'--screenshot': 'screenshot',
		'--picture': 'picture',
		'--scale': 'scale',
		'--user-data-dir': 'userDataDir',
		'--chromium': 'chromium',
		'--timeout': 'timeout',
		'--ranks': 'ranks',
	};
	for (let i = 0; i < argv.length; i++) {
		let arg = argv[i];
		let value;
		const eq = arg.indexOf('=');
		if (eq > 0) {
			value = arg.slice(eq + 1);
			arg = arg.slice(0, eq);
		}
		if (arg === '-h' || arg === '--help') usage();
		const key = names[arg];
		if (!key) usage(`unknown argument ${arg}`);
		if (value === undefined) {
			if (i + 1 >= argv.length) usage(`${arg} needs a value`);
			value = argv[++i];
		}
		opts[key] = value;
	}
	for (const k of ['url', 'token', 'notebook']) if (!opts[k]) usage(`--${k} is required`);
	for (const k of ['timeout', 'scale', 'ranks']) {
		opts[k] = Number(opts[k]);
		if (!(opts[k] > 0)) usage(`--${k} must be a positive number`);
	}
	opts.url = opts.url.replace(/\/+$/, '');
	return opts;
}

class CheckError extends Error {}

// Everything the page says that may explain a failure.
const consoleErrors = [];

async function main() {
	const opts = parseArgs(process.argv.slice(2));
	if (!fs.existsSync(opts.chromium)) {
		throw new CheckError(`no browser at ${opts.chromium} (apt-get install chromium)`);
	}
	let chromium;
	try {
		({ chromium } = require('playwright-core'));
	} catch (e) {
		throw new CheckError(`playwright-core is not installed: run \`npm ci\` in ${__dirname} (${e.message})`);
	}

	const t0 = Date.now();
	const timings = {};
	const mark = (name) => (timings[name] = (Date.now() - t0) / 1000);
	const ownProfile = !opts.userDataDir;
	const userDataDir = opts.userDataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'mpigo-chromium-'));

	// launchPersistentContext: the profile is ours (a fresh --user-data-dir),
	// so that the caller can find this browser's processes by it.
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: opts.chromium,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
		],
		viewport: { width: 1280, height: 900 }, // the notebook is 1140 px wide from 1200 on
		deviceScaleFactor: opts.scale,
		timeout: 30000,
	});
	mark('browser');
	try {
		const page = context.pages()[0] || (await context.newPage());
		page.on('console', (msg) => {
			if (msg.type() === 'error') consoleErrors.push(`console: ${msg.text()}`);
		});
		page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
		page.on('requestfailed', (req) =>
			consoleErrors.push(`requestfailed: ${req.url()} ${req.failure() ? req.failure().errorText : ''}`),
		);
		return await drive(page, opts, mark, timings);
	} finally {
		await context.close().catch(() => {});
		if (ownProfile) fs.rmSync(userDataDir, { recursive: true, force: true });
	}
}

async function drive(page, opts, mark, timings) {
	const ms = opts.timeout * 1000;
	const nbUrl = `${opts.url}/notebooks/${opts.notebook.split('/').map(encodeURIComponent).join('/')}`;
	const resp = await page.goto(`${nbUrl}?token=${encodeURIComponent(opts.token)}`, {
		waitUntil: 'domcontentloaded',
		timeout: 30000,
	});
	if (!resp || !resp.ok()) {
		throw new CheckError(`GET ${nbUrl}: ${resp ? resp.status() + ' ' + resp.statusText() : 'no response'}`);
	}
	if (/\/login$/.test(new URL(page.url()).pathname)) {
		throw new CheckError(`the server refused the token: GET ${nbUrl} led to its login page ${page.url()}`);
	}

	// The notebook is loaded and its kernel connected and idle, or a dialog
	// (kernel not found, load error) says why not.
	const ready = await page.waitForFunction(
		() => {
			const dialog = document.querySelector('.modal.in .modal-dialog');
			if (dialog) return { dialog: dialog.innerText };
			const J = window.Jupyter;
			const nb = J && J.notebook;
			if (!nb || !nb._fully_loaded || !nb.kernel || !nb.kernel.is_connected()) return false;
			if (!nb.kernel.info_reply || !nb.kernel.info_reply.status) return false;
			if (!document.querySelector('#kernel_indicator_icon.kernel_idle_icon')) return false;
			return {
				kernel: nb.kernel.name,
				language: nb.kernel.info_reply.language_info && nb.kernel.info_reply.language_info.name,
				implementation: nb.kernel.info_reply.implementation,
			};
		},
		null,
		{ timeout: ms, polling: 100 },
	).then((h) => h.jsonValue(), (e) => {
		throw new CheckError(`the notebook did not get an idle kernel within ${opts.timeout} s: ${e.message.split('\n')[0]}`);
	});
	if (ready.dialog) throw new CheckError(`the notebook shows a dialog instead of an idle kernel: ${ready.dialog}`);
	mark('kernel_idle');

	// Events the cells report when done, so that "finished" is the notebook's own notion.
	await page.evaluate(() => {
		window.__mpigoFinished = [];
		window.Jupyter.notebook.events.on('finished_execute.CodeCell', (evt, data) => {
			window.__mpigoFinished.push(data.cell.cell_id);
		});
	});

	const cells = await page.evaluate(() =>
		window.Jupyter.notebook.get_cells().map((c, i) => ({
			index: i,
			type: c.cell_type,
			id: c.cell_id,
			source: c.get_text(),
		})),
	);
	const plain = cells.find((c) => c.type === 'code');
	const mpirunRe = new RegExp(`^%%?mpirun\\s+(-n|-np|--n|--np)[ =]?${opts.ranks}(\\s|$)`);
	const mpirun = cells.find((c) => c.type === 'code' && mpirunRe.test(c.source.replace(/^\s+/, '')));
	if (!plain) throw new CheckError(`${opts.notebook} has no code cell`);
	if (!mpirun) throw new CheckError(`${opts.notebook} has no cell starting with \`%mpirun -n ${opts.ranks}\``);
	if (plain.index === mpirun.index) throw new CheckError(`the first code cell of ${opts.notebook} is the %mpirun cell`);

	const plainOut = await runCell(page, plain, opts);
	mark('plain_cell');
	if (plainOut.errors.length) throw new CheckError(`cell ${plain.index} (first code cell) failed: ${plainOut.errors.join('\n')}`);
	if (!plainOut.text.trim()) throw new CheckError(`cell ${plain.index} (first code cell) shows no output`);

	const mpOut = await runCell(page, mpirun, opts);
	mark('mpirun_cell');
	if (mpOut.errors.length) throw new CheckError(`cell ${mpirun.index} (%mpirun) failed: ${mpOut.errors.join('\n')}`);

	// [rank N] lines, as rendered in the stream outputs
	const rankLines = mpOut.streamText.split('\n').filter((l) => /^\[rank \d+\] /.test(l));
	const ranksSeen = [...new Set(rankLines.map((l) => Number(/^\[rank (\d+)\]/.exec(l)[1])))].sort((a, b) => a - b);
	const missing = [];
	for (let r = 0; r < opts.ranks; r++) if (!ranksSeen.includes(r)) missing.push(r);
	if (missing.length) {
		throw new CheckError(
			`the %mpirun cell shows no \`[rank N] \` line for rank(s) ${missing.join(', ')}; its streams:\n${mpOut.streamText}`,
		);
	}
	const extra = ranksSeen.filter((r) => r >= opts.ranks);
	if (extra.length) throw new CheckError(`lines from ranks that do not exist: ${extra.join(', ')}`);
	if (!mpOut.summary) {
		throw new CheckError(`the %mpirun cell shows no HTML summary table with a "ranks" column; its outputs:\n${mpOut.text}`);
	}

	let screenshot = null;
	let picture = null;
	const cellLoc = page.locator('#notebook-container > .cell').nth(mpirun.index);
	// select the first cell, so the picture shows the %mpirun cell as read:
	// no selection border, no cursor
	await page.evaluate(() => {
		const nb = window.Jupyter.notebook;
		nb.select(0);
		nb.command_mode();
		if (document.activeElement) document.activeElement.blur();
	});
	await cellLoc.scrollIntoViewIfNeeded();
	if (opts.screenshot) {
		fs.mkdirSync(path.dirname(path.resolve(opts.screenshot)), { recursive: true });
		await cellLoc.screenshot({ path: opts.screenshot, scale: 'css', animations: 'disabled', caret: 'hide' });
		screenshot = path.resolve(opts.screenshot);
	}
	if (opts.picture) {
		fs.mkdirSync(path.dirname(path.resolve(opts.picture)), { recursive: true });
		await cellLoc.screenshot({ path: opts.picture, scale: 'device', animations: 'disabled', caret: 'hide' });
		picture = path.resolve(opts.picture);
	}
	mark('screenshots');

	return {
		ok: true,
		url: opts.url,
		notebook: opts.notebook,
		kernel: ready,
		plain: {
			index: plain.index,
			source: plain.source,
			execution_count: plainOut.executionCount,
			output: plainOut.text,
		},
		mpirun: {
			index: mpirun.index,
			source: mpirun.source,
			execution_count: mpOut.executionCount,
			rank_lines: rankLines,
			ranks_seen: ranksSeen,
			stream_text: mpOut.streamText,
			summary: mpOut.summary,
			output_types: mpOut.outputTypes,
		},
		screenshot,
		picture,
		console_errors: consoleErrors,
		timings,
	};
}

// Selects cell (a click on its prompt: command mode), presses Shift+Enter,
// waits until the notebook reports the execution finished (execute_reply
// and the kernel idle again) and returns what the cell's output area shows.
async function runCell(page, cell, opts) {
	const loc = page.locator('#notebook-container > .cell').nth(cell.index);
	const prompt = loc.locator('.input_prompt');
	await prompt.click();
	const selected = await page.evaluate(
		(i) => window.Jupyter.notebook.get_selected_index() === i && window.Jupyter.notebook.mode === 'command',
		cell.index,
	);
	if (!selected) {
		// a click that missed (overlay, scrolling): select it through the API
		await page.evaluate((i) => {
			window.Jupyter.notebook.select(i);
			window.Jupyter.notebook.command_mode();
		}, cell.index);
	}
	await page.keyboard.press('Shift+Enter');
	await page
		.waitForFunction(
			({ i, id }) => {
				const c = window.Jupyter.notebook.get_cell(i);
				return (
					window.__mpigoFinished.includes(id) &&
					!c.element[0].classList.contains('running') &&
					typeof c.input_prompt_number === 'number'
				);
			},
			{ i: cell.index, id: cell.id },
			{ timeout: opts.timeout * 1000, polling: 100 },
		)
		.catch(async (e) => {
			const state = await page.evaluate((i) => {
				const c = window.Jupyter.notebook.get_cell(i);
				return { prompt: c.input_prompt_number, output: c.output_area.element[0].innerText.slice(-2000) };
			}, cell.index);
			throw new CheckError(
				`cell ${cell.index} did not finish within ${opts.timeout} s (prompt ${JSON.stringify(state.prompt)}); ` +
					`its output so far:\n${state.output}\n(${e.message.split('\n')[0]})`,
			);
		});
	return await page.evaluate((i) => {
		const c = window.Jupyter.notebook.get_cell(i);
		const area = c.output_area.element[0];
		const text = (sel) =>
			[...area.querySelectorAll(sel)].map((e) => e.innerText.replace(/\n$/, '')).join('\n');
		let summary = null;
		for (const table of area.querySelectorAll('.output_html table')) {
			const heads = [...table.querySelectorAll('th')].map((th) => th.innerText.trim());
			if (!heads.includes('ranks')) continue;
			const box = table.closest('.mpigo-mpirun-summary') || table.parentElement;
			const title = box.querySelector('p');
			summary = {
				class: box.className,
				title: title ? title.innerText : '',
				headers: heads,
				rows: [...table.querySelectorAll('tbody tr')].map((tr) =>
					[...tr.querySelectorAll('td')].map((td) => td.innerText.trim()),
				),
			};
			break;
		}
		return {
			executionCount: c.input_prompt_number,
			text: area.innerText,
			streamText: text('.output_stream'),
			errors: [...area.querySelectorAll('.output_error')].map((e) => e.innerText),
			outputTypes: c.output_area.outputs.map((o) => o.output_type + (o.name ? ':' + o.name : '')),
			summary,
		};
	}, cell.index);
}

main().then(
	(result) => {
		process.stdout.write(JSON.stringify(result, null, 2) + '\n');
	},
	(err) => {
		const msg = err instanceof CheckError ? err.message : err.stack || String(err);
		process.stderr.write(`run-notebook.js: FAIL: ${msg}\n`);
		if (consoleErrors.length) process.stderr.write(`page console errors:\n  ${consoleErrors.join('\n  ')}\n`);
		else process.stderr.write('page console errors: none\n');
		process.exitCode = 1;
	},
);
