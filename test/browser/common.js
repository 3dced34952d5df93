// What the browser drivers (lab.js, hub-login.js) share: command-line options
// read with Node's own util.parseArgs, and Debian's Chromium started headless
// through playwright-core with a profile of its own.
'use strict';

const fs = require('fs');
const util = require('util');

// The drivers' usage errors: exit status 2, the message and the usage line
// on stderr.
function usageExit(script, usageLine, msg) {
	if (msg) process.stderr.write(`${script}: ${msg}\n`);
	process.stderr.write(`usage: ${usageLine}\n`);
	process.exit(2);
}

// parseOptions reads argv ("--name value" or "--name=value") against spec,
// {camelName: {default, required, number}}, where an option's flag is its
// name in kebab case (spawnTimeout: --spawn-timeout). Numbers must be
// positive. Bad usage calls usage(message), which does not return.
function parseOptions(argv, spec, usage) {
	const flag = (name) => name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
	const options = { help: { type: 'boolean', short: 'h' } };
	for (const name of Object.keys(spec)) options[flag(name)] = { type: 'string' };
	let values;
	try {
		({ values } = util.parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
	} catch (e) {
		usage(e.message);
	}
	if (values.help) usage();
	const opts = {};
	for (const [name, s] of Object.entries(spec)) {
		let v = values[flag(name)] ?? s.default;
		if (s.required && !v) usage(`--${flag(name)} is required`);
		if (s.number) {
			v = Number(v);
			if (!(v > 0)) usage(`--${flag(name)} must be a positive number`);
		}
		opts[name] = v;
	}
	return opts;
}

// launchBrowser starts headless Chromium (the binary at executable) with the
// profile userDataDir, so that nothing of another run leaks in and the caller
// can find this browser's processes by it. Page errors and console errors go
// into consoleErrors. Errors name what is missing ("chromium missing",
// "playwright-core missing").
async function launchBrowser({ executable, userDataDir, viewport, scale = 1, consoleErrors }) {
	if (!fs.existsSync(executable)) throw new Error(`chromium missing: no browser at ${executable} (apt-get install chromium)`);
	let chromium;
	try {
		({ chromium } = require('playwright-core'));
	} catch (e) {
		throw new Error(`playwright-core missing: run \`npm ci\` in ${__dirname} (${e.message})`);
	}
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: executable,
		headless: true,
		// no network beyond the servers under test, no sandbox (root in CI)
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
		],
		viewport,
		deviceScaleFactor: scale,
		timeout: 30000,
	});
	const page = context.pages()[0] || (await context.newPage());
	page.on('console', (msg) => {
		if (msg.type() === 'error') consoleErrors.push(`console: ${msg.text()}`);
	});
	page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
	return { context, page };
}

module.exports = { usageExit, parseOptions, launchBrowser };
