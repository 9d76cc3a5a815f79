#!/usr/bin/env node
/*
 * Drives the unmodified whatsapp-web.js package for the compatibility tests.
 *
 * Usage: node runner.js '<config JSON>'   (or the config as the first line of stdin)
 *
 * Config fields:
 *   cacheDir     directory holding <webVersion>.html (the simulator page); served by wwebjs
 *                for https://web.whatsapp.com/ through its `local` web version cache
 *   webVersion   the version whose file is served (the page's Debug.VERSION)
 *   dataPath     LocalAuth data directory (the browser profile lives below it)
 *   clientId     optional LocalAuth client id
 *   mode         "qr" (default) or "pairing"
 *   phone        phone number (digits) for mode "pairing"
 *   chromium     browser executable (default /usr/bin/chromium)
 *   extraArgs    more Chromium flags
 *   authTimeoutMs, qrMaxRetries   passed to the Client
 *
 * Output (stdout): one JSON object per line.
 *   {"event": NAME, "at": MS, "args": [...]}  every event the Client emits; `at` is this process's
 *                                             wall clock when the listener ran (unix ms, fractional),
 *                                             for the latency benchmarks
 *   {"event": "ready", "args": [], "info": {...}}   with client.info
 *   {"event": "browser", "pid": N}            the Chromium process id, for clean-up by the caller
 *   {"event": "initialize_error", "error": "..."}
 *   {"reply": ID, "ok": true, "result": ...} / {"reply": ID, "ok": false, "error": "..."}
 *   {"event": "exit"}                          just before a clean exit
 * Input (stdin): one command per line, {"id": ID, "cmd": NAME, ...fields}; see COMMANDS below.
 * The page's console output and uncaught page errors go to stderr, one line each, prefixed "[page]".
 * The program exits after the "destroy" command, at the end of stdin, or on SIGTERM/SIGINT, and
 * always closes the browser it started.
 */
'use strict';

const readline = require('readline');
const { Client, LocalAuth, Location, MessageMedia, Events } = require('whatsapp-web.js');

/** Keys never worth sending back: back references, raw page data and Node handles. */
const SKIPPED_KEYS = new Set(['client', '_data', 'pupPage', 'pupBrowser', 'interface']);

/** Turns wwebjs structures into plain JSON (no cycles, no raw page data, Buffers as base64). */
function toPlain(value) {
    const seen = new WeakSet();
    return JSON.parse(
        JSON.stringify(value === undefined ? null : value, (key, item) => {
            if (SKIPPED_KEYS.has(key)) return undefined;
            if (item && typeof item === 'object') {
                if (item.type === 'Buffer' && Array.isArray(item.data)) {
                    return { base64: Buffer.from(item.data).toString('base64') };
                }
                if (seen.has(item)) return undefined;
                seen.add(item);
            }
            return item;
        }),
    );
}

function writeLine(object) {
    process.stdout.write(JSON.stringify(object) + '\n');
}

function logError(text) {
    process.stderr.write(`[runner] ${text}\n`);
}

/**
 * LocalAuth that also forwards the page's console to stderr.
 *
 * `afterBrowserInitialized` is the strategy hook wwebjs calls once the page exists and before it
 * navigates, so the listeners see everything the simulator page logs from its first script on.
 * Behaviour of the strategy itself is unchanged.
 */
class ObservedLocalAuth extends LocalAuth {
    async afterBrowserInitialized() {
        await super.afterBrowserInitialized();
        const page = this.client.pupPage;
        const browserProcess = this.client.pupBrowser.process();
        if (browserProcess) writeLine({ event: 'browser', pid: browserProcess.pid });
        page.on('console', (message) => {
            const location = message.location();
            const where = location && location.url ? ` (${location.url}:${location.lineNumber})` : '';
            process.stderr.write(`[page] ${message.type()}: ${message.text()}${where}\n`);
        });
        page.on('pageerror', (error) => {
            process.stderr.write(`[page] uncaught: ${error && error.stack ? error.stack : error}\n`);
        });
        page.on('framenavigated', (frame) => {
            process.stderr.write(`[page] navigated: ${frame.url()}\n`);
        });
    }
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
/** Set while the config is expected as the first stdin line (no argument given). */
let configWaiter = null;

function readConfig() {
    const argument = process.argv[2];
    if (argument) return Promise.resolve(JSON.parse(argument));
    return new Promise((resolve) => {
        configWaiter = resolve;
    });
}

let client = null;
let shuttingDown = null;

async function messageById(id) {
    const message = await client.getMessageById(id);
    if (!message) throw new Error(`no message ${id}`);
    return message;
}

/** Calls `command.method(...command.args)` on a wwebjs object (only its own API, by name). */
async function invoke(target, kind, command) {
    if (!target || typeof target[command.method] !== 'function' || command.method.startsWith('_')) {
        throw new Error(`no ${kind} method ${command.method}`);
    }
    return target[command.method](...(command.args || []));
}

/** Commands accepted on stdin: name -> async function(command) returning the reply's result. */
const COMMANDS = {
    info: async () => client.info,
    getState: async () => client.getState(),
    getWWebVersion: async () => client.getWWebVersion(),
    getChats: async () => client.getChats(),
    getChatById: async (c) => client.getChatById(c.chat),
    getContacts: async () => client.getContacts(),
    getContactById: async (c) => client.getContactById(c.contact),
    getMessageById: async (c) => client.getMessageById(c.message_id),
    fetchMessages: async (c) => (await client.getChatById(c.chat)).fetchMessages({ limit: c.limit || 50 }),
    sendMessage: async (c) => client.sendMessage(c.chat, c.text, c.options || {}),
    sendMedia: async (c) => {
        const media = new MessageMedia(c.mimetype, c.data_b64, c.filename);
        const options = { ...(c.options || {}) };
        if (c.caption !== undefined) options.caption = c.caption;
        return client.sendMessage(c.chat, media, options);
    },
    sendLocation: async (c) =>
        client.sendMessage(c.chat, new Location(c.latitude, c.longitude, { name: c.name, address: c.address })),
    sendSeen: async (c) => client.sendSeen(c.chat),
    archiveChat: async (c) => client.archiveChat(c.chat),
    unarchiveChat: async (c) => client.unarchiveChat(c.chat),
    pinChat: async (c) => client.pinChat(c.chat),
    unpinChat: async (c) => client.unpinChat(c.chat),
    markChatUnread: async (c) => client.markChatUnread(c.chat),
    react: async (c) => (await messageById(c.message_id)).react(c.emoji),
    star: async (c) => (await messageById(c.message_id)).star(),
    unstar: async (c) => (await messageById(c.message_id)).unstar(),
    delete: async (c) => (await messageById(c.message_id)).delete(Boolean(c.everyone)),
    createGroup: async (c) => client.createGroup(c.title, c.participants, c.options || {}),
    addParticipants: async (c) => (await client.getChatById(c.group)).addParticipants(c.participants, c.options || {}),
    requestPairingCode: async (c) => client.requestPairingCode(c.phone, false),
    logout: async () => client.logout(),
    downloadMedia: async (c) => (await messageById(c.message_id)).downloadMedia(),
    /** Any other Client method: {"cmd": "call", "method": "getNumberId", "args": [...]}. */
    call: async (c) => invoke(client, 'Client', c),
    /** A method of a Chat / GroupChat: {"cmd": "chatCall", "chat", "method", "args"}. */
    chatCall: async (c) => invoke(await client.getChatById(c.chat), 'Chat', c),
    /** A method of a Contact: {"cmd": "contactCall", "contact", "method", "args"}. */
    contactCall: async (c) => invoke(await client.getContactById(c.contact), 'Contact', c),
    /** A method of a Message: {"cmd": "messageCall", "message_id", "method", "args"}. */
    messageCall: async (c) => invoke(await messageById(c.message_id), 'Message', c),
    /** The page's JavaScript heap through Puppeteer (DevTools Performance.getMetrics), for the soak. */
    heapUsage: async () => {
        const metrics = await client.pupPage.metrics();
        return { used: metrics.JSHeapUsedSize, total: metrics.JSHeapTotalSize };
    },
    destroy: async () => null,
};

async function handleCommand(line) {
    if (!line.trim()) return;
    let command;
    try {
        command = JSON.parse(line);
    } catch (error) {
        writeLine({ reply: null, ok: false, error: `bad JSON: ${error.message}` });
        return;
    }
    const id = command.id === undefined ? null : command.id;
    const implementation = COMMANDS[command.cmd];
    if (!implementation) {
        writeLine({ reply: id, ok: false, error: `unknown cmd ${command.cmd}` });
        return;
    }
    if (!client) {
        writeLine({ reply: id, ok: false, error: 'client not started' });
        return;
    }
    try {
        const result = await implementation(command);
        writeLine({ reply: id, ok: true, result: toPlain(result) });
    } catch (error) {
        writeLine({ reply: id, ok: false, error: String(error && error.stack ? error.stack : error) });
    }
    if (command.cmd === 'destroy') await shutdown(0);
}

/** Closes the browser (even when wwebjs cannot) and exits; runs once. */
function shutdown(code) {
    if (shuttingDown) return shuttingDown;
    shuttingDown = (async () => {
        if (client) {
            const browser = client.pupBrowser;
            const browserProcess = browser && browser.process ? browser.process() : null;
            try {
                await Promise.race([
                    client.destroy(),
                    new Promise((resolve) => setTimeout(resolve, 10000)),
                ]);
            } catch (error) {
                logError(`destroy failed: ${error}`);
            }
            if (browserProcess && browserProcess.exitCode === null && browserProcess.signalCode === null) {
                browserProcess.kill('SIGKILL');
            }
        }
        writeLine({ event: 'exit' });
        process.exit(code);
    })();
    return shuttingDown;
}

/** Unix time in fractional milliseconds (Date.now() only has whole ones). */
function wallClock() {
    return performance.timeOrigin + performance.now();
}

function subscribeToEvents() {
    for (const name of new Set(Object.values(Events))) {
        if (name === Events.READY) continue;
        client.on(name, (...args) => {
            const at = wallClock();
            try {
                writeLine({ event: name, at, args: toPlain(args) });
            } catch (error) {
                writeLine({ event: name, at, args: [], error: `unserializable: ${error}` });
            }
        });
    }
    client.on(Events.READY, () => writeLine({ event: 'ready', args: [], info: toPlain(client.info) }));
}

async function main() {
    const config = await readConfig();
    const options = {
        authStrategy: new ObservedLocalAuth({ dataPath: config.dataPath, clientId: config.clientId }),
        webVersion: config.webVersion,
        webVersionCache: { type: 'local', path: config.cacheDir, strict: true },
        authTimeoutMs: config.authTimeoutMs || 30000,
        qrMaxRetries: config.qrMaxRetries || 0,
        puppeteer: {
            executablePath: config.chromium || '/usr/bin/chromium',
            headless: true,
            // Chromium is ended by this program (shutdown), not by Puppeteer's signal handlers,
            // so that the page can be closed in order before the process goes.
            handleSIGINT: false,
            handleSIGTERM: false,
            handleSIGHUP: false,
            args: [
                '--no-sandbox',
                // The page runs under https://web.whatsapp.com/ and reaches the simulator on loopback.
                '--disable-features=LocalNetworkAccessChecks',
                '--disable-dev-shm-usage',
                '--disable-gpu',
                '--no-first-run',
                '--no-default-browser-check',
                ...(config.extraArgs || []),
            ],
        },
    };
    if (config.mode === 'pairing') {
        options.pairWithPhoneNumber = { phoneNumber: config.phone, showNotification: false };
    }
    client = new Client(options);
    subscribeToEvents();
    try {
        await client.initialize();
        writeLine({ event: 'initialized' });
    } catch (error) {
        writeLine({ event: 'initialize_error', error: String(error && error.stack ? error.stack : error) });
    }
}

lines.on('line', (line) => {
    if (configWaiter) {
        const resolve = configWaiter;
        configWaiter = null;
        resolve(JSON.parse(line));
        return;
    }
    handleCommand(line).catch((error) => logError(`command failed: ${error}`));
});
lines.on('close', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
// wwebjs starts some page work without awaiting it (pairing code, re-injection after a
// navigation); report such failures instead of dying with the browser still open.
process.on('unhandledRejection', (reason) => {
    logError(`unhandled rejection: ${reason && reason.stack ? reason.stack : reason}`);
    writeLine({ event: 'unhandled_rejection', error: String(reason && reason.stack ? reason.stack : reason) });
});

main().catch((error) => {
    logError(`fatal: ${error && error.stack ? error.stack : error}`);
    shutdown(1);
});
