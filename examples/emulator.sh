#!/usr/bin/env bash
# concur-emulator from any language, with a shell and curl: start it, read its JSON line,
# create a company, connect it (a company token with the request token), call the protected
# API, let the access token expire on the virtual clock, refresh, revoke the connection, and
# read the journal. Needs the program (`cargo install concur-emulator`, or pip/npm's; the
# variable CONCUR_EMULATOR names another), curl and python3 (to read JSON; jq would do too).
set -euo pipefail
emulator=${CONCUR_EMULATOR:-concur-emulator}
work=$(mktemp -d)
# Its standard input is a pipe this script holds open: when the script ends, however it
# ends, the pipe closes and --exit-on-stdin-eof stops the emulator (which then removes its CA).
exec 3> >("$emulator" --exit-on-stdin-eof >"$work/info.json")
trap 'exec 3>&-; rm -rf "$work"' EXIT
for _ in $(seq 600); do [ -s "$work/info.json" ] && break; sleep 0.05; done
field() { python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$work/info.json" "$1"; }
json() { python3 -c 'import json, sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }
base=$(field base_url)
admin=$(field admin_url)
ca=$(field ca_file)
client_id=$(field oauth2_client_id)
client_secret=$(field oauth2_client_secret)
echo "emulator at $base (control API $admin, CA $ca)"
curl_() { curl --silent --show-error --cacert "$ca" --noproxy '*' "$@"; }

company=$(curl_ --fail -X POST -H 'Content-Type: application/json' -d '{"name":"Example Inc"}' "$admin/companies")
company_id=$(json id <<<"$company")
request_token=$(json request_token <<<"$company")
echo "company $company_id"

token=$(curl_ --fail "$base/oauth2/v0/token" -d grant_type=password -d credtype=authtoken \
  --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$client_secret" \
  --data-urlencode "username=$company_id" --data-urlencode "password=$request_token")
access=$(json access_token <<<"$token")
refresh=$(json refresh_token <<<"$token")
echo "company token: expires in $(json expires_in <<<"$token") s"
identity() { curl_ --output /dev/null --write-out '%{http_code}' -H "Authorization: Bearer $1" "$base/profile/identity/v4.1/Users"; }
echo "identity API with the access token: $(identity "$access")"

curl_ --fail --output /dev/null -X POST -d '{"seconds":3600}' "$admin/clock/advance"
echo "an hour later on the virtual clock: $(identity "$access")"
token=$(curl_ --fail "$base/oauth2/v0/token" -d grant_type=refresh_token \
  --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$client_secret" \
  --data-urlencode "refresh_token=$refresh")
access=$(json access_token <<<"$token")
refresh=$(json refresh_token <<<"$token")
echo "refreshed: $(identity "$access")"

curl_ --fail --output /dev/null -X POST -d "{\"refresh_token\":\"$refresh\"}" "$admin/revoke"
code=$(curl_ "$base/oauth2/v0/token" -d grant_type=refresh_token \
  --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$client_secret" \
  --data-urlencode "refresh_token=$refresh" | json code)
echo "refresh after revocation: Concur code $code"

echo "journal:"
curl_ --fail "$admin/journal" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print("  %s %s grant=%s -> %s" % (e["method"], e["path"], e["grant"], e["status"]))'
