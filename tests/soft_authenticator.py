"""A small software WebAuthn authenticator for tests: ES256 keys from ``cryptography``, CBOR from ``cbor2``.

It answers the options the panel issues the way a browser plus a platform
authenticator would, as the JSON the panel's passkeys.js posts, and each
answer can be bent (no user verification, another RP ID or origin, a chosen
counter) to test what the server refuses.
"""

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_USER_PRESENT = 0x01
FLAG_USER_VERIFIED = 0x04
FLAG_BACKUP_ELIGIBLE = 0x08
FLAG_BACKED_UP = 0x10
FLAG_ATTESTED_DATA = 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class StoredCredential:
    """A discoverable credential as the authenticator keeps it."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost"
    aaguid: bytes = bytes(16)
    # Synced passkeys (iCloud Keychain, Google Password Manager) set both flags.
    backup_eligible: bool = False
    backed_up: bool = False
    # Authenticators that keep no counter (many synced passkeys) always send 0.
    counts_signatures: bool = True
    credentials: list[StoredCredential] = field(default_factory=list)

    def register(self, options: dict, *, user_verified=True, rp_id=None, origin=None, challenge=None) -> dict:
        """Answer ``navigator.credentials.create()`` options; returns the credential JSON and stores the key."""
        rp_id = rp_id or options["rp"]["id"]
        private_key = ec.generate_private_key(ec.SECP256R1())
        credential = StoredCredential(
            credential_id=os.urandom(32),
            private_key=private_key,
            rp_id=rp_id,
            user_handle=from_b64url(options["user"]["id"]),
        )
        self.credentials.append(credential)
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        numbers = private_key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        attested = self.aaguid + struct.pack(">H", len(credential.credential_id)) + credential.credential_id + cose_key
        auth_data = self._auth_data(rp_id, user_verified, FLAG_ATTESTED_DATA, 0) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
        }

    def login(
        self,
        options: dict,
        *,
        credential=None,
        user_verified=True,
        rp_id=None,
        origin=None,
        sign_count=None,
        user_handle=None,
    ) -> dict:
        """Answer ``navigator.credentials.get()`` options with a stored credential (the newest by default)."""
        credential = credential or self.credentials[-1]
        if sign_count is None:
            if self.counts_signatures:
                credential.sign_count += 1
            sign_count = credential.sign_count if self.counts_signatures else 0
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._auth_data(rp_id or credential.rp_id, user_verified, 0, sign_count)
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle if user_handle is None else user_handle),
            },
        }

    def _client_data(self, ceremony, challenge, origin) -> bytes:
        data = {"type": ceremony, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data).encode()

    def _auth_data(self, rp_id, user_verified, extra_flags, sign_count) -> bytes:
        flags = FLAG_USER_PRESENT | extra_flags
        if user_verified:
            flags |= FLAG_USER_VERIFIED
        if self.backup_eligible:
            flags |= FLAG_BACKUP_ELIGIBLE
        if self.backed_up:
            flags |= FLAG_BACKED_UP
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)
