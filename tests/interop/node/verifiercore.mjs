// verifiercore.mjs: Cairn's interop harness around the Digital Credentials Consortium's
// verifier-core (@digitalcredentials/verifier-core: signature with eddsa-rdfc-2022 or
// Ed25519Signature2020, expiry, Bitstring status list, issuer registries, OB 3.0 JSON Schema).
// Python tests (tests/interop/test_verifier_core.py, and the outside corpus in
// tests/fixtures/outside) run
//
//   node verifiercore.mjs --server http://127.0.0.1:PORT
//
// write ONE JSON request to its stdin, {"credential": {...}, "registries"?: [...]}, and read ONE
// JSON response from stdout: {"result": <verifier-core's verifyCredential result without the
// echoed credential>, "summary": {...}, "requests": [URL, ...]}. {"credentials": [...]} verifies
// each in turn in one process and answers {"results": [<one response each>]}. "registries" is
// verifier-core's knownDIDRegistries (default: none). "now" (ISO 8601), when given, is the time
// the credentials are judged at: verifier-core has no such option, so the harness fixes the
// process's clock (Date) to it, which expiry and status-list validity then read. On a harness
// failure it prints {"error": "..."} and exits with status 1.
//
// No request leaves the machine. Every https:// URL verifier-core (or a library under it) asks
// for — a JSON-LD context it does not bundle, a did:web DID document, a status list, an issuer
// registry, a JSON Schema — is sent instead to the test server named by --server, as
//   GET <server>/<host><path><query>
// (https://example.org/a/b?c=1 -> http://127.0.0.1:PORT/example.org/a/b?c=1), and the server
// answers from what the test gave it. Any other URL (http:// elsewhere, another scheme) is
// refused with an error, and node's http/https modules refuse every host but the test server,
// so a library that bypasses fetch cannot reach the network either. The URLs asked for are
// listed in "requests", so a test can see what was resolved.
import http from 'node:http';
import https from 'node:https';
import {readFileSync} from 'node:fs';

function argument(name) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const server = argument('--server');
if(!server || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(server)) {
  process.stdout.write(JSON.stringify({
    error: 'usage: node verifiercore.mjs --server http://127.0.0.1:PORT (a loopback test server)'
  }) + '\n');
  process.exit(1);
}
const serverUrl = new URL(server);
// --direct http://127.0.0.1:PORT: one more loopback origin requests go to unchanged (a live
// Cairn test server, whose status lists are at http URLs of its own).
const direct = argument('--direct');
if(direct !== undefined && !/^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(direct)) {
  process.stdout.write(JSON.stringify({error: '--direct must be a loopback http origin'}) + '\n');
  process.exit(1);
}
const directUrl = direct ? new URL(direct) : null;
const requests = [];

// verifier-core's libraries log with console.log (a registry they could not load, a schema they
// could not fetch); stdout carries only the harness's one JSON response, so logs go to stderr.
console.log = (...args) => console.error(...args);
console.info = console.log;

function redirect(original) {
  const url = new URL(original);
  if(url.origin === serverUrl.origin) {
    return url.href;
  }
  if(directUrl && url.origin === directUrl.origin) {
    requests.push(url.href);
    return url.href;
  }
  if(url.protocol !== 'https:') {
    throw new TypeError(`verifiercore harness refuses ${url.href}: only https URLs are served`);
  }
  requests.push(url.href);
  return `${serverUrl.origin}/${url.host}${url.pathname}${url.search}`;
}

const realFetch = globalThis.fetch;
globalThis.fetch = async function fetch(input, init) {
  const original = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
  const target = redirect(original);
  // a Request carries its own method, headers and signal; `init` may name an undici dispatcher
  // (@digitalcredentials/http-client does), which would bypass the redirect, so it is dropped
  const {dispatcher, ...rest} = init || {};
  const request = input instanceof Request ? new Request(target, input) : target;
  return realFetch(request, {...rest, redirect: 'error'});
};

function refuseOtherHosts(module, name) {
  for(const method of ['request', 'get']) {
    const original = module[method];
    module[method] = function guarded(...args) {
      const first = args[0];
      const options = typeof first === 'string' || first instanceof URL ?
        new URL(String(first)) : (first || {});
      const host = options.hostname || options.host;
      const port = String(options.port || (name === 'https' ? 443 : 80));
      const allowed = [serverUrl, directUrl].some(
        allowedUrl => allowedUrl && host === allowedUrl.hostname && port === allowedUrl.port);
      if(name !== 'http' || !allowed) {
        throw new Error(`verifiercore harness refuses a raw ${name} request to ${host}:${port}`);
      }
      return original.apply(this, args);
    };
  }
}
refuseOtherHosts(http, 'http');
refuseOtherHosts(https, 'https');

// Imported only now: libraries that keep a reference to fetch when they load get the redirecting one.
const {verifyCredential} = await import('@digitalcredentials/verifier-core');

function step(result, id) {
  const entry = (result.log || []).find(item => item.id === id);
  if(!entry) {
    return null;
  }
  return entry.error ? {error: entry.error.name || entry.error.message} : {valid: entry.valid};
}

// The parts of the result a test compares: fatal error names, then each step's outcome.
function summarise(result) {
  const errors = (result.errors || []).map(error => error.name || error.message || String(error));
  const schema = (result.additionalInformation || []).find(item => item.id === 'schema_check');
  const schemaResults = Array.isArray(schema?.results) ?
    schema.results.map(item => ({schema: item.schema, valid: item.result?.valid === true})) :
    schema?.results ?? null;
  return {
    errors,
    valid_signature: step(result, 'valid_signature'),
    expiration: step(result, 'expiration'),
    revocation_status: step(result, 'revocation_status'),
    registered_issuer: step(result, 'registered_issuer'),
    schema: schemaResults
  };
}

function strip(result) {
  const {credential, ...rest} = result;
  // error objects carry stack traces (and a cause chain) that do not serialise usefully
  const errors = (rest.errors || []).map(error => ({
    name: error.name, message: error.message
  }));
  return {...rest, ...(rest.errors ? {errors} : {})};
}

// `new Date()` and `Date.now()` answer `iso` from now on; dates built from a value are unchanged.
function fixClock(iso) {
  const fixed = Date.parse(iso);
  if(typeof iso !== 'string' || Number.isNaN(fixed)) {
    throw new Error(`"now" must be an ISO 8601 date-time, not ${JSON.stringify(iso)}`);
  }
  const RealDate = Date;
  globalThis.Date = class FixedDate extends RealDate {
    constructor(...args) {
      if(args.length === 0) {
        super(fixed);
      } else {
        super(...args);
      }
    }

    static now() {
      return fixed;
    }
  };
}

async function verifyOne(credential, registries) {
  requests.length = 0;
  const result = await verifyCredential({credential, knownDIDRegistries: registries});
  return {result: strip(result), summary: summarise(result), requests: [...new Set(requests)]};
}

try {
  const request = JSON.parse(readFileSync(0, 'utf8'));
  const registries = request?.registries || [];
  if(request?.now !== undefined) {
    fixClock(request.now);
  }
  let response;
  if(Array.isArray(request?.credentials)) {
    // one process for many credentials (node and verifier-core take about a second to load)
    response = {results: []};
    for(const credential of request.credentials) {
      response.results.push(await verifyOne(credential, registries));
    }
  } else if(request && typeof request.credential === 'object' && request.credential !== null) {
    response = await verifyOne(request.credential, registries);
  } else {
    throw new Error(
      'the request must be {"credential": {...}} or {"credentials": [...]}, ' +
      'with optional "registries"');
  }
  process.stdout.write(JSON.stringify(response) + '\n');
} catch(error) {
  process.stdout.write(JSON.stringify({error: String(error?.stack || error)}) + '\n');
  process.exitCode = 1;
}
