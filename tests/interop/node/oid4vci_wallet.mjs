// A wallet built on the OpenWallet Foundation's @openid4vc/openid4vci (the library behind the
// Credo and Animo wallets) taking up a Cairn credential offer: the pre-authorized code flow, step
// by step as its Openid4vciClient does it, with a fresh holder key (node:crypto) named by did:key.
//
// Reads one JSON request on stdin:
//   {"walletLink": "openid-credential-offer://?credential_offer_uri=...",
//    "origin": "https://badges.example.org",      // the issuer's public origin ...
//    "server": "http://127.0.0.1:PORT",             // ... answered by this loopback server
//    "keyType": "p256" | "ed25519", "txCode": "123456" | null,
//    "configurations": ["OpenBadgeCredential_ldp_vc", ...]}
// and writes {"holder": did, "offer": {...}, "metadata": {...}, "version": "...",
// "credentials": {configurationId: credential}} or {"error": message, "steps": [...]} on stdout.
// Every request goes to the loopback server (the fetch callback rewrites the origin); nothing
// reaches the network.

import crypto from 'node:crypto';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { clientAuthenticationAnonymous, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';

const readStdin = async () => {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const base58btc = (bytes) => {
  let value = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  let out = '';
  while (value > 0n) {
    out = BASE58[Number(value % 58n)] + out;
    value /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    out = '1' + out;
  }
  return 'z' + out;
};

// A fresh key pair, its public JWK and its did:key (multicodec ed25519-pub 0xed01 or
// p256-pub 0x1200 with the compressed point).
const holderKey = (keyType) => {
  if (keyType === 'ed25519') {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' });
    const raw = Buffer.from(jwk.x, 'base64url');
    const did = 'did:key:' + base58btc(Buffer.concat([Buffer.from([0xed, 0x01]), raw]));
    return { privateKey, jwk, did, alg: 'EdDSA' };
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x, 'base64url');
  const y = Buffer.from(jwk.y, 'base64url');
  const compressed = Buffer.concat([Buffer.from([y[y.length - 1] & 1 ? 0x03 : 0x02]), x]);
  const did = 'did:key:' + base58btc(Buffer.concat([Buffer.from([0x80, 0x24]), compressed]));
  return { privateKey, jwk, did, alg: 'ES256' };
};

const signWith = (key) => async (signer, { header, payload }) => {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature =
    key.alg === 'EdDSA'
      ? crypto.sign(null, Buffer.from(input), key.privateKey)
      : crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return { jwt: `${input}.${b64url(signature)}`, signerJwk: key.jwk };
};

const main = async () => {
  const request = await readStdin();
  const steps = [];
  const fetchLocal = (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    steps.push(`${init?.method ?? 'GET'} ${url}`);
    if (!url.startsWith(request.origin + '/')) {
      throw new Error(`refusing to fetch outside the issuer: ${url}`);
    }
    return fetch(request.server + url.slice(request.origin.length), init);
  };
  const key = holderKey(request.keyType);
  const client = new Openid4vciClient({
    callbacks: {
      fetch: fetchLocal,
      signJwt: signWith(key),
      hash: (data, alg) => crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
      generateRandom: (length) => crypto.randomBytes(length),
      clientAuthentication: clientAuthenticationAnonymous(),
    },
  });
  try {
    const offer = await client.resolveCredentialOffer(request.walletLink);
    const metadata = await client.resolveIssuerMetadata(offer.credential_issuer);
    const txCode = offer.grants?.[preAuthorizedCodeGrantIdentifier]?.tx_code;
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata: metadata,
      txCode: txCode ? request.txCode ?? undefined : undefined,
    });
    const credentials = {};
    for (const configurationId of request.configurations) {
      const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata: metadata });
      const { jwt } = await client.createCredentialRequestJwtProof({
        issuerMetadata: metadata,
        credentialConfigurationId: configurationId,
        signer: { method: 'did', didUrl: `${key.did}#${key.did.slice('did:key:'.length)}`, alg: key.alg },
        nonce,
      });
      const response = await client.retrieveCredentials({
        issuerMetadata: metadata,
        accessToken: accessTokenResponse.access_token,
        credentialConfigurationId: configurationId,
        proofs: { jwt: [jwt] },
      });
      credentials[configurationId] = response.credentialResponse.credentials[0].credential;
    }
    process.stdout.write(
      JSON.stringify({
        holder: key.did,
        offer,
        metadata: metadata.credentialIssuer,
        authorizationServers: metadata.authorizationServers,
        version: metadata.originalDraftVersion,
        credentials,
        steps,
      }),
    );
  } catch (error) {
    const detail = error.responseText ?? error.errorResponse ?? '';
    process.stdout.write(
      JSON.stringify({ error: `${error.name}: ${error.message} ${JSON.stringify(detail)}`, steps }),
    );
  }
};

await main();
