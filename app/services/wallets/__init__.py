"""Wallets: credentials delivered into the holder's own wallet app (LCW over a VC-API exchange,
OID4VCI wallets over the credential endpoint), each as a copy bound to the wallet's DID."""
