// lcw-client.mjs: a test client that does what the Digital Credentials Consortium's Learner
// Credential Wallet (LCW, github.com/digitalcredentials/learner-credential-wallet) does with an
// "Add to a wallet" deep link, written from its code and using the libraries (and versions) LCW
// itself uses: @digitalcredentials/vc 9, ed25519-signature-2020 6,
// ed25519-verification-key-2020 4, did-method-key 2. (LCW's document loader,
// security-document-loader 6, serves bundled copies of the W3C contexts; it is not installed
// here because it pulls in react-native: the same contexts come from Cairn's bundled files,
// passed in "contexts", and any other URL is refused.)
//
//   app/lib/decode.ts credentialRequestFromChapiUrl: the request is the `request` query parameter
//     of `https://lcw.app/request?…` or `dccrequest://request?…`, JSON with
//     credentialRequestOrigin and protocols.vcapi (credentialRequest.ts isChapiCredentialRequest).
//   app/lib/did.ts mintDid: a did:key from 32 random bytes (didKeyDriver.generate).
//   app/screens/ExchangeCredentials: holder = didDocument.authentication[0] without its
//     fragment; suite = new Ed25519Signature2020({key}); handleVcApiExchangeComplete({url:
//     protocols.vcapi, holder, suite}); the credential is
//     response.verifiablePresentation.verifiableCredential[0] (it must be an array).
//   app/lib/exchanges.ts handleVcApiExchangeComplete: POST {} (JSON); while the answer holds a
//     verifiablePresentationRequest, read its query (DIDAuthentication -> sign), challenge,
//     domain and interact, build vc.createPresentation({holder}) and
//     vc.signPresentation({presentation, challenge, domain, suite, documentLoader}), and POST
//     {verifiablePresentation} to interact.service[0].serviceEndpoint (else the same URL); at
//     most 10 interactions.
//
// One JSON request on stdin, one JSON answer on stdout; every request carries "contexts":
// {URL: absolute file path} (the Python side passes credentials/jsonld/contexts).
//   {"op": "exchange", "link": "<deep link>"} ->
//     {"holder", "request", "steps": [{"url", "status", "sent", "answer"}], "credential"}
//   {"op": "exchange", "link", "tamper": {"domain"?: "...", "challenge"?: "..."}} signs for
//     that domain or challenge instead (the server must refuse).
//   {"op": "didauth", "seed": "<64 hex>", "challenge", "domain", "date"} ->
//     {"holder", "presentation"}: a DIDAuth presentation exactly as LCW signs it, from a fixed
//     key (the test vector in tests/fixtures/lcw/).
// On failure: {"error": "..."} and exit status 1.
//
// Nothing reaches the internet: contexts come from the files given (LCW fetches unknown ones;
// none are needed), and fetch is allowed to the exchange's own origin only.
import * as vc from '@digitalcredentials/vc';
import * as DidMethodKey from '@digitalcredentials/did-method-key';
import {Ed25519Signature2020} from '@digitalcredentials/ed25519-signature-2020';
import {Ed25519VerificationKey2020} from '@digitalcredentials/ed25519-verification-key-2020';
import {randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';

const MAX_INTERACTIONS = 10;
const QueryType = {DidAuth: 'DIDAuthentication', DidAuthLegacy: 'DIDAuth'};

console.log = (...args) => console.error(...args);
let contextFiles = {};
async function documentLoader(url) {
  if(!Object.hasOwn(contextFiles, url)) {
    throw new Error(`lcw-client refuses to load ${url}: not a bundled context`);
  }
  const document = JSON.parse(readFileSync(contextFiles[url], 'utf8'));
  return {contextUrl: null, documentUrl: url, document};
}

function fail(message) {
  process.stdout.write(JSON.stringify({error: message}) + '\n');
  process.exit(1);
}

// decode.ts credentialRequestFromChapiUrl + credentialRequest.ts isChapiCredentialRequest
function credentialRequestFromUrl(url) {
  if(!(url.startsWith('https://lcw.app/request?') || url.startsWith('dccrequest://request?'))) {
    throw new Error(`not an LCW request link: ${url}`);
  }
  const params = new URLSearchParams(url.split('?')[1]);
  const requestString = params.get('request');
  if(!requestString) {
    throw new Error('The credential request was malformed.');
  }
  const request = JSON.parse(requestString);
  const {credentialRequestOrigin, protocols} = request || {};
  if(credentialRequestOrigin === undefined || protocols === undefined ||
    !['OID4VCI', 'OID4VP', 'vcapi'].some(field => !!protocols[field])) {
    throw new Error('The credential request was malformed.');
  }
  return request;
}

// did.ts mintDid. LCW passes {randomBytes}, which did-method-key 2 ignores (it reads `seed`),
// so its keys come from the driver's own random generator; the test vector passes a seed.
async function mintDid(seed) {
  const driver = DidMethodKey.driver();
  const options = seed ? {seed} : {randomBytes: randomBytes(32)};
  const {didDocument, keyPairs} = await driver.generate(options);
  const [verificationKey] = Array.from(keyPairs).map(([, pair]) => pair);
  return {didDocument, verificationKey};
}

async function suiteFor(didRecord, date) {
  const holder = didRecord.didDocument.authentication[0].split('#')[0];
  const key = await Ed25519VerificationKey2020.from(didRecord.verificationKey);
  return {holder, suite: new Ed25519Signature2020({key, ...(date ? {date} : {})})};
}

// exchanges.ts constructExchangeRequest
async function constructExchangeRequest({challenge, domain, holder, suite, signed = true}) {
  const presentation = vc.createPresentation({holder});
  let finalPresentation = presentation;
  if(signed) {
    finalPresentation = await vc.signPresentation({
      presentation, challenge, domain, suite, documentLoader
    });
  }
  return {verifiablePresentation: finalPresentation};
}

let allowedOrigin = null;

async function interactExchange(url, request, steps) {
  if(new URL(url).origin !== allowedOrigin) {
    throw new Error(`refusing to POST to ${url}: not the exchange's origin ${allowedOrigin}`);
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(request, null, 2),
    redirect: 'error'
  });
  const answer = await response.json();
  steps.push({url, status: response.status, sent: request, answer});
  return answer;
}

// exchanges.ts handleVcApiExchangeComplete (no credential queries: only DID Authentication)
async function handleVcApiExchangeComplete({url, request = {}, holder, suite, tamper, steps,
  interactions = 0}) {
  if(interactions === MAX_INTERACTIONS) {
    throw new Error(`Request timed out after ${interactions} interactions`);
  }
  const exchangeResponse = await interactExchange(url, request, steps);
  if(!exchangeResponse.verifiablePresentationRequest) {
    return exchangeResponse;
  }
  let signed = false;
  const {query, challenge, domain, interact} = exchangeResponse.verifiablePresentationRequest;
  const queries = Array.isArray(query) ? query : [query];
  for(const q of queries) {
    if(q.type === QueryType.DidAuth || q.type === QueryType.DidAuthLegacy) {
      signed = true;
    }
  }
  const exchangeRequest = await constructExchangeRequest({
    challenge: tamper?.challenge ?? challenge,
    domain: tamper?.domain ?? domain,
    holder, suite, signed
  });
  const exchangeUrl = interact?.service[0]?.serviceEndpoint ?? url;
  return handleVcApiExchangeComplete({url: exchangeUrl, request: exchangeRequest, holder, suite,
    tamper, steps, interactions: interactions + 1});
}

async function exchange({link, tamper}) {
  const request = credentialRequestFromUrl(link);
  const url = request.protocols.vcapi;
  allowedOrigin = new URL(url).origin;
  if(!/^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(allowedOrigin) &&
    !allowedOrigin.startsWith('https://')) {
    throw new Error(`unexpected exchange origin ${allowedOrigin}`);
  }
  const didRecord = await mintDid();
  const {holder, suite} = await suiteFor(didRecord);
  const steps = [];
  const response = await handleVcApiExchangeComplete({url, holder, suite, tamper, steps});
  // ExchangeCredentials.tsx: the credential field must be a non-empty array
  const credentialField = response.verifiablePresentation?.verifiableCredential;
  const credential = Array.isArray(credentialField) && credentialField.length > 0 ?
    credentialField[0] : null;
  return {holder, request, steps, credential};
}

async function didauth({seed, challenge, domain, date}) {
  const didRecord = await mintDid(Buffer.from(seed, 'hex'));
  const {holder, suite} = await suiteFor(didRecord, date);
  const {verifiablePresentation} = await constructExchangeRequest({
    challenge, domain, holder, suite
  });
  return {holder, presentation: verifiablePresentation};
}

let input = '';
for await (const chunk of process.stdin) {
  input += chunk;
}
try {
  const request = JSON.parse(input);
  contextFiles = request.contexts || {};
  const ops = {exchange, didauth};
  if(!ops[request.op]) {
    fail(`unknown op ${request.op}`);
  }
  process.stdout.write(JSON.stringify(await ops[request.op](request)) + '\n');
} catch(error) {
  fail(String(error && error.stack || error));
}
