"""Keep many Concur connections alive in one vault (an App Center partner's companies, a Web
flow's users): onboard them, hand out their access tokens, list them, and run the daily
keep-alive a cron would.

    CONCUR_CLIENT_ID=... CONCUR_CLIENT_SECRET=... CONCUR_USERNAME=... CONCUR_PASSWORD=... \\
        [CONCUR_COMPANY_ID=... CONCUR_REQUEST_TOKEN=...] \\
        [CONCUR_VAULT=sqlite:///var/lib/myapp/vault.db] python examples/token_vault.py

The user is onboarded with a password grant, the company (when given) from App Center's
request token. The vault's SQLite file is shared by every process of the machine; give a
``postgres://`` or ``redis://`` URL to share it between machines. The cron's line is
``report = vault.keep_alive()``: it exits non-zero when a connection died or failed.
"""

import os
import sys
import tempfile

import concur_native


def main() -> int:
    env = os.environ
    client = concur_native.Client(
        base_url=env.get("CONCUR_BASE_URL"), ca_file=env.get("CONCUR_CA_FILE"), timeout=10
    )
    store = env.get("CONCUR_VAULT") or f"sqlite:///{tempfile.mkdtemp()}/vault.db"
    try:
        vault = concur_native.TokenVault(
            client, env["CONCUR_CLIENT_ID"], env["CONCUR_CLIENT_SECRET"], store=store
        )
        user = "user:" + env["CONCUR_USERNAME"]
        vault.add(user, username=env["CONCUR_USERNAME"], password=env["CONCUR_PASSWORD"], replace=True)
        if env.get("CONCUR_COMPANY_ID") and env.get("CONCUR_REQUEST_TOKEN"):
            company = "company:" + env["CONCUR_COMPANY_ID"]
            vault.add(company, company_id=env["CONCUR_COMPANY_ID"],
                      request_token=env["CONCUR_REQUEST_TOKEN"], replace=True)

        # An API call for one connection: from memory, refreshed once shortly before expiry.
        bearer = vault.access_token(user)  # or auth=BearerAuth(vault.manager(user))
        print(f"{user}: Bearer <{len(bearer)} characters>")

        for c in vault.connections():  # a page of the store at a time, no token loaded
            print(f"{c.id:40} {c.kind:8} {c.state:9} refresh token expires {c.refresh_expires_at}")

        report = vault.keep_alive()  # the daily cron: every refresh token expiring within 30 days
        print(f"keep-alive: {report.checked} due, {report.refreshed} refreshed, {report.fresh} fresh, "
              f"{len(report.dead)} dead, {len(report.failed)} failed")
        for id, code in report.dead:
            print(f"dead: {id} (Concur code {code}): onboard it again", file=sys.stderr)
        return 0 if report else 1
    except KeyError as missing:
        print(f"set {missing.args[0]}", file=sys.stderr)
        return 2
    except concur_native.ConcurError as e:
        print(f"{e.code}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
