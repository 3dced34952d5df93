#!/usr/bin/env node
// Drives JupyterHub in Debian's headless Chromium the way a workshop user
// does (test/e2e/test_hub.py): logs in on the hub's login page, picks a
// profile in the spawn form, waits until the server (a SLURM job started by
// batchspawner) is up and JupyterLab is open, opens a notebook, runs it
// whole (Run > Run All Cells), saves it (Ctrl+S), and then, when told to on
// stdin, stops the server from the hub's control panel (/hub/home, "Stop My
// Server").
//
// It talks to its caller in JSON lines on stdout:
//   {"event": "ran", ...}      the notebook ran and is saved; the caller checks
//                              the job and the saved notebook, then writes a
//                              line "stop" (or "quit": close without stopping)
//   {"event": "stopped", ...}  the control panel says the server is stopped
// A failed check exits 1 with a message on stderr (and the page's console
// errors); bad usage exits 2. Screenshots go to DIR/hub-*.png.
//
//   node test/browser/hub-login.js --url http://127.0.0.1:8000 --user U --password P \
//        --profile mpi4 --notebook 00-introduction.ipynb --screenshots out/test-artifacts
//
// Options:
//   --url URL            the hub's public address (the proxy) (required)
//   --user NAME          Unix user to log in as (required)
//   --password PW        its password; "-" reads it from the first stdin line
//                        (so that it is not on the command line) (required)
//   --profile KEY        the spawn form's profile, by its key (required)
//   --profile-label RE   the label that profile must have (a regular expression)
//   --notebook PATH      notebook to run, relative to the user's home (required)
//   --screenshots DIR    where hub-*.png go (default: none taken)
//   --chromium PATH      the browser (default $CHROMIUM or /usr/bin/chromium)
//   --spawn-timeout S    for the server's job to start and JupyterLab to load (default 120)
//   --run-timeout S      for the whole notebook to run (default 150)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const { usageExit, parseOptions, launchBrowser } = require('./common');

class CheckError extends Error {}

const USAGE =
	'node hub-login.js --url URL --user NAME --password PW|- --profile KEY --notebook PATH ' +
	'[--profile-label RE] [--screenshots DIR] [--chromium PATH] [--spawn-timeout S] [--run-timeout S]';
const usage = (msg) => usageExit('hub-login.js', USAGE, msg);

function parseArgs(argv) {
	const opts = parseOptions(
		argv,
		{
			url: { required: true },
			user: { required: true },
			password: { required: true },
			profile: { required: true },
			profileLabel: {},
			notebook: { required: true },
			screenshots: {},
			chromium: { default: process.env.CHROMIUM || '/usr/bin/chromium' },
			spawnTimeout: { default: 120, number: true },
			runTimeout: { default: 150, number: true },
		},
		usage,
	);
	opts.url = opts.url.replace(/\/+$/, '');
	return opts;
}

// stdin, line by line: the password (with --password -) and the caller's
// go-ahead after "ran"
const lines = [];
const waiters = [];
let stdinClosed = false;
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => (waiters.length ? waiters.shift()(l) : lines.push(l)));
rl.on('close', () => {
	stdinClosed = true;
	while (waiters.length) waiters.shift()(null);
});
function nextLine() {
	if (lines.length) return Promise.resolve(lines.shift());
	if (stdinClosed) return Promise.resolve(null);
	return new Promise((resolve) => waiters.push(resolve));
}

function emit(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

const consoleErrors = [];
const t0 = Date.now();
const timings = {};
const mark = (name) => (timings[name] = (Date.now() - t0) / 1000);

async function main() {
	const opts = parseArgs(process.argv.slice(2));
	if (opts.password === '-') {
		opts.password = await nextLine();
		if (!opts.password) usage('--password -: no password on stdin');
	}
	// a profile of our own: nothing of another run (cookies, JupyterLab's
	// workspace in local storage) leaks in, and it is removed afterwards
	const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpigo-hub-chromium-'));
	let context, page;
	try {
		({ context, page } = await launchBrowser({
			executable: opts.chromium,
			userDataDir,
			viewport: { width: 1400, height: 1000 },
			consoleErrors,
		}));
	} catch (e) {
		fs.rmSync(userDataDir, { recursive: true, force: true });
		throw new CheckError(e.message);
	}
	mark('browser');
	try {
		await drive(page, opts);
	} finally {
		await context.close().catch(() => {});
		fs.rmSync(userDataDir, { recursive: true, force: true });
	}
}

async function shot(page, opts, name) {
	if (!opts.screenshots) return null;
	fs.mkdirSync(opts.screenshots, { recursive: true });
	const file = path.resolve(opts.screenshots, `hub-${name}.png`);
	await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' }).catch(() => {});
	return file;
}

// fail(page, opts, name, msg): a screenshot of the page as it is, then the error
async function fail(page, opts, name, msg) {
	const file = await shot(page, opts, `${name}-failed`);
	let text = '';
	try {
		text = (await page.locator('body').innerText({ timeout: 2000 })).slice(-3000);
	} catch (e) {
		text = `(no page text: ${e.message.split('\n')[0]})`;
	}
	throw new CheckError(`${msg}\n  at ${page.url()}${file ? `, screenshot ${file}` : ''}\n  the page says:\n${text}`);
}

async function drive(page, opts) {
	const base = opts.url;
	const screenshots = {};

	// --- 1. the hub's login page (PAMAuthenticator: the user's Unix password)
	const resp = await page.goto(`${base}/hub/login`, { waitUntil: 'domcontentloaded', timeout: 30000 });
	if (!resp || !resp.ok()) throw new CheckError(`GET ${base}/hub/login: ${resp ? resp.status() : 'no response'}`);
	await page.fill('#username_input', opts.user);
	await page.fill('#password_input', opts.password);
	screenshots.login = await shot(page, opts, 'login');
	await Promise.all([
		page.waitForNavigation({ waitUntil: 'domcontentloaded', timeout: 30000 }),
		page.click('#login_submit'),
	]);
	if (new URL(page.url()).pathname.endsWith('/hub/login')) {
		await fail(page, opts, 'login', `login as ${opts.user} refused`);
	}
	mark('logged_in');

	// --- 2. the spawn form: ProfilesSpawner's <select name="profile">
	await page.goto(`${base}/hub/spawn`, { waitUntil: 'domcontentloaded', timeout: 30000 });
	const select = page.locator('select[name="profile"]');
	await select.waitFor({ timeout: 30000 }).catch(() => fail(page, opts, 'spawn-form', 'no profile list on /hub/spawn'));
	const options = await select.locator('option').evaluateAll((os) => os.map((o) => ({ key: o.value, label: o.textContent.trim() })));
	const chosen = options.find((o) => o.key === opts.profile);
	if (!chosen) await fail(page, opts, 'spawn-form', `no profile ${opts.profile} in the form: ${JSON.stringify(options)}`);
	if (opts.profileLabel && !new RegExp(opts.profileLabel).test(chosen.label)) {
		await fail(page, opts, 'spawn-form', `profile ${opts.profile} is labelled ${JSON.stringify(chosen.label)}, not /${opts.profileLabel}/`);
	}
	await select.selectOption(opts.profile);
	screenshots.spawn_form = await shot(page, opts, 'spawn-form');
	await page.locator('form input[type="submit"], form button[type="submit"]').first().click();
	mark('spawn_submitted');

	// --- 3. the spawn-pending page follows the job; it goes on to the
	// server's default URL (JupyterLab) once batchspawner reports it up
	// (or says that the spawn failed: an error on the form or the progress bar)
	const labPrefix = `/user/${encodeURIComponent(opts.user)}/lab`;
	const deadline = Date.now() + opts.spawnTimeout * 1000;
	for (;;) {
		if (new URL(page.url()).pathname.startsWith(labPrefix)) break;
		const error = await page
			.evaluate(() => {
				const alert = document.querySelector('.alert-danger, .alert-error');
				if (alert && alert.innerText.trim()) return alert.innerText.trim();
				const msg = document.querySelector('#progress-message');
				if (msg && /fail|error/i.test(msg.innerText)) return msg.innerText.trim();
				return '';
			})
			.catch(() => ''); // navigating
		if (error) await fail(page, opts, 'spawn', `the hub says the spawn failed: ${error}`);
		if (Date.now() > deadline) {
			await fail(page, opts, 'spawn', `the server did not start (no redirect to ${labPrefix}) within ${opts.spawnTimeout} s`);
		}
		await page.waitForTimeout(250); // a poll interval, not a wait for an event
	}
	await page.waitForLoadState('domcontentloaded');
	mark('lab_url');
	const labUrl = page.url();

	// --- 4. the notebook in JupyterLab, with its kernel (Go (mpigo)) idle
	const nbPath = opts.notebook.split('/').map(encodeURIComponent).join('/');
	await page.goto(`${base}${labPrefix}/tree/${nbPath}`, { waitUntil: 'domcontentloaded', timeout: 60000 });
	const ready = await page
		.waitForFunction(
			() => {
				const dialog = document.querySelector('.jp-Dialog');
				if (dialog) return { dialog: dialog.innerText };
				const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
				if (!panel) return false;
				const kernel = panel.querySelector('.jp-KernelName');
				const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
				if (!kernel || !status || panel.querySelectorAll('.jp-CodeCell').length === 0) return false;
				// "No Kernel" (or nothing) until the session has started one
				const name = kernel.innerText.trim();
				if (!name || name === 'No Kernel' || status.getAttribute('data-status') !== 'idle') return false;
				return { kernel: kernel.innerText.trim(), cells: panel.querySelectorAll('.jp-Cell').length };
			},
			null,
			{ timeout: opts.spawnTimeout * 1000, polling: 200 },
		)
		.then((h) => h.jsonValue())
		.catch(() => fail(page, opts, 'notebook', `${opts.notebook} did not open with an idle kernel within ${opts.spawnTimeout} s`));
	if (ready.dialog) await fail(page, opts, 'notebook', `a dialog instead of an idle kernel: ${ready.dialog}`);
	mark('kernel_idle');
	// JupyterLab's first-run question (news notifications) covers the page's
	// corner: answer it when it shows
	const toast = page.locator('.jp-toast-button', { hasText: /^No$/ });
	if (await toast.isVisible()) await toast.click().catch(() => {});
	screenshots.notebook = await shot(page, opts, 'lab-notebook');

	// --- 5. Run > Run All Cells, from the menu bar as a user does
	await page.locator('.lm-MenuBar-item', { hasText: /^Run$/ }).click();
	await page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click();
	// Done when no cell is queued or running ([*]), the last code cell (the
	// test's own check, which must pass) shows its execution count and the
	// kernel is idle. A failing cell without the raises-exception tag stops
	// the run: the last cell then never gets a count.
	const done = await page
		.waitForFunction(
			() => {
				const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
				const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map((p) => p.innerText.trim());
				const status = panel.querySelector('.jp-Notebook-ExecutionIndicator').getAttribute('data-status');
				if (prompts.some((p) => p.includes('*')) || status !== 'idle') return false;
				if (!/^\[\d+\]:$/.test(prompts[prompts.length - 1])) return false;
				return prompts;
			},
			null,
			{ timeout: opts.runTimeout * 1000, polling: 250 },
		)
		.then((h) => h.jsonValue())
		.catch(async () => {
			const prompts = await page
				.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')
				.allInnerTexts()
				.catch(() => []);
			await fail(page, opts, 'run-all', `the notebook did not run to its last cell within ${opts.runTimeout} s; prompts: ${prompts.join(' ')}`);
		});
	mark('ran');

	// --- 6. save (Ctrl+S), so the caller can read every output from the file:
	// done when the tab loses its "unsaved" mark
	await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').first().click();
	await page.keyboard.press('Escape');
	await page.keyboard.press('Control+s');
	await page
		.waitForFunction(
			() => {
				const tab = document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current');
				return tab && !tab.classList.contains('jp-mod-dirty');
			},
			null,
			{ timeout: 30000, polling: 200 },
		)
		.catch(() => fail(page, opts, 'save', `${opts.notebook} was not saved within 30 s`));
	mark('saved');
	// the first cell whose first line is `%mpirun -n 4` (input, rank lines,
	// summary) at the top of the notebook's view, as the user sees it
	const index = await page.evaluate(() =>
		[...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')].findIndex((c) => {
			const line = c.classList.contains('jp-CodeCell') && c.querySelector('.jp-InputArea-editor .cm-line');
			return line && line.textContent.trim() === '%mpirun -n 4';
		}),
	);
	if (index < 0) await fail(page, opts, 'mpirun-cell', 'no cell starting with `%mpirun -n 4` in the notebook');
	const mpirunCell = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').nth(index);
	await mpirunCell.evaluate((el) => el.scrollIntoView({ block: 'start' }));
	await mpirunCell.locator('.jp-OutputArea-output').first().waitFor({ state: 'visible', timeout: 10000 });
	screenshots.mpirun = await shot(page, opts, 'lab-mpirun');

	emit({ event: 'ran', lab_url: labUrl, kernel: ready.kernel, prompts: done, screenshots, timings, console_errors: consoleErrors });

	// --- 7. the caller checks the job while it runs, then says what next
	const next = await nextLine();
	if (next !== 'stop') return;

	// --- 8. the control panel: Stop My Server. Done when the page offers to
	// start it again (the hub has seen the spawner's stop() return)
	await page.goto(`${base}/hub/home`, { waitUntil: 'domcontentloaded', timeout: 30000 });
	const stop = page.locator('#stop');
	await stop.waitFor({ state: 'visible', timeout: 30000 }).catch(() => fail(page, opts, 'home', 'no "Stop My Server" button on /hub/home'));
	// home.js hooks the button up after the page has loaded (require.js loads
	// it asynchronously), so a click just after the button shows may reach no
	// handler: click until the page sends its DELETE of the server
	const stopRequest = (r) => r.method() === 'DELETE' && /\/hub\/api\/users\/[^/]+\/server\b/.test(r.url());
	mark('stop_clicked');
	let sent = false;
	for (let tries = 0; !sent && tries < 20; tries++) {
		const request = page.waitForRequest(stopRequest, { timeout: 1500 }).then(
			() => true,
			() => false,
		);
		await stop.click();
		sent = await request;
	}
	if (!sent) await fail(page, opts, 'stop', 'clicking "Stop My Server" sent no DELETE of the server in 30 s');
	await page
		.locator('#start')
		.filter({ hasText: /Start My Server/ })
		.waitFor({ state: 'visible', timeout: 60000 })
		.catch(() => fail(page, opts, 'stop', 'the control panel did not offer "Start My Server" within 60 s of "Stop My Server"'));
	mark('stopped');
	screenshots.stopped = await shot(page, opts, 'home-stopped');
	emit({ event: 'stopped', screenshots, timings, console_errors: consoleErrors });
}

main().then(
	() => process.exit(0),
	(err) => {
		const msg = err instanceof CheckError ? err.message : err.stack || String(err);
		process.stderr.write(`hub-login.js: FAIL: ${msg}\n`);
		if (consoleErrors.length) process.stderr.write(`page console errors:\n  ${consoleErrors.join('\n  ')}\n`);
		process.stderr.write(`timings: ${JSON.stringify(timings)}\n`);
		process.exit(1);
	},
);
