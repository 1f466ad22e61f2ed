// vcjs.mjs: Cairn's interop harness around Digital Bazaar's vc.js (DataIntegrityProof with the
// eddsa-rdfc-2022 cryptosuite). Python tests (tests/interop) and the benchmark (bench/signing.py)
// run `node vcjs.mjs`, write ONE JSON request to its stdin and read ONE JSON response from stdout.
//
// Requests:
//   {"op": "sign", "credential": {...}, "key": {"id", "controller", "publicKeyMultibase",
//    "secretKeyMultibase"}, "date": ISO}                   -> {"signed": {...}}
//   {"op": "verify", "credential": {...}, "documents": {URL: DOC}, "now"?: ISO}
//                                                          -> {"verified": bool, "error": str|null}
//   ... "checkStatus": true: the Bitstring status list is checked too, with Digital Bazaar's
//   @digitalbazaar/vc-bitstring-status-list (the list credential, verified, from `documents`)
//                                   -> also {"status": [{"purpose": str, "set": bool}]}
//   {"op": "verify_many", "credentials": [...], "documents": {URL: DOC}, "now"?: ISO}
//                                                          -> {"results": [{"verified", "error"}]}
//   {"op": "canonize", "document": {...}}                  -> {"nquads": "..."}  (rdf-canonize
//                                                             RDFC-1.0 via jsonld.js, safe mode)
//   {"op": "sign_batch", "credentials": [...], "key": {...}, "date": ISO}
//                                                          -> {"signed": [{...}, ...]}  (one key
//                                                             import, then vc.issue per credential,
//                                                             as a batch signer would)
//   {"op": "bench", "kind": "sign"|"verify", "credential": {...}, "key": {...}, "n": N,
//    "documents"?: {...}}                                  -> {"per_second": float, "n": N}
// Every request may carry "contexts": {URL: absolute file path}; otherwise the map is read from
// the CAIRN_JSONLD_CONTEXTS environment variable (the same JSON object). On any failure the
// harness prints {"error": "..."} and exits with status 1.
//
// The document loader serves ONLY: the contexts in that map (the Python project's own bundled
// files, plus whatever extra context a test passes explicitly), the caller's `documents`
// (controller / DID documents, and verification methods addressed by a fragment inside one of
// them), and did:key DIDs (built locally from the key itself). Everything else is refused with an
// error: this harness never touches the network. vc.js's defaults are kept, including JSON-LD
// "safe mode" (undefined terms are an error). Without "checkStatus": true a `credentialStatus` is
// accepted without being checked (vc.js insists on a checkStatus hook).
import {readFileSync} from 'node:fs';
import {performance} from 'node:perf_hooks';

import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus as checkBitstringStatus} from '@digitalbazaar/vc-bitstring-status-list';
import jsonld from 'jsonld';
import * as rdfCanonize from 'rdf-canonize';

const DID_CONTEXT = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

function readStdin() {
  return readFileSync(0, 'utf8');
}

function contextMap(request) {
  if(request.contexts !== undefined) {
    return request.contexts;
  }
  const fromEnv = process.env.CAIRN_JSONLD_CONTEXTS;
  if(!fromEnv) {
    throw new Error(
      'no JSON-LD contexts: pass "contexts" in the request or set CAIRN_JSONLD_CONTEXTS');
  }
  return JSON.parse(fromEnv);
}

// The DID document of an Ed25519 did:key (https://w3c-ccg.github.io/did-method-key/), built
// from the key in the DID itself; the key is decoded so a malformed one is refused.
async function didKeyDocument(did) {
  const fingerprint = did.slice('did:key:'.length);
  if(!fingerprint.startsWith('z6Mk')) {
    throw new Error(`only Ed25519 did:key DIDs are supported, not "${did}"`);
  }
  const vmId = `${did}#${fingerprint}`;
  await Ed25519Multikey.from({
    id: vmId, controller: did, type: 'Multikey', publicKeyMultibase: fingerprint
  });
  return {
    '@context': [DID_CONTEXT, MULTIKEY_CONTEXT],
    id: did,
    verificationMethod: [{
      id: vmId, type: 'Multikey', controller: did, publicKeyMultibase: fingerprint
    }],
    authentication: [vmId],
    assertionMethod: [vmId],
    capabilityDelegation: [vmId],
    capabilityInvocation: [vmId]
  };
}

function findVerificationMethod(controllerDocument, url) {
  const candidates = [];
  for(const relation of [
    'verificationMethod', 'assertionMethod', 'authentication',
    'capabilityInvocation', 'capabilityDelegation'
  ]) {
    const values = controllerDocument[relation];
    for(const value of Array.isArray(values) ? values : (values ? [values] : [])) {
      if(value && typeof value === 'object') {
        candidates.push(value);
      }
    }
  }
  const method = candidates.find(candidate => candidate.id === url);
  return method && {'@context': MULTIKEY_CONTEXT, ...method};
}

function makeDocumentLoader({contexts, documents = {}}) {
  const cache = new Map();
  return async function documentLoader(url) {
    const response = document => ({contextUrl: null, documentUrl: url, document});
    if(Object.hasOwn(contexts, url)) {
      if(!cache.has(url)) {
        cache.set(url, JSON.parse(readFileSync(contexts[url], 'utf8')));
      }
      // "static" lets jsonld.js keep the processed context across operations, as the
      // jsonld-document-loader behind @digitalbazaar/security-document-loader does; Cairn
      // caches its processed contexts too, so the benchmark compares like with like.
      return {...response(structuredClone(cache.get(url))), tag: 'static'};
    }
    if(Object.hasOwn(documents, url)) {
      return response(structuredClone(documents[url]));
    }
    const [base, fragment] = url.split('#', 2);
    if(fragment !== undefined && Object.hasOwn(documents, base)) {
      const method = findVerificationMethod(documents[base], url);
      if(method) {
        return response(structuredClone(method));
      }
    }
    if(base.startsWith('did:key:')) {
      const didDocument = await didKeyDocument(base);
      if(fragment === undefined) {
        return response(didDocument);
      }
      const method = findVerificationMethod(didDocument, url);
      if(method) {
        return response(method);
      }
    }
    throw new Error(
      `vcjs harness refuses to load "${url}": not a bundled context or a supplied document`);
  };
}

async function makeSigner(key) {
  const keyPair = await Ed25519Multikey.from({...key, type: 'Multikey'});
  return keyPair.signer();
}

function verifySuite() {
  return new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
}

async function acceptStatus() {
  return {verified: true};
}

// A fresh suite per credential (it caches the last document's hash); `signer` may be reused.
async function sign({credential, key, signer, date, documentLoader}) {
  const suite = new DataIntegrityProof({
    signer: signer || await makeSigner(key), date, cryptosuite: eddsaRdfc2022
  });
  return vc.issue({credential: structuredClone(credential), suite, documentLoader});
}

async function verify({credential, documentLoader, now, withStatus = false}) {
  const result = await vc.verifyCredential({
    credential: structuredClone(credential),
    suite: verifySuite(),
    documentLoader,
    checkStatus: withStatus ?
      options => checkBitstringStatus({...options, suite: verifySuite()}) : acceptStatus,
    ...(now ? {now} : {})
  });
  const answer = {verified: result.verified === true, error: result.verified ? null : describe(result)};
  if(withStatus) {
    // vc.js reports a set bit as a successful check whose `status` is true: the verifier decides.
    answer.status = (result.statusResult?.results || []).map(entry => ({
      purpose: entry.credentialStatus?.statusPurpose, set: entry.status === true
    }));
  }
  return answer;
}

// Every error message in a verification result, innermost ones included, deduplicated.
function describe(result) {
  const messages = [];
  const seen = new Set();
  const visit = error => {
    if(!error || seen.has(error)) {
      return;
    }
    seen.add(error);
    if(error.message) {
      messages.push(error.message);
    }
    for(const inner of error.errors || []) {
      visit(inner);
    }
    // jsonld.js wraps a document loader's error in details.cause
    for(const cause of [error.cause, error.details?.cause]) {
      visit(cause);
    }
  };
  visit(result.error);
  for(const entry of result.results || []) {
    visit(entry.error);
  }
  return [...new Set(messages)].join('; ') || 'verification failed';
}

async function canonize({document, documentLoader}) {
  // Exactly what the eddsa-rdfc-2022 cryptosuite does (lib/canonize.js), with its options.
  const dataset = await jsonld.toRDF(document, {
    documentLoader, base: null, safe: true, rdfDirection: 'i18n-datatype',
    produceGeneralizedRdf: false
  });
  return rdfCanonize.canonize(dataset, {algorithm: 'RDFC-1.0', format: 'application/n-quads'});
}

async function bench({kind, credential, key, n, documentLoader}) {
  if(!Number.isInteger(n) || n < 1) {
    throw new Error('"n" must be a positive integer');
  }
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  // The key is imported once, as a service holding its signing key would; verifying still
  // resolves the verification method and decodes its Multikey every time.
  const signer = await makeSigner(key);
  let once;
  if(kind === 'sign') {
    once = () => sign({credential, signer, date, documentLoader});
  } else if(kind === 'verify') {
    const signed = await sign({credential, signer, date, documentLoader});
    once = async () => {
      const result = await verify({credential: signed, documentLoader});
      if(!result.verified) {
        throw new Error(`verification failed during the benchmark: ${result.error}`);
      }
    };
  } else {
    throw new Error(`unknown bench kind "${kind}"`);
  }
  const warmUp = Math.min(100, Math.max(10, Math.floor(n / 10)));
  for(let i = 0; i < warmUp; ++i) {
    await once();
  }
  const start = performance.now();
  for(let i = 0; i < n; ++i) {
    await once();
  }
  const seconds = (performance.now() - start) / 1000;
  return {per_second: n / seconds, n};
}

async function handle(request) {
  const documentLoader = makeDocumentLoader({
    contexts: contextMap(request), documents: request.documents
  });
  const {credential, key, date, now, kind, n} = request;
  switch(request.op) {
    case 'sign':
      return {signed: await sign({credential, key, date, documentLoader})};
    case 'verify':
      return verify({credential, now, documentLoader, withStatus: request.checkStatus === true});
    case 'verify_many': {
      // One process for many credentials (starting Node costs about a second each time).
      const results = [];
      for(const each of request.credentials) {
        results.push(await verify({credential: each, now, documentLoader}));
      }
      return {results};
    }
    case 'sign_batch': {
      const signer = await makeSigner(key);
      const signed = [];
      for(const each of request.credentials) {
        signed.push(await sign({credential: each, signer, date, documentLoader}));
      }
      return {signed};
    }
    case 'canonize':
      return {nquads: await canonize({document: request.document, documentLoader})};
    case 'bench':
      return bench({kind, credential, key, n, documentLoader});
    default:
      throw new Error(`unknown op ${JSON.stringify(request.op)}`);
  }
}

try {
  const response = await handle(JSON.parse(readStdin()));
  process.stdout.write(JSON.stringify(response) + '\n');
} catch(error) {
  process.stdout.write(JSON.stringify({error: String(error?.stack || error)}) + '\n');
  process.exitCode = 1;
}
