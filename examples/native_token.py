"""Print a Concur access token obtained with the Native Flow.

    CONCUR_CONSUMER_KEY=... CONCUR_LOGIN_ID=... CONCUR_PASSWORD=... python examples/native_token.py

The password comes from the environment, never the command line. CONCUR_BASE_URL and
CONCUR_CA_FILE are optional (a regional host, a test server).
"""

import os
import sys

import concur_native


def main() -> int:
    try:
        token = concur_native.native_token(
            os.environ["CONCUR_CONSUMER_KEY"],
            os.environ["CONCUR_LOGIN_ID"],
            os.environ.get("CONCUR_PASSWORD"),
            base_url=os.environ.get("CONCUR_BASE_URL"),
            ca_file=os.environ.get("CONCUR_CA_FILE"),
            user_agent_suffix="native_token.py",
        )
    except KeyError as missing:
        print(f"set {missing.args[0]}", file=sys.stderr)
        return 2
    except concur_native.UnauthorizedError as e:
        print(f"Concur refused the credentials: {e.message or e}", file=sys.stderr)
        return 1
    except concur_native.ConcurError as e:
        print(f"{e.code}: {e}", file=sys.stderr)
        return 1
    print("Token:          ", token.token)
    print("Expires at:     ", token.expires_at)
    print("Instance URL:   ", token.instance_url or "(none)")
    print("Use it as:       Authorization: OAuth " + token.token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
