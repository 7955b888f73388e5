"""A software authenticator for the passkey tests: real EC P-256 keys, "none" attestation.

It answers the options the server sends as a browser's authenticator would, and can be
told to lie (another origin or RP id, no user verification, a counter gone backwards),
so the server's checks are tested without a browser::

    key = SoftKey()
    answer = key.create(options["publicKey"])            # navigator.credentials.create()
    answer = key.get(options["publicKey"], origin="http://evil.example")
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

ORIGIN = "http://testserver"
RP_ID = "testserver"
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


class SoftKey:
    """One passkey on a software authenticator."""

    def __init__(self, *, user_verified: bool = True, synced: bool = False) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.sign_count = 0
        self.user_verified = user_verified
        self.synced = synced
        self.user_handle: bytes | None = None

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y})

    def _flags(self, extra: int = 0) -> int:
        flags = UP | extra
        if self.user_verified:
            flags |= UV
        if self.synced:
            flags |= BE | BS
        return flags

    @staticmethod
    def _client_data(kind: str, options: dict[str, Any], origin: str) -> bytes:
        data = {"type": kind, "challenge": options["challenge"], "origin": origin}
        return json.dumps({**data, "crossOrigin": False}).encode()

    def create(
        self, options: dict[str, Any], *, origin: str = ORIGIN, rp_id: str = RP_ID
    ) -> dict[str, Any]:
        """The answer of ``navigator.credentials.create({publicKey: options})``."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags(AT)])
            + self.sign_count.to_bytes(4, "big")
            + bytes(16)  # AAGUID
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options, origin)
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal", "hybrid", "carrier-pigeon"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str = ORIGIN,
        rp_id: str = RP_ID,
        sign_count: int | None = None,
        tamper: bool = False,
    ) -> dict[str, Any]:
        """The answer of ``navigator.credentials.get({publicKey: options})``."""
        self.sign_count = self.sign_count + 1 if sign_count is None else sign_count
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags()])
            + self.sign_count.to_bytes(4, "big")
        )
        client_data = self._client_data("webauthn.get", options, origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = self.private_key.sign(signed + b"!", ec.ECDSA(hashes.SHA256()))
        response = {
            "clientDataJSON": bytes_to_base64url(client_data),
            "authenticatorData": bytes_to_base64url(auth_data),
            "signature": bytes_to_base64url(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = bytes_to_base64url(self.user_handle)
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
        }
