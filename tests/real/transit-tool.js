#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Transit fixtures for credrun's tests, written and read back with the real
// transit-js (the reference JavaScript implementation of cognitect transit):
//
//   transit-tool.js eca FILE --access A --refresh R --expires-at S [--provider P] [--many N]
//       write an ECA-like global cache (db.transit.json): :auth with several
//       providers, :mcp-auth with its own tokens, keys and keywords repeated
//       so cache codes appear, and values of many Transit types; --many N adds
//       N more providers (N > 2000 makes two-digit codes wrap around)
//   transit-tool.js get FILE PROVIDER FIELD
//       print one value of [:auth PROVIDER FIELD] (FIELD without the colon)
//   transit-tool.js check BEFORE AFTER PROVIDER
//       read both files; succeed (print "same but the three values") when AFTER
//       equals BEFORE except that [:auth PROVIDER] :api-key, :refresh-token and
//       :expires-at changed, else print what differs and exit 1
//
// Exit status 2: usage; 3: transit-js is not installed (tests skip then).
'use strict';

const fs = require('fs');
let t;
try {
    t = require('transit-js');
} catch (e) {
    process.stderr.write('transit-tool: transit-js is not installed (npm install in tests/real)\n');
    process.exit(3);
}
const kw = t.keyword;

function die(msg, code) {
    process.stderr.write('transit-tool: ' + msg + '\n');
    process.exit(code === undefined ? 1 : code);
}

function opts(args) {
    const o = {};
    for (let i = 0; i < args.length; i += 2) {
        if (!args[i].startsWith('--') || i + 1 >= args.length) die('bad option ' + args[i], 2);
        o[args[i].slice(2)] = args[i + 1];
    }
    return o;
}

// A provider entry the way ECA keeps one after an OAuth login.
function provider(access, refresh, expiresAt, mode) {
    return t.map([
        kw('step'), kw('login/done'),
        kw('type'), kw('auth/oauth'),
        kw('mode'), kw(mode),
        kw('refresh-token'), refresh,
        kw('api-key'), access,
        kw('expires-at'), expiresAt,
    ]);
}

function writeEca(file, o) {
    const name = o.provider || 'anthropic';
    const auth = t.map();
    // Entries before and after the one credrun changes, so codes precede and
    // follow it: ECA's own initial db has them all, most empty.
    auth.set('azure', t.map());
    auth.set('openai', provider('at-openai-untouched', 'rt-openai-untouched', 1700000000, 'pro'));
    auth.set(name, provider(o.access, o.refresh, Number(o['expires-at']), 'max'));
    auth.set('github-copilot', t.map([kw('step'), kw('login/done'), kw('type'), kw('auth/token'),
                                      kw('api-key'), '~tilde and ^caret and `tick are escaped']));
    auth.set('z-ai', t.map());
    const many = Number(o.many || 0);
    for (let i = 0; i < many; i++)
        auth.set('provider-' + i, provider('at-' + i, 'rt-' + i, 1700000000 + i, 'max'));
    const doc = t.map([
        kw('auth'), auth,
        kw('mcp-auth'), t.map([
            'github', t.map([kw('type'), kw('auth/oauth'), kw('access-token'), 'mcp-at-untouched',
                             kw('refresh-token'), 'mcp-rt-untouched', kw('expires-at'), 1800000000]),
        ]),
        // Not ECA's, but what a Transit file may hold: credrun must keep them all.
        kw('unknown/extras'), t.map([
            kw('set'), t.set([kw('a'), kw('b'), 3]),
            kw('list'), t.list([1, 2.5, 'three', null, true, false]),
            kw('date'), new Date(1764064800123),
            kw('uuid'), t.uuid('531a379e-31bb-4ce1-8690-158dceb64be6'),
            kw('big'), t.integer('9007199254740993'),
            kw('symbol'), t.symbol('ns/sym'),
            kw('unicode'), 'h\u00e9llo \u2603 \ud83d\ude00',
            kw('cmap'), t.map([[1, 2], 'vector key', [kw('step')], 'keyword in a vector key']),
            kw('nested'), [t.map([kw('step'), 1]), t.map([kw('step'), 2, kw('type'), kw('auth/oauth')])],
        ]),
        kw('version'), 6,
    ]);
    fs.writeFileSync(file, t.writer('json').write(doc));
}

function read(file) {
    return t.reader('json').read(fs.readFileSync(file, 'utf8'));
}

function entry(doc, name) {
    const auth = doc.get(kw('auth'));
    const p = auth && auth.get(name);
    if (!p) die('no [:auth "' + name + '"] in the file');
    return p;
}

function show(v) {
    if (v === null || v === undefined) return 'nil';
    if (t.isInteger(v) && typeof v !== 'number') return v.toString();
    return String(v);
}

const FIELDS = ['api-key', 'refresh-token', 'expires-at'];

function check(beforeFile, afterFile, name) {
    const before = read(beforeFile), after = read(afterFile);
    const b = entry(before, name), a = entry(after, name);
    const problems = [];
    for (const f of FIELDS) {
        if (t.equals(b.get(kw(f)), a.get(kw(f))))
            problems.push(':' + f + ' did not change');
        b.set(kw(f), a.get(kw(f)));  // make the three values equal, then compare the rest
    }
    if (!t.equals(before, after))
        problems.push('other values changed:\n  before: ' + t.writer('json-verbose').write(before) +
                      '\n  after:  ' + t.writer('json-verbose').write(after));
    if (problems.length) die(problems.join('\n'));
    process.stdout.write('same but the three values\n');
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'eca' && args.length >= 1) {
    const o = opts(args.slice(1));
    if (!o.access || !o.refresh || !o['expires-at']) die('eca needs --access, --refresh and --expires-at', 2);
    writeEca(args[0], o);
} else if (cmd === 'get' && args.length === 3) {
    process.stdout.write(show(entry(read(args[0]), args[1]).get(kw(args[2]))) + '\n');
} else if (cmd === 'check' && args.length === 3) {
    check(args[0], args[1], args[2]);
} else {
    die('usage: transit-tool.js eca FILE --access A --refresh R --expires-at S [--provider P] [--many N] |' +
        ' get FILE PROVIDER FIELD | check BEFORE AFTER PROVIDER', 2);
}
