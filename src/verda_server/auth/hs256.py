"""PyJWT, imported without the `cryptography` package.

PyJWT imports `cryptography`, when it can, for its RSA, EC and EdDSA
algorithms; HS256, the only one used here, is the standard library's hmac.
That import was a twentieth of the time to start. Leaving it out changes
nothing here: a token naming another algorithm is refused for its `alg` before
any algorithm is looked up. Where either is already loaded (a test process,
say), PyJWT is taken as it is.
"""

from __future__ import annotations

import sys

if "jwt" in sys.modules or "cryptography" in sys.modules:
    import jwt
else:
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # its import raises
    try:
        import jwt
    finally:
        del sys.modules["cryptography"]

__all__ = ["jwt"]
