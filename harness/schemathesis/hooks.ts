/**
 * The Python hooks schemathesis loads (SCHEMATHESIS_HOOKS): authentication as a real client gets
 * it. Each token comes from a fresh account (register, then the OAuth2 password login), renewed
 * every few seconds, because the stateful phase deletes accounts (`DELETE /users/me`): with one
 * fixed token every case after the first deletion would only test the 401 path.
 */
export function hooksFile(): string {
  return `import os
import secrets

import requests
import schemathesis

API = os.environ["FUZZ_API_URL"]


@schemathesis.auth(refresh_interval=5)
class FreshAccount:
    def get(self, case, ctx):
        name = "fuzz_" + secrets.token_hex(6)
        password = "fuzz-" + secrets.token_hex(12)
        created = requests.post(
            API + "/api/v1/users",
            json={"username": name, "email": name + "@example.com", "password": password},
            timeout=10,
        )
        created.raise_for_status()
        token = requests.post(
            API + "/api/v1/auth/token",
            data={"grant_type": "password", "username": name, "password": password},
            timeout=10,
        )
        token.raise_for_status()
        return token.json()["access_token"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = "Bearer " + data
`;
}
