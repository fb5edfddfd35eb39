#!/bin/sh
# Create a company, a scoped admin in it, a read-only token for that admin, and list users with it.
#
# Needs curl and openssl only. The operator's token signs steps 1 to 4 (AcePanel-compatible HMAC-SHA256:
# its secret never travels); it must belong to a user who may create companies, roles and users and set
# access. A token never creates credentials, so step 5 logs in as the new admin the way a browser does
# (their password, a session cookie and its CSRF token) and creates their own token; step 6 uses it.
#
#   PANEL_URL=http://localhost:8000 PANEL_TOKEN_ID=16 PANEL_TOKEN_SECRET=... PANEL_ADMIN_PASSWORD='Sturdy-pass-42' \
#       sh docs/clients/scoped_admin.sh "Acme Logistics" acme-admin acme-admin@example.com
#
# It prints the read-only token's Bearer value (shown this once) on standard error and the users the admin
# sees as JSON on standard output; it stops at the first error, printing the panel's answer.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 COMPANY_NAME USERNAME EMAIL" >&2; exit 2; }
company_name=$1 username=$2 email=$3
: "${PANEL_URL:?}" "${PANEL_TOKEN_ID:?}" "${PANEL_TOKEN_SECRET:?}" "${PANEL_ADMIN_PASSWORD:?}"
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

sha256() { openssl dgst -sha256 -r | cut -d' ' -f1; }

# signed METHOD PATH [QUERY [BODY]]: QUERY is given with its keys sorted (form-style escaping, no "?").
signed() {
    method=$1 path=$2 query=${3:-} body=${4:-}
    timestamp=$(date +%s)
    canonical_hash=$(printf '%s\n%s\n%s\n%s' "$method" "$path" "$query" "$(printf '%s' "$body" | sha256)" | sha256)
    signature=$(printf 'HMAC-SHA256\n%s\n%s' "$timestamp" "$canonical_hash" |
        openssl dgst -sha256 -hmac "$PANEL_TOKEN_SECRET" -r | cut -d' ' -f1)
    answer=$(curl -sS --fail-with-body -X "$method" "$PANEL_URL$path${query:+?$query}" \
        -H "X-Timestamp: $timestamp" \
        -H "Authorization: HMAC-SHA256 Credential=$PANEL_TOKEN_ID, Signature=$signature" \
        -H "Content-Type: application/json" ${body:+--data-binary "$body"}) || {
        echo "$method $path: $answer" >&2
        return 1
    }
    printf '%s\n' "$answer"
}

# The value of a top-level "key" of a JSON object (a number or a string without quotes inside): enough here.
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^,\"}]*\).*/\1/p"; }

csrf() { awk '$6 ~ /csrftoken$/ { print $7 }' "$jar"; }  # "csrftoken", or "__Host-csrftoken" behind HTTPS

# Each step keeps the answer first, so that a refusal stops the script (set -e) with the panel's message.
# 1. The company, at the top level (a company admin running this would give "parent_id": their company).
answer=$(signed POST /api/companies "" "{\"name\": \"$company_name\"}")
company_id=$(echo "$answer" | field id)
# 2. A role owned by the company: what its admins may do there.
answer=$(signed POST /api/roles "" "{\"name\": \"$company_name admins\", \"company_id\": $company_id,
  \"permissions\": [\"accounts.view_user\", \"accounts.add_user\", \"accounts.change_user\",
                    \"organisation.view_company\", \"auth.view_group\"]}")
role_id=$(echo "$answer" | field id)
# 3. The admin, in the company: everything they do stays within it.
answer=$(signed POST /api/users "" "{\"username\": \"$username\", \"email\": \"$email\",
  \"password\": \"$PANEL_ADMIN_PASSWORD\", \"company_id\": $company_id}")
admin_id=$(echo "$answer" | field id)
# 4. Their access: the role, and the API module directly.
signed PUT "/api/users/$admin_id/access" "" "{\"roles\": [$role_id], \"permissions\": [\"accounts.use_api\"]}" >/dev/null

# 5. The admin's read-only token (the view_ permissions their role gives), made in their own browser session.
curl -sS --fail -c "$jar" -o /dev/null "$PANEL_URL/login/"
landed=$(curl -sS --fail -b "$jar" -c "$jar" -o /dev/null -w '%{redirect_url}' -H "Origin: $PANEL_URL" \
    --data-urlencode "username=$username" --data-urlencode "password=$PANEL_ADMIN_PASSWORD" \
    --data-urlencode "csrfmiddlewaretoken=$(csrf)" "$PANEL_URL/login/")
case $landed in
    '' | */login/*) echo "logging in as $username did not succeed (wrong password, a lock, or a second factor)" >&2
        exit 1 ;;
esac
answer=$(curl -sS --fail-with-body -b "$jar" -c "$jar" -X POST "$PANEL_URL/api/users/$admin_id/tokens" \
    -H "X-CSRFToken: $(csrf)" -H "Origin: $PANEL_URL" -H "Content-Type: application/json" \
    --data '{"name": "read-only report", "long_term": true,
             "permissions": ["accounts.view_user", "auth.view_group", "organisation.view_company"]}') || {
    echo "creating the token: $answer" >&2
    exit 1
}
bearer=$(echo "$answer" | field bearer)
curl -sS --fail -b "$jar" -c "$jar" -o /dev/null -X POST -H "X-CSRFToken: $(csrf)" -H "Origin: $PANEL_URL" \
    "$PANEL_URL/logout/"
echo "read-only token for $username (shown this once): $bearer" >&2

# 6. The users the admin sees, through the read-only token.
curl -sS --fail-with-body -H "Authorization: Bearer $bearer" "$PANEL_URL/api/users?size=200"
echo
